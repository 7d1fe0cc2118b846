//! Property tests for what sync-core reads from outside: email normalisation, the pre-send
//! email check and the webhook public URL. The fuzz targets under `fuzz/` search the same code
//! guided by coverage; these run on every `cargo test`.

// Helpers outside `#[test]` functions unwrap too; a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use secrecy::ExposeSecret;
use sync_core::mapping::check_email;
use sync_core::normalize_email;
use sync_core::webhook_receiver::ReceiverConfig;

/// Modest case counts: the suite runs on every build.
fn config() -> ProptestConfig {
    ProptestConfig::with_cases(256)
}

const TOKEN: &str = "0123456789abcdef0123456789abcdef";

/// A dot-atom local part: atoms of letters, digits and `!#$%&'*+/=?^_`{|}~-` joined by dots.
fn local_part() -> impl Strategy<Value = String> {
    proptest::collection::vec("[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,8}", 1..4)
        .prop_map(|atoms| atoms.join("."))
}

fn domain() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        "[a-zA-Z0-9]([a-zA-Z0-9-]{0,8}[a-zA-Z0-9])?|[äöüé山田]{1,3}",
        2..4,
    )
    .prop_map(|labels| labels.join("."))
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn normalising_is_idempotent_and_ignores_surrounding_space(
        email in "\\PC{0,40}|[ \\t]{0,3}[A-Za-z0-9.@]{0,20}[ \\t\\n]{0,3}",
    ) {
        let once = normalize_email(&email);
        prop_assert_eq!(normalize_email(&once), once.clone());
        prop_assert_eq!(normalize_email(email.trim()), once.clone());
        prop_assert_eq!(once.trim(), once.as_str());
    }

    #[test]
    fn normalising_ignores_ascii_case(local in local_part(), domain in domain()) {
        let email = format!("{local}@{domain}");
        prop_assert_eq!(
            normalize_email(&email.to_ascii_uppercase()),
            normalize_email(&email.to_ascii_lowercase())
        );
    }

    #[test]
    fn an_accepted_email_is_the_trimmed_input_and_is_accepted_again(raw in "\\PC{0,80}") {
        if let Ok(email) = check_email(&raw) {
            prop_assert_eq!(email.as_str(), raw.trim());
            prop_assert_eq!(check_email(&email), Ok(email.clone()));
            prop_assert!(email.len() <= 254);
            let (local, domain) = email.split_once('@').unwrap();
            prop_assert!(!domain.contains('@'));
            prop_assert!(!local.starts_with('.') && !local.ends_with('.') && !local.contains(".."));
        }
    }

    #[test]
    fn dot_atom_addresses_are_accepted_and_stray_dots_are_not(
        local in local_part(),
        domain in domain(),
        pad in "[ ]{0,2}",
    ) {
        let email = format!("{local}@{domain}");
        prop_assert_eq!(check_email(&format!("{pad}{email}{pad}")), Ok(email.clone()));
        for bad in [
            format!(".{local}@{domain}"),
            format!("{local}.@{domain}"),
            format!("{local}..x@{domain}"),
            format!("{local}@@{domain}"),
            format!("{local} x@{domain}"),
            format!("{local}@-{domain}"),
        ] {
            prop_assert!(check_email(&bad).is_err(), "{}", bad);
        }
    }

    #[test]
    fn the_webhook_url_never_quotes_its_token_when_refused(base in "\\PC{0,60}") {
        let config = ReceiverConfig::unsigned_secret_url(TOKEN).unwrap();
        match config.webhook_url(&base) {
            Ok(url) => {
                let url = url::Url::parse(url.expose_secret()).unwrap();
                prop_assert!(url.path().ends_with(TOKEN));
                prop_assert!(url.query().is_none() && url.fragment().is_none());
            }
            Err(err) => prop_assert!(!err.to_string().contains(TOKEN)),
        }
    }

    #[test]
    fn the_webhook_url_joins_onto_any_public_base(
        host in "[a-z][a-z0-9]{0,10}\\.[a-z]{2,6}",
        path in proptest::collection::vec("[a-z0-9_-]{1,8}", 0..3),
        slash in prop::bool::ANY,
    ) {
        let path: String = path.iter().map(|s| format!("/{s}")).collect();
        let base = format!("https://{host}{path}{}", if slash { "/" } else { "" });
        let config = ReceiverConfig::unsigned_secret_url(TOKEN).unwrap();
        let url = config.webhook_url(&base).unwrap();
        prop_assert_eq!(
            url.expose_secret(),
            &format!("https://{host}{path}/webhooks/mailchimp/{TOKEN}")
        );
    }
}
