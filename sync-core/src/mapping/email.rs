//! Email checks done before anything is sent, so a malformed address becomes a rejected record
//! with its reason instead of a failed call.

/// The longest address accepted (RFC 5321's path limit).
const MAX_LEN: usize = 254;

/// Trims `raw` and checks it looks like a deliverable address: one `@`, a non-empty local part of
/// at most 64 bytes with no leading, trailing or doubled dot, a dotted domain (internationalised
/// domains allowed) whose labels are non-empty and do not start or end with `-`,
/// no whitespace or control characters. Returns the trimmed address (case kept) or why it is not
/// one.
///
/// Mailchimp validates more strictly; its refusals come back per record too.
///
/// ```
/// use sync_core::mapping::check_email;
///
/// assert_eq!(check_email("  Zoë@Northwind-mfg.com "), Ok("Zoë@Northwind-mfg.com".to_owned()));
/// assert!(check_email("ada at example.com").is_err());
/// assert!(check_email("ada@localhost").is_err());
/// assert!(check_email("a b@northwind-mfg.com").is_err());
/// assert!(check_email("ada@@northwind-mfg.com").is_err());
/// ```
///
/// # Errors
///
/// A short reason, suitable for the audit trail, when the address is malformed.
pub fn check_email(raw: &str) -> Result<String, String> {
    let email = raw.trim();
    if email.is_empty() {
        return Err("no email address".into());
    }
    if email.len() > MAX_LEN {
        return Err(format!("invalid email: longer than {MAX_LEN} bytes"));
    }
    if email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("invalid email: {email:?} contains whitespace"));
    }
    let Some((local, domain)) = email.split_once('@') else {
        return Err(format!("invalid email: {email:?} has no @"));
    };
    if local.is_empty() || local.len() > 64 {
        return Err(format!(
            "invalid email: {email:?} has an invalid local part"
        ));
    }
    // Dot-atom rule (RFC 5322 §3.4.1): dots only between characters, never two in a row.
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err(format!(
            "invalid email: {email:?} has a local part that starts or ends with a dot or holds two \
             in a row"
        ));
    }
    let labels_ok = domain.contains('.')
        && domain
            .split('.')
            .all(|l| !l.is_empty() && !l.starts_with('-') && !l.ends_with('-') && !l.contains('@'));
    if !labels_ok {
        return Err(format!("invalid email: {email:?} has an invalid domain"));
    }
    Ok(email.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_name_the_problem() {
        assert_eq!(check_email("   "), Err("no email address".to_owned()));
        assert!(check_email("x@-bad.com").unwrap_err().contains("domain"));
        assert!(check_email("@northwind-mfg.com")
            .unwrap_err()
            .contains("local part"));
        assert!(check_email(&format!("{}@northwind-mfg.com", "a".repeat(250))).is_err());
        assert!(check_email("山田@例え.jp").is_ok());
    }

    #[test]
    fn local_parts_follow_the_dot_atom_rules() {
        for bad in [
            ".lead@northwind-mfg.com",
            "trail.@northwind-mfg.com",
            "dou..ble@northwind-mfg.com",
            ".@northwind-mfg.com",
        ] {
            let reason = check_email(bad).unwrap_err();
            assert!(reason.contains("dot"), "{bad}: {reason}");
        }
        for good in [
            "first.last@northwind-mfg.com",
            "a.b.c@acme-industrial.com",
            "jürgen.groß@bücher-contoso.de",
            "info@xn--bcher-kva.de",
        ] {
            assert!(check_email(good).is_ok(), "{good}");
        }
    }
}
