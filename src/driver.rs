//! The node driver: one node's Raft core, state machine and client bookkeeping, and the
//! order in which the core's output is carried out — persist, send, apply, publish.
//!
//! It is written once and run by both runtimes. The threaded runtime (`crate::node`)
//! calls it from a node's OS thread with the wall clock; the simulated runtime
//! (`crate::sim`) calls it from one thread with a virtual clock. The driver never reads
//! a clock, sleeps or touches a channel: every call takes `now` (the time since the
//! cluster started), and what it sends collects in an outbox the runtime drains. A
//! modelled fsync (`Config::storage_latency`) splits carrying out a [`Ready`] in two:
//! [`NodeDriver::begin_ready`] persists and sends what may leave before the write is
//! durable, and [`NodeDriver::finish_ready`] does the rest once it is; the threaded
//! runtime sleeps in between, the simulated one schedules the second half.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::config::Config;
use crate::error::{Error, NotLeader};
use crate::event::EventKind;
use crate::log::{Entry, Payload, Snapshot};
use crate::membership::Membership;
use crate::net::Packet;
use crate::raft::{ConfigChange, Persisted, Raft, RaftConfig, ReadState, Ready};
use crate::safety::SafetyChecker;
use crate::state_machine::StateMachine;
use crate::status::Status;
use crate::storage::SharedStorage;
use crate::trace::Trace;
use crate::types::{Index, NodeId, Role, Term};
use crate::wire::Wire;

/// Counters a node updates and the harness reads.
#[derive(Debug, Default)]
pub struct Counters {
    /// Messages handed to the network.
    pub messages_sent: AtomicU64,
}

/// What a node shares with the harness: its stable storage, its published status, its
/// counters, and the cluster's trace and safety checker.
pub(crate) struct NodeShared<S: StateMachine> {
    pub storage: SharedStorage<S::Command, S::Snapshot>,
    pub status: Arc<Mutex<Status>>,
    pub counters: Arc<Counters>,
    pub bytes_sent: Arc<AtomicU64>,
    pub trace: Arc<Trace>,
    pub checker: Option<Arc<Mutex<SafetyChecker<S::Command>>>>,
}

/// A client request waiting for its entry to be applied.
struct Pending {
    client: NodeId,
    id: u64,
    term: Term,
}

/// A read-only client request in the ReadIndex pipeline.
struct PendingQuery<C> {
    client: NodeId,
    id: u64,
    command: C,
}

/// A [`Ready`] whose modelled fsync is in progress: what is left of it (the messages
/// that wait for the write, and everything after sending), and the role it was taken in.
struct AfterWrite<S: StateMachine> {
    /// Its events stay only when the safety checker will want them.
    ready: Ready<S::Command, S::Snapshot>,
    role: Role,
}

/// One node: its core, its state machine and its timers (see the module doc).
pub(crate) struct NodeDriver<S: StateMachine> {
    id: NodeId,
    incarnation: u64,
    config: Config,
    core: Raft<S::Command, S::Snapshot>,
    sm: S,
    shared: NodeShared<S>,
    rng: SmallRng,
    election_deadline: Duration,
    heartbeat_deadline: Option<Duration>,
    /// Client writes waiting for their entries to apply, by index, oldest first: a
    /// leader's proposals get increasing indexes and are applied in that order, so a
    /// queue does what a map would, cheaper.
    pending: VecDeque<(Index, Pending)>,
    /// Reads waiting for the leader to confirm its round, by context.
    queries: BTreeMap<u64, PendingQuery<S::Command>>,
    /// Confirmed reads waiting for their read index to be applied.
    confirmed: Vec<(Index, PendingQuery<S::Command>)>,
    next_query: u64,
    last_applied: Index,
    /// Whether the node led when the last Ready was carried out.
    was_leader: bool,
    /// A Ready whose modelled write is in progress: the rest of it, for `finish_ready`.
    after_write: Option<AfterWrite<S>>,
    /// Packets produced since the runtime last drained them.
    outbox: Vec<Packet<Wire<S>>>,
}

