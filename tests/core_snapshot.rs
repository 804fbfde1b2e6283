//! Log compaction and InstallSnapshot (§7), on the pure Raft core, stepped by hand with
//! the testkit.

use raftsim::message::{Envelope, Message};
use raftsim::raft;
use raftsim::raft::{ProgressState, RaftConfig};
use raftsim::testkit::CoreNet;

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
    assert!(net.events(2).contains(&raft::Event::SnapshotInstalled {
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
    assert!(ready.snapshot_to_restore.is_none() && ready.snapshot.is_none());
    assert_eq!(net.node(2).log().entries(), &log_before[..]);
    assert_eq!(net.node(2).log().snapshot_index(), 8);
    let installs = net
        .events(2)
        .iter()
        .filter(|e| matches!(e, raft::Event::SnapshotInstalled { .. }))
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

// ---- one snapshot at a time (etcd's StateSnapshot) ---------------------------------------

/// How many InstallSnapshots the leader has sent so far: delivered, lost or in flight.
fn snapshots_sent(net: &SnapNet) -> usize {
    let all = net.delivered.iter().chain(&net.dropped).chain(&net.queue);
    all.filter(|e| is_snapshot(e)).count()
}

/// The heartbeats a leader waits for the answer to a snapshot before sending it again.
fn resend_wait() -> u32 {
    RaftConfig::figure2().snapshot_resend_ticks
}

/// §7: a follower behind the compacted prefix gets one InstallSnapshot, and the leader
/// waits for its answer. Neither its heartbeats nor ReadIndex rounds (§6.4), which go out
/// as heartbeats, send the snapshot again: each copy is the whole state machine, and the
/// follower would install each one.
#[test]
fn a_follower_awaiting_a_snapshot_gets_one_whatever_the_heartbeats_and_reads() {
    let (mut net, _) = compacted_leader(false);
    net.recover();
    net.tick_heartbeat(0);
    // The snapshot is slow on the wire: whatever InstallSnapshot is sent stays in flight
    // until the end of the test.
    let mut held = net.take_matching(is_snapshot);
    assert_eq!(held.len(), 1);
    for ctx in 0..5 {
        // Heartbeat intervals pass (short of the resend wait), and reads arrive.
        if ctx + 1 < u64::from(resend_wait()) {
            net.tick_heartbeat(0);
        }
        net.update(0, |r| r.read_index(ctx)).unwrap();
        held.extend(net.take_matching(is_snapshot));
        net.deliver_all();
        held.extend(net.take_matching(is_snapshot));
    }
    assert_eq!(held.len(), 1, "InstallSnapshots sent");
    assert_eq!(net.node(2).commit_index(), 0, "still waiting");

    net.inject(held[0].clone());
    net.deliver_all();
    net.tick_heartbeat(0);
    net.deliver_all();
    assert_eq!(snapshots_sent(&net), 1);
    assert_eq!(net.node(2).commit_index(), 11);
    let p = &net.node(0).progress()[&2];
    assert_eq!((p.state, p.match_index), (ProgressState::Replicate, 11));
}

/// §7: a snapshot whose answer was lost is sent again, once, after the leader has waited
/// `snapshot_resend_ticks` heartbeat intervals without hearing back (the core has no
/// clock; it counts heartbeats).
#[test]
fn a_snapshot_whose_answer_is_lost_is_sent_again_once_after_the_wait() {
    let (mut net, _) = compacted_leader(false);
    net.recover();
    // Everything node 2 says is lost: the snapshot's answer and the heartbeats' answers.
    net.block(|e| (e.from, e.to) == (2, 0));
    net.tick_heartbeat(0);
    net.deliver_all();
    assert_eq!(net.node(2).log().snapshot_index(), 8, "installed");
    for _ in 1..resend_wait() {
        net.tick_heartbeat(0);
        net.deliver_all();
    }
    assert_eq!(snapshots_sent(&net), 1, "no copy before the wait is over");
    net.tick_heartbeat(0);
    net.deliver_all();
    assert_eq!(snapshots_sent(&net), 2, "one copy when it is");

    // The answers get through again: the follower is caught up with no further copy.
    net.recover();
    for _ in 0..2 * resend_wait() {
        net.tick_heartbeat(0);
        net.deliver_all();
    }
    assert_eq!(snapshots_sent(&net), 2);
    assert_eq!(net.node(2).commit_index(), 11);
    assert_eq!(net.node(0).progress()[&2].state, ProgressState::Replicate);
}

/// A heartbeat to a follower awaiting a snapshot checks the leader's log at the
/// snapshot's last entry: once the follower has installed it, its answer says so, and a
/// lost InstallSnapshot answer costs nothing more.
#[test]
fn a_heartbeat_answer_shows_the_snapshot_arrived_when_its_own_answer_is_lost() {
    let (mut net, _) = compacted_leader(false);
    net.recover();
    net.block(|e| matches!(e.msg, Message::InstallSnapshotReply { .. }));
    net.tick_heartbeat(0);
    net.deliver_all();
    for _ in 0..2 * resend_wait() {
        net.tick_heartbeat(0);
        net.deliver_all();
    }
    assert_eq!(snapshots_sent(&net), 1);
    assert_eq!(net.node(2).commit_index(), 11);
    assert_eq!(net.node(0).progress()[&2].match_index, 11);
}

/// A late or duplicated InstallSnapshot answer must not move back a progress that has
/// gone on: here the follower streams entries (Replicate, two AppendEntries in flight)
/// when the answer to its old snapshot arrives. It changes nothing and sends nothing.
#[test]
fn a_stale_snapshot_answer_does_not_reset_a_progress_that_moved_on() {
    let (mut net, _) = compacted_leader(false);
    net.recover();
    net.tick_heartbeat(0);
    net.deliver_matching(is_snapshot);
    let answer = net.take_matching(|e| matches!(e.msg, Message::InstallSnapshotReply { .. }));
    assert_eq!(answer.len(), 1);
    // A heartbeat's answer brings node 2 back into the stream without it.
    net.tick_heartbeat(0);
    net.deliver_all();
    assert_eq!(net.node(0).progress()[&2].match_index, 11);
    net.propose(0, 11).unwrap();
    net.propose(0, 12).unwrap();
    let in_flight = net.take_matching(|e| e.to == 2);
    assert_eq!(in_flight.len(), 2);
    let before = net.node(0).progress()[&2].clone();
    assert_eq!(
        (before.state, before.next_index),
        (ProgressState::Replicate, 14)
    );

    net.inject(answer[0].clone());
    net.deliver_matching(|e| e.to == 0 && e.from == 2);
    assert_eq!(net.node(0).progress()[&2], before);
    assert!(
        net.queue.iter().all(|e| e.to != 2),
        "nothing re-sent: {:?}",
        net.queue
    );
    for env in in_flight {
        net.inject(env);
    }
    net.deliver_all();
    assert_eq!(net.node(0).progress()[&2].match_index, 13);
}

/// A node added later starts with no configuration (it is told none: dissertation
/// §4.1, a new server joins with an empty one) and learns the cluster's from the log.
/// Entries that reach it before any configuration entry were committed under the
/// cluster's first configuration, which it never learns from them: a snapshot there
/// must not record "no configuration" (a node that installs it, or this node after a
/// restart that lost the suffix, would know no voters). It waits until the
/// configuration in force is known.
#[test]
fn a_node_added_later_snapshots_only_a_known_configuration() {
    use raftsim::log::{Entry, Payload};
    use raftsim::membership::Membership;
    use raftsim::raft::{Persisted, Raft};

    let mut node: Raft<u64, Vec<u64>> = Raft::new(
        3,
        Membership::default(),
        RaftConfig::figure2(),
        Persisted::default(),
    );
    // The leader, n0 of {0, 1, 2} in term 1, sends two commands and then the entry that
    // adds n3 as a learner, each committed.
    let mut learner_added = Membership::new([0, 1, 2]);
    learner_added.learners.insert(3);
    let entries = [
        Entry::command(1, 1, 10),
        Entry::command(1, 2, 20),
        Entry {
            term: 1,
            index: 3,
            payload: Payload::Config(learner_added.clone()),
        },
    ];
    let mut applied = Vec::new();
    for e in entries {
        let index = e.index;
        node.step(
            0,
            Message::AppendEntries {
                term: 1,
                leader_id: 0,
                prev_log_index: index - 1,
                prev_log_term: if index == 1 { 0 } else { 1 },
                entries: vec![e].into(),
                leader_commit: index,
                read_seq: 0,
            },
        );
        node.take_ready();
        node.on_persist_entries(index, 1);
        node.take_ready();
        assert_eq!(node.handed_out(), index, "the entry at {index} applied");
        applied.push(index);
        let due = node.snapshot_due(1);
        node.compact(index, applied.clone());
        if let Some(s) = node.snapshot() {
            assert!(
                due,
                "snapshot_due said no, yet compact took a snapshot at {index}"
            );
            assert_eq!(
                s.membership, learner_added,
                "the snapshot through {} records the configuration in force there \
                 (which n3 knows from index 3 on)",
                s.last_index
            );
        } else {
            assert!(!due, "a snapshot was due at {index} but none was taken");
        }
    }
    let s = node
        .snapshot()
        .expect("a snapshot once the configuration is known");
    assert_eq!(s.last_index, 3);
}
