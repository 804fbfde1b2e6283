//! A broken script stops cleanly with an error naming the file, the line, the command
//! and what is wrong, and keeps the output and trace so far.

use raftsim::script::{self, RunOptions, ScriptError};

fn fails(text: &str) -> (ScriptError, script::Outcome) {
    let parsed = match script::parse("broken.txt", text) {
        Ok(s) => s,
        Err(e) => panic!("parsing should succeed here: {e}"),
    };
    let out = script::run(&parsed, &RunOptions::default());
    (out.failed.clone().expect("the script must fail"), out)
}

#[test]
fn an_unknown_node_names_the_line_and_the_nodes() {
    let (e, out) = fails("cluster 5 seed=1\nrun until leader\n\n# a typo\ncrash n7\n");
    assert_eq!(e.line, 5);
    assert_eq!(e.command, "crash n7");
    assert_eq!(
        e.to_string(),
        "broken.txt line 5: `crash n7`: no such node; the cluster has n0..n4"
    );
    // What ran before the failure is kept.
    assert!(
        out.output.contains("run until leader\n----\n"),
        "{}",
        out.output
    );
    assert!(!out.trace.is_empty());
}

#[test]
fn an_unknown_command_lists_the_commands() {
    let e = script::parse("broken.txt", "cluster 3\nelect n1\n").unwrap_err();
    assert_eq!(e.line, 2);
    assert!(e.message.contains("unknown command `elect`"), "{e}");
    assert!(
        e.message.contains("timeout") && e.message.contains("expect"),
        "{e}"
    );
}

#[test]
fn bad_arguments_are_parse_errors_with_the_line() {
    for (text, line, want) in [
        ("cluster three\n", 1, "not a number of nodes"),
        ("cluster 3 election=300..150ms\n", 1, "runs backwards"),
        ("cluster 3 heartbeat=500ms\n", 1, "heartbeat_interval"),
        ("cluster 3 colour=red\n", 1, "unknown key `colour`"),
        ("cluster 3\nrun forever\n", 2, "not a duration"),
        ("cluster 3\npartition n0 n1\n", 2, "at least two groups"),
        ("cluster 3\nexpect log n0 = 1-1\n", 2, "not INDEX@TERM"),
        ("cluster 3 unsafe=everything\n", 1, "unknown unsafe switch"),
        ("cluster 100000\n", 1, "1 to 99"),
        ("cluster 3\nrun 5000s\n", 2, "at most 1h"),
        ("cluster 3\nrun until leader within 1e9s\n", 2, "at most 1h"),
        ("cluster 3\ndeliver n0->n1 0\n", 2, "at least one"),
        ("cluster 3\nhold n0-n1\n", 2, "not a link"),
        ("cluster 3\nnet drop=1.5\n", 2, "probability"),
        ("cluster 3\ndisk n0 log=2 1\n", 2, "never decrease"),
    ] {
        let e = script::parse("broken.txt", text).unwrap_err();
        assert_eq!(e.line, line, "{text}: {e}");
        assert!(e.message.contains(want), "{text}: {e}");
    }
}

#[test]
fn a_failed_expect_says_what_was_seen() {
    let (e, _) = fails("cluster 3 seed=1\nrun until leader\nexpect leader n2\n");
    assert_eq!(e.line, 3);
    assert!(e.message.contains("n0 does"), "{e}");
    let (e, _) = fails("cluster 3 seed=1\nrun until leader\nexpect log n1 = 1@1 2@1\n");
    assert!(e.message.contains("the log of n1 is 1@1"), "{e}");
    let (e, _) = fails("cluster 3 seed=1\nrun until leader\nexpect term n1 = 7\n");
    assert!(e.message.contains("n1 is in term 1"), "{e}");
}

#[test]
fn a_wait_that_never_ends_fails_at_its_deadline() {
    let (e, _) = fails("cluster 3 seed=1\ntimers off\nrun until leader within 2s\n");
    assert_eq!(e.line, 3);
    assert!(e.message.contains("no leader within 2s"), "{e}");
}

