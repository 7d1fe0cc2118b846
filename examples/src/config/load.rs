//! Reading the file, with errors that name the file, the line and the key.

use std::fmt;
use std::path::{Path, PathBuf};

use super::FileConfig;

/// Why the configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file does not exist.
    #[error("configuration file {} not found; write one with `ml-connector init`, or try `ml-connector demo`", .path.display())]
    NotFound {
        /// The path tried.
        path: PathBuf,
    },
    /// The file exists but cannot be read.
    #[error("cannot read configuration file {}", .path.display())]
    Read {
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML, or a key is missing, unknown or has a bad value.
    #[error("{location}: {message}")]
    Invalid {
        /// Where.
        location: Location,
        /// What is wrong.
        message: String,
    },
}

/// A place in the configuration file: path, line and column (from 1), and the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file.
    pub path: PathBuf,
    /// The line, from 1.
    pub line: usize,
    /// The column, from 1.
    pub column: usize,
    /// The dotted key, such as `schedule.customers`, when one can be named.
    pub field: Option<String>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.path.display(), self.line, self.column)?;
        if let Some(field) = &self.field {
            write!(f, ": field `{field}`")?;
        }
        Ok(())
    }
}

/// Reads and checks the configuration file at `path`.
///
/// # Errors
///
/// [`ConfigError`] naming the file and, for bad contents, the line and the key.
pub fn load(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            ConfigError::NotFound {
                path: path.to_path_buf(),
            }
        } else {
            ConfigError::Read {
                path: path.to_path_buf(),
                source,
            }
        }
    })?;
    parse(path, &text)
}

/// Parses `text` read from `path`, then checks what deserialization cannot.
pub(crate) fn parse(path: &Path, text: &str) -> Result<FileConfig, ConfigError> {
    let config: FileConfig = toml::from_str(text).map_err(|err| {
        let span = err.span().unwrap_or(0..0);
        ConfigError::Invalid {
            location: locate(path, text, span, err.message()),
            message: err.message().trim().to_owned(),
        }
    })?;
    check(path, text, &config)?;
    Ok(config)
}

/// Checks across keys: sync-core's own validation, and cadence against jitter.
fn check(path: &Path, text: &str, config: &FileConfig) -> Result<(), ConfigError> {
    let at_table = |table: &str, message: String| ConfigError::Invalid {
        location: Location {
            path: path.to_path_buf(),
            line: table_line(text, table).unwrap_or(1),
            column: 1,
            field: Some(table.to_owned()),
        },
        message,
    };
    if let Err(err) = config.sync.validate() {
        return Err(at_table("sync", err.to_string()));
    }
    let s = &config.schedule;
    for (name, every) in [
        ("customers", &s.customers),
        ("items", &s.items),
        ("orders", &s.orders),
    ] {
        if let Err(err) = sync_core::schedule::Cadence::new(every.0)
            .and_then(|cadence| cadence.with_jitter(s.jitter.0))
        {
            return Err(at_table("schedule", format!("{name}: {err}")));
        }
    }
    let r = &config.retention;
    for (name, age) in [("audit", &r.audit), ("runs", &r.runs)] {
        if age.0 < super::MIN_RETENTION {
            return Err(at_table(
                "retention",
                format!("{name}: keep the history at least 1 day"),
            ));
        }
    }
    if let Some(consent) = &config.consent {
        if consent
            .key_param
            .as_ref()
            .is_some_and(|k| k.trim().is_empty())
        {
            return Err(at_table(
                "consent",
                "key_param: name the entity's key query parameter (default customerCode)".into(),
            ));
        }
        if consent.statuses.as_ref().is_some_and(Vec::is_empty) {
            return Err(at_table(
                "consent",
                "statuses: list at least one status to write back, or set enabled = false".into(),
            ));
        }
    }
    if let Some(orders) = &config.orders {
        let Some(store) = &config.sync.store else {
            return Err(at_table(
                "orders",
                "orders need a [sync.store] to read from; add one or remove [orders]".into(),
            ));
        };
        // Only the settings are checked here; the attribution path is the QAD client's.
        let checked = sync_core::orders::OrdersConfig::from_settings(
            store.id.as_str(),
            store.currency_code.as_str(),
            orders,
            "",
        );
        if let Err(err) = checked {
            return Err(at_table("orders", err.to_string()));
        }
    }
    Ok(())
}

