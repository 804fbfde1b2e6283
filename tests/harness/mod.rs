//! The harness of the threaded integration tests, after the MIT 6.824 labs'
//! `config.go`: a [`TestCluster`] wraps a `Cluster` and remembers what the test did to
//! its links, so a check like "one leader among the connected nodes" can be exact.
//!
//! - [`log`]: clusters of `Recorder<u64>` ([`LogCluster`]) for the replication,
//!   election, persistence and fault tests: one leader, agreement on a command
//!   (6.824's `one()`), converged logs, stable terms.
//! - [`kv`]: key/value clusters ([`KvCluster`]) for the snapshot, membership, transfer
//!   and session tests: writer threads whose appends are checked for exactly-once, the
//!   linearizability check of their history, convergence over a changing membership.
//! - here: what both use — waits, the trace, a monitor of log lengths.
//!
//! Every wait has a deadline and calls `check_threads()` (through `Cluster::wait_for`).
//! Every failure (a timed-out wait, a failed assert, a panic in a helper thread) prints
//! `dump(40)` and the last protocol events, because `TestCluster`'s `Drop` prints them
//! while the test unwinds.
//!
//! Seeds: each test passes a fixed default seed; `RAFTSIM_SEED=<n>` overrides it to
//! replay a failure (thread timing still varies between runs).

#![allow(dead_code)] // each test binary uses a different subset

pub mod kv;
pub mod log;

use std::collections::BTreeSet;
use std::ops::Deref;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use raftsim::check::KvHistory;
use raftsim::event::EventKind;
use raftsim::raft;
use raftsim::{Cluster, Config, Event, Index, NodeId, Role, StateMachine, Status};

#[allow(unused_imports)]
pub use self::kv::{check_ledgers, token, write_until, KvCluster, Ledger};
#[allow(unused_imports)]
pub use self::log::{distinct, leader_of_group, stall_behind, LogCluster, Rec};

/// How long a test waits for something that should happen "soon" (an election, a
/// commit, a catch-up). Generous: the machine is small and shared.
pub const WAIT: Duration = Duration::from_secs(10);

pub use raftsim::config::seed_from_env as seed;

/// The majority of `n` voters.
pub fn majority(n: usize) -> usize {
    n / 2 + 1
}

/// A cluster under test, plus what the test did to its links.
pub struct TestCluster<S: StateMachine + Default> {
    /// The cluster.
    pub c: Cluster<S>,
    n: usize,
    /// Nodes the test cut off with `disconnect` (and not yet `connect`ed).
    disconnected: Mutex<BTreeSet<NodeId>>,
    /// Every operation of the key/value writers (`kv::write_until`), for the
    /// linearizability check; empty for other state machines.
    pub history: Arc<KvHistory>,
}

impl<S: StateMachine + Default> Deref for TestCluster<S> {
    type Target = Cluster<S>;
    fn deref(&self) -> &Cluster<S> {
        &self.c
    }
}

impl<S: StateMachine + Default> Drop for TestCluster<S> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("{}", self.c.failure_report());
        }
    }
}

impl<S: StateMachine + Default> TestCluster<S> {
    /// Starts `n` nodes with `config`, seeded with `seed(default_seed)`.
    pub fn new(n: usize, mut config: Config, default_seed: u64) -> Self {
        config.seed = Some(seed(default_seed));
        let c = Cluster::with_config(n, config);
        eprintln!("{n} nodes, seed {} (replay with RAFTSIM_SEED)", c.seed());
        TestCluster {
            c,
            n,
            disconnected: Mutex::new(BTreeSet::new()),
            history: Arc::new(KvHistory::new()),
        }
    }

    /// The number of nodes.
    pub fn n(&self) -> usize {
        self.n
    }

    /// Every node id.
    pub fn all(&self) -> Vec<NodeId> {
        (0..self.n).collect()
    }

    /// Fails the test with `msg` (the state is printed by `Drop`).
    #[track_caller]
    pub fn fail(&self, msg: impl std::fmt::Display) -> ! {
        panic!("{msg} (seed {})", self.c.seed())
    }

    // ---- links -------------------------------------------------------------------