#[test]
fn commands_before_the_cluster_and_empty_holds_are_errors() {
    let (e, _) = fails("put k v\n");
    assert!(e.message.contains("no cluster yet"), "{e}");
    let (e, _) = fails("cluster 3 seed=1\ndeliver n0->n1\n");
    assert!(e.message.contains("no held message matches"), "{e}");
}

#[test]
fn an_unexpected_safety_violation_fails_the_script() {
    // The Figure 8 steps with the unsafe switch but without `expect violation`.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("tests/scripts/figure8_unsafe_commit.txt"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("expect violation"))
        .collect::<Vec<_>>()
        .join("\n");
    let (e, _) = fails(&text);
    assert!(e.message.contains("did not expect"), "{e}");
}

#[test]
fn stepping_by_hand_needs_the_simulated_runtime() {
    let parsed = script::parse("threads.txt", "cluster 3 seed=1\ntimers off\n").unwrap();
    let opts = RunOptions {
        runtime: raftsim::Runtime::Threads,
        ..RunOptions::default()
    };
    let out = script::run(&parsed, &opts);
    let e = out.failed.expect("timers need the simulation");
    assert!(e.message.contains("simulated runtime"), "{e}");
}

#[test]
fn a_script_runs_on_the_threaded_runtime_too() {
    let parsed = script::parse(
        "threads.txt",
        "cluster 3 seed=1\nrun until leader\nput k v\nget k\nexpect linearizable\n",
    )
    .unwrap();
    let opts = RunOptions {
        runtime: raftsim::Runtime::Threads,
        ..RunOptions::default()
    };
    let out = script::run(&parsed, &opts);
    assert!(out.failed.is_none(), "{:?}\n{}", out.failed, out.output);
    assert!(out.output.contains("k = v"), "{}", out.output);
}

#[test]
fn the_cluster_stepping_methods_refuse_the_threaded_runtime() {
    use raftsim::kv::KvStore;
    use raftsim::sim::MessageFilter;
    let c: raftsim::Cluster<KvStore> =
        raftsim::Cluster::try_with_config(3, raftsim::Config::default()).unwrap();
    let any = MessageFilter::default();
    assert!(matches!(
        c.freeze_timers(true),
        Err(raftsim::Error::Unsupported(_))
    ));
    assert!(c.hold_messages(any.clone()).is_err());
    assert!(c.deliver_held(&any, 1).is_err());
    assert!(c.drop_held(&any).is_err());
    assert!(c.held_messages().is_err());
    // A heartbeat needs a leader, on either runtime.
    assert!(c.fire_heartbeat(7).is_err());
}

#[test]
fn a_misspelled_property_lists_the_checkers_properties() {
    let e = script::parse(
        "broken.txt",
        "cluster 3\nexpect violation LeaderCompletness\n",
    )
    .unwrap_err();
    assert_eq!(e.line, 2);
    assert!(
        e.message.contains("no property called `LeaderCompletness`"),
        "{e}"
    );
    assert!(
        e.message.contains("LeaderCompleteness") && e.message.contains("ElectionSafety"),
        "{e}"
    );
    // Any spelling of a real name parses.
    script::parse(
        "ok.txt",
        "cluster 3\nexpect violation state_machine_safety\n",
    )
    .unwrap();
}

/// The parse error for `text`, which must be on `line` and say `want`.
fn parse_error(text: &str, line: usize, want: &str) {
    match script::parse("broken.txt", text) {
        Ok(_) => panic!("{text:?} should not parse"),
        Err(e) => {
            assert_eq!(e.line, line, "{text:?}: {e}");
            assert!(
                e.message.contains(want),
                "{text:?} should say {want:?}: {e}"
            );
        }
    }
}

