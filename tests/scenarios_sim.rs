//! The paper's scenarios (`raftsim::scenarios`) on the simulated runtime: each gives the
//! answer it gives on node threads (tests/scenarios.rs asserts those in full), and the
//! same seed gives the same run, event for event.

use raftsim::raft::VoteRefusal;
use raftsim::safety::Property;
use raftsim::scenarios::*;
use raftsim::{Event, Role, Runtime};

const SIM: Runtime = Runtime::Simulated;

/// The trace as text, to compare two runs byte for byte.
fn text(events: &[Event]) -> String {
    events
        .iter()
        .map(|e| format!("{}\n", e.to_json()))
        .collect()
}

#[test]
fn figure7_on_the_simulated_runtime_replays_by_seed() {
    let run = |label| {
        figure7::run_on(
            &figure7::Opts {
                candidate: label,
                seed: 7,
            },
            SIM,
        )
        .unwrap()
    };
    let n = figure7::node_of;
    let (a, d, f) = (run('a'), run('d'), run('f'));
    assert!(a.won && d.won && !f.won);
    assert_eq!(a.granted, vec![n('b'), n('e'), n('f')]);
    assert_eq!(d.granted.len(), 5);
    assert!(f.granted.is_empty());
    assert!(f
        .refused
        .iter()
        .all(|(_, r)| matches!(r, VoteRefusal::LogBehind { .. })));
    assert_eq!(text(&run('a').events), text(&a.events));
}

#[test]
fn split_vote_on_the_simulated_runtime_replays_by_seed() {
    let out = split_vote::run_on(&split_vote::Opts { seed: 5 }, SIM).unwrap();
    assert!(out.term1_split);
    assert!(out.winner_term >= 2);
    assert_eq!(out.rounds.last().unwrap().leader, Some(out.winner));
    assert!(out.violations.is_empty());
    let again = split_vote::run_on(&split_vote::Opts { seed: 5 }, SIM).unwrap();
    assert_eq!(text(&again.events), text(&out.events));
    assert_eq!(again.resolved_after_ms, out.resolved_after_ms);
}

#[test]
fn stale_leader_on_the_simulated_runtime_with_and_without_check_quorum() {
    let plain = stale_leader::Opts {
        check_quorum: false,
        seed: 11,
    };
    let out = stale_leader::run_on(&plain, SIM).unwrap();
    assert_eq!(out.before_heal.0, Role::Leader);
    assert!(!out.stepped_down_while_cut_off);
    let want: Vec<String> = ["a", "b", "c", "d"].map(String::from).to_vec();
    assert!(out.applied.iter().all(|a| *a == want), "{:?}", out.applied);

    let cq = stale_leader::Opts {
        check_quorum: true,
        seed: 11,
    };
    let out = stale_leader::run_on(&cq, SIM).unwrap();
    assert!(out.stepped_down_while_cut_off);
    assert!(out.step_down_reason.contains("CheckQuorum"));
    assert_eq!(out.refused_while_cut_off, vec!["lost-2".to_string()]);
    assert!(out.violations.is_empty());
    let again = stale_leader::run_on(&cq, SIM).unwrap();
    assert_eq!(text(&again.events), text(&out.events));
}

#[test]
fn leader_dies_and_catch_up_on_the_simulated_runtime() {
    use leader_dies::{Opts, Winner};
    let kept = leader_dies::run_on(
        &Opts {
            winner: Winner::HasEntry,
            seed: 2,
        },
        SIM,
    )
    .unwrap();
    assert!(kept.x_kept);
    let lost = leader_dies::run_on(
        &Opts {
            winner: Winner::LacksEntry,
            seed: 2,
        },
        SIM,
    )
    .unwrap();
    assert!(!lost.x_kept && lost.applied_x.is_empty());

    let run = |fast| {
        catch_up::run_on(
            &catch_up::Opts {
                fast_backtracking: fast,
                ..catch_up::Opts::default()
            },
            SIM,
        )
        .unwrap()
    };
    let (fast, slow) = (run(true), run(false));
    assert_eq!((fast.laggard_last_index, fast.leader_last_index), (12, 45));
    assert!(fast.rejections <= 3 && slow.rejections >= 40);
    // On a virtual clock the repair time is exact, so a replay measures the same.
    assert_eq!(run(true).repair_ms, fast.repair_ms);
}

#[test]
fn the_teaching_switches_are_caught_on_the_simulated_runtime_too() {
    let broken = stale_log_wins::run_on(
        &stale_log_wins::Opts {
            unsafe_skip: true,
            seed: 3,
        },
        SIM,
    )
    .unwrap();
    assert!(broken.stale_won);
    let props: Vec<Property> = broken.violations.iter().map(|v| v.property).collect();
    assert!(props.contains(&Property::LeaderCompleteness), "{props:?}");

    // The one timing window of this scenario (150 ms of network delay) is exact here:
    // it never misses.
    let safe = double_vote::run_on(
        &double_vote::Opts {
            forget_vote: false,
            seed: 0,
        },
        SIM,
    )
    .unwrap();
    assert_eq!(safe.leaders_of_term1, vec![0]);
    let broken = double_vote::run_on(
        &double_vote::Opts {
            forget_vote: true,
            seed: 0,
        },
        SIM,
    )
    .unwrap();
    assert_eq!(broken.leaders_of_term1, vec![0, 1]);
    let props: Vec<Property> = broken.violations.iter().map(|v| v.property).collect();
    assert_eq!(props, vec![Property::ElectionSafety]);
}
