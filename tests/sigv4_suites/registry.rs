//! Where the suites come from: crate sources in the cargo registry, at the version in
//! `Cargo.lock` (nothing is vendored; `cargo fetch` or any build puts them there).

use std::path::{Path, PathBuf};

fn cargo_home() -> PathBuf {
    if let Some(h) = std::env::var_os("CARGO_HOME").filter(|h| !h.is_empty()) {
        return PathBuf::from(h);
    }
    let home = std::env::var_os("HOME").expect("neither CARGO_HOME nor HOME is set");
    PathBuf::from(home).join(".cargo")
}

/// `Cargo.lock` of this package (or of the workspace containing it).
fn lockfile() -> PathBuf {
    let mut dir = Some(Path::new(env!("CARGO_MANIFEST_DIR")));
    while let Some(d) = dir {
        let candidate = d.join("Cargo.lock");
        if candidate.is_file() {
            return candidate;
        }
        dir = d.parent();
    }
    panic!("no Cargo.lock above {}", env!("CARGO_MANIFEST_DIR"));
}

/// Versions of `name` in `Cargo.lock` (`[[package]]` blocks: `name = ".."` then `version = ".."`).
fn locked_versions(name: &str) -> Vec<String> {
    let text = std::fs::read_to_string(lockfile()).expect("read Cargo.lock");
    let mut out = Vec::new();
    for block in text.split("[[package]]").skip(1) {
        let field = |key: &str| {
            block.lines().find_map(|l| {
                let (k, v) = l.split_once('=')?;
                (k.trim() == key).then(|| v.trim().trim_matches('"').to_owned())
            })
        };
        if field("name").as_deref() == Some(name) {
            out.push(field("version").expect("package without version in Cargo.lock"));
        }
    }
    out
}

/// `$CARGO_HOME/registry/src/<index>/<name>-<version>` for the version in `Cargo.lock`.
pub(crate) fn registry_crate_dir(name: &str) -> PathBuf {
    let versions = locked_versions(name);
    assert!(!versions.is_empty(), "{name} is not in Cargo.lock");
    let src = cargo_home().join("registry").join("src");
    let mut found = Vec::new();
    for index in std::fs::read_dir(&src)
        .unwrap_or_else(|e| panic!("cannot list {}: {e} (run `cargo fetch`)", src.display()))
    {
        let index = index.unwrap().path();
        for v in &versions {
            let d = index.join(format!("{name}-{v}"));
            if d.is_dir() {
                found.push(d);
            }
        }
    }
    found.sort();
    found.dedup();
    match found.len() {
        0 => panic!(
            "{name} {versions:?} not found under {} (run `cargo fetch`)",
            src.display()
        ),
        // Several registry indexes holding the same version are identical copies.
        _ => found.into_iter().next().unwrap(),
    }
}

pub(crate) fn read(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
        .replace("\r\n", "\n")
}

pub(crate) fn read_opt(path: &Path) -> Option<String> {
    path.is_file().then(|| read(path))
}
