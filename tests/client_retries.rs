//! Client retries (§6.2's "retry on silence"): a client keeps one round-trip estimate
//! per kind of request, so that fast ReadIndex reads do not shrink the timeout of
//! slower writes until every write is re-sent before it can finish (a duplicate log
//! entry each time, filtered by the session table but still replicated and applied).
//!
//! Deterministic: the simulated runtime, a fixed seed.

use std::time::Duration;

use raftsim::event::EventKind;
use raftsim::kv::KvStore;
use raftsim::raft;
use raftsim::sim::Workload;
use raftsim::{Cluster, Config};

/// Writes wait for a disk write (30 ms; the leader's and the followers' run in
/// parallel), reads for one heartbeat round on a fast network: a write takes about ten
/// times as long as a read, and longer than the shortest retry timeout (20 ms).
fn slow_disk() -> Config {
    Config {
        seed: Some(0xC11E_0001),
        storage_latency: Duration::from_millis(30),
        ..Config::default().simulated()
    }
}

/// How many entries the leaders accepted from clients.
fn proposals(cluster: &Cluster<KvStore>) -> usize {
    cluster
        .trace()
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Raft(raft::Event::Proposed { .. })))
        .count()
}

#[test]
fn a_client_mostly_reading_sends_each_write_once() {
    let cluster: Cluster<KvStore> = Cluster::with_config(3, slow_disk());
    cluster.wait_for_leader(Duration::from_secs(5)).unwrap();
    let mut client = cluster.client();
    const ROUNDS: usize = 30;
    for i in 0..ROUNDS {
        for _ in 0..4 {
            client.get("k").unwrap();
        }
        client.append("k", &format!("{i};")).unwrap();
    }
    // One registration and one entry per append: anything more is a re-sent write.
    let expected = 1 + ROUNDS;
    let proposed = proposals(&cluster);
    assert_eq!(
        proposed,
        expected,
        "{} writes were re-sent (proposed {proposed} entries for {expected} writes)\n{}",
        proposed - expected,
        cluster.failure_report()
    );
    cluster.assert_safe();
}

#[test]
fn simulated_clients_mostly_reading_send_each_write_once() {
    let cluster: Cluster<KvStore> = Cluster::with_config(3, slow_disk());
    cluster.wait_for_leader(Duration::from_secs(5)).unwrap();
    let workload = cluster
        .start_workload(
            Workload {
                // One client: with more, writes queue behind each other's disk writes,
                // and a write that waited out two of them is rightly re-sent now and then.
                clients: 1,
                keys: 2,
                get_share: 0.8,
                put_share: 0.0,
                think_time: (Duration::ZERO, Duration::ZERO),
                op_timeout: Duration::from_secs(2),
            },
            None,
        )
        .unwrap();
    cluster.sleep(Duration::from_secs(3));
    workload.stop();
    cluster.sleep(Duration::from_secs(1));
    let stats = workload.stats();
    assert_eq!(stats.timed_out, 0);
    assert!(stats.acknowledged_appends.len() > 20, "{stats:?}");
    // One registration and one entry per append.
    let expected = 1 + stats.acknowledged_appends.len();
    let proposed = proposals(&cluster);
    assert_eq!(
        proposed,
        expected,
        "{} writes were re-sent (proposed {proposed} entries for {expected} writes)",
        proposed - expected,
    );
    cluster.assert_safe();
}
