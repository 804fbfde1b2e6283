//! Log compaction (§7) under faults, with the key/value store: the log stays bounded
//! on every node through crashes, partitions and a lossy network; a node that was away
//! while the others compacted catches up through InstallSnapshot; restarting every node
//! twice in a row loses neither the snapshot nor the state; and exactly-once appends
//! survive compaction (the client sessions travel in the snapshot).

mod harness;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use harness::{
    check_ledgers, watch_log_lengths, write_until, KvCluster, LogWatch, StopOnDrop, WAIT,
};
use parking_lot::Mutex;
use raftsim::event::{EventKind, Fate};
use raftsim::raft;
use raftsim::{Config, Index, NetConfig};

/// Waits until the highest commit index reaches `from + by`; returns it.
#[track_caller]
fn progress(kv: &KvCluster, by: Index, what: &str) -> Index {
    let from = kv
        .statuses()
        .iter()
        .map(|s| s.commit_index)
        .max()
        .unwrap_or(0);
    let mut reached = from;
    kv.wait(
        &format!("{by} more entries to commit ({what})"),
        WAIT,
        |st| {
            reached = st.iter().map(|s| s.commit_index).max().unwrap_or(0);
            reached >= from + by
        },
    );
    reached
}

/// With `snapshot_threshold: Some(N)`, `last_log_index - snapshot_index` stays near N
/// on every node, sampled every 2 ms while three clients append and every node is
/// crashed and restarted in turn, the leader and then a follower are partitioned off,
/// and the network drops, delays and reorders messages. Afterwards every node has
/// compacted, every member holds the same data, and each acknowledged append is there
/// exactly once.
#[test]
fn log_stays_bounded_through_crashes_partitions_and_a_lossy_network() {
    const N: Index = 20;
    let config = Config {
        snapshot_threshold: Some(N),
        ..Config::fast()
    };
    let kv = KvCluster::new(3, config, 0x5_0001);
    kv.leader_now();
    let stop_writers = AtomicBool::new(false);
    let stop_watch = AtomicBool::new(false);
    let watch = Mutex::new(LogWatch::default());
    let ledgers = std::thread::scope(|s| {
        let _stop = (StopOnDrop(&stop_writers), StopOnDrop(&stop_watch));
        let watcher = s.spawn(|| watch_log_lengths(&kv.c, &stop_watch, &watch));
        let writers: Vec<_> = (0..3)
            .map(|w| {
                let (kv, stop) = (&kv, &stop_writers);
                s.spawn(move || write_until(kv, w, &format!("key{w}"), stop, 10))
            })
            .collect();

        kv.set_net(NetConfig::unreliable()).expect("valid net");
        progress(&kv, 3 * N, "lossy network");
        for id in kv.ids() {
            kv.crash(id);
            progress(&kv, N, &format!("n{id} crashed"));
            kv.restart(id);
            progress(&kv, N, &format!("n{id} restarted"));
        }
        let (leader, _) = kv.leader_now();
        let others: Vec<_> = kv.ids().into_iter().filter(|&i| i != leader).collect();
        kv.partition(&[&[leader], &others]);
        progress(&kv, 2 * N, &format!("leader n{leader} partitioned off"));
        kv.heal();
        let (leader, _) = kv.leader_now();
        let follower = (leader + 1) % 3;
        let rest: Vec<_> = kv.ids().into_iter().filter(|&i| i != follower).collect();
        kv.partition(&[&[follower], &rest]);
        progress(&kv, 2 * N, &format!("follower n{follower} partitioned off"));
        kv.heal();
        kv.set_net(NetConfig::reliable()).expect("valid net");
        progress(&kv, N, "healed");

        stop_writers.store(true, Ordering::Relaxed);
        let ledgers: Vec<_> = writers
            .into_iter()
            .map(|w| w.join().expect("writer thread"))
            .collect();
        kv.settle();
        stop_watch.store(true, Ordering::Relaxed);
        watcher.join().expect("watcher thread");
        ledgers
    });

    let w = watch.lock().clone();
    eprintln!(
        "longest log seen: {} entries after the snapshot (threshold {N}), at {:?} in {} samples: {}",
        w.max_len,
        w.when,
        w.samples,
        w.at.as_ref().map(|s| s.to_string()).unwrap_or_default()
    );
    // A node compacts as soon as N applied entries sit in its log, so what it holds past
    // N is only its uncommitted tail: the writers' few outstanding appends (and their
    // retries and duplicates), a no-op, what a minority leader accepted before
    // CheckQuorum deposed it. Without compaction this run's logs pass 200 entries.
    let bound = 2 * N;
    if w.max_len > bound {
        kv.fail(format!(
            "a log held {} entries after its snapshot (threshold {N}, bound {bound}): {:?}",
            w.max_len, w.at
        ));
    }
    let (members, data) = kv.converged();
    let acked = check_ledgers(&data, &ledgers).unwrap_or_else(|e| kv.fail(e));
    kv.assert_linearizable();
    let unknown: usize = ledgers.iter().map(|l| l.unknown.len()).sum();
    eprintln!("{acked} appends acknowledged, {unknown} of unknown outcome, members {members:?}");
    for id in kv.ids() {
        let taken = kv.count_events(id, |k| {
            matches!(k, EventKind::Raft(raft::Event::SnapshotTaken { .. }))
        });
        let st = kv.status(id);
        eprintln!("  n{id}: {taken} snapshots taken; {st}");
        if st.snapshot_index == 0 {
            kv.fail(format!("n{id} never compacted: {st}"));
        }
    }
    kv.assert_safe();
}

