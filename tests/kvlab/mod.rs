//! The key/value lab harness (after MIT 6.824's kvraft `GenericTest`): rounds of
//! concurrent clients against a cluster, with a chosen mix of faults — a lossy network,
//! partitions re-drawn about every second, every node crashed and restarted between
//! rounds — every operation recorded into one [`KvHistory`]. At the end the network is
//! healed, and the run must pass three checks:
//!
//! 1. Raft's safety properties held on every step (`assert_safe`, checked live);
//! 2. every client's appends are in the converged store exactly once (an append that
//!    timed out: at most once) and in the order the client made them (`check_ledgers`);
//! 3. the whole history is linearizable against [`KvModel`] (on a violation the history
//!    picture is written and its path printed).

#![allow(dead_code)] // each test uses a different subset

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use raftsim::check::{check, write_html, CheckResult, KvHistory, KvModel};
use raftsim::kv::Client;
use raftsim::{Config, NetConfig, NodeId};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::harness::{check_ledgers, token, KvCluster, Ledger, StopOnDrop};

/// How long the checker may search before it answers "unknown" (which fails the test:
/// a history nobody checked proves nothing).
pub const CHECK_BUDGET: Duration = Duration::from_secs(20);

/// Which keys the clients use.
#[derive(Debug, Clone, Copy)]
pub enum Keys {
    /// Each client its own key (Put once, then Appends and Gets), as in 6.824.
    Own,
    /// Every operation on a random one of this many shared keys (Appends and Gets).
    Random(usize),
}

/// One lab run: how many nodes and clients, for how long, under which faults.
#[derive(Debug, Clone)]
pub struct Lab {
    /// Nodes in the cluster.
    pub nodes: usize,
    /// Concurrent clients per round.
    pub clients: usize,
    /// Rounds; between rounds, with `crash`, every node is crashed and restarted.
    pub rounds: usize,
    /// How long the clients run in each round.
    pub round_time: Duration,
    /// 10% drops, 1% duplicates, 2..30 ms delays.
    pub unreliable: bool,
    /// Random two-way partitions re-drawn about every second during each round.
    pub partitions: bool,
    /// Crash and restart every node between rounds.
    pub crash: bool,
    /// Which keys the clients use.
    pub keys: Keys,
    /// Log compaction threshold (sessions must survive snapshots).
    pub snapshot_threshold: Option<u64>,
    /// A client's time limit per operation; a timed-out operation stays pending in the
    /// history and its append may or may not be in the store.
    pub client_timeout: Duration,
    /// The seed (overridden by `RAFTSIM_SEED`).
    pub seed: u64,
}

impl Lab {
    /// A reliable run of one round: set the fields that differ.
    pub fn new(seed: u64) -> Lab {
        Lab {
            nodes: 5,
            clients: 1,
            rounds: 1,
            round_time: Duration::from_secs(2),
            unreliable: false,
            partitions: false,
            crash: false,
            keys: Keys::Own,
            snapshot_threshold: None,
            client_timeout: Duration::from_secs(3),
            seed,
        }
    }
}

/// What a run did, for the test to print or assert on.
#[derive(Debug)]
pub struct Outcome {
    /// Operations recorded.
    pub ops: usize,
    /// Of which never answered (timed out).
    pub pending: usize,
    /// Acknowledged appends found exactly once in the store.
    pub acked_appends: usize,
    /// How long the checker took.
    pub check_time: Duration,
}

