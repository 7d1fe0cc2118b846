//! Newtypes for QAD keys, so a customer code cannot be passed where an item
//! code is expected.

use std::fmt;

macro_rules! key_newtype {
    ($(#[$doc:meta])* $name:ident, $example:literal) => {
        $(#[$doc])*
        ///
        /// ```
        #[doc = concat!("let key = qad_client::", stringify!($name), "::from(\"", $example, "\");")]
        #[doc = concat!("assert_eq!(key.as_str(), \"", $example, "\");")]
        #[doc = concat!("assert_eq!(key.to_string(), \"", $example, "\");")]
        /// ```
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The key as QAD writes it.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The key as an owned `String`.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                Self(value)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self(value.to_owned())
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

key_newtype!(
    /// A QAD domain code (`x(8)`, e.g. `10USA`), sent as `domainCode`.
    DomainCode,
    "10USA"
);
key_newtype!(
    /// A customer code (`customerCode`, `cm_addr`).
    CustomerCode,
    "C0000010"
);
key_newtype!(
    /// An item number (`itemCode`, `pt_part`).
    ItemCode,
    "10-1000"
);
key_newtype!(
    /// A sales order number (`salesOrderNumber`, `so_nbr`).
    SalesOrderNumber,
    "SO10045"
);
