//! Batching and pipelining stay correct when the network misbehaves: acknowledgements
//! that arrive out of order, a pipelined batch that is rejected because an earlier one
//! was lost, and a whole cluster driven hard through a lossy, duplicating, reordering
//! router with the live safety checks on. No timed assertions: waits have deadlines and
//! a failure prints the cluster's state.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use raftsim::event::EventKind;
use raftsim::message::Message;
use raftsim::raft;
use raftsim::raft::replication::ProgressState;
use raftsim::raft::RaftConfig;
use raftsim::state_machine::Recorder;
use raftsim::testkit::{is_append, CoreNet};
use raftsim::{Cluster, Config, Index, NetConfig};

/// One entry per AppendEntries and up to 8 in flight: every proposal is its own
/// pipelined batch, so the tests below can hold, reorder and lose them one by one.
fn pipelined() -> RaftConfig {
    RaftConfig {
        max_entries_per_append: 1,
        max_inflight_appends: 8,
        ..RaftConfig::figure2()
    }
}

fn is_append_reply<C, D>(e: &raftsim::message::Envelope<C, D>) -> bool {
    matches!(e.msg, Message::AppendEntriesReply { .. })
}

/// Acknowledgements of pipelined batches that come back newest first: each one only
/// moves matchIndex forward (a stale, smaller one changes nothing), the in-flight window
/// empties, and the commit index lands on the newest entry.
#[test]
fn out_of_order_acknowledgements_only_move_match_index_forward() {
    let mut net: CoreNet = CoreNet::with_config(3, pipelined());
    net.elect(0);
    assert_eq!(net.node(0).progress()[&1].state, ProgressState::Replicate);
    net.isolate(2);
    for cmd in 10..14 {
        net.propose(0, cmd).unwrap(); // indexes 2..=5, one AppendEntries each
    }
    assert_eq!(
        net.node(0).progress()[&1].inflight.len(),
        4,
        "all four pipelined"
    );
    // Node 1 stores all four, in order; its four answers are held back.
    net.deliver_matching(|e| e.to == 1 && is_append(e));
    let mut acks = net.take_matching(|e| e.from == 1 && is_append_reply(e));
    assert_eq!(acks.len(), 4);
    acks.reverse();
    let mut seen = Vec::new();
    for ack in acks {
        net.inject(ack);
        net.deliver_matching(|e| e.from == 1 && is_append_reply(e));
        let p = net.node(0).progress()[&1].clone();
        seen.push(p.match_index);
        assert_eq!(
            p.state,
            ProgressState::Replicate,
            "no fallback on a late ack"
        );
        assert_eq!(net.node(0).commit_index(), 5, "committed by the newest ack");
    }
    assert_eq!(seen, vec![5, 5, 5, 5], "matchIndex never moves back");
    assert!(net.node(0).progress()[&1].inflight.is_empty());
    recover_and_converge(&mut net, &[10, 11, 12, 13]);
}

/// The first of four pipelined batches is lost: the follower rejects the three after
/// it. The leader falls back to probing once, at the lost entry (the later rejections
/// are stale and ignored), re-sends from there, and the follower ends up with exactly
/// the leader's log.
#[test]
fn a_rejected_pipelined_batch_falls_back_to_probing_once_and_recovers() {
    let mut net: CoreNet = CoreNet::with_config(3, pipelined());
    net.elect(0);
    net.isolate(2);
    for cmd in 20..24 {
        net.propose(0, cmd).unwrap(); // indexes 2..=5
    }
    let mut held = net.take_matching(|e| e.to == 1 && is_append(e));
    assert_eq!(held.len(), 4);
    held.remove(0); // index 2 is lost on the way
                    // The rest arrive in a shuffled order; every one is rejected (no entry at its prev).
    for k in [2, 0, 1] {
        net.inject(held[k].clone());
    }
    net.clear_events();
    net.deliver_all();
    let backed_up: Vec<raft::Event> = net
        .events(0)
        .into_iter()
        .filter(|e| matches!(e, raft::Event::NextIndexBackedUp { .. }))
        .collect();
    assert_eq!(
        backed_up.len(),
        1,
        "one fallback, later rejections ignored as stale: {backed_up:?}\n{}",
        net.describe()
    );
    assert!(
        matches!(
            backed_up[0],
            raft::Event::NextIndexBackedUp { next_index: 2, .. }
        ),
        "re-sends from the lost entry: {backed_up:?}"
    );
    // deliver_all carried the probe and what followed: node 1 caught up, and the
    // leader streams again.
    assert_eq!(net.log_terms(1), net.log_terms(0));
    let p = net.node(0).progress()[&1].clone();
    assert_eq!((p.state, p.match_index), (ProgressState::Replicate, 5));
    assert_eq!(net.node(0).commit_index(), 5);
    recover_and_converge(&mut net, &[20, 21, 22, 23]);
}

