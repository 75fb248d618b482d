//! "No SQL outside the store layer" (issue 13), checked on the source: outside
//! `server/src/store/` and the SQLite engine in `server/src/db.rs`, no production code
//! names `rusqlite` or runs a statement. Unit tests at the bottom of a file
//! (after `#[cfg(test)]`) are not production code and are not scanned.

use std::path::{Path, PathBuf};

/// Files still being moved behind the store. Each entry is a debt; the list only shrinks.
const NOT_YET_MOVED: &[&str] = &[];

/// What only SQL-speaking code writes.
const SQL_MARKERS: &[&str] = &[
    "rusqlite",
    ".prepare(",
    ".prepare_cached(",
    ".query_row(",
    ".execute(",
    ".execute_batch(",
    "params![",
];

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read server/src") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_production_code_outside_the_store_speaks_sql() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&root, &mut files);
    let mut offenders = Vec::new();
    for file in files {
        let rel = file
            .strip_prefix(&root)
            .expect("under src")
            .to_string_lossy()
            .replace('\\', "/");
        if rel.starts_with("store/") || rel == "db.rs" || NOT_YET_MOVED.contains(&rel.as_str()) {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("read source");
        let production = text.split("#[cfg(test)]").next().unwrap_or_default();
        for (n, line) in production.lines().enumerate() {
            if SQL_MARKERS.iter().any(|m| line.contains(m)) {
                offenders.push(format!("src/{rel}:{}: {}", n + 1, line.trim()));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "SQL outside the store layer (move it to server/src/store/):\n{}",
        offenders.join("\n")
    );
}

#[test]
fn the_list_of_files_not_yet_moved_names_only_files_that_still_speak_sql() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for rel in NOT_YET_MOVED {
        let text = std::fs::read_to_string(root.join(rel)).unwrap_or_default();
        let production = text.split("#[cfg(test)]").next().unwrap_or_default();
        assert!(
            SQL_MARKERS.iter().any(|m| production.contains(m)),
            "{rel} no longer speaks SQL: take it off NOT_YET_MOVED"
        );
    }
}
