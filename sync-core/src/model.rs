//! The vocabulary shared by the state store, the audit trail and the scheduler.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// Identifies one sync run; every audit row carries the id of the run that wrote it.
///
/// ```
/// use sync_core::RunId;
///
/// let id = RunId::new();
/// let parsed: RunId = id.to_string().parse().unwrap();
/// assert_eq!(parsed, id);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RunId(Uuid);

impl RunId {
    /// A new random (version 4) run id.
    #[must_use]
    pub fn new() -> Self {
        Self(Uuid::new_v4())
    }

    /// Wraps an existing UUID.
    #[must_use]
    pub fn from_uuid(uuid: Uuid) -> Self {
        Self(uuid)
    }

    /// The UUID inside.
    #[must_use]
    pub fn as_uuid(&self) -> &Uuid {
        &self.0
    }
}

impl Default for RunId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for RunId {
    type Err = uuid::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s).map(Self)
    }
}

/// Defines a fieldless enum with a stable snake_case name per variant, used in storage,
/// configuration files and `Display`.
macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident { $( $(#[$vmeta:meta])* $variant:ident => $text:literal, )+ }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        #[non_exhaustive]
        pub enum $name { $( $(#[$vmeta])* $variant, )+ }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable name used in storage, configuration and `Display`.
            #[must_use]
            pub fn as_str(&self) -> &'static str {
                match self { $($name::$variant => $text,)+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownName;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(UnknownName { kind: stringify!($name), name: s.to_owned() }),
                }
            }
        }
    };
}

/// A name that matches no variant of the enum it was parsed as.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} {name:?}")]
pub struct UnknownName {
    /// The enum parsed into.
    pub kind: &'static str,
    /// The text given.
    pub name: String,
}

named_enum! {
    /// A kind of object the connector reads or writes.
    ///
    /// Source kinds (`Customers`, `Items`, `Orders`) have cursors and schedules; target kinds
    /// (`Members`, `EcommerceCustomers`, `Products`, `Attributions`) key the id map and the content
    /// hashes, since one source record can become several target records.
    ///
    /// ```
    /// use sync_core::ObjectKind;
    ///
    /// let kind: ObjectKind = "ecommerce_customers".parse().unwrap();
    /// assert_eq!(kind, ObjectKind::EcommerceCustomers);
    /// assert_eq!(kind.to_string(), "ecommerce_customers");
    /// assert!("widgets".parse::<ObjectKind>().is_err());
    /// ```
    pub enum ObjectKind {
        /// QAD customers (source).
        Customers => "customers",
        /// QAD items (source).
        Items => "items",
        /// Mailchimp e-commerce orders (source of the attribution flow back to QAD).
        Orders => "orders",
        /// Mailchimp audience members (target).
        Members => "members",
        /// Mailchimp e-commerce customers (target).
        EcommerceCustomers => "ecommerce_customers",
        /// Mailchimp e-commerce products with their variants (target).
        Products => "products",
        /// QAD attribution records written for Mailchimp orders (target).
        Attributions => "attributions",
        /// Mailchimp audience webhook deliveries (source of member status changes).
        WebhookEvents => "webhook_events",
        /// QAD consent records written for member statuses (target of the consent
        /// write-back, keyed by customer code).
        Consents => "consents",
        /// QAD sales orders with their lines (source of the optional sales-history flow).
        SalesOrders => "sales_orders",
        /// Mailchimp e-commerce orders written from QAD sales orders (target; the id map tells
        /// the orders flow back to QAD which orders are the connector's own).
        EcommerceOrders => "ecommerce_orders",
    }
}

named_enum! {
    /// Which target record of a source record an audit row is about: one QAD customer becomes a
    /// member, its tag set and an e-commerce customer. A successful write of a target supersedes
    /// the earlier failed rows of the same source record and target.
    ///
    /// ```
    /// use sync_core::TargetRecord;
    ///
    /// assert_eq!("member_tags".parse::<TargetRecord>(), Ok(TargetRecord::MemberTags));
    /// ```
    pub enum TargetRecord {
        /// The audience member.
        Member => "member",
        /// The member's tag set.
        MemberTags => "member_tags",
        /// The e-commerce customer.
        EcommerceCustomer => "ecommerce_customer",
        /// The product with its variant.
        Product => "product",
        /// The QAD attribution record of a Mailchimp order.
        Attribution => "attribution",
        /// The QAD consent record of a customer (its member's marketing status).
        Consent => "consent",
        /// The Mailchimp e-commerce order written for a QAD sales order.
        EcommerceOrder => "ecommerce_order",
    }
}

named_enum! {
    /// The system an operation is sent to.
    pub enum TargetSystem {
        /// The Mailchimp Marketing API.
        Mailchimp => "mailchimp",
        /// The QAD tenant.
        Qad => "qad",
    }
}

named_enum! {
    /// What happened to one record in a run.
    ///
    /// ```
    /// use sync_core::Outcome;
    ///
    /// assert!(Outcome::Updated.is_success());
    /// assert!(!Outcome::Failed.is_success());
    /// assert!(Outcome::Failed.is_replayable());
    /// assert!(Outcome::Deferred.is_replayable());
    /// assert!(!Outcome::Rejected.is_replayable());
    /// ```
    pub enum Outcome {
        /// The target record did not exist and was created.
        Created => "created",
        /// The target record existed and was changed.
        Updated => "updated",
        /// The content hash matched: no call was made.
        Unchanged => "unchanged",
        /// Deliberately not written (for example a cleaned member, an inactive item, an unmatched
        /// order); the audit row's `error` says why.
        Skipped => "skipped",
        /// The record is invalid (for example a malformed email); sending it again cannot help.
        Rejected => "rejected",
        /// The write failed after its retries; the row can be replayed.
        Failed => "failed",
        /// Not written yet because another write it depends on did not succeed in this run (an
        /// e-commerce customer waits for its member, so Mailchimp never creates that member as
        /// transactional behind the connector's back). Queued and retried with what it waits for.
        Deferred => "deferred",
    }
}

impl Outcome {
    /// Whether the record reached (or already matched) its target.
    #[must_use]
    pub fn is_success(&self) -> bool {
        matches!(self, Self::Created | Self::Updated | Self::Unchanged)
    }

    /// Whether a row with this outcome belongs in the replay queue.
    #[must_use]
    pub fn is_replayable(&self) -> bool {
        matches!(self, Self::Failed | Self::Deferred)
    }
}

named_enum! {
    /// A member's subscription status as last learned from Mailchimp.
    ///
    /// ```
    /// use sync_core::MemberStatus;
    ///
    /// assert!(MemberStatus::Cleaned.blocks_push());
    /// assert!(!MemberStatus::Subscribed.blocks_push());
    /// ```
    pub enum MemberStatus {
        /// Subscribed.
        Subscribed => "subscribed",
        /// Unsubscribed by the member or an admin.
        Unsubscribed => "unsubscribed",
        /// The address bounced and Mailchimp cleaned it.
        Cleaned => "cleaned",
        /// Awaiting double opt-in confirmation.
        Pending => "pending",
        /// Receives transactional mail only.
        Transactional => "transactional",
        /// Archived in the audience.
        Archived => "archived",
        /// Mailchimp refused the write with "Member In Compliance State".
        ComplianceState => "compliance_state",
        /// Mailchimp refused the write with "Forgotten Email Not Subscribed".
        Forgotten => "forgotten",
    }
}

impl MemberStatus {
    /// Whether the connector must not push this member again: it is unsubscribed, cleaned,
    /// in compliance state or forgotten.
    #[must_use]
    pub fn blocks_push(&self) -> bool {
        matches!(
            self,
            Self::Unsubscribed | Self::Cleaned | Self::ComplianceState | Self::Forgotten
        )
    }
}

named_enum! {
    /// What started a run.
    pub enum RunTrigger {
        /// The object's cadence came round.
        Scheduled => "scheduled",
        /// Someone asked for a run now (CLI, API, the scheduler's run-now trigger).
        Manual => "manual",
        /// A replay of failed rows.
        Replay => "replay",
        /// A reconcile writing the differences it found (`reconcile --fix`).
        Reconcile => "reconcile",
        /// A lifecycle scan: records gone from QAD or no longer active, removed in Mailchimp as
        /// configured ([`lifecycle`](crate::lifecycle)).
        Lifecycle => "lifecycle",
    }
}

named_enum! {
    /// Where a run stands.
    pub enum RunStatus {
        /// Started, not yet finished (or the process died during it).
        Running => "running",
        /// Every record was handled (some may have failed; see the counts).
        Completed => "completed",
        /// The run stopped on an error before handling every record.
        Aborted => "aborted",
        /// The run stopped at shutdown after checkpointing.
        Cancelled => "cancelled",
    }
}

/// Normalises an email for use as a key: trimmed and lowercased, as Mailchimp's subscriber hash
/// does.
///
/// ```
/// assert_eq!(sync_core::normalize_email("  Ann@Northwind-mfg.com "), "ann@northwind-mfg.com");
/// ```
#[must_use]
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// A member status the connector has learned, remembered so a cleaned or unsubscribed member is
/// honoured on later runs without asking Mailchimp.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberStatusRecord {
    /// The email, normalised with [`normalize_email`].
    pub email: String,
    /// The status learned.
    pub status: MemberStatus,
    /// Why, where known (a webhook's `reason`, Mailchimp's error detail).
    pub reason: Option<String>,
    /// When the status was learned.
    pub recorded_at: DateTime<Utc>,
}

impl MemberStatusRecord {
    /// A record learned now; the email is normalised.
    #[must_use]
    pub fn new(email: &str, status: MemberStatus, reason: Option<String>) -> Self {
        Self {
            email: normalize_email(email),
            status,
            reason,
            recorded_at: Utc::now(),
        }
    }
}

/// The SHA-256 of a mapped target record, used by change detection: an unchanged hash means no
/// call.
///
/// ```
/// use sync_core::ContentHash;
///
/// let a = ContentHash::of_json(&serde_json::json!({"email": "a@northwind-mfg.com"})).unwrap();
/// let b = ContentHash::of_json(&serde_json::json!({"email": "a@northwind-mfg.com"})).unwrap();
/// assert_eq!(a, b);
/// assert_eq!(a.as_str().len(), 64);
/// assert_ne!(a, ContentHash::of_bytes(b"something else"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ContentHash(String);

impl ContentHash {
    /// The hash of some bytes, as 64 lowercase hex digits.
    #[must_use]
    pub fn of_bytes(bytes: &[u8]) -> Self {
        Self::of_digest(&Sha256::digest(bytes))
    }

    /// A finished SHA-256 digest, as 64 lowercase hex digits.
    pub(crate) fn of_digest(digest: &[u8]) -> Self {
        // A table look-up per digit: `hex::encode` goes through a char iterator, which showed
        // in the forward path's profile at two hashes per record.
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut text = String::with_capacity(digest.len() * 2);
        for byte in digest {
            text.push(char::from(DIGITS[usize::from(byte >> 4)]));
            text.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
        }
        Self(text)
    }

    /// The hash of a value's canonical JSON (object keys sorted at every depth), so equal
    /// records hash equal whatever order their fields were built in. The same function as
    /// [`hash::content_hash`](crate::hash::content_hash).
    ///
    /// # Errors
    ///
    /// [`StateError::Encode`](crate::StateError::Encode) when the value cannot be encoded as
    /// JSON (a map with non-string keys, a failing `Serialize` impl).
    pub fn of_json<T: Serialize + ?Sized>(value: &T) -> Result<Self, crate::StateError> {
        crate::hash::content_hash(value)
    }

    /// Wraps a hash read back from storage.
    #[must_use]
    pub fn from_hex(hex: String) -> Self {
        Self(hex)
    }

    /// The hex digits.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How far the incremental read of one source object has got: the modification stamp and key of
/// the last record whose results were committed.
///
/// The next run reads from `last_modified` minus the overlap window; records at or before
/// `(last_modified, last_key)` it has already seen are recognised by their content hashes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// The source object.
    pub object: ObjectKind,
    /// The modification stamp of the last committed record.
    pub last_modified: Option<DateTime<Utc>>,
    /// The key of the last committed record (ties on `last_modified` are ordered by key).
    pub last_key: Option<String>,
    /// The run that committed this position.
    pub run_id: Option<RunId>,
    /// When it was committed.
    pub committed_at: DateTime<Utc>,
}

impl Cursor {
    /// A cursor at the given position, committed now.
    #[must_use]
    pub fn new(
        object: ObjectKind,
        last_modified: Option<DateTime<Utc>>,
        last_key: Option<String>,
        run_id: Option<RunId>,
    ) -> Self {
        Self {
            object,
            last_modified,
            last_key,
            run_id,
            committed_at: Utc::now(),
        }
    }
}

/// One id-map entry: a source record's key and the target id it was given.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdMapping {
    /// The target kind (the same source key can map to a member and to an e-commerce customer).
    pub kind: ObjectKind,
    /// The source key, for example a QAD customer code.
    pub source_key: String,
    /// The id in the target system, for example a derived e-commerce customer id or an email.
    pub target_id: String,
}

