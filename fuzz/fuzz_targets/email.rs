//! Email normalisation and the pre-send email check: normalising is idempotent, and an address
//! the check accepts is accepted again unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sync_core::mapping::check_email;
use sync_core::normalize_email;

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    let normal = normalize_email(raw);
    assert_eq!(normalize_email(&normal), normal);
    if let Ok(email) = check_email(raw) {
        assert_eq!(email, raw.trim());
        assert_eq!(check_email(&email), Ok(email.clone()));
        assert!(email.len() <= 254);
    }
});
