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
    for sub in ["run", "explore", "bench", "figure16", "idle", "simbench"] {
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
    let cases: [(&[&str], &str); 11] = [
        (&["bench", "--client", "64"], "--client"),
        (&["bench", "--clients", "1,0"], "1 or more"),
        (&["bench", "--workloads", "noop,foo"], "foo"),
        (&["bench", "--sim"], "--sim is not supported"),
        (&["figure16", "--lines", "1-2"], "150-300"),
        (&["figure16", "--delay-us", "9-1"], "LO at most HI"),
        (&["explore", "--seeds", "5..=1"], "empty"),
        (&["explore", "--unsafe", "nonsense"], "nonsense"),
        (&["explore", "--timeline", "x.html"], "written to --out"),
        (&["simbench", "--seed", "3"], "--seed is not supported"),
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

#[test]
fn run_prints_each_command_with_its_output_and_replays_exactly() {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/scenarios/election.txt"
    );
    let (code, first, err) = raftsim(&["run", script]);
    assert_eq!(code, 0, "{first}{err}");
    assert!(first.contains("\n----\n"), "{first}");
    assert!(err.contains("replay with: cargo run -- run"), "{err}");
    let (_, second, _) = raftsim(&["run", script]);
    assert_eq!(
        first, second,
        "the simulated runtime replays a script exactly"
    );
}

#[test]
fn run_on_a_broken_script_names_the_line_and_exits_1() {
    let dir = std::env::temp_dir().join(format!("raftsim-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("broken.txt");
    std::fs::write(&path, "cluster 3 seed=1\nrun until leader\ncrash n7\n").unwrap();
    let (code, out, err) = raftsim(&["run", path.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("line 3: `crash n7`"), "{err}");
    assert!(err.contains("no such node"), "{err}");
    assert!(
        out.contains("run until leader"),
        "the output so far is printed:\n{out}"
    );
    let (code, _, err) = raftsim(&["run", dir.join("missing.txt").to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("cannot read"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bench_plots_each_cells_latency_over_time() {
    let dir = std::env::temp_dir().join(format!("raftsim-bench-{}", std::process::id()));
    let (code, out, err) = raftsim(&[
        "bench",
        "--nodes",
        "3",
        "--clients",
        "4",
        "--secs",
        "0.3",
        "--workloads",
        "noop",
        "--latency-svg",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let svg = std::fs::read_to_string(dir.join("bench-3n-4c-noop.svg")).expect("the plot");
    assert!(
        svg.starts_with("<svg") && svg.contains("<style>"),
        "a standalone SVG"
    );
    assert!(svg.matches("<circle").count() > 10, "one dot per call");
    assert!(err.contains("1/1 cells"), "progress on stderr:\n{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A scratch directory holding a copy of examples/scenarios/election.txt.
fn scratch_script(name: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("raftsim-cli-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("election.txt");
    let text = include_str!("../../examples/scenarios/election.txt");
    std::fs::write(&script, text).unwrap();
    (dir, script)
}

#[test]
fn run_fails_when_the_output_differs_from_the_recorded_output() {
    let (dir, script) = scratch_script("differs");
    let text = std::fs::read_to_string(&script).unwrap();
    // A recorded line changed by hand: the run prints something else.
    let changed = text.replacen(
        "n0 Follower     t1   leader n1",
        "n0 Follower     t9   leader n1",
        1,
    );
    assert_ne!(changed, text);
    std::fs::write(&script, &changed).unwrap();
    let path = script.to_str().unwrap();
    let (code, out, err) = raftsim(&["run", path]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("-n0 Follower     t9"), "{err}");
    assert!(err.contains("re-record with --update"), "{err}");
    // --update records this run's output; then the file runs to itself.
    let (code, _, err) = raftsim(&["run", path, "--update"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(std::fs::read_to_string(&script).unwrap(), text);
    let (code, _, err) = raftsim(&["run", path]);
    assert_eq!(code, 0, "{err}");
    // An output block with no blank line after it would swallow the next commands:
    // refused, and --update leaves the file alone.
    let swallowing = "cluster 3\n----\nold output\nrun until leader\nexpect leader n5\ncrash n9\n";
    std::fs::write(&script, swallowing).unwrap();
    for extra in [&[][..], &["--update"][..]] {
        let mut args = vec!["run", path];
        args.extend_from_slice(extra);
        let (code, out, err) = raftsim(&args);
        assert_eq!(code, 1, "{extra:?}: {out}{err}");
        assert!(err.contains("line 4: `run until leader`"), "{err}");
    }
    assert_eq!(std::fs::read_to_string(&script).unwrap(), swallowing);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Runs raftsim and kills it if it has not finished within `secs`: a hang fails the
/// test instead of stalling it.
fn raftsim_within(secs: u64, args: &[&str]) -> (i32, String, String) {
    use std::io::Read;
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_raftsim"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run raftsim");
    // Drain both pipes on threads, so a chatty child cannot block on a full pipe.
    let mut out_pipe = child.stdout.take().unwrap();
    let mut err_pipe = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out_pipe.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err_pipe.read_to_string(&mut s);
        s
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for raftsim") {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("raftsim {args:?} did not finish within {secs} s");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    (
        status.code().expect("an exit status"),
        out.join().unwrap(),
        err.join().unwrap(),
    )
}

/// Asserts exit status 2 with a message as clap prints it (pointing to `--help`)
/// containing each of `says`, before anything ran.
fn assert_usage_error(args: &[&str], says: &[&str]) {
    let (code, out, err) = raftsim_within(30, args);
    assert_eq!(code, 2, "{args:?}: status {code}\n{out}{err}");
    assert!(!err.contains("panicked"), "{args:?} panicked:\n{err}");
    for s in says {
        assert!(err.contains(s), "{args:?} should say {s:?}:\n{err}");
    }
    assert!(
        err.starts_with("error: ") && err.contains("try '--help'"),
        "{args:?}: a message as clap prints it:\n{err}"
    );
    assert!(out.is_empty(), "{args:?} ran something:\n{out}");
}

/// A folder of its own for one test's files.
fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("raftsim-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn huge_seconds_are_refused_with_the_bound() {
    assert_usage_error(
        &["explore", "--seeds", "1..=2", "--virtual-secs", "1e308"],
        &["--virtual-secs", "1 to 600"],
    );
    assert_usage_error(
        &["simbench", "--virtual-secs", "1e308", "--runs", "1"],
        &["--virtual-secs", "86400"],
    );
    assert_usage_error(
        &["bench", "--secs", "1e308", "--workloads", "echo"],
        &["--secs", "3600"],
    );
    assert_usage_error(&["idle", "idle", "--secs", "1e308"], &["--secs", "3600"]);
}

#[test]
fn explore_nodes_and_virtual_secs_state_their_range() {
    assert_usage_error(&["explore", "--nodes", "10"], &["--nodes", "1 to 9"]);
    assert_usage_error(&["explore", "--nodes", "0"], &["--nodes", "1 to 9"]);
    assert_usage_error(
        &["explore", "--virtual-secs", "0.5"],
        &["--virtual-secs", "1 to 600"],
    );
    assert_usage_error(
        &["explore", "--virtual-secs", "3600"],
        &["--virtual-secs", "1 to 600"],
    );
}

#[test]
fn explore_seed_ranges_at_the_end_of_u64_run_and_huge_ones_are_refused() {
    let max = u64::MAX.to_string();
    let one = format!("{max}..={max}");
    let (code, out, err) = raftsim_within(
        60,
        &[
            "explore",
            "--seeds",
            &one,
            "--virtual-secs",
            "1",
            "--jobs",
            "2",
        ],
    );
    assert!(code == 0 || code == 1, "status {code}\n{out}{err}");
    assert!(
        out.ends_with("1 passed, 0 failed\n") || out.ends_with("0 passed, 1 failed\n"),
        "{out}"
    );
    assert!(err.contains("(1 seeds"), "{err}");
    assert_usage_error(
        &["explore", "--seeds", &format!("0..={max}")],
        &["--seeds", "2^48"],
    );
}

#[test]
fn explore_jobs_are_bounded_and_capped_at_the_seeds() {
    assert_usage_error(&["explore", "--jobs", "100000"], &["--jobs", "1 to 1024"]);
    let (code, out, err) = raftsim_within(
        60,
        &[
            "explore",
            "--seeds",
            "1..=1",
            "--virtual-secs",
            "1",
            "--jobs",
            "8",
        ],
    );
    assert!(code == 0 || code == 1, "status {code}\n{out}{err}");
    assert!(err.contains("(1 seeds, 1 thread(s))"), "{err}");
}

#[test]
fn explore_refuses_a_json_file_it_cannot_create_before_running() {
    let (code, out, err) = raftsim_within(
        60,
        &[
            "explore",
            "--seeds",
            "1..=1",
            "--virtual-secs",
            "1",
            "--json",
            "/nonexistent/x.json",
        ],
    );
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("--json /nonexistent/x.json"), "{err}");
    assert!(out.is_empty(), "nothing ran:\n{out}");
    assert!(!err.contains("exploring"), "nothing ran:\n{err}");
}

#[test]
fn explore_one_seed_writes_its_json_line() {
    let dir = scratch("explore-json");
    let json = dir.join("one.jsonl");
    let (code, out, err) = raftsim_within(
        60,
        &[
            "explore",
            "--seed",
            "3",
            "--virtual-secs",
            "1",
            "--json",
            json.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    let line = std::fs::read_to_string(&json).expect("the JSON file");
    assert!(line.starts_with("{\"seed\":3,"), "{line}");
    assert_eq!(line.lines().count(), 1, "{line}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn run_refuses_to_overwrite_the_script_or_record_what_it_cannot_replay() {
    let (dir, script) = scratch_script("refuse");
    let text = std::fs::read_to_string(&script).unwrap();
    let path = script.to_str().unwrap();
    let other = dir
        .join("..")
        .join(dir.file_name().unwrap())
        .join("election.txt");
    let cases: [(&[&str], &str); 5] = [
        (&["--timeline", path], "is the script itself"),
        (
            &["--trace", other.to_str().unwrap()],
            "is the script itself",
        ),
        (
            &["--update", "--seed", "7"],
            "--update cannot be used with --seed",
        ),
        (
            &["--update", "--threads"],
            "--update cannot be used with --threads",
        ),
        (
            &["--trace", "/tmp/x.json", "--timeline", "/tmp/x.json"],
            "the same file",
        ),
    ];
    for (extra, says) in cases {
        let mut args = vec!["run", path];
        args.extend_from_slice(extra);
        let (code, out, err) = raftsim(&args);
        assert_eq!(code, 2, "{extra:?}: {out}{err}");
        assert!(err.contains(says), "{extra:?} should say {says:?}:\n{err}");
        assert_eq!(std::fs::read_to_string(&script).unwrap(), text, "{extra:?}");
    }
    // The replay hint of a threaded run keeps --threads.
    let (_, _, err) = raftsim(&["run", path, "--threads"]);
    assert!(err.contains("election.txt --threads --seed 3)"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn explore_refuses_an_out_folder_it_cannot_create_before_running() {
    let dir = scratch("explore-out");
    let file = dir.join("a-file");
    std::fs::write(&file, "").unwrap();
    for out_dir in [file.to_str().unwrap(), "/dev/null/x"] {
        let (code, out, err) = raftsim_within(
            60,
            &[
                "explore",
                "--seed",
                "1",
                "--virtual-secs",
                "3",
                "--unsafe",
                "stale_reads",
                "--out",
                out_dir,
            ],
        );
        assert_eq!(code, 2, "--out {out_dir}: {out}{err}");
        assert!(!err.contains("panicked"), "{err}");
        assert!(err.contains(&format!("--out {out_dir}")), "{err}");
        assert!(out.is_empty(), "nothing ran:\n{out}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bench_refuses_snapshot_0_before_running() {
    assert_usage_error(
        &[
            "bench",
            "--snapshot",
            "0",
            "--nodes",
            "3",
            "--clients",
            "1",
            "--secs",
            "0.1",
            "--workloads",
            "echo,noop",
        ],
        &["--snapshot", "1 or more"],
    );
}

#[test]
fn bench_says_when_no_operation_completed() {
    let (code, out, err) = raftsim_within(
        60,
        &[
            "bench",
            "--nodes",
            "3",
            "--clients",
            "1",
            "--per-call",
            "1000000",
            "--secs",
            "0.1",
            "--workloads",
            "get",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("no operation completed in the measured time"),
        "{out}"
    );
    assert!(!out.contains("0.000"), "no made-up latencies:\n{out}");
}

#[test]
fn figure16_refuses_a_wire_or_disk_slower_than_the_election_timeout() {
    let dir = scratch("figure16-bounds");
    let svg = dir.join("f.svg");
    let svg = svg.to_str().unwrap();
    let common = ["figure16", "--sim", "--trials", "1", "--lines", "150-300"];
    let mut args = common.to_vec();
    args.extend(["--out", svg, "--delay-us", "150000-150000"]);
    assert_usage_error(&args, &["--delay-us", "150 ms"]);
    let mut args = common.to_vec();
    args.extend(["--out", svg, "--storage-us", "99999999999999"]);
    assert_usage_error(&args, &["--storage-us", "150 ms"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn figure16_without_a_stable_leader_is_an_error_not_a_panic() {
    let dir = scratch("figure16-noleader");
    let svg = dir.join("f.svg");
    let (code, out, err) = raftsim_within(
        60,
        &[
            "figure16",
            "--sim",
            "--trials",
            "1",
            "--lines",
            "150-300",
            "--delay-us",
            "140000-140000",
            "--out",
            svg.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 1, "{out}{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.contains("no stable leader"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