/// A follower is disconnected while the others commit 60 writes and compact past the
/// end of its log. Once reconnected, the entries it needs exist only in the leader's
/// snapshot, so it catches up through InstallSnapshot and ends with the same data.
#[test]
fn disconnected_follower_catches_up_through_install_snapshot() {
    let config = Config {
        snapshot_threshold: Some(10),
        ..Config::fast()
    };
    let kv = KvCluster::new(3, config, 0x5_0002);
    let (leader, _) = kv.leader_now();
    let away = (leader + 1) % 3;
    kv.disconnect(away);
    let mut client = kv.client();
    for i in 0..60 {
        client
            .put(&format!("k{i:02}"), &format!("v{i}"))
            .unwrap_or_else(|e| kv.fail(format!("put k{i:02}: {e}")));
    }
    let away_last = kv.status(away).last_log_index;
    kv.wait(
        &format!("the others to compact past n{away}'s last index {away_last}"),
        WAIT,
        |st| {
            st.iter()
                .filter(|s| s.id != away)
                .all(|s| s.snapshot_index > away_last)
        },
    );
    let from = kv.trace_log().now_us();
    kv.connect(away);
    let (_, data) = kv.converged();
    assert_eq!(data.len(), 60, "the store lost keys: {data:?}");
    for i in 0..60 {
        assert_eq!(data.get(&format!("k{i:02}")), Some(&format!("v{i}")));
    }
    let installed: Vec<_> = kv
        .events_since(from)
        .into_iter()
        .filter(|e| {
            e.node == Some(away)
                && matches!(
                    e.kind,
                    EventKind::Raft(raft::Event::SnapshotInstalled { .. })
                )
        })
        .collect();
    match installed.first() {
        Some(e) => eprintln!("n{away} (log ended at {away_last}) caught up by: {e}"),
        None => kv.fail(format!("n{away} caught up without installing a snapshot")),
    }
    let st = kv.status(away);
    assert!(
        st.snapshot_index > away_last,
        "n{away}'s snapshot {} does not cover what it missed (its log ended at {away_last})",
        st.snapshot_index
    );
    kv.assert_safe();
}