/// Where a byte `span` of `text` is, and which key it belongs to.
fn locate(path: &Path, text: &str, span: std::ops::Range<usize>, message: &str) -> Location {
    let start = span.start.min(text.len());
    let before = &text[..start];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    let whole_document = span.start == 0 && span.end >= text.trim_end().len();
    let table = if whole_document {
        String::new()
    } else {
        table_at(text, line)
    };
    let join = |key: &str| {
        if table.is_empty() {
            key.to_owned()
        } else {
            format!("{table}.{key}")
        }
    };
    let field = if let Some(missing) = backticked(message, "missing field `") {
        Some(join(missing))
    } else {
        let line_text = text[line_start..].lines().next().unwrap_or("");
        match key_of(line_text) {
            Some(key) => Some(join(&key)),
            None if !table.is_empty() => Some(table.clone()),
            None => None,
        }
    };
    Location {
        path: path.to_path_buf(),
        line,
        column,
        field,
    }
}

/// The text between `prefix` and the next backtick in `message`.
fn backticked<'m>(message: &'m str, prefix: &str) -> Option<&'m str> {
    let rest = &message[message.find(prefix)? + prefix.len()..];
    Some(&rest[..rest.find('`')?])
}

/// The table header (`[a.b]` → `a.b`) in force at `line` (from 1), or `""` at the top level.
fn table_at(text: &str, line: usize) -> String {
    text.lines()
        .take(line)
        .filter_map(header)
        .last()
        .unwrap_or_default()
}

/// The line (from 1) of the header of `table`.
fn table_line(text: &str, table: &str) -> Option<usize> {
    text.lines()
        .position(|l| header(l).as_deref() == Some(table))
        .map(|i| i + 1)
}

fn header(line: &str) -> Option<String> {
    let line = line.trim();
    let inner = line
        .strip_prefix("[[")
        .and_then(|l| l.split("]]").next())
        .or_else(|| line.strip_prefix('[').and_then(|l| l.split(']').next()))?;
    Some(inner.trim().replace(['"', ' '], ""))
}

