//! Telling Mailchimp's `400`s apart: several share the title `Invalid Resource` and differ only in
//! their `detail`, yet call for different handling (a conflict to skip, a record to reject, a
//! signup to retry later). The phrases matched are Mailchimp's own, as users report them; see the
//! table in `docs/mailchimp.md`.

use crate::Error;

/// "… has signed up to a lot of lists very recently; we're not allowing more signups for now".
const SIGNUP_THROTTLED: &str = "signed up to a lot of lists very recently";
/// "… looks fake or invalid, please enter a real email address."
const FAKE_OR_INVALID: &str = "looks fake or invalid";
/// "… is already a list member. Use PUT to insert or update list members."
const ALREADY_A_MEMBER: &str = "is already a list member";
/// "\"…\" is already in this list with a status of \"…\"."
const ALREADY_IN_LIST: &str = "is already in this list with a status of";
/// "An email address may not be changed once a customer is created."
const CUSTOMER_EMAIL_FIXED: &str = "may not be changed once a customer is created";

impl Error {
    /// The `detail` of a `400`, if this is one.
    fn bad_request_detail(&self) -> Option<&str> {
        self.problem()
            .filter(|p| p.status == 400)
            .map(|p| p.detail.as_str())
    }

    fn bad_request_says(&self, phrase: &str) -> bool {
        self.bad_request_detail()
            .is_some_and(|detail| detail.contains(phrase))
    }

    /// `400` signup throttling: the address "has signed up to a lot of lists very recently".
    ///
    /// This is temporary (Mailchimp lifts it after a while): retry the record on a later run
    /// rather than rejecting it.
    ///
    /// ```
    /// # use mailchimp_client::Error;
    /// # fn check(err: &Error) {
    /// if err.is_signup_throttled() {
    ///     // defer the record, do not reject it
    /// }
    /// # }
    /// ```
    pub fn is_signup_throttled(&self) -> bool {
        self.bad_request_says(SIGNUP_THROTTLED)
    }

    /// `400` "… looks fake or invalid, please enter a real email address": Mailchimp refuses the
    /// address itself (a reserved or disposable domain, or one it judges fake). Permanent.
    pub fn is_fake_or_invalid_email(&self) -> bool {
        self.bad_request_says(FAKE_OR_INVALID)
    }

    /// A member-exists conflict: `400 Member Exists` (a `POST` of an existing member, or a `PUT`
    /// whose subscriber hash names one member and whose body names another), or `400 Invalid
    /// Resource` "… is already in this list with a status of …" (a `PATCH` moving a member onto
    /// an address another member, archived ones included, still holds).
    ///
    /// Not a failure of the request's data: skip the write with this reason.
    pub fn is_member_exists(&self) -> bool {
        self.problem().is_some_and(|p| {
            p.status == 400 && p.title.trim().eq_ignore_ascii_case("Member Exists")
        }) || self.bad_request_says(ALREADY_A_MEMBER)
            || self.bad_request_says(ALREADY_IN_LIST)
    }

    /// `400` "An email address may not be changed once a customer is created": an e-commerce
    /// customer's `email_address` is fixed once set; a new address needs a new customer.
    pub fn is_customer_email_immutable(&self) -> bool {
        self.bad_request_says(CUSTOMER_EMAIL_FIXED)
    }
}

#[cfg(test)]
mod tests {
    use crate::Error;

    fn error(status: u16, title: &str, detail: &str) -> Error {
        let body = serde_json::json!({
            "type": "https://mailchimp.com/developer/marketing/docs/errors/",
            "title": title, "status": status, "detail": detail, "instance": "",
        });
        Error::from_response(status, body.to_string().as_bytes())
    }

    #[test]
    fn each_400_is_told_apart_by_its_detail() {
        let throttled = error(400, "Invalid Resource", "a@northwind-mfg.com has signed up to a lot of lists very recently; we're not allowing more signups for now");
        let fake = error(
            400,
            "Invalid Resource",
            "a@example.com looks fake or invalid, please enter a real email address.",
        );
        let exists = error(400, "Member Exists", "b@northwind-mfg.com is already a list member. Use PUT to insert or update list members.");
        let archived = error(
            400,
            "Invalid Resource",
            "\"c@northwind-mfg.com\" is already in this list with a status of \"archived\".",
        );
        let fixed = error(
            400,
            "Invalid Resource",
            "An email address may not be changed once a customer is created.",
        );
        let other = error(400, "Invalid Resource", "Your merge fields were invalid.");
        type Predicate = fn(&Error) -> bool;
        let checks: [(&str, Predicate, [bool; 6]); 4] = [
            (
                "throttled",
                Error::is_signup_throttled,
                [true, false, false, false, false, false],
            ),
            (
                "fake",
                Error::is_fake_or_invalid_email,
                [false, true, false, false, false, false],
            ),
            (
                "exists",
                Error::is_member_exists,
                [false, false, true, true, false, false],
            ),
            (
                "fixed",
                Error::is_customer_email_immutable,
                [false, false, false, false, true, false],
            ),
        ];
        let errors = [&throttled, &fake, &exists, &archived, &fixed, &other];
        for (name, predicate, expected) in checks {
            let got: Vec<bool> = errors.iter().map(|e| predicate(e)).collect();
            assert_eq!(got, expected, "{name}");
        }
        assert!(throttled.is_invalid_resource() && !throttled.is_retryable());
        // The same words under another status are not these errors.
        assert!(!error(
            500,
            "Internal Server Error",
            "has signed up to a lot of lists very recently"
        )
        .is_signup_throttled());
    }
}
