//! Identifier newtypes, so a list id cannot be passed where a store id goes.

use md5::{Digest, Md5};

/// Defines a string id newtype: private field, `#[serde(transparent)]`,
/// `Display`, `as_str()`, `From<String>` and `From<&str>`.
///
/// Crate-internal; e-commerce ids use it too:
/// `id_type!(/** A store id. */ StoreId);`
macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The id as Mailchimp spells it.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The id as an owned string.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> Self {
                $name(id)
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                $name(id.to_owned())
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}
#[allow(unused_imports)] // used by the e-commerce module
pub(crate) use id_type;

id_type!(
    /// An audience (list) id, such as `a1b2c3d4e5`.
    ///
    /// ```
    /// use mailchimp_client::ListId;
    /// let id = ListId::from("a1b2c3d4e5");
    /// assert_eq!(id.as_str(), "a1b2c3d4e5");
    /// assert_eq!(id.to_string(), "a1b2c3d4e5");
    /// ```
    ListId
);

/// A list member's id: the MD5 hex digest of the lowercased email address.
///
/// Build it with [`SubscriberHash::from_email`], which trims and lowercases
/// first, so `" Ada@Northwind-mfg.com "` and `"ada@northwind-mfg.com"` address the same
/// member.
///
/// ```
/// use mailchimp_client::SubscriberHash;
///
/// let a = SubscriberHash::from_email(" Ada@Northwind-MFG.com ");
/// let b = SubscriberHash::from_email("ada@northwind-mfg.com");
/// assert_eq!(a, b);
/// // md5("ada@northwind-mfg.com")
/// assert_eq!(a.as_str(), "7e06e18ce5dc02fad3d51a000c824809");
/// ```
#[derive(
    Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct SubscriberHash(String);

impl SubscriberHash {
    /// The hash of `email`: MD5 of the trimmed, lowercased address, as
    /// lowercase hex.
    pub fn from_email(email: &str) -> Self {
        let normalized = email.trim().to_lowercase();
        SubscriberHash(hex::encode(Md5::digest(normalized.as_bytes())))
    }

    /// The hash as sent in paths.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for SubscriberHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A hash Mailchimp returned (the member's `id`), taken as is.
impl From<String> for SubscriberHash {
    fn from(hash: String) -> Self {
        SubscriberHash(hash)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn hash_ignores_case_and_surrounding_space(email in "[a-zA-Z0-9._%+-]{1,20}@[a-zA-Z0-9-]{1,20}\\.[a-zA-Z]{2,6}", pad in " {0,3}") {
            let plain = SubscriberHash::from_email(&email.to_lowercase());
            let noisy = SubscriberHash::from_email(&format!("{pad}{}{pad}", email.to_uppercase()));
            prop_assert_eq!(&plain, &noisy);
            prop_assert_eq!(plain.as_str().len(), 32);
            prop_assert!(plain.as_str().chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        }
    }

    #[test]
    fn hash_matches_known_md5() {
        // printf %s 'urist.mcvankab@freddiesjokes.com' | md5sum (Mailchimp's docs example address)
        assert_eq!(
            SubscriberHash::from_email("Urist.McVankab@FreddiesJokes.com ").as_str(),
            "62eeb292278cc15f5817cb78f7790b08"
        );
    }
}
