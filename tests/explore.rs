//! The seed explorer and simulated workloads: campaigns pass, a seed replays exactly,
//! the teaching switches are found, and bad input is refused with a reason.

use std::time::Duration;

use raftsim::explore::{explore, explore_seed, ExploreOptions, UnsafeSwitch};
use raftsim::kv::KvStore;
use raftsim::sim::Workload;
use raftsim::{Cluster, Config, Error};

#[test]
fn a_campaign_of_random_fault_schedules_passes_every_check() {
    let options = ExploreOptions::default();
    for seed in 1..=40 {
        let r = explore_seed(seed, &options);
        assert!(
            r.passed,
            "seed {seed} failed: {:?}\nschedule:\n{}",
            r.failures,
            r.schedule.join("\n")
        );
        assert!(r.ops_completed > 0, "seed {seed}: the clients did nothing");
    }
}

#[test]
fn the_same_seed_replays_the_same_run() {
    let options = ExploreOptions {
        trace_messages: true,
        ..ExploreOptions::default()
    };
    let (a, b) = (explore(3, &options), explore(3, &options));
    let (mut ra, mut rb) = (a.report.clone(), b.report.clone());
    ra.wall_ms = 0;
    rb.wall_ms = 0;
    assert_eq!(
        serde_json::to_string(&ra).unwrap(),
        serde_json::to_string(&rb).unwrap()
    );
    assert_eq!(a.trace, b.trace, "the traces must be identical");
    assert_eq!(a.history.operations(), b.history.operations());
    let c = explore(4, &options);
    assert_ne!(a.trace, c.trace, "another seed, another run");
}

/// Each teaching switch breaks a safety property, and the explorer sees it.
#[test]
fn the_teaching_switches_are_found() {
    for (sw, seeds) in [
        // The first seed of 1.. where the explorer finds each (see README). The seeds
        // follow the simulated clients' timing: with one round-trip estimate per kind of
        // request (reads, writes) they moved from 2, 521 and 550.
        (UnsafeSwitch::SkipElectionRestriction, 1..=11),
        (UnsafeSwitch::ForgetVoteOnRestart, 970..=970),
        (UnsafeSwitch::CommitPreviousTermEntries, 4988..=4988),
    ] {
        let options = ExploreOptions {
            unsafe_switch: Some(sw),
            ..ExploreOptions::default()
        };
        let found = seeds.clone().find(|&seed| {
            let r = explore_seed(seed, &options);
            r.failures.iter().any(|f| f.starts_with("safety:"))
        });
        assert!(
            found.is_some(),
            "{sw}: no safety violation in seeds {seeds:?}"
        );
    }
    // Stale reads break no property of the logs: what they break is what clients see.
    let options = ExploreOptions {
        unsafe_switch: Some(UnsafeSwitch::StaleReads),
        ..ExploreOptions::default()
    };
    let r = explore_seed(4, &options);
    assert!(
        r.failures.iter().any(|f| f.starts_with("linearizability:")),
        "stale_reads: seed 4 is no longer found: {:?}",
        r.failures
    );
}

#[test]
fn bad_explorer_input_is_refused_with_a_reason() {
    let e = "commit_everything".parse::<UnsafeSwitch>().unwrap_err();
    assert!(e.contains("commit_previous_term_entries"), "{e}");
    assert_eq!(
        "unsafe_forget_vote_on_restart".parse::<UnsafeSwitch>(),
        Ok(UnsafeSwitch::ForgetVoteOnRestart)
    );
    let o = ExploreOptions {
        nodes: Some(0),
        ..ExploreOptions::default()
    };
    assert!(o.validate().unwrap_err().contains("--nodes"));
}

#[test]
fn a_workload_needs_clients_and_the_simulated_runtime() {
    let sim: Cluster<KvStore> = Cluster::with_config(3, Config::default().simulated());
    let none = Workload {
        clients: 0,
        ..Workload::default()
    };
    match sim.start_workload(none, None) {
        Err(Error::InvalidConfig(why)) => assert!(why.contains("clients"), "{why}"),
        other => panic!("expected InvalidConfig, got {:?}", other.map(|_| ())),
    }
    let threads: Cluster<KvStore> = Cluster::with_config(3, Config::fast());
    assert!(matches!(
        threads.start_workload(Workload::default(), None),
        Err(Error::InvalidConfig(_))
    ));
}

#[test]
fn concurrent_simulated_clients_are_linearizable_and_exactly_once() {
    let c: Cluster<KvStore> = Cluster::with_config(
        5,
        Config {
            seed: Some(9),
            net: raftsim::NetConfig::unreliable(),
            ..Config::default().simulated()
        },
    );
    let history = std::sync::Arc::new(raftsim::check::KvHistory::new());
    let w = Workload {
        clients: 8,
        put_share: 0.0,
        ..Workload::default()
    };
    let clients = c.start_workload(w, Some(history.clone())).unwrap();
    c.sleep(Duration::from_secs(3));
    let leader = c.leader().unwrap();
    c.crash(leader);
    c.sleep(Duration::from_secs(3));
    clients.stop();
    c.wait_for("the clients to finish", Duration::from_secs(5), |_| {
        clients.in_flight() == 0
    })
    .unwrap();
    let stats = clients.stats();
    assert!(stats.completed > 200, "{} operations", stats.completed);
    let verdict = raftsim::check::check(
        &raftsim::check::KvModel,
        &history.operations(),
        Duration::from_secs(10),
    );
    assert!(verdict.is_ok(), "{verdict}");
    c.assert_safe();
}

/// Seeds on which clients were bounced forever between two nodes that each named the
/// other as leader (a livelock at one virtual instant) before clients backed off after
/// two redirects in a row.
#[test]
fn clients_do_not_bounce_between_two_stale_leader_hints() {
    let options = ExploreOptions::default();
    for seed in [271, 700, 1032] {
        let r = explore_seed(seed, &options);
        assert!(r.passed, "seed {seed}: {:?}", r.failures);
    }
}