/// Every node is crashed and restarted after compacting, twice in a row: each restarts
/// from its snapshot (`snapshot_index > 0` at once, never below what it had), its store
/// right after the restart holds a consistent prefix of the data, and once a leader is
/// elected every node holds all of it again.
#[test]
fn restarting_every_node_twice_keeps_snapshot_and_state() {
    let config = Config {
        snapshot_threshold: Some(10),
        ..Config::fast()
    };
    let kv = KvCluster::new(3, config, 0x5_0003);
    kv.leader_now();
    let mut client = kv.client();
    let mut next = 0;
    let put_some = |client: &mut raftsim::kv::Client, next: &mut usize, n: usize| {
        for _ in 0..n {
            client
                .put(&format!("k{next:03}"), &format!("v{next}"))
                .unwrap_or_else(|e| kv.fail(format!("put k{next:03}: {e}")));
            *next += 1;
        }
    };
    put_some(&mut client, &mut next, 30);
    let (_, mut expected) = kv.converged();
    kv.wait("every node to compact", WAIT, |st| {
        st.iter().all(|s| s.snapshot_index > 0)
    });

    for round in 1..=2 {
        let before: Vec<Index> = kv
            .ids()
            .iter()
            .map(|&i| kv.status(i).snapshot_index)
            .collect();
        for id in kv.ids() {
            kv.crash(id);
        }
        for id in kv.ids() {
            kv.restart(id);
        }
        for id in kv.ids() {
            let st = kv.status(id);
            if st.snapshot_index == 0 || st.snapshot_index < before[id] {
                kv.fail(format!(
                    "round {round}: n{id} restarted with snapshot index {} (had {})",
                    st.snapshot_index, before[id]
                ));
            }
            // Only the snapshot is applied until the node learns the commit index again:
            // its store holds a prefix of the data, never something else.
            let now = kv
                .data(id)
                .unwrap_or_else(|| kv.fail(format!("n{id} is down")));
            if now.is_empty() || now.iter().any(|(k, v)| expected.get(k) != Some(v)) {
                kv.fail(format!("round {round}: n{id} restarted with {now:?}"));
            }
            eprintln!(
                "round {round}: n{id} restarted from snapshot {} with {} keys",
                st.snapshot_index,
                now.len()
            );
        }
        put_some(&mut client, &mut next, 15);
        let (_, data) = kv.converged();
        for (k, v) in &expected {
            if data.get(k) != Some(v) {
                kv.fail(format!("round {round}: {k}={v} was lost: {data:?}"));
            }
        }
        assert_eq!(data.len(), next, "round {round}: keys missing or extra");
        expected = data;
    }
    kv.assert_safe();
}

/// Exactly-once survives compaction: on a network that drops and duplicates a fifth of
/// all messages (client requests included), with a tiny snapshot threshold and the
/// leader crashed twice, retried and duplicated appends are applied once, because the
/// client sessions are part of every snapshot.
#[test]
fn exactly_once_appends_survive_snapshots() {
    let config = Config {
        snapshot_threshold: Some(5),
        net: NetConfig {
            drop_rate: 0.2,
            duplicate_rate: 0.2,
            delay_min: Duration::from_millis(1),
            delay_max: Duration::from_millis(15),
            long_reordering: false,
        },
        ..Config::fast()
    };
    let kv = KvCluster::new(3, config, 0x5_0004);
    kv.leader_now();
    let stop = AtomicBool::new(false);
    let started = Instant::now();
    let ledgers = std::thread::scope(|s| {
        let _stop = StopOnDrop(&stop);
        let writers: Vec<_> = (0..3)
            .map(|w| {
                let (kv, stop) = (&kv, &stop);
                // Two writers share a key, so their sessions interleave in one value.
                s.spawn(move || write_until(kv, w, &format!("key{}", w % 2), stop, 25))
            })
            .collect();
        for _ in 0..2 {
            progress(&kv, 15, "before a leader crash");
            let (leader, _) = kv.leader_now();
            kv.crash(leader);
            progress(&kv, 10, &format!("leader n{leader} crashed"));
            kv.restart(leader);
        }
        stop.store(true, Ordering::Relaxed);
        writers
            .into_iter()
            .map(|w| w.join().expect("writer thread"))
            .collect::<Vec<_>>()
    });
    kv.set_net(NetConfig::reliable()).expect("valid net");
    let (_, data) = kv.converged();
    let acked = check_ledgers(&data, &ledgers).unwrap_or_else(|e| kv.fail(e));
    kv.assert_linearizable();
    let trace = kv.trace();
    let dup_requests = trace
        .iter()
        .filter(|e| {
            matches!(
                e.kind,
                EventKind::Message {
                    kind: "ClientRequest",
                    fate: Fate::Duplicated,
                    ..
                }
            )
        })
        .count();
    let snapshots = trace
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Raft(raft::Event::SnapshotTaken { .. })))
        .count();
    eprintln!(
        "{acked} appends acknowledged in {:?}; {dup_requests} client requests duplicated; {snapshots} snapshots taken",
        started.elapsed()
    );
    assert!(
        snapshots >= 6,
        "too few snapshots to test anything: {snapshots}"
    );
    assert!(
        dup_requests > 0,
        "no client request was duplicated: the test tests nothing"
    );
    kv.assert_safe();
}

