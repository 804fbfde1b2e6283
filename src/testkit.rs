//! A deterministic, single-threaded network of Raft cores for stepping the paper's
//! scenarios by hand.
//!
//! [`CoreNet`] holds one [`Raft`] core per node and a queue of messages in flight. Nothing
//! happens on its own: a test ticks a node's timers, proposes, and delivers, drops, holds
//! back or re-injects messages one at a time, then looks at the roles, logs and events
//! that resulted. It follows raft-rs's test harness (`isolate`, `cut`, `recover`) and
//! etcd's interaction tests, and plays the runtime's part for each core exactly as
//! `crate::node` does: after every input it takes the core's [`Ready`], persists it with
//! [`Storage::persist`], queues its messages, "applies" its committed entries, and
//! acknowledges the write ([`Raft::on_persist_entries`]). So [`CoreNet::crash`] loses
//! exactly a core's volatile state and [`CoreNet::restart`] rebuilds it from what it said
//! to persist. A node's disk can also be made slow ([`CoreNet::hold_writes`]): its writes
//! are then acknowledged only when the test says so ([`CoreNet::ack_writes`]).
//!
//! Two of the paper's safety properties are checked on every step: Election Safety (at
//! most one leader per term) and State Machine Safety (no two nodes apply different
//! entries at one index). A violation panics at once, unless one of the configuration's
//! unsafe teaching switches is on; then it is recorded in [`CoreNet::violations`] for the
//! test to show.
//!
//! Left out on purpose: time (tests call `set_now` themselves), randomness, and
//! membership changes (every node votes, from the start).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

use crate::log::{Entry, Payload, RaftLog, Snapshot};
use crate::membership::Membership;
use crate::message::{Envelope, Message};
use crate::storage::Storage;
use crate::types::{Index, NodeId, Role, Term};

use crate::raft::{Event, HardState, NotLeader, Persisted, Raft, RaftConfig, Ready};

/// A standing filter: messages it matches are lost.
type Block<C, D> = Box<dyn Fn(&Envelope<C, D>) -> bool>;

/// A network of Raft cores stepped by hand (see the module doc).
///
/// `C` is the command type, `D` the snapshot data. Builders that make log entries of
/// their own ([`CoreNet::with_logs`]) need `C: From<u64>`; the default `u64` has it.
pub struct CoreNet<C = u64, D = ()> {
    /// The live cores by id; a crashed node has none.
    pub nodes: BTreeMap<NodeId, Raft<C, D>>,
    /// Messages in flight, oldest first.
    pub queue: VecDeque<Envelope<C, D>>,
    /// Every message delivered so far, in order.
    pub delivered: Vec<Envelope<C, D>>,
    /// Every message lost so far: sent or delivered over a down link, to a crashed node,
    /// or thrown away by [`CoreNet::drop_matching`].
    pub dropped: Vec<Envelope<C, D>>,
    /// How many messages [`CoreNet::deliver_all`] and [`CoreNet::deliver_matching`]
    /// deliver before declaring a livelock and panicking.
    pub step_cap: usize,
    cfg: RaftConfig,
    membership: Membership,
    storage: BTreeMap<NodeId, Storage<C, D>>,
    isolated: BTreeSet<NodeId>,
    cut: BTreeSet<(NodeId, NodeId)>,
    blocks: Vec<Block<C, D>>,
    /// Nodes whose write acknowledgements are held back, and those held, oldest first.
    held_writes: BTreeMap<NodeId, VecDeque<(Index, Term)>>,
    trace: Vec<(NodeId, Event)>,
    applied: BTreeMap<NodeId, Vec<Entry<C>>>,
    restored: BTreeMap<NodeId, Snapshot<D>>,
    last_ready: BTreeMap<NodeId, Ready<C, D>>,
    committed: BTreeMap<Index, (Term, NodeId)>,
    leaders: BTreeMap<Term, NodeId>,
    violations: Vec<String>,
    now: Duration,
}

/// A log holding one entry per term in `terms`, at indexes 1, 2, ...; entry `i` carries
/// the command `C::from(i)`.
pub fn log_from_terms<C: Clone + From<u64>>(terms: &[Term]) -> RaftLog<C> {
    let entries = terms
        .iter()
        .zip(1..)
        .map(|(&term, index)| Entry::command(term, index, C::from(index)))
        .collect();
    RaftLog::from_parts(0, 0, entries)
}

