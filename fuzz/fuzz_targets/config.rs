//! The configuration loader: any file either loads or is refused with an error naming the file
//! and a line inside it; a loaded file resolves its paths and QAD behaviour without panicking.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

// The command's configuration module, compiled from its source: the command is a binary crate.
#[allow(dead_code, unused_imports)]
#[path = "../../examples/src/config/mod.rs"]
mod config;
#[allow(dead_code)]
#[path = "../../examples/src/url_text.rs"]
mod url_text;

/// One scratch file per fuzzing process: the loader reads a path.
fn scratch() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        std::env::temp_dir().join(format!("ml-connector-fuzz-{}.toml", std::process::id()))
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = scratch();
    if std::fs::write(path, text).is_err() {
        return;
    }
    match config::load(path) {
        Ok(loaded) => {
            let resolved = loaded
                .paths
                .resolved(std::path::Path::new("/srv/ml-connector"));
            let _ = (format!("{resolved:?}"), loaded.qad.behaviour());
        }
        Err(err) => {
            let message = err.to_string();
            assert!(message.contains(&*path.to_string_lossy()), "{message}");
            let lines = text.lines().count().max(1);
            if let config::ConfigError::Invalid { location, .. } = &err {
                assert!(
                    location.line >= 1 && location.line <= lines + 1,
                    "{location:?} of {lines}"
                );
            }
        }
    }
});
