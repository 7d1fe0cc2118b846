//! The declaration shared by the typed records ([`Customer`](crate::Customer),
//! [`Item`](crate::Item), [`SalesOrder`](crate::SalesOrder),
//! [`SalesOrderLine`](crate::SalesOrderLine)).

/// Declares a record struct from one list of its browse fields.
///
/// Each field is written once, with its wire name; the macro gives it the
/// serde attributes every record uses and lists the wire names, in order, as
/// the private `WIRE_FIELDS` for [`Record::FIELDS`](crate::Record::FIELDS),
/// so the two cannot drift apart.
///
/// - `key { name: Type = "wire" }` (optional section): a required key,
///   decoded with `de::key`.
/// - `optional { name: Option<T> = "wire", … }`: blank is `None`, decoded by
///   type with `de::opt`, left out of the output when
///   `None`.
/// - `unmapped { #[serde(…)] name: Type, … }` (optional section): fields
///   written as they are and not renamed from browse keys.
///
/// Every record ends with `extra`, the row's other keys. Field order is
/// declaration order, which is also the serialized order.
macro_rules! record_struct {
    (
        $(#[$struct_attr:meta])*
        pub struct $name:ident {
            $(key {
                $(#[$key_attr:meta])*
                $key:ident: $key_ty:ty = $key_wire:literal $(,)?
            })?
            optional {
                $(
                    $(#[$opt_attr:meta])*
                    $opt:ident: $opt_ty:ty = $opt_wire:literal,
                )*
            }
            $(unmapped {
                $(
                    $(#[$other_attr:meta])*
                    $other:ident: $other_ty:ty,
                )*
            })?
        }
    ) => {
        $(#[$struct_attr])*
        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
        #[non_exhaustive]
        pub struct $name {
            $(
                $(#[$key_attr])*
                #[serde(rename = $key_wire, deserialize_with = "crate::de::key")]
                pub $key: $key_ty,
            )?
            $(
                $(#[$opt_attr])*
                #[serde(
                    rename = $opt_wire,
                    default,
                    deserialize_with = "crate::de::opt",
                    skip_serializing_if = "Option::is_none"
                )]
                pub $opt: $opt_ty,
            )*
            $($(
                $(#[$other_attr])*
                pub $other: $other_ty,
            )*)?
            /// Every other key of the row, custom fields included.
            #[serde(flatten)]
            pub extra: serde_json::Map<String, serde_json::Value>,
        }

        impl $name {
            /// The wire names of the typed fields, in declaration order.
            const WIRE_FIELDS: &'static [&'static str] = &[$($key_wire,)? $($opt_wire),*];
        }
    };
}

pub(crate) use record_struct;
