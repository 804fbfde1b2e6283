//! The `raftsim` command line: every subcommand parses its documented options, answers
//! `--help` with status 0, and refuses unknown options and bad values with status 2
//! before running anything.

use std::process::Command;

fn raftsim(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_raftsim"))
        .args(args)
        .output()
        .expect("run raftsim");
    (
        out.status.code().expect("an exit status"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn help_on_the_command_and_every_subcommand_exits_0_without_running() {
    let (code, out, _) = raftsim(&["--help"]);
    assert_eq!(code, 0);
    for sub in ["explore", "bench", "figure16", "idle", "simbench"] {
        assert!(out.contains(sub), "--help lists {sub}:\n{out}");
        let (code, out, err) = raftsim(&[sub, "--help"]);
        assert_eq!(code, 0, "{sub} --help: {err}");
        assert!(out.contains("Usage: cargo run -- "), "{sub} --help:\n{out}");
        assert!(
            !out.lines().any(|l| l.starts_with("seed ")),
            "{sub} --help ran something:\n{out}"
        );
    }
}

#[test]
fn bad_usage_exits_2_with_a_message_naming_the_option() {
    let cases: [(&[&str], &str); 9] = [
        (&["bench", "--client", "64"], "--client"),
        (&["bench", "--clients", "1,0"], "1 or more"),
        (&["bench", "--workloads", "noop,foo"], "foo"),
        (&["bench", "--sim"], "--sim is not supported"),
        (&["figure16", "--lines", "1-2"], "150-300"),
        (&["figure16", "--delay-us", "9-1"], "LO at most HI"),
        (&["explore", "--seeds", "5..=1"], "empty"),
        (&["explore", "--unsafe", "nonsense"], "nonsense"),
        (&["nonsense"], "nonsense"),
    ];
    for (args, says) in cases {
        let (code, out, err) = raftsim(args);
        assert_eq!(code, 2, "{args:?}: status {code}\n{out}{err}");
        assert!(err.contains(says), "{args:?} should say {says:?}:\n{err}");
        assert!(!err.contains("panicked"), "{args:?} panicked:\n{err}");
    }
}

#[test]
fn explore_runs_one_seed_and_prints_its_verdict() {
    let (code, out, err) = raftsim(&["explore", "--seed", "3", "--virtual-secs", "2"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.ends_with("1 passed, 0 failed\n"), "{out}");
    assert!(out.contains("fault schedule:"), "{out}");
}

#[test]
fn every_subcommand_parses_its_defaults() {
    use clap::Parser;
    for sub in ["explore", "bench", "figure16", "idle", "simbench"] {
        // Parsing the defaults exercises every field's type: a mismatch between an
        // option's parser and its field panics here rather than in a user's run.
        raftsim_cli::Raftsim::try_parse_from(["raftsim", sub]).expect(sub);
    }
}
