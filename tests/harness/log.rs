//! Clusters of `Recorder<u64>`, for the tests of the replicated log itself (election,
//! replication, persistence, faults): each node records every applied `(index,
//! command)`, so a test can check agreement, order and exactly-once application.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use raftsim::event::{EventKind, Fate};
use raftsim::raft;
use raftsim::state_machine::Recorder;
use raftsim::{Event, Index, NodeId, Role, Status, Term};

use super::{majority, TestCluster, WAIT};

/// The state machine of these tests: it records every applied `(index, command)`.
pub type Rec = Recorder<u64>;

/// A cluster of [`Rec`] under test.
pub type LogCluster = TestCluster<Rec>;

impl TestCluster<Rec> {
    // ---- leaders -------------------------------------------------------------------

    /// 6.824's checkOneLeader: waits until, among the live nodes of `group`, one leads
    /// the highest term any of them is in and a majority of the whole cluster sits in
    /// that group, in that term, following it. Returns the leader and its term.
    #[track_caller]
    pub fn one_leader_among(&self, group: &[NodeId]) -> (NodeId, Term) {
        let mut found = None;
        let n = self.n;
        self.wait(&format!("one leader among {group:?}"), WAIT, |st| {
            found = leader_of_group(st, group, n);
            found.is_some()
        });
        found.expect("set when the wait succeeds")
    }

    /// One leader among the connected nodes.
    #[track_caller]
    pub fn one_leader(&self) -> (NodeId, Term) {
        self.one_leader_among(&self.connected())
    }

    /// Every live node that believes it leads, with its term.
    pub fn leaders(&self) -> Vec<(NodeId, Term)> {
        self.c
            .statuses()
            .iter()
            .filter(|s| s.alive && s.role == Role::Leader)
            .map(|s| (s.id, s.term))
            .collect()
    }

    /// Measures a window of `window` in which no node wins an election; fails the test
    /// if one does. A minority can never elect a leader, so the test needs no luck.
    #[track_caller]
    pub fn assert_no_leader_elected_for(&self, window: Duration) {
        let from = self.c.trace_log().now_us();
        let start = Instant::now();
        while start.elapsed() < window {
            self.c.check_threads();
            std::thread::sleep(Duration::from_millis(10));
        }
        let won: Vec<Event> = self
            .events_since(from)
            .into_iter()
            .filter(|e| {
                matches!(
                    e.kind,
                    EventKind::Raft(raft::Event::RoleChanged {
                        to: Role::Leader,
                        ..
                    })
                )
            })
            .collect();
        if let Some(e) = won.first() {
            self.fail(format!("a leader was elected without a majority: {e}"));
        }
        if let Some((l, t)) = self.leaders().first() {
            self.fail(format!("n{l} still leads term {t} without a majority"));
        }
    }

    /// "The term stays stable without faults": measures windows of `window` until one
    /// passes with no election started anywhere and the same leader in the same term.
    ///
    /// A disturbance in a window is only excused if [`stall_behind`] finds that
    /// this shared machine stalled a thread for an election timeout; then the window is
    /// measured again. Any other disturbance is a protocol bug and fails the test at once.
    #[track_caller]
    pub fn assert_stable_term(&self, window: Duration) -> (NodeId, Term) {
        for attempt in 1..=4 {
            let (leader, term) = self.one_leader();
            let from = self.c.trace_log().now_us();
            let start = Instant::now();
            while start.elapsed() < window {
                self.c.check_threads();
                std::thread::sleep(Duration::from_millis(10));
            }
            let now = self.one_leader();
            let disturbed = self.disturbances_since(from, leader);
            if disturbed.is_empty() && now == (leader, term) {
                return now;
            }
            if disturbed.is_empty() {
                self.fail(format!(
                    "leadership moved from n{leader} t{term} to n{} t{} without an election",
                    now.0, now.1
                ));
            }
            self.excuse_or_fail(&disturbed, &format!("quiet window {attempt}"));
        }
        self.fail("no quiet window in 4 attempts: this machine is too loaded to measure")
    }

    /// What would disturb a healthy leader, at or after `from_us`: any election (or
    /// pre-vote) started, and `leader` stepping down.
    pub fn disturbances_since(&self, from_us: u64, leader: NodeId) -> Vec<Event> {
        self.events_since(from_us)
            .into_iter()
            .filter(|e| match &e.kind {
                EventKind::Raft(raft::Event::ElectionStarted { .. }) => true,
                EventKind::Raft(raft::Event::RoleChanged {
                    from: Role::Leader, ..
                }) => e.node == Some(leader),
                _ => false,
            })
            .collect()
    }

