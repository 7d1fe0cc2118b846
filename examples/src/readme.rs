//! The repository README's Rust snippets, compiled (and, unless `no_run`, run) as doctests so
//! that the tour of the crates stays true. Nothing else lives here: the command is `main.rs`.

#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