/// Whether the message is election traffic: RequestVote or its reply (votes and pre-votes).
pub fn is_vote<C, D>(e: &Envelope<C, D>) -> bool {
    matches!(
        e.msg,
        Message::RequestVote { .. } | Message::RequestVoteReply { .. }
    )
}

/// Whether the message is an AppendEntries (a heartbeat included).
pub fn is_append<C, D>(e: &Envelope<C, D>) -> bool {
    matches!(e.msg, Message::AppendEntries { .. })
}

/// Whether the message is an AppendEntries carrying the entry at `index`.
pub fn carries_index<C, D>(e: &Envelope<C, D>, index: Index) -> bool {
    match &e.msg {
        Message::AppendEntries { entries, .. } => entries.iter().any(|x| x.index == index),
        _ => false,
    }
}

impl<C: Clone, D: Clone> CoreNet<C, D> {
    /// `n` fresh nodes `0..n` with the paper's plain algorithm (`RaftConfig::figure2()`).
    pub fn new(n: usize) -> Self {
        Self::with_config(n, RaftConfig::figure2())
    }

    /// `n` fresh nodes `0..n` with `cfg`.
    pub fn with_config(n: usize, cfg: RaftConfig) -> Self {
        Self::from_persisted(cfg, vec![Persisted::default(); n])
    }

    /// Nodes `0..states.len()` restored from the given stable states (node `i` from
    /// `states[i]`), as if each had just restarted: all followers, nothing committed
    /// beyond their snapshots.
    pub fn from_persisted(cfg: RaftConfig, states: Vec<Persisted<C, D>>) -> Self {
        let membership = Membership::new(0..states.len());
        let mut net = CoreNet {
            nodes: BTreeMap::new(),
            queue: VecDeque::new(),
            delivered: Vec::new(),
            dropped: Vec::new(),
            step_cap: 100_000,
            cfg,
            membership,
            storage: BTreeMap::new(),
            isolated: BTreeSet::new(),
            cut: BTreeSet::new(),
            blocks: Vec::new(),
            held_writes: BTreeMap::new(),
            trace: Vec::new(),
            applied: BTreeMap::new(),
            restored: BTreeMap::new(),
            last_ready: BTreeMap::new(),
            committed: BTreeMap::new(),
            leaders: BTreeMap::new(),
            violations: Vec::new(),
            now: Duration::ZERO,
        };
        for (id, p) in states.into_iter().enumerate() {
            let core = Raft::new(id, net.membership.clone(), net.cfg.clone(), p);
            // Seed stable storage with the same state.
            let mut storage = Storage::default();
            storage.replace(Persisted {
                hard_state: HardState {
                    current_term: core.term(),
                    voted_for: core.voted_for(),
                },
                log: core.log().clone(),
                snapshot: core.snapshot().cloned(),
            });
            net.storage.insert(id, storage);
            if let Some(s) = core.snapshot() {
                net.restored.insert(id, s.clone());
            }
            net.nodes.insert(id, core);
        }
        net
    }

    // ---- inputs: each is followed by the runtime's handling of the Ready -------------

    /// Node `id`'s election timer fires.
    pub fn tick_election(&mut self, id: NodeId) {
        self.update(id, |r| r.tick_election());
    }

    /// Node `id`'s heartbeat timer fires.
    pub fn tick_heartbeat(&mut self, id: NodeId) {
        self.update(id, |r| r.tick_heartbeat());
    }

    /// Proposes `command` to node `id` (Raft's Start()).
    pub fn propose(&mut self, id: NodeId, command: C) -> Result<(Index, Term), NotLeader> {
        self.update(id, |r| r.propose(command))
    }

    /// Asks leader `id` to hand leadership to `to` (§3.10).
    pub fn transfer_leadership(&mut self, id: NodeId, to: NodeId) -> Result<(), NotLeader> {
        self.update(id, |r| r.transfer_leadership(to))
    }

