//! The webhook form parser and delivery decoder: any body either decodes or is refused with a
//! typed error whose message quotes at most an excerpt.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailchimp_client::webhooks::{parse_delivery_with_limits, ParseLimits};

/// Error messages quote excerpts, never a whole hostile body.
const MAX_MESSAGE: usize = 2048;

fuzz_target!(|body: &[u8]| {
    match parse_delivery_with_limits(body, &ParseLimits::default()) {
        Ok(delivery) => {
            let _ = delivery.dedup_key();
            let _ = format!("{:?}", delivery.event());
        }
        Err(err) => {
            let message = err.to_string();
            assert!(message.len() <= MAX_MESSAGE, "{} bytes", message.len());
        }
    }
});
