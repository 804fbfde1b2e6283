//! Log compaction and InstallSnapshot (§7), on the pure Raft core, stepped by hand with
//! the testkit.

use raftsim::event::EventKind;
use raftsim::message::{Envelope, Message};
use raftsim::raft::testkit::CoreNet;

fn is_snapshot<C, D>(e: &Envelope<C, D>) -> bool {
    matches!(e.msg, Message::InstallSnapshot { .. })
}

type SnapNet = CoreNet<u64, Vec<u64>>;

/// A leader (node 0) with commands 1..=10 at indexes 2..=11 committed, node 1 in step,
/// node 2 elsewhere, and the leader's log compacted through index 8.
fn compacted_leader(hold_from_2: bool) -> (SnapNet, Vec<Envelope<u64, Vec<u64>>>) {
    let mut net = SnapNet::new(3);
    net.elect(0);
    if !hold_from_2 {
        net.isolate(2);
    }
    for c in 1..=10 {
        net.propose(0, c).unwrap();
    }
    let held = net.take_matching(|e| e.to == 2);
    net.deliver_all();
    assert_eq!(net.node(0).commit_index(), 11);
    // The state machine's state at index 8: the commands at indexes 2..=8.
    net.compact(0, 8, (1..=7).collect());
    assert_eq!(net.node(0).log().snapshot_index(), 8);
    assert_eq!(net.node(0).log().first_index(), 9);
    (net, held)
}

/// §7: a follower that needs entries the leader has compacted gets the snapshot instead
/// (InstallSnapshot), loads it, then receives the entries after it as usual.
#[test]
fn install_snapshot_brings_a_follower_behind_the_compacted_prefix_up_to_date() {
    let (mut net, _) = compacted_leader(false);
    net.recover();
    net.tick_heartbeat(0);
    net.deliver_all();
    assert_eq!(net.count_delivered(is_snapshot), 1);
    let f = net.node(2);
    assert_eq!((f.log().snapshot_index(), f.log().last_index()), (8, 11));
    assert_eq!(f.commit_index(), 11);
    assert_eq!(net.restored(2).unwrap().data, (1..=7).collect::<Vec<u64>>());
    assert_eq!(
        net.applied_commands(2),
        vec![8, 9, 10],
        "after the snapshot"
    );
    assert!(net.events(2).contains(&EventKind::SnapshotInstalled {
        leader: 0,
        last_index: 8,
        last_term: 1
    }));
    // It was persisted: a restart comes back from the snapshot.
    net.restart(2);
    assert_eq!(net.node(2).log().snapshot_index(), 8);
    assert_eq!(net.node(2).commit_index(), 8);
    assert_eq!(net.restored(2).unwrap().last_index, 8);
}

/// §7 (Figure 13, rule 6): a snapshot older than what the follower already has commited
/// — a late or duplicated InstallSnapshot — is ignored: its log is not touched.
#[test]
fn an_install_snapshot_older_than_the_followers_state_is_ignored() {
    let (mut net, _) = compacted_leader(false);
    net.recover();
    net.tick_heartbeat(0);
    let snapshot = net.take_matching(is_snapshot);
    assert_eq!(snapshot.len(), 1);
    net.inject(snapshot[0].clone());
    net.deliver_all();
    net.propose(0, 11).unwrap();
    net.deliver_all();
    net.tick_heartbeat(0);
    net.deliver_all();
    assert_eq!(net.node(2).commit_index(), 12);
    let log_before = net.node(2).log().entries().to_vec();

    net.inject(snapshot[0].clone()); // the same snapshot, again and late
    net.deliver_matching(|e| e.to == 2);
    let ready = net.last_ready(2).unwrap();
    assert!(ready.snapshot_to_restore.is_none() && !ready.snapshot_changed);
    assert_eq!(net.node(2).log().entries(), &log_before[..]);
    assert_eq!(net.node(2).log().snapshot_index(), 8);
    let installs = net
        .events(2)
        .iter()
        .filter(|e| matches!(e, EventKind::SnapshotInstalled { .. }))
        .count();
    assert_eq!(installs, 1);
    net.deliver_all();
    assert_eq!(
        net.node(0).progress()[&2].match_index,
        12,
        "the reply moved nothing back"
    );
}

/// §7 (Figure 13, rule 6): "If existing log entry has same index and term as snapshot's
/// last included entry, retain log entries following it". The follower holds entries
/// 1..=11 (but knows only index 1 committed) when a snapshot through 8 arrives: it keeps
/// 9..=11.
#[test]
fn an_install_snapshot_matching_the_followers_log_keeps_the_suffix() {
    let (mut net, held) = compacted_leader(true);
    assert_eq!(held.len(), 10, "one AppendEntries per proposal");
    net.tick_heartbeat(0);
    let snapshot = net.take_matching(|e| e.to == 2 && is_snapshot(e));
    assert_eq!(snapshot.len(), 1, "node 2's next entry was compacted");
    for env in held {
        net.inject(env);
    }
    net.deliver_matching(|e| e.to == 2);
    assert_eq!(net.log_terms(2), vec![1; 11]);
    assert_eq!(net.node(2).commit_index(), 1);

    net.inject(snapshot[0].clone());
    net.deliver_matching(|e| e.to == 2);
    let f = net.node(2);
    assert_eq!(
        (f.log().snapshot_index(), f.log().last_index()),
        (8, 11),
        "9..=11 kept"
    );
    assert_eq!(f.commit_index(), 8);
    assert!(net.restored(2).is_some());
    net.deliver_all();
    net.tick_heartbeat(0);
    net.deliver_all();
    assert_eq!(net.node(2).commit_index(), 11);
    assert_eq!(net.applied_commands(2), vec![8, 9, 10]);
}
