//! URL validation: the QAD tenant URL, the Mailchimp API root policy, the webhook public URL
//! and the user-info stripping of URLs shown back to the operator. An accepted URL re-validates
//! to itself; a refused webhook URL never quotes the secret token; shown text never keeps a
//! password the URL parser would find.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailchimp_client::{check_base_url, parse_api_root};
use qad_client::TenantUrl;
use secrecy::ExposeSecret;
use sync_core::webhook_receiver::ReceiverConfig;

// The command's own helper, compiled from its source: the command is a binary crate.
#[path = "../../examples/src/url_text.rs"]
mod url_text;

const TOKEN: &str = "tok3n-0123456789abcdef0123456789";

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };

    if let Ok(tenant) = TenantUrl::parse(input) {
        assert_eq!(TenantUrl::parse(tenant.as_str()).as_ref(), Ok(&tenant));
        assert!(tenant.as_url().username().is_empty() && tenant.as_url().password().is_none());
        assert!(tenant.as_url().query().is_none() && tenant.as_url().fragment().is_none());
    }

    if let Ok(base) = check_base_url(input) {
        assert_eq!(check_base_url(base.as_str()).as_ref(), Ok(&base));
        assert!(matches!(base.scheme(), "https" | "http"));
    }
    if let Ok(root) = parse_api_root(input) {
        assert_eq!(parse_api_root(root.as_str()).as_ref(), Ok(&root));
        assert!(root.path().ends_with("/3.0"));
    }

    if let Ok(config) = ReceiverConfig::unsigned_secret_url(TOKEN) {
        match config.webhook_url(input) {
            Ok(url) => {
                let url = url::Url::parse(url.expose_secret());
                assert!(url.is_ok_and(|u| u.path().ends_with(TOKEN)
                    && u.query().is_none()
                    && u.fragment().is_none()));
            }
            Err(err) => assert!(!err.to_string().contains(TOKEN)),
        }
    }

    let shown = url_text::without_user_info(input);
    assert!(shown.len() <= input.len());
    if let Ok(url) = url::Url::parse(input) {
        if let Some(password) = url.password().filter(|p| p.len() >= 4) {
            // The user-info (`:password@` as typed) must be gone; the same text may occur in the
            // host or path, and a password the parser percent-encoded is not checked.
            let userinfo = format!(":{password}@");
            let typed = input.matches(userinfo.as_str()).count();
            assert!(
                typed == 0 || shown.matches(userinfo.as_str()).count() < typed,
                "{shown:?} shows the password"
            );
        }
    }
});