    /// Node `id` compacts its log through `index`, keeping `data` as the snapshot (§7).
    pub fn compact(&mut self, id: NodeId, index: Index, data: D) {
        self.update(id, |r| r.compact(index, data));
    }

    /// Sets the time every live core sees (and restarted cores will see).
    pub fn set_now(&mut self, now: Duration) {
        self.now = now;
        for core in self.nodes.values_mut() {
            core.set_now(now);
        }
    }

    /// Runs `f` on node `id`'s core, then handles its Ready: the escape hatch for inputs
    /// the other methods do not cover (e.g. stepping a hand-made message).
    pub fn update<R>(&mut self, id: NodeId, f: impl FnOnce(&mut Raft<C, D>) -> R) -> R {
        let out = f(self.node_mut(id));
        self.flush(id);
        out
    }

    /// Node `id` starts an election and every message is delivered; panics unless it won.
    /// Returns its term.
    pub fn elect(&mut self, id: NodeId) -> Term {
        self.tick_election(id);
        self.deliver_all();
        let core = self.node(id);
        assert_eq!(
            core.role(),
            Role::Leader,
            "n{id} did not win its election: {}",
            self.describe()
        );
        core.term()
    }

    /// The runtime's part: persist, queue the messages, restore and apply, record, then
    /// acknowledge the write (unless the node's disk is slow) and carry out what that
    /// decided (a leader's commit).
    fn flush(&mut self, id: NodeId) {
        let core = self.nodes.get_mut(&id).expect("flush of a live node");
        core.broadcast_batched();
        let mut ready = core.take_ready();
        self.storage
            .get_mut(&id)
            .expect("every node has storage")
            .persist(&mut ready);
        let term = core.term();
        for env in ready.messages.iter().cloned() {
            if self.passes(&env) {
                self.queue.push_back(env);
            } else {
                self.dropped.push(env);
            }
        }
        if let Some(s) = &ready.snapshot_to_restore {
            self.applied.remove(&id);
            self.restored.insert(id, s.clone());
        }
        for e in &ready.committed {
            self.applied.entry(id).or_default().push(e.clone());
            match self.committed.get(&e.index) {
                Some(&(t, other)) if t != e.term => self.violation(format!(
                    "State Machine Safety: n{id} applied t{}@{} but n{other} applied t{t}@{}",
                    e.term, e.index, e.index
                )),
                Some(_) => {}
                None => {
                    self.committed.insert(e.index, (e.term, id));
                }
            }
        }
        for ev in &ready.events {
            if let Event::RoleChanged {
                to: Role::Leader, ..
            } = ev.event
            {
                match self.leaders.get(&term) {
                    Some(&other) if other != id => self.violation(format!(
                        "Election Safety: n{id} and n{other} both lead term {term}"
                    )),
                    _ => {
                        self.leaders.insert(term, id);
                    }
                }
            }
            self.trace.push((id, ev.event.clone()));
        }
        let write = ready.persist_to;
        self.last_ready.insert(id, ready);
        if let Some(write) = write {
            match self.held_writes.get_mut(&id) {
                Some(held) => held.push_back(write),
                None => self.acknowledge_write(id, write),
            }
        }
    }

    /// Tells node `id`'s core its write through `(index, term)` is durable, and handles
    /// what follows.
    fn acknowledge_write(&mut self, id: NodeId, (index, term): (Index, Term)) {
        let core = self.nodes.get_mut(&id).expect("a live node");
        core.on_persist_entries(index, term);
        if core.has_ready() {
            self.flush(id);
        }
    }

    fn violation(&mut self, what: String) {
        assert!(self.cfg.is_unsafe(), "{what}\n{}", self.describe());
        self.violations.push(what);
    }

    // ---- the network -------------------------------------------------------------------

    /// Whether the links let `env` through and no block catches it.
    fn passes(&self, env: &Envelope<C, D>) -> bool {
        let (from, to) = (env.from, env.to);
        !self.isolated.contains(&from)
            && !self.isolated.contains(&to)
            && !self.cut.contains(&(from, to))
            && !self.blocks.iter().any(|b| b(env))
    }

