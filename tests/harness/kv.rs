//! Key/value clusters, for the tests of snapshots, membership changes, leadership
//! transfer and client sessions: writer threads whose appends are checked for
//! exactly-once, the linearizability check of their history, and convergence over a
//! membership that changes.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use raftsim::check::{check, write_html, CheckResult, KvModel};
use raftsim::kv::KvStore;
use raftsim::{NodeId, Role, Term};

use super::{TestCluster, WAIT};

/// A key/value cluster under test.
pub type KvCluster = TestCluster<KvStore>;

impl TestCluster<KvStore> {
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

    /// Settles the cluster (see [`KvCluster::settle`]) and checks that every member's store
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
pub fn write_until(
    kv: &KvCluster,
    writer: usize,
    key: &str,
    stop: &AtomicBool,
    min_ops: usize,
) -> Ledger {
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
