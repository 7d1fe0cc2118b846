//! Addresses Mailchimp refuses as "fake or invalid" although their syntax is fine.
//!
//! Users report the refusal for `example.com`/`.org`/`.net` and other reserved names
//! (JustFixNYC/tenants2 #1554, VingtCinq/python-mailchimp #183, amro/gibbon #265). The fake refuses
//! the names RFC 2606 and RFC 6761 reserve, and a short list of disposable-mail domains; Mailchimp's
//! own list is larger and not published.

/// Second-level names RFC 2606 §3 reserves for documentation (their subdomains too).
pub(crate) const RESERVED_DOMAINS: [&str; 3] = ["example.com", "example.org", "example.net"];

/// Top-level names RFC 2606 §2 and RFC 6761 §6 reserve.
pub(crate) const RESERVED_TLDS: [&str; 4] = ["test", "example", "invalid", "localhost"];

/// Disposable-mail domains refused as well (a small sample of what such filters hold).
pub(crate) const DISPOSABLE_DOMAINS: [&str; 3] =
    ["mailinator.com", "guerrillamail.com", "10minutemail.com"];

/// Whether Mailchimp would call this (syntactically valid) address fake-looking.
pub(crate) fn looks_fake(email: &str) -> bool {
    let Some((_, domain)) = email.trim().rsplit_once('@') else {
        return false;
    };
    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
    let within = |name: &str| domain == name || domain.ends_with(&format!(".{name}"));
    RESERVED_DOMAINS.iter().any(|d| within(d))
        || DISPOSABLE_DOMAINS.iter().any(|d| within(d))
        || domain
            .rsplit('.')
            .next()
            .is_some_and(|tld| RESERVED_TLDS.contains(&tld))
}

#[cfg(test)]
mod tests {
    use super::looks_fake;

    #[test]
    fn reserved_and_disposable_domains_look_fake() {
        for fake in [
            "a@example.com",
            "a@Mail.Example.ORG",
            "a@example.net",
            "a@shop.test",
            "a@acme.example",
            "a@host.invalid",
            "a@localhost",
            "a@box.localhost",
            "a@mailinator.com",
        ] {
            assert!(looks_fake(fake), "{fake}");
        }
        for real in [
            "a@northwind-mfg.com",
            "a@acme-industrial.com",
            "a@contoso-parts.de",
            "a@notexample.com",
            "a@example.company",
            "a@testing.io",
        ] {
            assert!(!looks_fake(real), "{real}");
        }
    }
}