/// Runs `lab` and checks safety, exactly-once appends and linearizability; panics
/// (printing the cluster state) on any failure.
pub fn run(lab: &Lab) -> Outcome {
    let config = Config {
        snapshot_threshold: lab.snapshot_threshold,
        ..Config::default()
    };
    let kv = KvCluster::new(lab.nodes, config, lab.seed);
    let history = Arc::new(KvHistory::new());
    let mut rng = StdRng::seed_from_u64(kv.seed());
    let mut ledgers: Vec<Ledger> = Vec::new();
    for round in 0..lab.rounds {
        if lab.unreliable {
            kv.set_net(NetConfig::unreliable()).unwrap();
        }
        let stop = AtomicBool::new(false);
        let round_seed: u64 = rng.gen();
        let round_ledgers = std::thread::scope(|s| {
            let _stop = StopOnDrop(&stop);
            let clients: Vec<_> = (0..lab.clients)
                .map(|i| {
                    let writer = round * 1000 + i;
                    let (kv, history, stop) = (&kv, &history, &stop);
                    let mut client = kv.client_recorded(history);
                    client.set_timeout(lab.client_timeout);
                    let seed = round_seed ^ (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                    s.spawn(move || client_loop(&mut client, writer, lab.keys, seed, stop))
                })
                .collect();
            if lab.partitions {
                partition_until(&kv, lab.round_time, &mut rng);
            } else {
                std::thread::sleep(lab.round_time);
            }
            stop.store(true, Ordering::Relaxed);
            // Heal, so that every client's last operation can complete.
            kv.heal();
            kv.set_net(NetConfig::reliable()).unwrap();
            clients
                .into_iter()
                .flat_map(|h| h.join().expect("client thread panicked"))
                .collect::<Vec<_>>()
        });
        ledgers.extend(round_ledgers);
        kv.check_threads();
        if lab.crash {
            // 6.824: crash every server, then start them all again from what they
            // persisted; the next round must find everything written so far.
            for id in kv.ids() {
                kv.crash(id);
            }
            for id in kv.ids() {
                kv.restart(id);
            }
        }
    }
    let (_, data) = kv.converged();
    kv.assert_safe();
    let acked_appends = match check_ledgers(&data, &ledgers) {
        Ok(n) => n,
        Err(e) => kv.fail(format!("exactly-once/order check failed: {e}")),
    };
    let ops = history.operations();
    let started = Instant::now();
    let verdict = check(&KvModel, &ops, CHECK_BUDGET);
    let check_time = started.elapsed();
    if !verdict.is_ok() {
        let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("kv-history-seed{}.html", kv.seed()));
        let _ = write_html(&path, &KvModel, &ops, &verdict);
        kv.fail(format!(
            "history of {} operations: {verdict}\npicture: {}",
            ops.len(),
            path.display()
        ));
    }
    let pending = ops.iter().filter(|o| o.is_pending()).count();
    eprintln!(
        "{} operations ({pending} pending), {acked_appends} acknowledged appends \
         exactly once, linearizable (checked in {check_time:?})",
        ops.len()
    );
    Outcome {
        ops: ops.len(),
        pending,
        acked_appends,
        check_time,
    }
}

/// One client's round: with its own key, Put it once, then Appends and Gets; with
/// random keys, Appends and Gets on them. Returns one ledger per key it appended to.
fn client_loop(
    client: &mut Client,
    writer: usize,
    keys: Keys,
    seed: u64,
    stop: &AtomicBool,
) -> Vec<Ledger> {
    let mut rng = StdRng::seed_from_u64(seed);
    let own = format!("w{writer}");
    let mut ledgers: Vec<Ledger> = Vec::new();
    if matches!(keys, Keys::Own) {
        // The value starts empty; a timed-out Put is fine (sessions apply it at most
        // once, before any later request of this client).
        let _ = client.put(&own, "");
    }
    let mut i = 0;
    while !stop.load(Ordering::Relaxed) {
        let key = match keys {
            Keys::Own => own.clone(),
            Keys::Random(n) => format!("k{}", rng.gen_range(0..n)),
        };
        if rng.gen_bool(0.5) {
            let t = token(writer, i);
            i += 1;
            let ok = client.append(&key, &t).is_ok();
            let ledger = match ledgers.iter_mut().find(|l| l.key == key) {
                Some(l) => l,
                None => {
                    ledgers.push(Ledger {
                        writer,
                        key: key.clone(),
                        ..Ledger::default()
                    });
                    ledgers.last_mut().expect("just pushed")
                }
            };
            if ok {
                ledger.acked.push(t);
            } else {
                ledger.unknown.push(t);
            }
        } else {
            let _ = client.get(&key);
        }
    }
    ledgers
}

/// Re-draws a random two-way partition (each node on a random side, as 6.824's
/// partitioner does) every 0.8..1.2 s until `time` has passed.
pub fn partition_until(kv: &KvCluster, time: Duration, rng: &mut StdRng) {
    let end = Instant::now() + time;
    while Instant::now() < end {
        let (mut a, mut b): (Vec<NodeId>, Vec<NodeId>) = (Vec::new(), Vec::new());
        for id in kv.ids() {
            if rng.gen_bool(0.5) {
                a.push(id);
            } else {
                b.push(id);
            }
        }
        kv.partition(&[&a, &b]);
        kv.check_threads();
        let left = end.saturating_duration_since(Instant::now());
        std::thread::sleep(Duration::from_millis(rng.gen_range(800..1200)).min(left));
    }
}

/// Runs `check` on the history and panics with the verdict unless it is linearizable.
pub fn assert_linearizable(kv: &KvCluster, history: &KvHistory) {
    let ops = history.operations();
    let verdict = check(&KvModel, &ops, CHECK_BUDGET);
    if verdict != CheckResult::Ok {
        let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("kv-history-seed{}.html", kv.seed()));
        let _ = write_html(&path, &KvModel, &ops, &verdict);
        kv.fail(format!("{verdict}\npicture: {}", path.display()));
    }
}