impl<S: StateMachine + Default> NodeDriver<S> {
    /// A node restored from its storage at time `now`, its election timer started.
    pub(crate) fn new(
        id: NodeId,
        incarnation: u64,
        config: Config,
        initial: Membership,
        shared: NodeShared<S>,
        seed: u64,
        now: Duration,
    ) -> Self {
        let persisted: Persisted<S::Command, S::Snapshot> = shared.storage.lock().load();
        let mut sm = S::default();
        sm.configure(&config);
        if let Some(s) = &persisted.snapshot {
            sm.restore(s.data.clone());
        }
        let mut core = Raft::new(id, initial, RaftConfig::from(&config), persisted);
        core.set_now(now);
        let last_applied = core.handed_out();
        let mut node = NodeDriver {
            id,
            incarnation,
            config,
            core,
            sm,
            shared,
            rng: SmallRng::seed_from_u64(seed),
            election_deadline: now,
            heartbeat_deadline: None,
            pending: VecDeque::new(),
            queries: BTreeMap::new(),
            confirmed: Vec::new(),
            next_query: 0,
            last_applied,
            was_leader: false,
            after_write: None,
            outbox: Vec::new(),
        };
        node.reset_election_timer(now);
        node.publish_status();
        node
    }
}

impl<S: StateMachine> NodeDriver<S> {
    /// The node's id.
    pub(crate) fn id(&self) -> NodeId {
        self.id
    }

    /// The state machine, for `Cluster::inspect`.
    pub(crate) fn state_machine(&self) -> &S {
        &self.sm
    }

    /// The earliest of the node's deadlines: its election timeout, and while leading,
    /// its next heartbeat.
    pub(crate) fn next_deadline(&self) -> Duration {
        match self.heartbeat_deadline {
            Some(h) => h.min(self.election_deadline),
            None => self.election_deadline,
        }
    }

    /// True while a modelled write is in progress: the node handles no input until
    /// [`NodeDriver::finish_ready`].
    pub(crate) fn is_writing(&self) -> bool {
        self.after_write.is_some()
    }

    /// Whether the core has output to carry out: left by a write's acknowledgement (a
    /// leader's commit) or by input taken while a write was in progress.
    pub(crate) fn has_ready(&self) -> bool {
        self.core.has_ready()
    }

    /// The packets produced since the last call, to hand to the network.
    pub(crate) fn take_outbox(&mut self) -> Vec<Packet<Wire<S>>> {
        std::mem::take(&mut self.outbox)
    }

    /// Tells the core the time: once per wake-up, before the inputs it handles.
    pub(crate) fn set_now(&mut self, now: Duration) {
        self.core.set_now(now);
    }

    fn reset_election_timer(&mut self, now: Duration) {
        let (lo, hi) = (
            self.config.election_timeout_min,
            self.config.election_timeout_max,
        );
        let timeout = if hi > lo {
            self.rng.gen_range(lo..=hi)
        } else {
            lo
        };
        self.election_deadline = now + timeout;
    }

    /// Ticks the core for each deadline that passed by `now`; true if any did. Call it
    /// after carrying out the Ready of the inputs before it: a step may have restarted
    /// the election timer (a heartbeat came, a vote was granted, an election was won),
    /// and a deadline that passed while the runtime waited must not fire over that.
    pub(crate) fn fire_timers(&mut self, now: Duration) -> bool {
        self.core.set_now(now);
        let mut fired = false;
        if now >= self.election_deadline {
            self.core.tick_election();
            self.reset_election_timer(now);
            fired = true;
        }
        if let Some(h) = self.heartbeat_deadline {
            if now >= h && self.core.role() == Role::Leader {
                self.core.tick_heartbeat();
                self.heartbeat_deadline = Some(now + self.config.heartbeat_interval);
                fired = true;
            }
        }
        fired
    }

    /// Starts the election timer afresh from `now`, and a leader's heartbeat timer one
    /// interval from now (after a script thawed the timers of the simulated world).
    pub(crate) fn restart_timers(&mut self, now: Duration) {
        self.reset_election_timer(now);
        if self.heartbeat_deadline.is_some() {
            self.heartbeat_deadline = Some(now + self.config.heartbeat_interval);
        }
    }

    /// Makes a leader's heartbeat timer fire now (a scripted heartbeat); a non-leader
    /// ignores it.
    pub(crate) fn fire_heartbeat(&mut self, now: Duration) {
        self.core.set_now(now);
        if self.core.role() == Role::Leader {
            self.core.tick_heartbeat();
        }
    }

    /// Makes the election timer fire now (a scripted timeout, for scenarios).
    pub(crate) fn fire_election_timeout(&mut self, now: Duration) {
        self.core.set_now(now);
        self.core.tick_election();
        self.reset_election_timer(now);
    }

    /// Raft's Start() on this node.
    pub(crate) fn propose(&mut self, command: S::Command) -> Result<(Index, Term), NotLeader> {
        self.core.propose(command)
    }

