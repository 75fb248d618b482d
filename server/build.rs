//! Copies the map library the coordinator page needs from `web/node_modules` (installed
//! from npm with `npm ci --prefix server/web`, locked by `web/package-lock.json`) into the
//! build, so the server serves it itself: no CDN, and one self-contained binary.

use std::path::{Path, PathBuf};

/// Files taken from npm packages: (package, path inside it, name in OUT_DIR).
const FILES: &[(&str, &str, &str)] = &[
    ("leaflet", "dist/leaflet.js", "leaflet.js"),
    ("leaflet", "dist/leaflet.css", "leaflet.css"),
];

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets it"));
    let modules = manifest.join("web/node_modules");
    println!("cargo:rerun-if-changed=web/package-lock.json");
    for (package, file, name) in FILES {
        let from = modules.join(package).join(file);
        println!("cargo:rerun-if-changed={}", from.display());
        if let Err(e) = std::fs::copy(&from, out.join(name)) {
            panic!(
                "\n\nThe coordinator map needs {package} from npm, but {} cannot be read ({e}).\n\
                 Install the locked front-end packages first:\n\n    npm ci --prefix server/web\n\n",
                from.display()
            );
        }
    }
    let version = package_version(&modules.join("leaflet/package.json"));
    println!("cargo:rustc-env=LEAFLET_VERSION={version}");
}

/// The `"version"` of a package.json, without a JSON parser in the build script.
fn package_version(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.split("\"version\"")
        .nth(1)
        .and_then(|rest| rest.split('"').nth(1))
        .unwrap_or("unknown")
        .to_owned()
}
