//! The key/value service under faults, in the style of MIT 6.824's kvraft lab (3A/3B):
//! one client and many, reliable and unreliable networks, partitions re-drawn every
//! second, every node crashed and restarted between rounds, and 15 clients on 7 nodes
//! under all of it at once. Every run checks Raft's safety live, checks that each
//! client's appends are in the store exactly once and in order, and checks the whole
//! recorded history for linearizability (`raftsim::check`).
//!
//! Seeds: each test has a default; `RAFTSIM_SEED=<n>` replays another (thread timing
//! still varies between runs).

mod harness;
mod kvlab;

use std::sync::Arc;
use std::time::{Duration, Instant};

use harness::KvCluster;
use kvlab::{assert_linearizable, run, Keys, Lab};
use raftsim::check::KvHistory;
use raftsim::{Config, NodeId, Role};

/// 6.824 TestBasic3A: one client, reliable network.
#[test]
fn one_client() {
    let out = run(&Lab::new(0x4_0001));
    assert!(out.ops > 20, "one client made only {} operations", out.ops);
    assert_eq!(
        out.pending, 0,
        "no operation may time out on a reliable network"
    );
}

/// 6.824 TestConcurrent3A: five clients at once, reliable network.
#[test]
fn many_clients() {
    let out = run(&Lab {
        clients: 5,
        ..Lab::new(0x4_0002)
    });
    assert_eq!(
        out.pending, 0,
        "no operation may time out on a reliable network"
    );
}

/// 6.824 TestUnreliable3A (one client): drops, duplicates, delays, reordering.
#[test]
fn one_client_unreliable() {
    run(&Lab {
        unreliable: true,
        ..Lab::new(0x4_0003)
    });
}

/// 6.824 TestUnreliable3A: five clients on an unreliable network.
#[test]
fn many_clients_unreliable() {
    run(&Lab {
        clients: 5,
        unreliable: true,
        ..Lab::new(0x4_0004)
    });
}

/// 6.824 TestManyPartitionsManyClients3A: random partitions re-drawn about every second
/// while five clients run.
#[test]
fn many_clients_partitions() {
    run(&Lab {
        clients: 5,
        partitions: true,
        round_time: Duration::from_secs(3),
        ..Lab::new(0x4_0005)
    });
}

/// 6.824 TestPersistConcurrent3A + TestSnapshotRecover3B: every node crashed and
/// restarted between rounds, with log compaction, so the store and the client sessions
/// come back from snapshots.
#[test]
fn crash_and_restart_every_node_between_rounds() {
    run(&Lab {
        clients: 5,
        rounds: 3,
        round_time: Duration::from_millis(1200),
        crash: true,
        snapshot_threshold: Some(40),
        ..Lab::new(0x4_0006)
    });
}

/// 6.824 TestSnapshotUnreliableRecoverConcurrentPartitionLinearizable3B, bigger: 15
/// clients on 7 nodes, random shared keys, lossy network, partitions, crashes of every
/// node between rounds and compaction, all at once; clients give up after 0.7 s, so
/// the history holds operations of unknown outcome.
#[test]
fn fifteen_clients_seven_nodes_all_faults() {
    let out = run(&Lab {
        nodes: 7,
        clients: 15,
        rounds: 3,
        round_time: Duration::from_secs(2),
        unreliable: true,
        partitions: true,
        crash: true,
        keys: Keys::Random(5),
        snapshot_threshold: Some(100),
        // Short enough that some operations time out (outcome unknown) and are checked
        // as pending.
        client_timeout: Duration::from_millis(700),
        ..Lab::new(0x4_0007)
    });
    // Liveness, loosely: alone this run acknowledges ~200 appends, but the machine is
    // shared and a starved node thread costs an election.
    assert!(out.acked_appends >= 10, "too little got through: {out:?}");
}

