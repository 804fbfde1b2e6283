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