/// The key of a `key = value` line.
fn key_of(line: &str) -> Option<String> {
    let line = line.trim();
    if line.starts_with('[') || line.starts_with('#') {
        return None;
    }
    let (key, _) = line.split_once('=')?;
    Some(key.trim().replace(['"', ' '], ""))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[qad]
tenant_url = "https://acme.qad.com/clouderp"
username = "api"
domain = "10USA"

[sync]
list_id = "a1b2c3"

[sync.store]
id = "s1"
name = "Shop"
currency_code = "EUR"

[schedule]
customers = "10m"
"#;

    fn error(text: &str) -> (Location, String) {
        match parse(Path::new("conf.toml"), text) {
            Err(ConfigError::Invalid { location, message }) => (location, message),
            other => panic!("expected an invalid-config error, got {other:?}"),
        }
    }

    #[test]
    fn a_good_file_loads() {
        let config = parse(Path::new("conf.toml"), GOOD).unwrap();
        assert_eq!(config.sync.list_id, "a1b2c3");
        assert_eq!(config.schedule.customers.0.as_secs(), 600);
        assert_eq!(config.schedule.orders.0.as_secs(), 300);
    }

    #[test]
    fn retention_is_read_and_a_too_short_one_is_refused() {
        let config = parse(Path::new("conf.toml"), GOOD).unwrap();
        assert_eq!(config.retention.audit.0.as_secs(), 90 * 86_400);
        let text = format!("{GOOD}\n[retention]\naudit = \"30days\"\n");
        let config = parse(Path::new("conf.toml"), &text).unwrap();
        let policy = config.retention.policy();
        assert_eq!(policy.audit_age().as_secs(), 30 * 86_400);
        assert_eq!(policy.runs_age().as_secs(), 90 * 86_400);

        let (at, message) = error(&format!("{GOOD}\n[retention]\nruns = \"1h\"\n"));
        assert_eq!(at.field.as_deref(), Some("retention"));
        assert!(
            message.contains("runs: keep the history at least 1 day"),
            "{message}"
        );
    }

    #[test]
    fn a_bad_consent_section_is_named() {
        let (at, message) = error(&format!(
            "{GOOD}\n[consent]\nenabled = true\nentity_path = \"../etc/passwd\"\n"
        ));
        assert_eq!(at.field.as_deref(), Some("consent.entity_path"));
        assert!(message.contains("invalid QAD entity path"), "{message}");
        let (at, message) = error(&format!("{GOOD}\n[consent]\nkey_param = \" \"\n"));
        assert_eq!(at.field.as_deref(), Some("consent"));
        assert!(message.contains("key_param"), "{message}");
        let (_, message) = error(&format!("{GOOD}\n[consent]\nstatuses = []\n"));
        assert!(message.contains("statuses"), "{message}");
        let (_, message) = error(&format!("{GOOD}\n[consent]\nstatuses = [\"gone\"]\n"));
        assert!(message.contains("gone"), "{message}");
        let config = parse(
            Path::new("conf.toml"),
            &format!("{GOOD}\n[consent]\nenabled = false\n"),
        )
        .unwrap();
        assert!(config.consent.is_some() && config.consent_enabled().is_none());
    }

    #[test]
    fn an_unknown_key_is_named_with_its_line() {
        let (at, message) = error(&GOOD.replace("list_id", "list_id = \"x\"\npage_sise = 3\n#"));
        assert_eq!((at.line, at.field.as_deref()), (9, Some("sync.page_sise")));
        assert!(message.contains("unknown field `page_sise`"), "{message}");
    }

    #[test]
    fn a_missing_key_is_named_with_its_table() {
        let (at, message) = error(&GOOD.replace("username = \"api\"\n", ""));
        assert_eq!(at.field.as_deref(), Some("qad.username"));
        assert_eq!(at.line, 2, "the table's header");
        assert!(message.contains("missing field `username`"), "{message}");
    }

    #[test]
    fn a_bad_url_and_a_bad_duration_are_named() {
        let (at, message) = error(&GOOD.replace("https://acme", "ftp://acme"));
        assert_eq!((at.line, at.field.as_deref()), (3, Some("qad.tenant_url")));
        assert!(message.contains("invalid QAD tenant URL"), "{message}");

        let (at, message) = error(&GOOD.replace("\"10m\"", "\"ten minutes\""));
        assert_eq!(
            (at.line, at.field.as_deref()),
            (16, Some("schedule.customers"))
        );
        assert!(message.contains("invalid duration"), "{message}");
        let shown = ConfigError::Invalid {
            location: at,
            message,
        }
        .to_string();
        assert!(shown.starts_with("conf.toml:16:"), "{shown}");
        assert!(shown.contains("field `schedule.customers`"), "{shown}");
    }

    #[test]
    fn checks_across_keys_point_at_their_table() {
        let (at, message) = error(&GOOD.replace("\"EUR\"", "\"euro\""));
        assert_eq!((at.line, at.field.as_deref()), (7, Some("sync")));
        assert!(message.contains("currency_code"), "{message}");
        let (at, message) = error(&format!("{GOOD}jitter = \"1h\"\n"));
        assert_eq!(at.field.as_deref(), Some("schedule"));
        assert!(message.starts_with("customers:"), "{message}");
    }
}