    /// Cuts every link of `id`, and remembers it.
    pub fn disconnect(&self, id: NodeId) {
        self.disconnected.lock().insert(id);
        self.c.disconnect(id);
    }

    /// Restores the links of `id`, and remembers it.
    pub fn connect(&self, id: NodeId) {
        self.disconnected.lock().remove(&id);
        self.c.connect(id);
    }

    /// Heals the network: no partition, every node connected.
    pub fn heal(&self) {
        self.disconnected.lock().clear();
        self.c.heal();
    }

    /// The nodes the test has not disconnected.
    pub fn connected(&self) -> Vec<NodeId> {
        let d = self.disconnected.lock();
        self.all().into_iter().filter(|i| !d.contains(i)).collect()
    }

    // ---- waiting and the trace -----------------------------------------------------

    /// Waits until `cond` holds of the statuses, or fails the test.
    #[track_caller]
    pub fn wait(&self, what: &str, timeout: Duration, cond: impl FnMut(&[Status]) -> bool) {
        if self.c.wait_for(what, timeout, cond).is_err() {
            self.fail(format!("timed out after {timeout:?} waiting for {what}"));
        }
    }

    /// The trace events recorded at or after `from_us`.
    pub fn events_since(&self, from_us: u64) -> Vec<Event> {
        self.c
            .trace()
            .into_iter()
            .filter(|e| e.at_us >= from_us)
            .collect()
    }

    /// How many events of node `id` match `pred`.
    pub fn count_events(&self, id: NodeId, pred: impl Fn(&EventKind) -> bool) -> usize {
        self.c
            .trace()
            .iter()
            .filter(|e| e.node == Some(id) && pred(&e.kind))
            .count()
    }
}

/// Whether the event is node `id` changing role from `from` to `to`.
pub fn is_role_change(e: &Event, id: NodeId, from: Role, to: Role) -> bool {
    e.node == Some(id)
        && matches!(&e.kind, EventKind::Raft(raft::Event::RoleChanged { from: f, to: t, .. }) if *f == from && *t == to)
}

/// The first event at or after `from_us` that matches `pred`.
pub fn first_after(events: &[Event], from_us: u64, pred: impl Fn(&Event) -> bool) -> Option<Event> {
    events
        .iter()
        .find(|e| e.at_us >= from_us && pred(e))
        .cloned()
}

/// Waits until `pred` holds of the trace (polled every 20 ms), or fails the test.
#[track_caller]
pub fn wait_trace<S: StateMachine + Default>(
    kv: &TestCluster<S>,
    what: &str,
    timeout: Duration,
    mut pred: impl FnMut(&[Event]) -> bool,
) {
    let deadline = Instant::now() + timeout;
    loop {
        kv.c.check_threads();
        if pred(&kv.c.trace()) {
            return;
        }
        if Instant::now() >= deadline {
            kv.fail(format!("timed out after {timeout:?} waiting for {what}"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

// ---- the log-length monitor --------------------------------------------------------------

/// The longest log seen (entries after the snapshot), with the status that showed it.
#[derive(Debug, Clone, Default)]
pub struct LogWatch {
    /// The most entries any node held after its snapshot.
    pub max_len: Index,
    /// The status that showed it.
    pub at: Option<Status>,
    /// When, since the monitor started.
    pub when: Duration,
    /// How many times the statuses were sampled.
    pub samples: u64,
}

/// Samples every node's status every 2 ms until `stop` is set and records the longest
/// log (`last_log_index - snapshot_index`) any node held.
pub fn watch_log_lengths<S: raftsim::StateMachine + Default>(
    c: &Cluster<S>,
    stop: &AtomicBool,
    watch: &Mutex<LogWatch>,
) {
    let start = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        let st = c.statuses();
        let mut w = watch.lock();
        w.samples += 1;
        for s in st {
            let len = s.last_log_index.saturating_sub(s.snapshot_index);
            if len > w.max_len {
                w.max_len = len;
                w.at = Some(s);
                w.when = start.elapsed();
            }
        }
        drop(w);
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Sets its flag when dropped: created first in a thread scope, it stops the writer
/// threads when the test panics inside the scope, which would otherwise wait for them
/// forever.
pub struct StopOnDrop<'a>(pub &'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}