impl IdMapping {
    /// Creates a mapping.
    #[must_use]
    pub fn new(
        kind: ObjectKind,
        source_key: impl Into<String>,
        target_id: impl Into<String>,
    ) -> Self {
        Self {
            kind,
            source_key: source_key.into(),
            target_id: target_id.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_content_hash_is_the_lowercase_hex_of_the_sha256_digest() {
        // FIPS 180-2's test vectors: every stored hash was written in this form.
        assert_eq!(
            ContentHash::of_bytes(b"abc").as_str(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            ContentHash::of_bytes(b"").as_str(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn every_name_round_trips() {
        for kind in ObjectKind::ALL {
            assert_eq!(kind.as_str().parse::<ObjectKind>(), Ok(*kind));
            let json = serde_json::to_string(kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
        }
        for outcome in Outcome::ALL {
            assert_eq!(outcome.as_str().parse::<Outcome>(), Ok(*outcome));
        }
        for status in MemberStatus::ALL {
            assert_eq!(status.as_str().parse::<MemberStatus>(), Ok(*status));
        }
    }

    #[test]
    fn only_failed_and_deferred_rows_are_replayable() {
        let replayable: Vec<_> = Outcome::ALL.iter().filter(|o| o.is_replayable()).collect();
        assert_eq!(replayable, [&Outcome::Failed, &Outcome::Deferred]);
    }
}
