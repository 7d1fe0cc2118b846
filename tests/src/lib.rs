//! End-to-end tests of ml-connector live in `tests/tests/`; this crate has no library code.
