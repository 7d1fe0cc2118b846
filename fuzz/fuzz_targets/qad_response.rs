//! The QAD reply decoders: the error-envelope check, the row-list envelopes and the typed
//! records. The first two bytes are the HTTP status, the rest the body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use qad_client::fuzzing::decode_browse_reply;

fuzz_target!(|data: &[u8]| {
    let (status, body) = match data {
        [hi, lo, body @ ..] => (100 + u16::from_be_bytes([*hi, *lo]) % 500, body),
        _ => (200, data),
    };
    match decode_browse_reply(status, body) {
        Ok(decoded) => {
            assert!(decoded.customers <= decoded.rows);
            assert!(decoded.items <= decoded.rows);
            assert!(decoded.sales_orders <= decoded.rows);
            assert!(decoded.sales_order_lines <= decoded.rows);
        }
        Err(err) => {
            let _ = (err.to_string(), format!("{err:?}"));
        }
    }
});