    /// Fails the test unless every disturbance in `events` is excused by a stall (see
    /// [`stall_behind`]); logs the excused ones.
    #[track_caller]
    pub fn excuse_or_fail(&self, events: &[Event], context: &str) {
        let timeout_min = self.c.config().election_timeout_min;
        let trace = self.c.trace();
        for e in events {
            match stall_behind(&trace, e, timeout_min) {
                Some(gap) => {
                    eprintln!("{context}: excused, after a {gap:?} stall of this machine: {e}")
                }
                None => self.fail(format!(
                    "{context}: a healthy leader was disturbed without faults or a stall: {e}"
                )),
            }
        }
    }

    /// CheckQuorum (§6.2) deposes a leader that heard from no majority for a whole
    /// election timeout; a leader deposed sooner never had the chance to hear from
    /// anyone (on a network with delays, its first heartbeats had not even come back).
    /// Checks every CheckQuorum step-down in the trace came after at least
    /// `election_timeout_min` of leadership.
    #[track_caller]
    pub fn assert_check_quorum_waits_a_full_timeout(&self) {
        let timeout_min = self.c.config().election_timeout_min;
        let mut since: BTreeMap<NodeId, u64> = BTreeMap::new();
        let mut deposed = 0;
        for e in self.c.trace() {
            let (
                Some(node),
                EventKind::Raft(raft::Event::RoleChanged {
                    from, to, reason, ..
                }),
            ) = (e.node, &e.kind)
            else {
                continue;
            };
            if *to == Role::Leader {
                since.insert(node, e.at_us);
            } else if *from == Role::Leader && matches!(reason, raft::Reason::CheckQuorum { .. }) {
                deposed += 1;
                let led = Duration::from_micros(e.at_us - since.get(&node).copied().unwrap_or(0));
                if led < timeout_min {
                    self.fail(format!(
                        "CheckQuorum deposed n{node} after leading only {led:?} (election \
                         timeout min {timeout_min:?}): {e}"
                    ));
                }
            }
        }
        eprintln!("{deposed} leaders stepped down through CheckQuorum, none too early");
    }

    // ---- agreement ---------------------------------------------------------------

    /// 6.824's `one()`: proposes `cmd` (retrying through elections) and waits until at
    /// least `replicas` live nodes applied it; returns its index. Checks that every live
    /// node that applied that index applied `cmd` there.
    #[track_caller]
    pub fn one(&self, cmd: u64, replicas: usize) -> Index {
        let index = match self.c.propose_and_wait(cmd, replicas, WAIT) {
            Ok(i) => i,
            Err(e) => self.fail(format!(
                "command {cmd} did not reach {replicas} replicas within {WAIT:?}: {e}"
            )),
        };
        let mut holders = 0;
        for id in self.all() {
            let Some(applied) = self.applied(id) else {
                continue;
            };
            if let Some(&(_, got)) = applied.iter().find(|(i, _)| *i == index) {
                if got != cmd {
                    self.fail(format!(
                        "n{id} applied {got} at {index}, where {cmd} committed"
                    ));
                }
                holders += 1;
            }
        }
        if holders < replicas {
            // Recorders are read after the statuses; a crash in between can lower this.
            eprintln!("note: only {holders} recorders show {cmd}@{index} (a node crashed?)");
        }
        index
    }

    /// The `(index, command)` pairs node `id` applied, or None while it is crashed.
    pub fn applied(&self, id: NodeId) -> Option<Vec<(Index, u64)>> {
        self.c.inspect(id, |r: &Rec| r.applied.clone())
    }

