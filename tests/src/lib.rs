//! Cross-crate tests of ml-connector; this crate has no library code.
//!
//! The clients and the fakes were written independently, so that one mistaken field name cannot hide
//! in both. The tests in `tests/tests/` drive the real clients against the `testkit` fakes on loopback
//! and assert on the fakes' own records (state snapshots, login and request counters, injected faults):
//!
//! | file | what it proves |
//! |---|---|
//! | `mailchimp_contract.rs` | account, audiences, members, merge fields, batch subscribe, typed errors, OAuth data center, partial responses |
//! | `mailchimp_ecommerce_contract.rs` | `ensure_store` (incl. two at once), customers, products and variants, orders, exact money |
//! | `mailchimp_webhooks_contract.rs` | webhook registry CRUD; deliveries from the fake verified and parsed by the client |
//! | `qad_contract.rs` | OAuth, form and Basic login; one re-login for 20 callers; browse paging; typed readers; incremental reads; attribution writes; entity validation |
//! | `resilience.rs` | concurrency caps against the fake's limit; retries through seeded 429, 5xx, bare 403, dropped and slow responses; exhausted retries |
//!
//! Run them with `cargo test -p ml-connector-tests`.