    /// Hands leadership to `to` (§3.10).
    pub(crate) fn transfer_leadership(&mut self, to: NodeId) -> Result<(), NotLeader> {
        self.core.transfer_leadership(to)
    }

    /// Proposes a membership change (leader only).
    pub(crate) fn propose_config(&mut self, change: ConfigChange) -> Result<(Index, Term), Error> {
        self.core.propose_config(change).map_err(Error::from)
    }

    /// Handles one packet from the network: a Raft message or a client request.
    pub(crate) fn handle_packet(&mut self, p: Packet<Wire<S>>) {
        match p.msg {
            Wire::Raft(m) => {
                if log::log_enabled!(target: "raftsim", log::Level::Trace) {
                    let who = self.who();
                    let text = format!("recv from n{}: {m:?}", p.from);
                    self.shared.trace.note(log::Level::Trace, &who, &text);
                }
                self.core.step(p.from, m);
            }
            Wire::ClientRequest {
                id,
                command,
                read_only: true,
            } if self.config.unsafe_stale_reads => {
                // UNSAFE (`Config::unsafe_stale_reads`): answer from whatever this node
                // has applied, leader or not, skipping ReadIndex (§6.4). A deposed leader
                // or a lagging follower answers with stale data.
                let result = self.sm.query(&command).ok_or(NotLeader { leader: None });
                self.reply(p.from, id, result);
            }
            Wire::ClientRequest {
                id,
                command,
                read_only: true,
            } => {
                self.next_query += 1;
                let ctx = self.next_query;
                match self.core.read_index(ctx) {
                    Ok(()) => {
                        let q = PendingQuery {
                            client: p.from,
                            id,
                            command,
                        };
                        self.queries.insert(ctx, q);
                    }
                    Err(nl) => self.reply(p.from, id, Err(nl)),
                }
            }
            Wire::ClientRequest { id, command, .. } => match self.core.propose(command) {
                Ok((index, term)) => {
                    // Writes waiting at this index or later were proposed in an earlier
                    // term and overwritten since (leadership lost and regained within
                    // one batch of messages): their outcome is unknown to us.
                    while self.pending.back().is_some_and(|&(last, _)| last >= index) {
                        let (_, stale) = self.pending.pop_back().expect("checked");
                        self.reply_not_leader(stale);
                    }
                    let waiting = Pending {
                        client: p.from,
                        id,
                        term,
                    };
                    self.pending.push_back((index, waiting));
                }
                Err(nl) => self.reply(p.from, id, Err(nl)),
            },
            Wire::ClientReply { .. } => {} // nodes get no replies
        }
    }

    /// Carries out the core's output, first half: persist, record the step's events,
    /// and send what may leave now. Returns how long the modelled write takes if the
    /// rest must wait for it (then call [`NodeDriver::finish_ready`] after that long,
    /// handling no input meanwhile); otherwise the whole Ready is carried out.
    ///
    /// `send_now` receives packets that should leave at once, before the state
    /// machine's work (see [`NodeDriver::finish_ready`]).
    pub(crate) fn begin_ready(
        &mut self,
        now: Duration,
        send_now: &mut dyn FnMut(Vec<Packet<Wire<S>>>),
    ) -> Option<Duration> {
        debug_assert!(self.after_write.is_none(), "a write is already in progress");
        // The inputs handled since the last Ready are all in: send the proposals and
        // reads they batched, one AppendEntries per follower for all of them.
        self.core.broadcast_batched();
        let mut ready: Ready<S::Command, S::Snapshot> = self.core.take_ready();
        if ready.is_empty() {
            return None; // nothing changed: no status to publish, nothing to check
        }
        let wrote = ready.writes();
        let write_time = self.config.storage_latency;
        let waits = wrote && !write_time.is_zero();
        if waits {
            // Durable only at finish_ready; a crash before then loses it.
            self.shared.storage.lock().begin_write(&mut ready);
        } else if wrote {
            self.shared.storage.lock().persist(&mut ready);
        }
        // The step's events are recorded before anything of it leaves, so the trace
        // never shows an effect (a vote granted) before its cause (an election). They
        // stay in the Ready only for the safety checker.
        let role = self.core.role();
        let events = match self.shared.checker {
            Some(_) => ready.events.clone(),
            None => std::mem::take(&mut ready.events),
        };
        self.record_events(events);
        if waits && self.config.parallel_disk_writes {
            // Replies wait for the write: a granted vote or an acknowledged entry must
            // be durable first. Every other message leaves now (dissertation §10.2.1):
            // a leader writes its log while its AppendEntries travel, a candidate
            // records its own vote while its RequestVotes do. The node handles no
            // reply, so counts no vote or acknowledgement, until the write is done.
            let (replies, requests): (Vec<_>, Vec<_>) = std::mem::take(&mut ready.messages)
                .into_iter()
                .partition(|e| e.msg.is_reply());
            for env in requests {
                self.send(env.to, Wire::Raft(env.msg));
            }
            ready.messages = replies;
        }
        self.after_write = Some(AfterWrite { ready, role });
        if waits {
            return Some(write_time);
        }
        self.finish_ready(now, send_now);
        None
    }

