//! The harness on a cluster that compacts after every entry (`snapshot_threshold:
//! Some(1)`, §7): an entry that every node already folded into its snapshot is still
//! seen as committed, so `propose_and_wait` and membership changes return instead of
//! timing out; and a node added later snapshots the configuration in force, not the
//! empty one it started from.
//!
//! Deterministic: the simulated runtime, fixed seeds.

use std::time::Duration;

use raftsim::kv::{Command, KvStore};
use raftsim::sim::{Workload, WorkloadHandle};
use raftsim::{Cluster, Config};

const WAIT: Duration = Duration::from_secs(5);

fn compact_every_entry(seed: u64) -> Config {
    Config {
        seed: Some(seed),
        snapshot_threshold: Some(1),
        // Entries commit in batches: the snapshot passes several at once.
        storage_latency: Duration::from_millis(2),
        ..Config::default().simulated()
    }
}

/// Clients writing all the time: the entries after the harness's own commit at once,
/// and every node's snapshot moves past it before the harness looks.
fn busy_writers(cluster: &Cluster<KvStore>) -> WorkloadHandle {
    let writers = Workload {
        clients: 4,
        get_share: 0.0,
        think_time: (Duration::from_millis(1), Duration::from_millis(3)),
        ..Workload::default()
    };
    cluster.start_workload(writers, None).unwrap()
}

#[test]
fn propose_and_wait_sees_a_commit_every_node_compacted() {
    let cluster: Cluster<KvStore> = Cluster::with_config(3, compact_every_entry(0xC0_0001));
    cluster.wait_for_leader(WAIT).unwrap();
    let _writers = busy_writers(&cluster);
    for i in 0..5 {
        if let Err(e) = cluster.propose_and_wait(Command::RegisterClient, 3, WAIT) {
            panic!("proposal {i}: {e}\n{}", cluster.failure_report());
        }
    }
    cluster.assert_safe();
}

#[test]
fn membership_changes_see_a_commit_every_node_compacted() {
    let cluster: Cluster<KvStore> = Cluster::with_config(3, compact_every_entry(0xC0_0002));
    cluster.wait_for_leader(WAIT).unwrap();
    let _writers = busy_writers(&cluster);
    cluster
        .propose_and_wait(Command::RegisterClient, 3, WAIT)
        .unwrap();
    let added = match cluster.add_node() {
        Ok(id) => id,
        Err(e) => panic!("add_node: {e}\n{}", cluster.failure_report()),
    };
    if let Err(e) = cluster.remove_node(0) {
        panic!("remove_node(0): {e}\n{}", cluster.failure_report());
    }
    let leader = cluster.wait_for_leader(WAIT).unwrap();
    let members = cluster.status(leader).members;
    assert_eq!(members, vec![1, 2, added]);
    cluster.assert_safe();
}