/// A snapshot is one more output of the core, carried out by the next Ready like any
/// other. Taking one used to drain the core's Ready on the side and keep only its log
/// write, so whatever else that Ready held was lost: in a cluster of one, the entry that
/// committed the instant its write was durable (never applied, its client answered "not
/// leader", the next snapshot missing it). Simulated, several seeds, a slow disk.
#[test]
fn a_snapshot_never_swallows_entries_committed_alongside_it() {
    use raftsim::kv::{Command, KvStore};
    use raftsim::sim::Workload;
    use raftsim::Cluster;
    for seed in 1..=5u64 {
        let cfg = Config {
            seed: Some(seed),
            snapshot_threshold: Some(5),
            storage_latency: Duration::from_millis(2),
            ..Config::default().simulated()
        };
        let cluster: Cluster<KvStore> = Cluster::with_config(1, cfg);
        cluster.wait_for_leader(WAIT).unwrap();
        let writers = Workload {
            clients: 4,
            get_share: 0.0,
            think_time: (Duration::from_millis(1), Duration::from_millis(3)),
            ..Workload::default()
        };
        let _w = cluster.start_workload(writers, None).unwrap();
        for i in 0..20 {
            if let Err(e) = cluster.propose_and_wait(Command::RegisterClient, 1, WAIT) {
                panic!(
                    "seed {seed} proposal {i}: {e}\n{}",
                    cluster.failure_report()
                );
            }
        }
        cluster.assert_safe();
        let s = cluster.status(0);
        assert_eq!(s.last_applied, s.commit_index, "seed {seed}");
    }
}

/// `Cluster::compact` while the leader's write is in progress (simulated, 20 ms disk):
/// a proposal taken during the write must still reach the followers and commit, not be
/// drained and dropped by the snapshot.
#[test]
fn compacting_during_a_write_loses_no_proposal() {
    use raftsim::kv::{Command, KvStore};
    use raftsim::Cluster;
    let cfg = Config {
        seed: Some(3),
        storage_latency: Duration::from_millis(20),
        ..Config::default().simulated()
    };
    let cluster: Cluster<KvStore> = Cluster::with_config(3, cfg);
    let leader = cluster.wait_for_leader(WAIT).unwrap();
    cluster
        .propose_and_wait(Command::RegisterClient, 3, WAIT)
        .unwrap();
    cluster.propose(leader, Command::RegisterClient).unwrap(); // starts a 20 ms write
    let (last, _) = cluster.propose(leader, Command::RegisterClient).unwrap(); // during it
    cluster.compact(leader).unwrap();
    cluster
        .wait_for("every node to apply the last proposal", WAIT, |st| {
            st.iter().all(|s| s.last_applied >= last)
        })
        .unwrap_or_else(|e| panic!("{e}\n{}", cluster.failure_report()));
    cluster.assert_safe();
}