    /// Carries out the core's output, second half (at `now`, after the write): send,
    /// apply, answer clients, check safety, move the timers, maybe snapshot, publish.
    pub(crate) fn finish_ready(
        &mut self,
        now: Duration,
        send_now: &mut dyn FnMut(Vec<Packet<Wire<S>>>),
    ) {
        let Some(AfterWrite { mut ready, role }) = self.after_write.take() else {
            return;
        };
        // The write is durable now: a leader counts its own new entries from here (the
        // runtime then carries out what that decided: `has_ready`).
        self.shared.storage.lock().finish_write();
        if let Some((index, term)) = ready.persist_to {
            self.core.on_persist_entries(index, term);
        }
        for env in std::mem::take(&mut ready.messages) {
            self.send(env.to, Wire::Raft(env.msg));
        }
        // Raft messages leave before applying and answering clients: a follower's
        // acknowledgement, or a leader's next AppendEntries, is on the critical path of
        // every write; the state machine's work is not.
        send_now(self.take_outbox());
        if let Some(s) = ready.snapshot_to_restore.take() {
            self.restore(s);
        }
        self.apply(&ready.committed);
        let (reads, failed) = (
            std::mem::take(&mut ready.reads),
            std::mem::take(&mut ready.failed_reads),
        );
        self.serve_reads(reads, failed);
        if let Some(checker) = self.shared.checker.clone() {
            // The clients' answers leave before the checker's lock is taken: checking
            // stays off the round trip of a write.
            send_now(self.take_outbox());
            let out = crate::safety::StepOutput::of(&ready);
            checker
                .lock()
                .observe_step(self.id, self.incarnation, &self.core, out);
        }
        if ready.reset_election_timer {
            self.reset_election_timer(now);
        }
        let leads = role == Role::Leader;
        match (self.was_leader, leads) {
            (false, true) => {
                self.heartbeat_deadline = Some(now + self.config.heartbeat_interval);
            }
            (true, false) => {
                self.heartbeat_deadline = None;
                self.fail_pending();
                for (_, q) in std::mem::take(&mut self.confirmed) {
                    let leader = self.core.leader_id();
                    self.reply(q.client, q.id, Err(NotLeader { leader }));
                }
            }
            _ => {}
        }
        self.was_leader = leads;
        if let Some(threshold) = self.config.snapshot_threshold {
            if self.core.snapshot_due(threshold) {
                self.take_snapshot();
            }
        }
        self.publish_status();
    }

    /// Queues a packet for the network and counts it.
    fn send(&mut self, to: NodeId, msg: Wire<S>) {
        self.shared
            .counters
            .messages_sent
            .fetch_add(1, Ordering::Relaxed);
        self.shared
            .bytes_sent
            .fetch_add(msg.size() as u64, Ordering::Relaxed);
        self.outbox.push(Packet {
            from: self.id,
            to,
            msg,
        });
    }

    fn reply(&mut self, client: NodeId, id: u64, result: Result<S::Output, NotLeader>) {
        self.send(client, Wire::ClientReply { id, result });
    }

    fn restore(&mut self, s: Snapshot<S::Snapshot>) {
        self.sm.restore(s.data);
        self.last_applied = s.last_index;
        // Requests waiting on entries the snapshot replaced cannot learn their outcome.
        while self
            .pending
            .front()
            .is_some_and(|&(i, _)| i <= s.last_index)
        {
            let (_, p) = self.pending.pop_front().expect("checked");
            self.reply_not_leader(p);
        }
    }