#[test]
fn an_output_block_without_its_blank_line_does_not_swallow_commands() {
    // The block under `cluster 3` has no blank line after it: without the check, the
    // commands after it were skipped as output (and `--update` deleted them).
    parse_error(
        "cluster 3\n----\nold output\nrun until leader\nexpect leader n5\ncrash n9\n",
        4,
        "inside the recorded output block that starts at line 2",
    );
    parse_error("cluster 3\n----\nold output\n# a comment\n", 4, "comment");
    parse_error("cluster 3\n----\nx\nstatus\n----\ny\n", 4, "command");
    // Output lines, events (indented) and `(blank)` are output.
    script::parse(
        "ok.txt",
        "cluster 3\nstatus\n----\nn0 Follower     t0\n    1.000ms n0 t0 event\n(blank)\n\nexpect safe\n",
    )
    .unwrap();
    // The realistic case: a false `expect` right after the recorded `status` block.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("examples/scenarios/election.txt")).unwrap();
    let (head, _) = text.split_once("\n\n").unwrap(); // up to the first block's end
    let (head2, _) = text[head.len() + 2..].split_once("\n\n").unwrap(); // `status` and its block
    let edited = format!("{head}\n\n{head2}\nexpect leader n3\n");
    let e = script::parse("election.txt", &edited).unwrap_err();
    assert_eq!(e.command, "expect leader n3", "{e}");
}

#[test]
fn absurd_disks_are_parse_errors() {
    parse_error(
        "disk n0 term=18446744073709551615 log=1\ncluster 3\nrun until leader\n",
        1,
        "absurd",
    );
    parse_error("disk n0 log=1 4294967296\ncluster 3\n", 1, "absurd");
    parse_error("disk n0 log=0 0 1\ncluster 3\n", 1, "entry 1 has term 0");
    parse_error(
        "disk n0 log=1 3 2\ncluster 3\n",
        1,
        "entry 3 has term 2 after term 3",
    );
    parse_error("disk n0 term=2 vote=n9 log=1\ncluster 3\n", 1, "vote=n9");
    parse_error("disk n5 log=1\ncluster 3\n", 1, "not n5");
    parse_error(
        "cluster 3\ndisk n0 log=1\nrun until leader\n",
        2,
        "no `cluster` line follows",
    );
    parse_error(
        "disk n0 log=1\ndisk n0 log=1 1\ncluster 3\n",
        1,
        "another disk",
    );
    parse_error("disk n0 term=2 term=3\ncluster 3\n", 1, "twice");
    // The largest term a script may name still runs (no overflow when it grows).
    let parsed = script::parse(
        "ok.txt",
        "disk n0 term=4294967295 log=1\ncluster 3 seed=1\nrun until leader\n",
    )
    .unwrap();
    let out = script::run(&parsed, &RunOptions::default());
    assert!(out.failed.is_none(), "{:?}", out.failed);
}

#[test]
fn message_kinds_are_the_real_ones() {
    for (text, want) in [
        (
            "cluster 3\nhold n0->n1 AppendEntry\n",
            "`AppendEntry` is not a message kind",
        ),
        (
            "cluster 3\nhold n0->n1 appendentries\n",
            "did you mean AppendEntries?",
        ),
        ("cluster 3\ndeliver n0->n1 Vote\n", "RequestVoteReply"),
        (
            "cluster 3\nhold *->n1 ClientRequest\n",
            "client traffic is never held",
        ),
    ] {
        parse_error(text, 2, want);
        let e = script::parse("broken.txt", text).unwrap_err();
        for kind in ["PreVote", "Heartbeat", "InstallSnapshotReply", "TimeoutNow"] {
            assert!(e.message.contains(kind), "{e}");
        }
    }
    script::parse(
        "ok.txt",
        "cluster 3\nhold n0->n1 TimeoutNow\nhold *->* PreVoteReply\n",
    )
    .unwrap();
}