    /// Delivers `env` now if its link is up and its receiver alive, else drops it.
    fn deliver(&mut self, env: Envelope<C, D>) -> bool {
        if !self.passes(&env) || !self.nodes.contains_key(&env.to) {
            self.dropped.push(env);
            return false;
        }
        self.delivered.push(env.clone());
        let to = env.to;
        self.update(to, |r| r.step(env.from, env.msg));
        true
    }

    /// Takes the oldest message in flight and delivers it (or drops it, if its link is
    /// down or its receiver crashed). `None` when nothing is in flight, else whether it
    /// was delivered.
    pub fn deliver_one(&mut self) -> Option<bool> {
        let env = self.queue.pop_front()?;
        Some(self.deliver(env))
    }

    /// Delivers the messages in flight now, oldest first, but not those they cause: one
    /// request-and-reply round trip takes two rounds. Returns how many were delivered.
    pub fn deliver_round(&mut self) -> usize {
        let round: Vec<_> = self.queue.drain(..).collect();
        round
            .into_iter()
            .map(|e| usize::from(self.deliver(e)))
            .sum()
    }

    /// Delivers messages, oldest first, until none is in flight; returns how many were
    /// delivered. Panics after `step_cap` deliveries (a livelock).
    pub fn deliver_all(&mut self) -> usize {
        self.deliver_matching(|_| true)
    }

    /// Delivers, oldest first, every message in flight that matches `pred`, including
    /// those sent in response, until none matches; the others stay queued in order.
    /// Returns how many were delivered. Panics after `step_cap` deliveries.
    pub fn deliver_matching(&mut self, pred: impl Fn(&Envelope<C, D>) -> bool) -> usize {
        let (mut delivered, mut taken) = (0, 0);
        while let Some(pos) = self.queue.iter().position(&pred) {
            let env = self.queue.remove(pos).expect("position is in range");
            delivered += usize::from(self.deliver(env));
            taken += 1;
            assert!(
                taken <= self.step_cap,
                "livelock: still {} messages in flight after {} deliveries\n{}",
                self.queue.len(),
                self.step_cap,
                self.describe()
            );
        }
        delivered
    }

    /// Drops every message in flight that matches `pred`; returns how many.
    pub fn drop_matching(&mut self, pred: impl Fn(&Envelope<C, D>) -> bool) -> usize {
        let before = self.dropped.len();
        let taken = self.take_matching(pred);
        self.dropped.extend(taken);
        self.dropped.len() - before
    }

    /// Removes every message in flight that matches `pred` and hands them to the test,
    /// which may [`inject`](CoreNet::inject) them later (delayed, reordered, duplicated).
    pub fn take_matching(&mut self, pred: impl Fn(&Envelope<C, D>) -> bool) -> Vec<Envelope<C, D>> {
        let (taken, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut self.queue)
            .into_iter()
            .partition(|e| pred(e));
        self.queue = kept.into();
        taken
    }

    /// Puts a message in flight (at the back of the queue): a delayed or duplicated copy
    /// of an earlier one, or a hand-made message.
    pub fn inject(&mut self, env: Envelope<C, D>) {
        self.queue.push_back(env);
    }

    /// Cuts every link to and from `id`; messages over them are lost, also those already
    /// in flight when they arrive.
    pub fn isolate(&mut self, id: NodeId) {
        self.isolated.insert(id);
    }

    /// Cuts the links between `a` and `b`, both ways.
    pub fn cut(&mut self, a: NodeId, b: NodeId) {
        self.cut.insert((a, b));
        self.cut.insert((b, a));
    }

    /// Only nodes in the same group can talk (nodes in no group are isolated).
    pub fn partition(&mut self, groups: &[&[NodeId]]) {
        let group_of = |id: NodeId| groups.iter().position(|g| g.contains(&id));
        for &a in self.storage.keys() {
            for &b in self.storage.keys() {
                if a != b && (group_of(a).is_none() || group_of(a) != group_of(b)) {
                    self.cut.insert((a, b));
                }
            }
        }
    }

    /// From now on, drops every message matching `pred` when it is sent or delivered
    /// (like a cut link, but for any kind of message), until [`CoreNet::recover`].
    pub fn block(&mut self, pred: impl Fn(&Envelope<C, D>) -> bool + 'static) {
        self.blocks.push(Box::new(pred));
    }