/// 6.824 TestOnePartition3A: the old leader and one follower are cut off, with a client
/// confined to their side (its router address is put in the minority's group, as
/// 6.824's `makeClient(p1)`). The minority commits nothing — not even the request its
/// leader accepted from that client — while the majority elects a leader and serves
/// another client; after healing, the stuck request completes, once.
#[test]
fn minority_partition_with_old_leader_makes_no_progress() {
    let kv = KvCluster::new(5, Config::default(), 0x4_0008);
    let history = Arc::new(KvHistory::new());
    let mut client = kv.client_recorded(&history);
    client.put("k", "").expect("a put on a healthy cluster");
    let (old, _) = kv.leader_now();
    let mut minority: Vec<NodeId> = vec![old];
    minority.push((0..5).find(|&i| i != old).expect("five nodes"));
    let majority: Vec<NodeId> = (0..5).filter(|i| !minority.contains(i)).collect();

    let mut stuck_client = kv.client_recorded(&history);
    stuck_client.set_timeout(Duration::from_secs(30));
    let mut minority_side = minority.clone();
    minority_side.push(stuck_client.address());
    // What was committed before the cut; the minority may still learn of it, nothing more.
    let committed_before = kv.status(old).commit_index;
    kv.partition(&[&minority_side, &majority]);

    std::thread::scope(|s| {
        // The request that gets stuck: it can reach only the minority, whose old leader
        // may accept it but cannot commit it.
        let stuck = s.spawn(move || stuck_client.append("k", "<stuck>"));

        // The majority makes progress.
        for i in 0..20 {
            client
                .append("k", &format!("<{i}>"))
                .expect("the majority serves clients");
        }
        let v = client.get("k").expect("a read in the majority");
        assert!(v.is_some_and(|v| v.ends_with("<19>")));
        let new = kv.leader().expect("the majority has a leader");
        assert!(
            majority.contains(&new),
            "n{new} leads, outside the majority"
        );
        // The minority committed nothing, and the stuck request has not completed.
        for &id in &minority {
            let c = kv.status(id).commit_index;
            assert!(
                c <= committed_before,
                "n{id} in the minority committed up to {c}, past {committed_before}"
            );
        }
        assert!(
            !stuck.is_finished(),
            "the confined client's request completed in the minority"
        );
        for &id in &minority {
            let s = kv.status(id);
            assert!(
                !(s.role == Role::Leader && kv.status(new).term <= s.term),
                "n{id} still leads a current term"
            );
        }

        // Heal: the request completes, exactly once.
        kv.heal();
        stuck
            .join()
            .expect("the confined client")
            .unwrap_or_else(|e| kv.fail(format!("the stuck request did not complete: {e}")));
    });
    let value = client
        .get("k")
        .expect("a read after healing")
        .unwrap_or_default();
    assert_eq!(value.matches("<stuck>").count(), 1, "value: {value}");
    kv.converged();
    kv.assert_safe();
    assert_linearizable(&kv, &history);
}

/// 6.824 TestSpeed3A: 1000 sequential Appends from one client. A write commits as
/// soon as a majority acknowledges it, not at the next heartbeat, so each takes well
/// under a heartbeat; the bound is generous because the machine is shared and noisy.
#[test]
fn sequential_appends_are_fast() {
    let kv = KvCluster::new(3, Config::default(), 0x4_0009);
    let history = Arc::new(KvHistory::new());
    let mut client = kv.client_recorded(&history);
    kv.leader_now();
    client.put("x", "").expect("a put on a healthy cluster");
    const N: usize = 1000;
    let start = Instant::now();
    for i in 0..N {
        client
            .append("x", &format!("x 0 {i} y"))
            .expect("an append on a healthy cluster");
    }
    let avg = start.elapsed() / N as u32;
    eprintln!("{N} sequential appends: {avg:?} per append on average");
    let value = client.get("x").expect("a read").unwrap_or_default();
    assert_eq!(value.matches(" y").count(), N);
    assert!(
        avg < Duration::from_millis(33),
        "appends take {avg:?} on average; the bound is 33 ms (a heartbeat is 50 ms)"
    );
    kv.assert_safe();
    assert_linearizable(&kv, &history);
}
