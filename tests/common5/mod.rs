//! Shared helpers of the issue-5 scenarios (tests/snapshots.rs, membership.rs,
//! transfer_prevote.rs): a key/value cluster under test that prints its state when a
//! test fails, writer threads whose appends are checked for exactly-once, a monitor of
//! log lengths, and a convergence check over a membership that changes.
//!
//! Every wait has a deadline and calls `check_threads()` (through `Cluster::wait_for`).
//! Every failure (a timed-out wait, a failed assert, a panic in a helper thread) prints
//! `dump(40)` and the last protocol events, because `Kv`'s `Drop` prints them while the
//! test unwinds.
//!
//! Seeds: each test passes a fixed default seed; `RAFTSIM_SEED=<n>` overrides it to
//! replay a failure (thread timing still varies between runs).

#![allow(dead_code)] // each test binary uses a different subset

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Deref;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use raftsim::check::{check, write_html, CheckResult, KvHistory, KvModel};
use raftsim::event::EventKind;
use raftsim::kv::KvStore;
use raftsim::raft;
use raftsim::{Cluster, Config, Event, Index, NodeId, Role, Status, Term};

/// How long a test waits for something that should happen "soon" (an election, a
/// commit, a catch-up). Generous: the machine is small and shared.
pub const WAIT: Duration = Duration::from_secs(10);

pub use raftsim::config::seed_from_env as seed;

/// A key/value cluster under test.
pub struct Kv {
    /// The cluster.
    pub c: Cluster<KvStore>,
    /// Every operation of the writers `write_until` starts, for the linearizability check.
    pub history: Arc<KvHistory>,
}

impl Deref for Kv {
    type Target = Cluster<KvStore>;
    fn deref(&self) -> &Cluster<KvStore> {
        &self.c
    }
}

impl Drop for Kv {
    fn drop(&mut self) {
        if std::thread::panicking() {
            print_failure_state(&self.c);
        }
    }
}

/// What a failing test prints.
pub fn print_failure_state<S: raftsim::StateMachine + Default>(c: &Cluster<S>) {
    eprintln!("{}", c.failure_report());
}

impl Kv {
    /// Starts `n` nodes with `config`, seeded with `seed(default_seed)`.
    pub fn new(n: usize, mut config: Config, default_seed: u64) -> Kv {
        config.seed = Some(seed(default_seed));
        let c = Cluster::with_config(n, config);
        eprintln!("{n} nodes, seed {} (replay with RAFTSIM_SEED)", c.seed());
        Kv {
            c,
            history: Arc::new(KvHistory::new()),
        }
    }

    /// Checks the recorded history against the sequential key/value model (Wing & Gong
    /// search, by key) and fails the test on a violation, writing its picture to the
    /// temp directory. An inconclusive check (budget spent) is reported, not failed.
    #[track_caller]
    pub fn assert_linearizable(&self) {
        let ops = self.history.operations();
        let result = check(&KvModel, &ops, Duration::from_secs(20));
        match &result {
            CheckResult::Ok => eprintln!("{} operations: linearizable", ops.len()),
            CheckResult::Unknown { .. } => eprintln!("{} operations: {result}", ops.len()),
            CheckResult::Illegal(v) => {
                let path = std::env::temp_dir().join(format!("raftsim-{}.html", self.c.seed()));
                let _ = write_html(&path, &KvModel, &ops, &result);
                self.fail(format!(
                    "not linearizable: {v} (picture: {})",
                    path.display()
                ))
            }
        }
    }

    /// Fails the test with `msg` (the state is printed by `Drop`).
    #[track_caller]
    pub fn fail(&self, msg: impl std::fmt::Display) -> ! {
        panic!("{msg} (seed {})", self.c.seed())
    }

    /// Waits until `cond` holds of the statuses, or fails the test.
    #[track_caller]
    pub fn wait(&self, what: &str, timeout: Duration, cond: impl FnMut(&[Status]) -> bool) {
        if self.c.wait_for(what, timeout, cond).is_err() {
            self.fail(format!("timed out after {timeout:?} waiting for {what}"));
        }
    }

    /// Waits for a leader and returns it with its term.
    #[track_caller]
    pub fn leader_now(&self) -> (NodeId, Term) {
        match self.c.wait_for_leader(WAIT) {
            Ok(l) => (l, self.c.status(l).term),
            Err(e) => self.fail(format!("no leader within {WAIT:?}: {e}")),
        }
    }

    /// Waits until a leader leads a term in which every node of its configuration
    /// follows it and has applied its whole log, so no write is in flight and every
    /// member holds the same state; returns the members (voters and learners).
    #[track_caller]
    pub fn settle(&self) -> Vec<NodeId> {
        let mut members = Vec::new();
        self.wait("every member to apply the leader's whole log", WAIT, |st| {
            let Some(l) = st
                .iter()
                .filter(|s| s.alive && s.role == Role::Leader)
                .max_by_key(|s| s.term)
            else {
                return false;
            };
            let mut group: Vec<NodeId> = l.members.iter().chain(&l.learners).copied().collect();
            group.sort_unstable();
            let last = l.last_log_index;
            let ok = l.commit_index == last
                && group.iter().all(|&id| {
                    st.iter().any(|s| {
                        s.id == id
                            && s.alive
                            && s.term == l.term
                            && s.last_applied == last
                            && s.last_log_index == last
                    })
                });
            members = group;
            ok
        });
        members
    }