/// Many clients write at once through a lossy (10%), duplicating and reordering (2-30
/// ms) router, with small batches and a pipeline of 4, and leaders that fail over: the
/// live safety checker finds nothing, every acknowledged write is applied exactly where
/// the leader said, and all nodes converge once the network heals.
#[test]
fn concurrent_writes_through_a_lossy_reordering_network_stay_safe() {
    let config = Config {
        net: NetConfig::unreliable(),
        max_entries_per_append: 4,
        max_inflight_appends: 4,
        election_timeout_min: Duration::from_millis(150),
        election_timeout_max: Duration::from_millis(300),
        check_safety: true,
        trace_messages: false,
        seed: Some(
            std::env::var("RAFTSIM_SEED")
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0x919E),
        ),
        ..Config::default()
    };
    let cluster: Cluster<Recorder<u64>> = Cluster::with_config(5, config);
    eprintln!("seed {} (replay with RAFTSIM_SEED)", cluster.seed());
    let fail = |what: &str| -> ! {
        panic!("{what}\n{}", cluster.failure_report());
    };
    if cluster.wait_for_leader(Duration::from_secs(10)).is_err() {
        fail("no leader");
    }
    const CLIENTS: u64 = 32;
    const GOAL: usize = 600;
    let mut mux = cluster.client_mux();
    // Each logical client has one command out at a time; it is re-sent on a redirect
    // or after a second of silence (a lost request or reply), so it may apply twice.
    let mut outstanding: BTreeMap<u64, (u64, Instant)> = BTreeMap::new();
    let next_cmd = |c: u64, n: &mut u64| {
        *n += 1;
        c * 1_000_000 + *n
    };
    let mut counters = vec![0u64; CLIENTS as usize];
    for c in 0..CLIENTS {
        let cmd = next_cmd(c, &mut counters[c as usize]);
        mux.send(cmd, cmd, false);
        outstanding.insert(c, (cmd, Instant::now()));
    }
    let mut acked: BTreeSet<u64> = BTreeSet::new();
    let mut crashed_once = false;
    let deadline = Instant::now() + Duration::from_secs(60);
    while acked.len() < GOAL {
        if Instant::now() > deadline {
            fail(&format!(
                "only {} of {GOAL} writes acknowledged",
                acked.len()
            ));
        }
        if !crashed_once && acked.len() >= GOAL / 3 {
            // A leader failover in the middle: pipelines are cut off mid-flight.
            crashed_once = true;
            if let Some(l) = cluster.leader() {
                cluster.crash(l);
                cluster.restart(l);
            }
        }
        // Requests are named by their command, so a late answer to an earlier one
        // (a duplicate, or the original of a re-send) is recognised and ignored.
        if let Some((got, result)) = mux.recv(Instant::now() + Duration::from_millis(50)) {
            let c = got / 1_000_000;
            let (cmd, _) = outstanding[&c];
            if got != cmd {
                continue;
            }
            let cmd = if result.is_ok() {
                acked.insert(cmd);
                next_cmd(c, &mut counters[c as usize])
            } else {
                cmd
            };
            mux.send(cmd, cmd, false);
            outstanding.insert(c, (cmd, Instant::now()));
        }
        for &(cmd, sent) in outstanding.values() {
            if sent.elapsed() > Duration::from_secs(1) {
                mux.send(cmd, cmd, false);
            }
        }
        for (_, (_, sent)) in outstanding.iter_mut() {
            if sent.elapsed() > Duration::from_secs(1) {
                *sent = Instant::now();
            }
        }
    }
    mux.flush();
    cluster.set_net(NetConfig::reliable()).expect("valid");
    // One more write through the healed network makes every earlier entry commit
    // everywhere once it does (Log Matching).
    let last: Index = match cluster.propose_and_wait(u64::MAX, 5, Duration::from_secs(20)) {
        Ok(i) => i,
        Err(e) => fail(&format!("final write: {e:?}")),
    };
    if cluster
        .wait_for(
            "every node to apply the final write",
            Duration::from_secs(15),
            |st| st.iter().all(|s| s.alive && s.last_applied >= last),
        )
        .is_err()
    {
        fail("no convergence after healing");
    }
    let applied: Vec<Vec<(Index, u64)>> = cluster
        .ids()
        .into_iter()
        .map(|id| {
            cluster
                .inspect(id, move |sm| {
                    sm.applied
                        .iter()
                        .copied()
                        .filter(|&(i, _)| i <= last)
                        .collect()
                })
                .expect("alive")
        })
        .collect();
    for (id, a) in applied.iter().enumerate() {
        assert_eq!(a, &applied[0], "n{id} applied a different sequence than n0");
    }
    let in_log: BTreeSet<u64> = applied[0].iter().map(|&(_, c)| c).collect();
    let missing: Vec<&u64> = acked.difference(&in_log).collect();
    assert!(
        missing.is_empty(),
        "acknowledged but never applied: {missing:?}"
    );
    cluster.assert_safe();
    let backups = cluster
        .trace()
        .iter()
        .filter(|e| {
            matches!(
                e.kind,
                EventKind::Raft(raft::Event::NextIndexBackedUp { .. })
            )
        })
        .count();
    eprintln!(
        "{} writes acknowledged, {} entries applied, {backups} pipeline fallbacks",
        acked.len(),
        applied[0].len()
    );
}

/// Heals the network and lets leader n0 run two heartbeat intervals: it re-sends the
/// pipelined batches that were lost after a heartbeat interval without an
/// acknowledgement (the second tick). Then every node applied exactly `expected`.
fn recover_and_converge(net: &mut CoreNet, expected: &[u64]) {
    net.recover();
    for _ in 0..2 {
        net.tick_heartbeat(0);
        net.deliver_all();
    }
    for id in 0..3 {
        assert_eq!(net.applied_commands(id), expected, "n{id}");
    }
}