    /// From now on node `id`'s disk is slow: each write still reaches its stable storage
    /// at once (a crash keeps it), but its core learns the write is durable only at
    /// [`CoreNet::ack_writes`]. Meanwhile, as a leader, it does not count its own copy of
    /// the entries written.
    pub fn hold_writes(&mut self, id: NodeId) {
        self.held_writes.entry(id).or_default();
    }

    /// Acknowledges node `id`'s oldest held write, followed by the runtime's handling of
    /// what it decided; returns its last entry (index, term), `None` if none was held.
    pub fn ack_write(&mut self, id: NodeId) -> Option<(Index, Term)> {
        let write = self.held_writes.get_mut(&id)?.pop_front()?;
        self.acknowledge_write(id, write);
        Some(write)
    }

    /// Acknowledges node `id`'s held writes, oldest first, each followed by the runtime's
    /// handling of what it decided; returns how many. Later writes are still held.
    pub fn ack_writes(&mut self, id: NodeId) -> usize {
        std::iter::from_fn(|| self.ack_write(id)).count()
    }

    /// Node `id`'s disk is fast again: its held writes are acknowledged, and so is every
    /// later write, at once.
    pub fn release_writes(&mut self, id: NodeId) {
        self.ack_writes(id);
        self.held_writes.remove(&id);
    }

    /// Restores every link and lifts every block (crashed nodes stay crashed; a slow
    /// disk stays slow).
    pub fn recover(&mut self) {
        self.isolated.clear();
        self.cut.clear();
        self.blocks.clear();
    }

    /// Crashes node `id`: its core and everything volatile are gone; its stable storage
    /// stays. Messages to it are lost until it restarts.
    pub fn crash(&mut self, id: NodeId) {
        self.nodes.remove(&id);
        // The writes reached storage; their acknowledgements die with the core.
        if let Some(held) = self.held_writes.get_mut(&id) {
            held.clear();
        }
        self.applied.remove(&id);
        self.restored.remove(&id);
    }

    /// Restarts node `id` from its stable storage (crashing it first if it runs).
    pub fn restart(&mut self, id: NodeId) {
        self.crash(id);
        let persisted = self.storage[&id].load();
        if let Some(s) = &persisted.snapshot {
            self.restored.insert(id, s.clone());
        }
        let mut core = Raft::new(id, self.membership.clone(), self.cfg.clone(), persisted);
        core.set_now(self.now);
        self.nodes.insert(id, core);
    }

    // ---- observation -------------------------------------------------------------------

    /// Node `id`'s core; panics if it is crashed.
    pub fn node(&self, id: NodeId) -> &Raft<C, D> {
        self.nodes
            .get(&id)
            .unwrap_or_else(|| panic!("n{id} is crashed or unknown"))
    }

    /// Node `id`'s core, mutably; panics if it is crashed. Call [`CoreNet::update`]
    /// instead to give it input, so that its Ready is handled.
    pub fn node_mut(&mut self, id: NodeId) -> &mut Raft<C, D> {
        self.nodes
            .get_mut(&id)
            .unwrap_or_else(|| panic!("n{id} is crashed or unknown"))
    }

    /// Whether node `id` is crashed.
    pub fn is_crashed(&self, id: NodeId) -> bool {
        !self.nodes.contains_key(&id)
    }

    /// What node `id` has on stable storage.
    pub fn persisted(&self, id: NodeId) -> &Persisted<C, D> {
        self.storage[&id].persisted()
    }

    /// The terms of the entries node `id` holds (after its snapshot), oldest first; for a
    /// crashed node, those of its persisted log.
    pub fn log_terms(&self, id: NodeId) -> Vec<Term> {
        let log = match self.nodes.get(&id) {
            Some(core) => core.log(),
            None => &self.persisted(id).log,
        };
        log.entries().iter().map(|e| e.term).collect()
    }

    /// The live leader of the highest term, if any (a stale leader that has not yet
    /// learned of a newer term is not it).
    pub fn leader(&self) -> Option<NodeId> {
        self.nodes
            .values()
            .filter(|r| r.role() == Role::Leader)
            .max_by_key(|r| r.term())
            .map(|r| r.id())
    }