    /// The key/value data of node `id`, or None while it is crashed.
    pub fn data(&self, id: NodeId) -> Option<BTreeMap<String, String>> {
        self.c.inspect(id, |kv: &KvStore| kv.data().clone())
    }

    /// Settles the cluster (see [`Kv::settle`]) and checks that every member's store
    /// holds the same data; returns the members and that data.
    #[track_caller]
    pub fn converged(&self) -> (Vec<NodeId>, BTreeMap<String, String>) {
        let members = self.settle();
        let mut first: Option<(NodeId, BTreeMap<String, String>)> = None;
        for &id in &members {
            let Some(d) = self.data(id) else {
                self.fail(format!("n{id} crashed while its store was read"))
            };
            match &first {
                None => first = Some((id, d)),
                Some((f, fd)) => {
                    if *fd != d {
                        self.fail(format!(
                            "n{f} and n{id} hold different data:\n  n{f}: {fd:?}\n  n{id}: {d:?}"
                        ));
                    }
                }
            }
        }
        (members, first.map(|(_, d)| d).unwrap_or_default())
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

// ---- writers: exactly-once appends -----------------------------------------------------

/// What one writer did: every token it appended to its key, by outcome.
#[derive(Debug, Default, Clone)]
pub struct Ledger {
    /// The writer's number (its tokens are `<w.i>`).
    pub writer: usize,
    /// The key it appends to.
    pub key: String,
    /// Tokens whose append returned Ok: each must be in the value exactly once.
    pub acked: Vec<String>,
    /// Tokens whose append timed out (outcome unknown): each at most once.
    pub unknown: Vec<String>,
}

/// The token a writer appends as its `i`-th operation.
pub fn token(writer: usize, i: usize) -> String {
    format!("<{writer}.{i}>")
}

/// Appends tokens `<writer.0>`, `<writer.1>`, ... to `key` with its own client until
/// `stop` is set (and at least `min_ops` were tried), reading the key after every third,
/// all recorded in `kv.history`; returns what happened to each append.
pub fn write_until(kv: &Kv, writer: usize, key: &str, stop: &AtomicBool, min_ops: usize) -> Ledger {
    let mut client = kv.c.client_recorded(&kv.history);
    client.set_timeout(Duration::from_secs(3));
    let mut ledger = Ledger {
        writer,
        key: key.to_string(),
        ..Ledger::default()
    };
    let mut i = 0;
    while i < min_ops || !stop.load(Ordering::Relaxed) {
        let t = token(writer, i);
        match client.append(key, &t) {
            Ok(()) => ledger.acked.push(t),
            Err(_) => ledger.unknown.push(t),
        }
        // A read now and then gives the linearizability check something to judge:
        // appends alone are always linearizable.
        if i % 3 == 2 {
            let _ = client.get(key);
        }
        i += 1;
    }
    ledger
}

/// Checks the final `data` against the writers' ledgers: every acknowledged append is
/// in its key's value exactly once, an append of unknown outcome at most once, nothing
/// else is there, and each writer's tokens appear in the order it wrote them. Returns a
/// description of the first problem, if any.
pub fn check_ledgers(data: &BTreeMap<String, String>, ledgers: &[Ledger]) -> Result<usize, String> {
    let mut by_key: BTreeMap<&str, Vec<&Ledger>> = BTreeMap::new();
    for l in ledgers {
        by_key.entry(&l.key).or_default().push(l);
    }
    let mut acked_total = 0;
    for (key, ls) in by_key {
        let value = data.get(key).map(String::as_str).unwrap_or("");
        let tokens: Vec<String> = value.split_inclusive('>').map(str::to_string).collect();
        let mut count: BTreeMap<&str, usize> = BTreeMap::new();
        for t in &tokens {
            *count.entry(t.as_str()).or_default() += 1;
        }
        let mut known: BTreeSet<&str> = BTreeSet::new();
        for l in &ls {
            for t in &l.acked {
                acked_total += 1;
                known.insert(t);
                match count.get(t.as_str()).copied().unwrap_or(0) {
                    1 => {}
                    n => {
                        return Err(format!(
                        "acknowledged append {t} is in {key:?} {n} times (exactly once expected)"
                    ))
                    }
                }
            }
            for t in &l.unknown {
                known.insert(t);
                if count.get(t.as_str()).copied().unwrap_or(0) > 1 {
                    return Err(format!("timed-out append {t} is in {key:?} more than once"));
                }
            }
            // Each writer has one request outstanding at a time: its tokens keep order.
            let order: Vec<usize> = tokens
                .iter()
                .filter_map(|t| {
                    let inner = t.strip_prefix('<')?.strip_suffix('>')?;
                    let (w, i) = inner.split_once('.')?;
                    if w.parse::<usize>().ok()? != l.writer {
                        return None;
                    }
                    i.parse().ok()
                })
                .collect();
            if order.windows(2).any(|w| w[0] >= w[1]) {
                return Err(format!(
                    "writer {}'s appends are out of order: {order:?}",
                    l.writer
                ));
            }
        }
        if let Some(t) = tokens.iter().find(|t| !known.contains(t.as_str())) {
            return Err(format!("{key:?} holds {t}, which no writer appended"));
        }
    }
    Ok(acked_total)
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
pub fn wait_trace(kv: &Kv, what: &str, timeout: Duration, mut pred: impl FnMut(&[Event]) -> bool) {
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

/// Sets its flag when dropped: created first in a thread scope, it stops the writer
/// threads when the test panics inside the scope, which would otherwise wait for them
/// forever.
pub struct StopOnDrop<'a>(pub &'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}
