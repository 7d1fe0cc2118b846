//! Entity-path and browse-id validation: an accepted value re-parses to itself and carries no
//! traversal, no percent-escapes and no scheme.
#![no_main]

use libfuzzer_sys::fuzz_target;
use qad_client::{BrowseId, EntityPath};

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(path) = EntityPath::parse(input) {
        let text = path.as_str();
        assert_eq!(EntityPath::parse(text).as_ref(), Ok(&path));
        assert!(!text.starts_with('/'));
        assert!(!text.contains(['\\', '%', ':', '?', '#']));
        assert!(text
            .split('/')
            .all(|s| !s.is_empty() && !s.chars().all(|c| c == '.')));
    }
    if let Ok(id) = BrowseId::parse(input) {
        assert_eq!(BrowseId::parse(id.as_str()).as_ref(), Ok(&id));
        assert!(!id.as_str().contains(['/', '\\', '%', '?', '#']));
    }
});
