//! Property tests of the configuration loader (the fuzz target `config` under `fuzz/` searches
//! the same code guided by coverage): any text loads or is refused with a location inside the
//! file, and string values come back exactly as written.

use std::path::Path;

use proptest::prelude::*;

use super::load::{parse, ConfigError};

const GOOD: &str = r#"[qad]
tenant_url = "https://acme.qad.com/clouderp"
username = "api"
client_id = "c"
domain = "10USA"

[sync]
list_id = "a1b2c3"

[schedule]
customers = "15m"
"#;

fn quoted(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}

/// The refusal's line, which must fall inside the text.
fn check_refusal(text: &str, err: &ConfigError) -> Result<(), TestCaseError> {
    let ConfigError::Invalid { location, .. } = err else {
        return Err(TestCaseError::fail(format!("not a content error: {err}")));
    };
    prop_assert_eq!(location.path.as_path(), Path::new("conf.toml"));
    prop_assert!(location.line >= 1 && location.line <= text.lines().count() + 1);
    prop_assert!(err.to_string().starts_with("conf.toml:"));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn any_text_loads_or_is_refused_at_a_line_of_the_file(text in "\\PC{0,200}") {
        if let Err(err) = parse(Path::new("conf.toml"), &text) {
            check_refusal(&text, &err)?;
        }
    }

    #[test]
    fn a_mutated_good_file_loads_or_is_refused_at_a_line_of_the_file(
        at in 0usize..GOOD.len(),
        insert in "\\PC{0,12}|\n\\[[a-z.]{0,12}\\]\n|\n[a-z_]{1,12} = [0-9\"a-z]{0,8}\n",
    ) {
        let mut text = GOOD.to_owned();
        let at = (0..=at).rev().find(|i| text.is_char_boundary(*i)).unwrap_or(0);
        text.insert_str(at, &insert);
        if let Err(err) = parse(Path::new("conf.toml"), &text) {
            check_refusal(&text, &err)?;
        }
    }

    #[test]
    fn string_values_come_back_as_written(
        username in "\\PC{1,40}",
        client_id in "\\PC{1,40}",
        list_id in "[a-z0-9]{1,12}",
    ) {
        // Built in one pass: replacing one value after another would also rewrite a value
        // inserted before that happens to read like the next one's original.
        let text = format!(
            "[qad]\ntenant_url = \"https://acme.qad.com/clouderp\"\nusername = {}\nclient_id = {}\n\
             domain = \"10USA\"\n\n[sync]\nlist_id = {}\n",
            quoted(&username),
            quoted(&client_id),
            quoted(&list_id),
        );
        let config = parse(Path::new("conf.toml"), &text).unwrap();
        prop_assert_eq!(&config.qad.username, &username);
        prop_assert_eq!(config.qad.client_id.as_deref(), Some(client_id.as_str()));
        prop_assert_eq!(&config.sync.list_id, &list_id);
    }
}
