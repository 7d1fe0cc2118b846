//! Comparing what two runs left in the fakes: records normalised for the values the fakes
//! generate themselves (ids, timestamps), which differ from run to run by nature.
//!
//! ```
//! use serde_json::json;
//! use testkit::compare::without_generated;
//!
//! let a = json!({"email_address": "ann@northwind-mfg.com", "web_id": 17, "last_changed": "2026-12-04T10:00:00+00:00"});
//! let b = json!({"email_address": "ann@northwind-mfg.com", "web_id": 92, "last_changed": "2026-12-04T11:30:00+00:00"});
//! assert_eq!(without_generated(a), without_generated(b));
//! ```

use serde_json::Value;

/// The fields the fakes generate, removed at every depth by [`without_generated`].
pub const GENERATED_FIELDS: &[&str] = &[
    "unique_email_id",
    "web_id",
    "contact_id",
    "timestamp_signup",
    "timestamp_opt",
    "last_changed",
    "created_at",
    "updated_at",
    "received_at",
    "posted_at",
    "_links",
];

/// `value` without the [`GENERATED_FIELDS`], at every depth.
#[must_use]
pub fn without_generated(mut value: Value) -> Value {
    match &mut value {
        Value::Object(map) => {
            for key in GENERATED_FIELDS {
                map.remove(*key);
            }
            for (_, v) in map.iter_mut() {
                *v = without_generated(v.take());
            }
        }
        Value::Array(items) => {
            for v in items.iter_mut() {
                *v = without_generated(v.take());
            }
        }
        _ => {}
    }
    value
}