#[test]
fn a_partition_names_each_member_once_and_says_who_is_cut_off() {
    parse_error("cluster 3\npartition n0 | n0\n", 2, "n0 is named twice");
    parse_error(
        "cluster 3\npartition n0 c0 | n1 n2 c0\n",
        2,
        "c0 is named twice",
    );
    let parsed = script::parse(
        "ok.txt",
        "cluster 5 seed=1\nrun until leader\npartition n0 n1 | n2 n3\n",
    )
    .unwrap();
    let out = script::run(&parsed, &RunOptions::default());
    assert!(out.failed.is_none(), "{:?}", out.failed);
    assert!(
        out.output.contains("n4 is in no group: cut off from all"),
        "{}",
        out.output
    );
}

#[test]
fn crashing_a_crashed_node_or_restarting_a_running_one_is_an_error() {
    let (e, _) = fails("cluster 3 seed=1\ncrash n0\ncrash n0\n");
    assert_eq!(e.line, 3);
    assert!(e.message.contains("n0 is already crashed"), "{e}");
    let (e, _) = fails("cluster 3 seed=1\nrestart n1\n");
    assert_eq!(e.line, 2);
    assert!(e.message.contains("n1 is running"), "{e}");
}

#[test]
fn proposing_to_or_transferring_to_a_crashed_node_says_it_is_crashed() {
    let (e, _) = fails("cluster 3 seed=1\nrun until leader\ncrash n0\npropose n0\n");
    assert_eq!(e.line, 4);
    assert!(e.message.contains("n0 is crashed"), "{e}");
    let (e, _) = fails("cluster 3 seed=1\nrun until leader\ncrash n1\ntransfer n1\n");
    assert_eq!(e.line, 4);
    assert!(e.message.contains("n1 is crashed"), "{e}");
    // A follower still points at the leader that crashed: the hint says so.
    let parsed = script::parse(
        "ok.txt",
        "cluster 3 seed=1\nrun until leader\nexpect leader n0\ncrash n0\npropose n1\n",
    )
    .unwrap();
    let out = script::run(&parsed, &RunOptions::default());
    assert!(out.failed.is_none(), "{:?}", out.failed);
    assert!(
        out.output
            .contains("n1: not the leader; the leader it knows, n0, is crashed"),
        "{}",
        out.output
    );
}

#[test]
fn misleading_messages_say_what_is_wrong() {
    parse_error(
        "cluster 3\nexpect role n0 Boss\n",
        2,
        "`Boss` is not a role (Follower, PreCandidate, Candidate, Leader, crashed)",
    );
    parse_error("cluster 3\nnet delay=5..1ms\n", 2, "runs backwards");
    parse_error("cluster 3\nrun until\n", 2, "run until what?");
    parse_error(
        "cluster 3\nexpect log n0 = 1@1 @\n",
        2,
        "`@` is not INDEX@TERM",
    );
    parse_error("cluster 3\nrun 2h\n", 2, "at most 1h");
    parse_error("cluster 3\nrun -1s\n", 2, "not a duration");
    // A byte order mark is not part of the first command.
    script::parse("bom.txt", "\u{feff}cluster 3\n").unwrap();
    // `h` and `min` are units, as the limit's wording suggests.
    script::parse("ok.txt", "cluster 3\nrun 1h\nrun 2min\nnet delay=1..2min\n").unwrap();
    script::parse("ok.txt", "cluster 3\nexpect role n0 leader\n").unwrap();
}

#[test]
fn node_names_and_keys_are_read_strictly() {
    for bad in ["n+1", "n01", "n-0", "n", "n 1"] {
        parse_error(&format!("cluster 3\ncrash {bad}\n"), 2, "is not a node");
    }
    parse_error("cluster 3 seed=1 seed=2\n", 1, "`seed` is given twice");
    parse_error(
        "cluster 3\nnet drop=0.1 drop=0.2\n",
        2,
        "`drop` is given twice",
    );
    script::parse("ok.txt", "cluster 11\ncrash n0 n10\n").unwrap();
}

#[test]
fn add_node_stops_at_the_clusters_limit() {
    let (e, _) = fails("cluster 99 seed=1\nadd_node\n");
    assert_eq!(e.line, 2);
    assert!(e.message.contains("99 nodes already"), "{e}");
}
