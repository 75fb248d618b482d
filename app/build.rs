//! Copies the map library the map screen needs from `web/node_modules` (installed from npm
//! with `npm ci --prefix app/web`, locked by `web/package-lock.json`) into the build, so
//! every build of the app (desktop, mobile, liveview) carries Leaflet inside its binary:
//! no CDN, and the map's vector layers draw offline. The same recipe as `server/build.rs`.

use std::path::PathBuf;

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
                "\n\nThe field app's map needs {package} from npm, but {} cannot be read ({e}).\n\
                 Install the locked front-end packages first:\n\n    npm ci --prefix app/web\n\n",
                from.display()
            );
        }
    }
}