    /// Waits until every node in `group` is alive and has applied everything the
    /// leader of the group's highest term holds in its log (everything is committed and
    /// applied everywhere), then checks that their recorders are identical and returns
    /// that common history.
    #[track_caller]
    pub fn converged(&self, group: &[NodeId]) -> Vec<(Index, u64)> {
        let n = self.n;
        self.wait(&format!("{group:?} to apply the whole log"), WAIT, |st| {
            let Some((l, _)) = leader_of_group(st, group, n) else {
                return false;
            };
            let last = st[l].last_log_index;
            group
                .iter()
                .all(|&i| st[i].alive && st[i].last_applied == last && st[i].last_log_index == last)
        });
        let mut first: Option<(NodeId, Vec<(Index, u64)>)> = None;
        for &id in group {
            let Some(applied) = self.applied(id) else {
                self.fail(format!("n{id} crashed while its recorder was read"))
            };
            match &first {
                None => first = Some((id, applied)),
                Some((f, h)) => {
                    if *h != applied {
                        self.fail(format!(
                            "n{f} and n{id} applied different histories:\n  n{f}: {h:?}\n  n{id}: {applied:?}"
                        ));
                    }
                }
            }
        }
        first.map(|(_, h)| h).unwrap_or_default()
    }

    /// Every node's `commit_index`, for "nothing committed there" checks.
    pub fn max_commit(&self) -> Index {
        self.c
            .statuses()
            .iter()
            .map(|s| s.commit_index)
            .max()
            .unwrap_or(0)
    }

    /// Checks `history` holds each `(index, command)` of `expected`.
    #[track_caller]
    pub fn assert_contains(&self, history: &[(Index, u64)], expected: &[(Index, u64)]) {
        let at: BTreeMap<Index, u64> = history.iter().copied().collect();
        for &(i, cmd) in expected {
            match at.get(&i) {
                Some(&got) if got == cmd => {}
                other => self.fail(format!(
                    "command {cmd}, seen committed at {i}, is not there on every node (found {other:?})"
                )),
            }
        }
    }
}

/// The leader of `group`, if it is settled: it is live, it leads the highest term among
/// the group's live nodes, and a majority of all `n` nodes are in the group, in that
/// term, and follow it.
pub fn leader_of_group(st: &[Status], group: &[NodeId], n: usize) -> Option<(NodeId, Term)> {
    let live: Vec<&Status> = st
        .iter()
        .filter(|s| s.alive && group.contains(&s.id))
        .collect();
    let top = live.iter().map(|s| s.term).max()?;
    let leaders: Vec<&&Status> = live
        .iter()
        .filter(|s| s.role == Role::Leader && s.term == top)
        .collect();
    let [l] = leaders.as_slice() else { return None };
    let followers = live
        .iter()
        .filter(|s| s.term == top && s.leader == Some(l.id))
        .count();
    (followers >= majority(n)).then_some((l.id, top))
}

/// Whether the trace shows a stall of this machine that excuses `e`, a disturbance of a
/// healthy leader, and how long it was. An election (or pre-vote) started by a node is
/// excused if the router had delivered that node no AppendEntries for at least
/// `timeout_min`: the leader's thread (or the router's) did not run. A leader stepping
/// down is excused if it had sent nothing for `timeout_min`: its own thread did not run
/// (CheckQuorum then finds no recent answers). Anything else is not a stall.
pub fn stall_behind(trace: &[Event], e: &Event, timeout_min: Duration) -> Option<Duration> {
    let node = e.node?;
    let gap = match e.kind {
        EventKind::Raft(raft::Event::ElectionStarted { .. }) => gap_before(trace, e.at_us, |k| {
            matches!(k, EventKind::Message {
                to,
                kind: "AppendEntries" | "Heartbeat",
                fate: Fate::Delivered,
                ..
            } if *to == node)
        }),
        EventKind::Raft(raft::Event::RoleChanged {
            from: Role::Leader, ..
        }) => gap_before(
            trace,
            e.at_us,
            |k| matches!(k, EventKind::Message { from, .. } if *from == node),
        ),
        _ => return None,
    };
    (gap >= timeout_min).then_some(gap)
}

/// The time from the last event before `at_us` that satisfies `pred` to `at_us` (from
/// the start of the run if none does).
fn gap_before(trace: &[Event], at_us: u64, pred: impl Fn(&EventKind) -> bool) -> Duration {
    let last = trace
        .iter()
        .filter(|e| e.at_us <= at_us)
        .filter(|e| pred(&e.kind))
        .map(|e| e.at_us)
        .next_back()
        .unwrap_or(0);
    Duration::from_micros(at_us - last)
}

/// The commands of a history in order, each once: `one()` retries a command whose
/// leader lost office, and both copies may commit, as in 6.824.
pub fn distinct(history: &[(Index, u64)]) -> Vec<u64> {
    let mut seen = BTreeSet::new();
    history
        .iter()
        .map(|&(_, c)| c)
        .filter(|c| seen.insert(*c))
        .collect()
}
