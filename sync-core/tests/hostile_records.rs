//! The hostile corpus for QAD records (issue 13 point 10): emails (unicode, 300 characters,
//! quotes, nulls, dots), case-only duplicates, and item records with absurd numbers, each with its
//! expected outcome: rejected with a reason, a documented normalisation, or accepted.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::json;
use sync_core::mapping::{check_email, map_product, Issue, ItemMapping, SourceFields};
use sync_core::normalize_email;

#[test]
fn emails() {
    let long_local = format!("{}@northwind-mfg.com", "a".repeat(65));
    let long_300 = format!("{}@{}.com", "a".repeat(60), "b".repeat(236));
    // `Ok(kept)`: accepted, trimmed, case kept; `Err(word)`: refused, the reason says `word`.
    let cases: Vec<(&str, Result<&str, &str>)> = vec![
        ("ann@northwind-mfg.com", Ok("ann@northwind-mfg.com")),
        ("  Ann@Northwind-MFG.com\t", Ok("Ann@Northwind-MFG.com")),
        (
            "zoë.müller@northwind-mfg.de",
            Ok("zoë.müller@northwind-mfg.de"),
        ),
        ("山田@例え.jp", Ok("山田@例え.jp")),
        ("o'brien@northwind-mfg.com", Ok("o'brien@northwind-mfg.com")),
        (
            "ann+newsletter@northwind-mfg.com",
            Ok("ann+newsletter@northwind-mfg.com"),
        ),
        (
            "a.b.c@sub.northwind-mfg.com",
            Ok("a.b.c@sub.northwind-mfg.com"),
        ),
        ("", Err("no email")),
        ("   ", Err("no email")),
        ("ann", Err("no @")),
        ("ann at northwind-mfg.com", Err("whitespace")),
        ("ann@northwind mfg.com", Err("whitespace")),
        ("ann\0@northwind-mfg.com", Err("whitespace")),
        ("ann\u{7}@northwind-mfg.com", Err("whitespace")),
        ("@northwind-mfg.com", Err("local part")),
        (&long_local, Err("local part")),
        (".lead@northwind-mfg.com", Err("dot")),
        ("trail.@northwind-mfg.com", Err("dot")),
        ("two..dots@northwind-mfg.com", Err("dot")),
        ("ann@localhost", Err("domain")),
        ("ann@-northwind.com", Err("domain")),
        ("ann@northwind-.com", Err("domain")),
        ("ann@northwind..com", Err("domain")),
        ("ann@@northwind-mfg.com", Err("domain")),
        ("ann@northwind-mfg.com.", Err("domain")),
        (&long_300, Err("longer than 254")),
    ];
    for (input, expected) in &cases {
        let got = check_email(input);
        match (expected, &got) {
            (Ok(kept), Ok(email)) => assert_eq!(email, kept, "{input:?}"),
            (Err(word), Err(reason)) => assert!(reason.contains(word), "{input:?}: {reason}"),
            _ => panic!("{input:?}: expected {expected:?}, got {got:?}"),
        }
    }
    assert_eq!(cases.len(), 26);
}

#[test]
fn case_only_duplicates_share_one_key() {
    // The id map and remembered statuses key members by the normalised address, as Mailchimp's
    // subscriber hash does: addresses that differ only by case or blanks are one member.
    let cases = [
        ("Ann@Northwind-mfg.com", "ann@northwind-mfg.com"),
        ("ANN@NORTHWIND-MFG.COM", "ann@northwind-mfg.com"),
        (" ann@northwind-mfg.com ", "ann@northwind-mfg.com"),
        ("ZOË@Northwind-mfg.de", "zoë@northwind-mfg.de"),
        ("İSTANBUL@acme.example", "i̇stanbul@acme.example"),
    ];
    for (input, key) in cases {
        assert_eq!(normalize_email(input), key, "{input:?}");
    }
    assert_eq!(
        normalize_email(cases[0].0),
        normalize_email(cases[1].0),
        "case-only duplicates collide on purpose"
    );
}

#[test]
fn item_prices_and_quantities() {
    let mapping = ItemMapping {
        inventory_field: Some("qtyOnHand".into()),
        ..ItemMapping::default()
    };
    // `Ok(price text)` as sent (None: no price), or `Err(word)` in the rejection.
    let cases: Vec<(serde_json::Value, Result<Option<&str>, &str>)> = vec![
        (
            json!({"description": "Hex bolt", "price": "12.50"}),
            Ok(Some("12.50")),
        ),
        (
            json!({"description": "Hex bolt", "price": 12.5}),
            Ok(Some("12.5")),
        ),
        (
            json!({"description": "Hex bolt", "price": "0"}),
            Ok(Some("0")),
        ),
        (
            json!({"description": "Hex bolt", "price": "-0"}),
            Ok(Some("0")),
        ),
        (json!({"description": "Hex bolt", "price": null}), Ok(None)),
        (json!({"description": "Hex bolt", "price": "   "}), Ok(None)),
        (json!({"description": "Hex bolt"}), Ok(None)),
        (
            json!({"description": "Hex bolt", "price": "999999999999999"}),
            Ok(Some("999999999999999")),
        ),
        (
            json!({"description": "Hex bolt", "price": "-1"}),
            Err("negative"),
        ),
        (
            json!({"description": "Hex bolt", "price": "-0.01"}),
            Err("negative"),
        ),
        (
            json!({"description": "Hex bolt", "price": "92233720368547758.07"}),
            Err("digits"),
        ),
        (
            json!({"description": "Hex bolt", "price": i64::MAX}),
            Err("digits"),
        ),
        (
            json!({"description": "Hex bolt", "price": "1e400"}),
            Err("not a number"),
        ),
        (
            json!({"description": "Hex bolt", "price": "NaN"}),
            Err("not a number"),
        ),
        (
            json!({"description": "Hex bolt", "price": "12,50"}),
            Err("not a number"),
        ),
        (
            json!({"description": "Hex bolt", "price": "$12"}),
            Err("not a number"),
        ),
        (
            json!({"description": "Hex bolt", "price": "1", "qtyOnHand": "lots"}),
            Err("inventory"),
        ),
        (
            json!({"description": "Hex bolt", "price": "1", "qtyOnHand": "1e30"}),
            Err("inventory"),
        ),
    ];
    for (row, expected) in &cases {
        let got = map_product("BOLT-M8", &SourceFields::of(row), &mapping);
        match (expected, &got) {
            (Ok(price), Ok(record)) => assert_eq!(
                record.variant.price.map(|p| p.to_string()).as_deref(),
                *price,
                "{row}"
            ),
            (Err(word), Err(Issue::Rejected(reason))) => {
                assert!(reason.contains(word), "{row}: {reason}");
            }
            _ => panic!("{row}: expected {expected:?}, got {got:?}"),
        }
    }
    // Unicode, quotes and control characters in a title are kept as text, not refused.
    let odd = json!({"description": "Bolt \"M8\" – Ø8 mm 🔩\u{0}", "price": "1"});
    let record = map_product("BOLT-M8", &SourceFields::of(&odd), &mapping).unwrap();
    assert_eq!(record.title, "Bolt \"M8\" – Ø8 mm 🔩\u{0}");
    assert_eq!(cases.len() + 1, 19);
}