    /// Who became leader of `term`, if anyone did.
    pub fn leader_of(&self, term: Term) -> Option<NodeId> {
        self.leaders.get(&term).copied()
    }

    /// Every event node `id` produced (across restarts), oldest first.
    pub fn events(&self, id: NodeId) -> Vec<Event> {
        self.trace
            .iter()
            .filter(|(n, _)| *n == id)
            .map(|(_, e)| e.clone())
            .collect()
    }

    /// Every event of every node, in the order they happened.
    pub fn all_events(&self) -> &[(NodeId, Event)] {
        &self.trace
    }

    /// Forgets the events so far, so that the next checks see only what follows.
    pub fn clear_events(&mut self) {
        self.trace.clear();
    }

    /// The Ready node `id` produced last (if acknowledging its write made it commit,
    /// the Ready that carried the commit).
    pub fn last_ready(&self, id: NodeId) -> Option<&Ready<C, D>> {
        self.last_ready.get(&id)
    }

    /// The entries node `id` applied since it last started or loaded a snapshot.
    pub fn applied(&self, id: NodeId) -> &[Entry<C>] {
        self.applied.get(&id).map_or(&[], Vec::as_slice)
    }

    /// The client commands among [`CoreNet::applied`] (no-ops and configurations are
    /// never handed to a state machine).
    pub fn applied_commands(&self, id: NodeId) -> Vec<C> {
        self.applied(id)
            .iter()
            .filter_map(|e| match &e.payload {
                Payload::Command(c) => Some(c.clone()),
                _ => None,
            })
            .collect()
    }

    /// The snapshot node `id`'s state machine last loaded, if any.
    pub fn restored(&self, id: NodeId) -> Option<&Snapshot<D>> {
        self.restored.get(&id)
    }

    /// Every `(index, term)` some node applied, by index: what must never be lost.
    pub fn committed(&self) -> Vec<(Index, Term)> {
        self.committed.iter().map(|(&i, &(t, _))| (i, t)).collect()
    }

    /// The safety violations seen (only ever non-empty with an unsafe switch on).
    pub fn violations(&self) -> &[String] {
        &self.violations
    }

    /// How many delivered messages match `pred`.
    pub fn count_delivered(&self, pred: impl Fn(&Envelope<C, D>) -> bool) -> usize {
        self.delivered.iter().filter(|e| pred(e)).count()
    }

    /// One line per node (role, term, vote, commit, log terms) and the queue's length,
    /// for failure messages.
    pub fn describe(&self) -> String {
        let line = |id| match self.nodes.get(&id) {
            Some(r) => format!(
                "n{id} {:?} t{} voted {:?} commit {} log {:?}\n",
                r.role(),
                r.term(),
                r.voted_for(),
                r.commit_index(),
                self.log_terms(id)
            ),
            None => format!("n{id} crashed, log {:?}\n", self.log_terms(id)),
        };
        let nodes: String = self.storage.keys().map(|&id| line(id)).collect();
        format!("{nodes}{} messages in flight", self.queue.len())
    }
}

impl<C: Clone + From<u64>, D: Clone> CoreNet<C, D> {
    /// One node per log, node `i` holding entries of the terms in `logs[i]` (see
    /// [`log_from_terms`]); every node's current term is the highest term in any log and
    /// nobody has voted in it. E.g. the paper's Figure 7 or Figure 8 states.
    pub fn with_logs(logs: &[&[Term]]) -> Self {
        let term = logs.iter().filter_map(|l| l.last()).max();
        let term = term.copied().unwrap_or(0);
        Self::with_logs_at(RaftConfig::figure2(), term, logs)
    }

    /// Like [`CoreNet::with_logs`], with the settings and every node's current term given.
    pub fn with_logs_at(cfg: RaftConfig, term: Term, logs: &[&[Term]]) -> Self {
        let highest = logs.iter().filter_map(|l| l.last()).max();
        assert!(
            highest.is_none_or(|&t| t <= term),
            "a log entry of a term above {term}"
        );
        let states = logs
            .iter()
            .map(|terms| Persisted {
                hard_state: HardState {
                    current_term: term,
                    voted_for: None,
                },
                log: log_from_terms(terms),
                snapshot: None,
            })
            .collect();
        Self::from_persisted(cfg, states)
    }
}