    /// Applies committed entries in order (§5.3) and answers the clients waiting on them.
    fn apply(&mut self, committed: &[Entry<S::Command>]) {
        let Some(first) = committed.first() else {
            return;
        };
        let (from, to) = (first.index, committed.last().expect("non-empty").index);
        for e in committed {
            let output = match &e.payload {
                Payload::Command(c) => Some(self.sm.apply(e.index, c)),
                Payload::Noop | Payload::Config(_) => None,
            };
            self.last_applied = e.index;
            // Anything waiting below this index was skipped over (cannot happen while
            // leading, where pending writes live): its outcome is unknown.
            while self.pending.front().is_some_and(|&(i, _)| i < e.index) {
                let (_, p) = self.pending.pop_front().expect("checked");
                self.reply_not_leader(p);
            }
            if self.pending.front().is_some_and(|&(i, _)| i == e.index) {
                let (_, p) = self.pending.pop_front().expect("checked");
                match output {
                    // The entry the client proposed is the one that committed.
                    Some(out) if p.term == e.term => self.reply(p.client, p.id, Ok(out)),
                    _ => self.reply_not_leader(p),
                }
            }
        }
        let (term, role) = (self.core.term(), self.core.role());
        self.shared.trace.record(
            Some(self.id),
            term,
            Some(role),
            EventKind::Applied { from, to },
        );
    }

    /// Answers ReadIndex reads: confirmed ones once their read index is applied, failed
    /// ones with a redirect.
    fn serve_reads(&mut self, reads: Vec<ReadState>, failed: Vec<u64>) {
        for ctx in failed {
            if let Some(q) = self.queries.remove(&ctx) {
                let leader = self.core.leader_id().filter(|&l| l != self.id);
                self.reply(q.client, q.id, Err(NotLeader { leader }));
            }
        }
        for r in reads {
            if let Some(q) = self.queries.remove(&r.ctx) {
                self.confirmed.push((r.index, q));
            }
        }
        let applied = self.last_applied;
        let (ready, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.confirmed)
            .into_iter()
            .partition(|(index, _)| *index <= applied);
        self.confirmed = waiting;
        for (_, q) in ready {
            let result = match self.sm.query(&q.command) {
                Some(out) => Ok(out),
                // Not a read after all: the client must send it as a write.
                None => Err(NotLeader { leader: None }),
            };
            self.reply(q.client, q.id, result);
        }
    }

    /// Tells every waiting client that this node lost leadership: their entries may or
    /// may not commit, and they should retry (the state machine deduplicates).
    fn fail_pending(&mut self) {
        for (_, p) in std::mem::take(&mut self.pending) {
            self.reply_not_leader(p);
        }
    }

    fn reply_not_leader(&mut self, p: Pending) {
        let leader = self.core.leader_id().filter(|&l| l != self.id);
        self.reply(p.client, p.id, Err(NotLeader { leader }));
    }

    /// Records the core's events in the trace, each with the role and term the node had
    /// when it acted.
    fn record_events(&self, events: Vec<crate::raft::Emitted>) {
        for e in events {
            let kind = EventKind::Raft(e.event);
            self.shared
                .trace
                .record(Some(self.id), e.term, Some(e.role), kind);
        }
    }

    /// A crash during a modelled write: the write is lost (its WriteDone never comes).
    pub(crate) fn lose_write_in_flight(&self) -> bool {
        self.shared.storage.lock().lose_write_in_flight()
    }

    /// Compacts the log through what the state machine has applied (§7), now. The
    /// snapshot reaches stable storage through the next Ready, like any other change
    /// (the core marks it to persist), so nothing else that Ready carries — entries
    /// committed meanwhile, replies, reads, a snapshot to restore — is taken here and
    /// lost: a snapshot is one more output of the core, not a side door around it.
    pub(crate) fn take_snapshot(&mut self) {
        let index = self.last_applied;
        let data = self.sm.snapshot();
        self.core.compact(index, data);
    }

    fn who(&self) -> String {
        format!("n{} t{} {}", self.id, self.core.term(), self.core.role())
    }

    fn publish_status(&self) {
        let c = &self.core;
        let m = c.membership();
        let status = Status {
            id: self.id,
            alive: true,
            role: c.role(),
            term: c.term(),
            voted_for: c.voted_for(),
            leader: c.leader_id(),
            commit_index: c.commit_index(),
            last_applied: self.last_applied,
            snapshot_index: c.log().snapshot_index(),
            last_log_index: c.log().last_index(),
            last_log_term: c.log().last_term(),
            members: m.voters.iter().copied().collect(),
            learners: m.learners.iter().copied().collect(),
        };
        *self.shared.status.lock() = status;
    }
}

/// A seed for one node's timers, different for each node and each restart.
pub(crate) fn node_seed(cluster_seed: u64, id: NodeId, incarnation: u64) -> u64 {
    crate::config::derive_seed(
        cluster_seed,
        (id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
            ^ incarnation.wrapping_mul(0xD1B5_4A32_D192_ED03),
    )
}
