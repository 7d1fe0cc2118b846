//! QAD customer → Mailchimp e-commerce customer.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::config::CustomerMapping;
use super::email::check_email;
use super::fields::{AddressParts, SourceFields};
use super::Issue;

/// The longest e-commerce customer id Mailchimp accepts.
pub const MAX_CUSTOMER_ID_CHARS: usize = 50;

/// The e-commerce customer id for a QAD customer code: the code itself when it fits in 50
/// characters, else `qad-` and the first 32 hex digits of the code's SHA-256 (stable across runs;
/// the id map records it so orders coming back can be traced to the code).
///
/// ```
/// use sync_core::mapping::ecommerce_customer_id;
///
/// assert_eq!(ecommerce_customer_id("C0000010"), "C0000010");
/// let long = "X".repeat(60);
/// let id = ecommerce_customer_id(&long);
/// assert_eq!(id.len(), 36);
/// assert!(id.starts_with("qad-"));
/// assert_eq!(id, ecommerce_customer_id(&long));
/// ```
#[must_use]
pub fn ecommerce_customer_id(code: &str) -> String {
    if code.chars().count() <= MAX_CUSTOMER_ID_CHARS {
        return code.to_owned();
    }
    let digest = hex::encode(Sha256::digest(code.as_bytes()));
    format!("qad-{}", &digest[..32])
}

/// Separates an e-commerce customer id from its address generation (see
/// [`customer_id_for_address`]).
const GENERATION_MARK: char = '~';

/// The hex digits of the address that name a generation.
const GENERATION_DIGITS: usize = 8;

/// The id of the store customer that holds `email` for the customer whose first id is
/// `base_id` ([`ecommerce_customer_id`]), once its address changed.
///
/// Mailchimp fixes an e-commerce customer's `email_address` once the customer exists (it answers
/// a change with `400` "An email address may not be changed once a customer is created"), so a
/// QAD customer whose email changes gets a new store customer: the base id, `~`, and the first
/// 8 hex digits of the SHA-256 of the normalized address. A base id too long for the mark is
/// hashed first (`qad-` and 32 hex digits), so the result always fits in 50 characters. Any
/// earlier generation mark on `base_id` is replaced, so the id depends only on the base and the
/// address: the same address always maps to the same store customer.
///
/// ```
/// use sync_core::mapping::{customer_id_for_address, customer_id_stem};
///
/// let id = customer_id_for_address("C0000010", "New@Northwind-Mfg.com");
/// assert!(id.starts_with("C0000010~") && id.len() == 17);
/// assert_eq!(id, customer_id_for_address(&id, "new@northwind-mfg.com"));
/// assert_eq!(customer_id_stem(&id), "C0000010");
/// assert_eq!(customer_id_stem("C0000010"), "C0000010");
/// ```
#[must_use]
pub fn customer_id_for_address(base_id: &str, email: &str) -> String {
    let stem = customer_id_stem(base_id);
    let stem = if stem.chars().count() + 1 + GENERATION_DIGITS <= MAX_CUSTOMER_ID_CHARS {
        stem.to_owned()
    } else {
        format!(
            "qad-{}",
            &hex::encode(Sha256::digest(stem.as_bytes()))[..32]
        )
    };
    let address = crate::model::normalize_email(email);
    let digest = hex::encode(Sha256::digest(address.as_bytes()));
    format!("{stem}{GENERATION_MARK}{}", &digest[..GENERATION_DIGITS])
}

/// The id without its address generation (see [`customer_id_for_address`]); the id itself when
/// it has none.
#[must_use]
pub fn customer_id_stem(id: &str) -> &str {
    match id.rsplit_once(GENERATION_MARK) {
        Some((stem, digits))
            if !stem.is_empty()
                && digits.len() == GENERATION_DIGITS
                && digits.bytes().all(|b| b.is_ascii_hexdigit()) =>
        {
            stem
        }
        _ => id,
    }
}

/// The id a QAD customer's store customer is written under, given the id the id map holds for
/// it (`mapped`): `base_id` ([`ecommerce_customer_id`]) until the address first changes; once
/// a generation id is mapped, the generation of the current address (the mapped one while the
/// address is the same, a new one when it changed again).
///
/// While the base id is mapped the sync cannot know the address Mailchimp holds; a change is
/// found by the write itself (Mailchimp refuses it) and written as the new generation then.
pub(crate) fn current_customer_id(base_id: &str, email: &str, mapped: Option<&str>) -> String {
    match mapped {
        Some(mapped) if mapped != base_id => customer_id_for_address(base_id, email),
        _ => base_id.to_owned(),
    }
}

/// The e-commerce customer sent for one QAD customer: what is hashed, recorded and replayed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EcomCustomerRecord {
    /// The customer id (see [`ecommerce_customer_id`]).
    pub id: String,
    /// The trimmed address.
    pub email_address: String,
    /// Whether the customer opted in to marketing (never downgrades a member).
    pub opt_in_status: bool,
    /// Company.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    /// First name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// Postal address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<AddressParts>,
}

impl EcomCustomerRecord {
    /// The client's request type.
    #[must_use]
    pub fn to_client(&self) -> mailchimp_client::ecommerce::CustomerInput {
        use mailchimp_client::ecommerce::{Address, CustomerId, CustomerInput};
        let mut input = CustomerInput::new(CustomerId::from(self.id.as_str()), self.opt_in_status);
        input.email_address = Some(self.email_address.clone());
        input.company.clone_from(&self.company);
        input.first_name.clone_from(&self.first_name);
        input.last_name.clone_from(&self.last_name);
        input.address = self.address.as_ref().map(|a| {
            let mut address = Address::default();
            address.address1.clone_from(&a.street1);
            address.address2.clone_from(&a.street2);
            address.city.clone_from(&a.city);
            address.province_code.clone_from(&a.state);
            address.postal_code.clone_from(&a.zip);
            address.country_code.clone_from(&a.country);
            address
        });
        input
    }
}

/// Maps a customer's fields to an e-commerce customer.
///
/// # Errors
///
/// [`Issue::Rejected`] when the email is missing or malformed (it cannot change after creation,
/// so a bad one is never sent).
pub fn map_ecommerce_customer(
    code: &str,
    fields: &SourceFields,
    mapping: &CustomerMapping,
) -> Result<EcomCustomerRecord, Issue> {
    let raw = fields.text(&mapping.email_field).unwrap_or_default();
    let email_address = check_email(&raw).map_err(Issue::Rejected)?;
    let address = AddressParts::read(fields, &mapping.address);
    Ok(EcomCustomerRecord {
        id: ecommerce_customer_id(code),
        email_address,
        opt_in_status: mapping.ecommerce_opt_in,
        company: mapping.company.as_ref().and_then(|r| r.apply(fields)),
        first_name: mapping.first_name.as_ref().and_then(|r| r.apply(fields)),
        last_name: mapping.last_name.as_ref().and_then(|r| r.apply(fields)),
        address: (!address.is_empty()).then_some(address),
    })
}
