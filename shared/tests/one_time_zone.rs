//! Issue 13: Europe/Amsterdam is defined once, in `avondronde_shared::time`, with one
//! fallback. This scans the workspace's Rust sources so that a second lookup (with its
//! own, different fallback) cannot creep back in.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if path
                .file_name()
                .is_some_and(|n| n == "target" || n == "node_modules")
            {
                continue;
            }
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn europe_amsterdam_is_looked_up_only_in_the_shared_time_module() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root");
    let mut files = Vec::new();
    for dir in ["shared", "server", "app", "tests"] {
        rust_files(&root.join(dir), &mut files);
    }
    assert!(files.len() > 50, "found the sources ({})", files.len());
    let home = root.join("shared/src/time.rs");
    let this = root.join("shared/tests/one_time_zone.rs");
    let offenders: Vec<String> = files
        .iter()
        .filter(|f| **f != home && **f != this)
        .filter(|f| {
            let text = std::fs::read_to_string(f).unwrap_or_default();
            text.contains("\"Europe/Amsterdam\"")
                || text.contains("TimeZone::get(")
                || text.contains("TimeZone::posix(")
        })
        .map(|f| f.display().to_string())
        .collect();
    assert!(
        offenders.is_empty(),
        "use avondronde_shared::time::amsterdam() instead: {offenders:?}"
    );
}
