//! Golden tests: every script in tests/scripts/ and examples/scenarios/ holds each
//! command followed by its expected output. This test runs each one on the simulated
//! runtime and compares the output with the file, showing a unified diff on a
//! mismatch. `UPDATE_GOLDEN=1 cargo test --test golden` rewrites the files with the
//! output of this run (review the diff before committing). `GOLDEN_ONLY=word` runs the
//! scripts whose file name contains `word`.

use std::path::{Path, PathBuf};

use raftsim::script::{self, RunOptions};

/// What went wrong with one script: its name and a readable report.
fn check(path: &Path, update: bool) -> Result<(), String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let name = path
        .strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string();
    let expected = std::fs::read_to_string(path).map_err(|e| format!("{name}: {e}"))?;
    let parsed = script::parse(&name, &expected).map_err(|e| e.to_string())?;
    let outcome = script::run(&parsed, &RunOptions::default());
    if let Some(err) = &outcome.failed {
        return Err(format!(
            "{err}\n--- output so far ---\n{}",
            tail(&outcome.output, 40)
        ));
    }
    if outcome.output == expected {
        return Ok(());
    }
    if update {
        std::fs::write(path, &outcome.output).map_err(|e| format!("{name}: {e}"))?;
        eprintln!("updated {name}");
        return Ok(());
    }
    Err(format!(
        "{name}: the output differs from the file (UPDATE_GOLDEN=1 rewrites it):\n{}",
        script::unified_diff(&expected, &outcome.output)
    ))
}

fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

fn scripts() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let only = std::env::var("GOLDEN_ONLY").unwrap_or_default();
    let mut files = Vec::new();
    for dir in ["tests/scripts", "examples/scenarios"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            if name.ends_with(".txt") && name.contains(&only) {
                files.push(p);
            }
        }
    }
    files.sort();
    files
}

#[test]
fn golden_scripts() {
    let update = std::env::var("UPDATE_GOLDEN").is_ok_and(|v| v != "0");
    let files = scripts();
    assert!(!files.is_empty(), "no scripts found");
    let failures: Vec<String> = files
        .iter()
        .filter_map(|p| check(p, update).err())
        .collect();
    if !failures.is_empty() {
        panic!(
            "{} of {} scripts failed:\n\n{}",
            failures.len(),
            files.len(),
            failures.join("\n\n")
        );
    }
}

#[test]
fn a_mismatch_fails_with_a_diff() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let path = root.join("tests/scripts/election_basic.txt");
    let text = std::fs::read_to_string(&path).expect("the basic election script");
    // Change one recorded output line: the check must fail and show it.
    let tampered = text.replacen("----\n", "----\nthis line is not in the output\n", 1);
    let dir = std::env::temp_dir().join(format!("raftsim-golden-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let copy = dir.join("tampered.txt");
    std::fs::write(&copy, &tampered).unwrap();
    let err = check(&copy, false).expect_err("a changed golden file must fail");
    assert!(err.contains("-this line is not in the output"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn scripts_replay_identically() {
    // Same script, same seed, same output and trace: what makes the files golden.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let s = script::Script::load(root.join("tests/scripts/split_vote.txt")).unwrap();
    let a = script::run(&s, &RunOptions::default());
    let b = script::run(&s, &RunOptions::default());
    assert_eq!(a.output, b.output);
    assert_eq!(a.trace, b.trace);
}

#[test]
fn a_recorded_file_runs_again_to_itself() {
    // The output blocks are skipped when a recorded file is read back, and a command
    // with no blank line after it gets one: recording twice changes nothing.
    let text =
        "# comment\ncluster 3 seed=1\nrun until leader\nstatus\nlog n0\n\n# end\nexpect safe\n";
    let first = script::run(
        &script::parse("a.txt", text).unwrap(),
        &RunOptions::default(),
    );
    assert!(first.failed.is_none(), "{:?}", first.failed);
    let again = script::parse("a.txt", &first.output).unwrap();
    let second = script::run(&again, &RunOptions::default());
    assert_eq!(first.output, second.output);
    assert!(
        first.output.contains("status\n----\nn0 "),
        "{}",
        first.output
    );
    assert!(
        first.output.contains("\n\n# end\nexpect safe\n"),
        "{}",
        first.output
    );
}
