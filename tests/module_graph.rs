//! The library's layering, checked: no top-level module of src/ imports a module that
//! imports it back, and the Raft core (src/raft/) imports nothing above it and builds
//! no prose (its events are typed; words are rendered at the edge, in src/event/).
//!
//! A cheap reading of the source (every `crate::NAME` outside comments and test
//! modules), not a compiler pass: enough to keep the layers honest as files move.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file without its `#[cfg(test)]` tail and without comment lines.
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).expect("read a source file");
    let text = match text.find("#[cfg(test)]") {
        Some(i) => &text[..i],
        None => &text[..],
    };
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The top-level module a file belongs to (`src/raft/log.rs` → `raft`).
fn module_of(src: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(src).expect("under src");
    let first = rel.components().next().expect("a component");
    first
        .as_os_str()
        .to_string_lossy()
        .trim_end_matches(".rs")
        .to_string()
}

/// Every `crate::NAME` a piece of code names.
fn crate_paths(code: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || *c == '_' || c.is_ascii_digit())
            .collect();
        if !name.is_empty() {
            names.insert(name);
        }
    }
    names
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn no_module_imports_a_module_that_imports_it_back() {
    let src = src();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut imports: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in &files {
        let module = module_of(&src, f);
        if module == "lib" {
            continue;
        }
        let used = crate_paths(&code(f));
        let entry = imports.entry(module.clone()).or_default();
        entry.extend(used.into_iter().filter(|m| *m != module));
    }
    let mut cycles = Vec::new();
    for (a, uses) in &imports {
        for b in uses {
            if a < b && imports.get(b).is_some_and(|back| back.contains(a)) {
                cycles.push(format!("{a} <-> {b}"));
            }
        }
    }
    assert!(
        cycles.is_empty(),
        "modules that import each other: {cycles:?}"
    );
}

#[test]
fn the_raft_core_imports_nothing_above_it_and_builds_no_prose() {
    let src = src();
    let mut files = Vec::new();
    rust_files(&src.join("raft"), &mut files);
    assert!(!files.is_empty());
    // What the core may use: plain data types shared with everyone below the runtimes.
    let allowed = ["raft", "log", "message", "membership", "types", "entries"];
    for f in &files {
        let code = code(f);
        for m in crate_paths(&code) {
            assert!(
                allowed.contains(&m.as_str()),
                "{} uses crate::{m}, which sits above the core",
                f.display()
            );
        }
        assert!(
            !code.contains("format!("),
            "{} builds text with format!: the core emits typed events, the edge words them",
            f.display()
        );
    }
}
