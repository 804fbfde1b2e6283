//! The node runtime: one OS thread per node that owns a Raft core, a state machine and a
//! crossbeam inbox, and carries out what the core decides.
//!
//! The thread blocks in one `select!` over its inbox, its control channel and its next
//! deadline (the randomized election timeout, and while leading, the heartbeat): no
//! polling, so an idle cluster costs next to nothing. After each wake-up it drains what
//! else is waiting (so a burst of proposals or messages is handled as one batch), then
//! does the core's work in the order that makes persistence meaningful: persist, send,
//! apply, publish status.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{select, Receiver, Sender};
use parking_lot::Mutex;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::config::Config;
use crate::error::NotLeader;
use crate::log::{Payload, Snapshot};
use crate::membership::Membership;
use crate::message::Message;
use crate::raft::{Persisted, Raft, RaftConfig, Ready};
use crate::router::{self, Packet, Routable};
use crate::safety::SafetyChecker;
use crate::state_machine::StateMachine;
use crate::status::Status;
use crate::storage::SharedStorage;
use crate::trace::Trace;
use crate::types::{Index, NodeId, Role, Term};

/// Everything that travels through the router: Raft messages between nodes, and client
/// requests and replies between clients and nodes.
pub enum Wire<S: StateMachine> {
    /// A Raft message.
    Raft(Message<S::Command, S::Snapshot>),
    /// A client asks the node to run a command.
    ClientRequest {
        /// The client's id for this attempt, echoed in the reply.
        id: u64,
        /// The command.
        command: S::Command,
        /// Answer from the state machine with `StateMachine::query` after a ReadIndex
        /// round (dissertation §6.4) instead of appending the command to the log.
        read_only: bool,
    },
    /// The node's answer: the command's output once applied, or a redirect.
    ClientReply {
        /// The request's id.
        id: u64,
        /// The output, or NotLeader with a hint.
        result: Result<S::Output, NotLeader>,
    },
}

impl<S: StateMachine> Clone for Wire<S> {
    fn clone(&self) -> Self {
        match self {
            Wire::Raft(m) => Wire::Raft(m.clone()),
            Wire::ClientRequest {
                id,
                command,
                read_only,
            } => Wire::ClientRequest {
                id: *id,
                command: command.clone(),
                read_only: *read_only,
            },
            Wire::ClientReply { id, result } => Wire::ClientReply {
                id: *id,
                result: result.clone(),
            },
        }
    }
}

impl<S: StateMachine> std::fmt::Debug for Wire<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Wire::Raft(m) => write!(f, "{m:?}"),
            Wire::ClientRequest { id, command, .. } => write!(f, "ClientRequest#{id} {command:?}"),
            Wire::ClientReply { id, result } => write!(f, "ClientReply#{id} {result:?}"),
        }
    }
}

impl<S: StateMachine> Routable for Wire<S> {
    fn kind(&self) -> &'static str {
        match self {
            Wire::Raft(m) => m.kind(),
            Wire::ClientRequest { .. } => "ClientRequest",
            Wire::ClientReply { .. } => "ClientReply",
        }
    }
    fn term(&self) -> Term {
        match self {
            Wire::Raft(m) => m.term(),
            _ => 0,
        }
    }
    fn entries(&self) -> usize {
        match self {
            Wire::Raft(m) => m.entry_count(),
            _ => 0,
        }
    }
}

impl<S: StateMachine> Wire<S> {
    /// An estimate of the message's size on a wire, in bytes: a fixed header, plus per
    /// entry its index, term and command.
    pub fn size(&self) -> usize {
        const HEADER: usize = 48;
        const ENTRY: usize = 24;
        match self {
            Wire::Raft(Message::AppendEntries { entries, .. }) => {
                HEADER
                    + entries
                        .iter()
                        .map(|e| {
                            ENTRY
                                + match &e.payload {
                                    Payload::Command(c) => S::command_size(c),
                                    Payload::Config(m) => 8 * (m.voters.len() + m.learners.len()),
                                    Payload::Noop => 0,
                                }
                        })
                        .sum::<usize>()
            }
            Wire::Raft(Message::InstallSnapshot { snapshot, .. }) => {
                HEADER + std::mem::size_of_val(&snapshot.data)
            }
            Wire::Raft(_) => HEADER,
            Wire::ClientRequest { command, .. } => HEADER + S::command_size(command),
            Wire::ClientReply { result, .. } => HEADER + std::mem::size_of_val(result),
        }
    }
}

/// What the harness asks of a node thread.
pub enum Control<S: StateMachine> {
    /// Raft's Start(): propose a command and answer at once.
    Propose {
        /// The command.
        command: S::Command,
        /// Where the answer goes.
        reply: Sender<Result<(Index, Term), NotLeader>>,
    },
    /// Run a closure on the state machine.
    Inspect(Box<dyn FnOnce(&S) + Send>),
    /// Hand leadership to another node (§3.10).
    TransferLeader {
        /// The target.
        to: NodeId,
        /// Where the answer goes.
        reply: Sender<Result<(), NotLeader>>,
    },
    /// Propose a membership change (leader only).
    ChangeConfig {
        /// The change.
        change: crate::raft::ConfigChange,
        /// Where the answer goes: the config entry's index and term.
        reply: Sender<Result<(Index, Term), crate::error::Error>>,
    },
    /// Let the election timer fire now (a scripted timeout, for scenarios).
    FireElectionTimeout,
    /// Stop the thread now, losing all volatile state.
    Crash,
}

/// Counters a node updates and the harness reads.
#[derive(Debug, Default)]
pub struct Counters {
    /// Messages handed to the router.
    pub messages_sent: AtomicU64,
}

/// What a node thread shares with the harness.
pub(crate) struct NodeShared<S: StateMachine> {
    pub storage: SharedStorage<S::Command, S::Snapshot>,
    pub status: Arc<Mutex<Status>>,
    pub counters: Arc<Counters>,
    pub bytes_sent: Arc<AtomicU64>,
    pub trace: Arc<Trace>,
    pub checker: Option<Arc<Mutex<SafetyChecker<S::Command>>>>,
    pub router: Sender<router::Input<Wire<S>>>,
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

/// One node thread's state.
pub(crate) struct NodeRuntime<S: StateMachine> {
    id: NodeId,
    incarnation: u64,
    config: Config,
    core: Raft<S::Command, S::Snapshot>,
    sm: S,
    shared: NodeShared<S>,
    rng: SmallRng,
    start: Instant,
    election_deadline: Instant,
    heartbeat_deadline: Option<Instant>,
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
    /// Packets produced since the last flush, handed to the router in one batch.
    outbox: Vec<Packet<Wire<S>>>,
}

/// The most inbox messages handled before the core's output is carried out.
const BATCH: usize = 512;

impl<S: StateMachine + Default> NodeRuntime<S> {
    /// A node restored from its storage, not yet running.
    pub(crate) fn new(
        id: NodeId,
        incarnation: u64,
        config: Config,
        initial: Membership,
        shared: NodeShared<S>,
        seed: u64,
    ) -> Self {
        let persisted: Persisted<S::Command, S::Snapshot> = shared.storage.lock().load();
        let mut sm = S::default();
        if let Some(s) = &persisted.snapshot {
            sm.restore(s.data.clone());
        }
        let core = Raft::new(id, initial, RaftConfig::from(&config), persisted);
        let start = shared.trace.start();
        let now = Instant::now();
        let last_applied = core.last_applied();
        let mut node = NodeRuntime {
            id,
            incarnation,
            config,
            core,
            sm,
            shared,
            rng: SmallRng::seed_from_u64(seed),
            start,
            election_deadline: now,
            heartbeat_deadline: None,
            pending: VecDeque::new(),
            queries: BTreeMap::new(),
            confirmed: Vec::new(),
            next_query: 0,
            last_applied,
            outbox: Vec::new(),
        };
        node.reset_election_timer(now);
        node.publish_status();
        node
    }

    /// Runs until crashed (or the harness goes away).
    pub(crate) fn run(mut self, inbox: Receiver<Packet<Wire<S>>>, control: Receiver<Control<S>>) {
        let mut spin = crate::spin::Spin::new(self.config.busy_poll);
        loop {
            let now = Instant::now();
            let deadline = match self.heartbeat_deadline {
                Some(h) => h.min(self.election_deadline),
                None => self.election_deadline,
            };
            let wait = deadline.saturating_duration_since(now);
            // Busy a moment ago: poll the inbox briefly instead of parking (src/spin.rs).
            // A control message waits for the drain below, one spin at most.
            if let Some(p) = spin.poll(Some(deadline), || inbox.try_recv().ok()) {
                self.set_now();
                self.handle_packet(p);
            } else {
                let parked = Instant::now();
                select! {
                    recv(control) -> c => match c {
                        Ok(Control::Crash) | Err(_) => return,
                        Ok(c) => {
                            self.set_now();
                            self.handle_control(c)
                        }
                    },
                    recv(inbox) -> p => match p {
                        Ok(p) => {
                            // One clock reading per wake-up, not per message: what follows
                            // in the drain arrived within microseconds of it.
                            self.set_now();
                            self.handle_packet(p)
                        }
                        Err(_) => return,
                    },
                    default(wait) => {}
                }
                spin.woke(parked);
            }
            // Drain what else is waiting, so bursts become one batch of work.
            for _ in 0..BATCH {
                match control.try_recv() {
                    Ok(Control::Crash) => return,
                    Ok(c) => {
                        self.handle_control(c);
                        continue;
                    }
                    Err(crossbeam_channel::TryRecvError::Disconnected) => return,
                    Err(_) => {}
                }
                match inbox.try_recv() {
                    Ok(p) => self.handle_packet(p),
                    Err(_) => break,
                }
            }
            // Carry out what the steps decided before looking at the timers: a step may
            // have restarted the election timer (a heartbeat came, a vote was granted,
            // an election was won), and a deadline that passed while this thread waited
            // must not fire over that.
            self.handle_ready();
            if self.fire_timers() {
                self.handle_ready();
            }
        }
    }

    fn set_now(&mut self) -> Instant {
        let now = Instant::now();
        self.core.set_now(now.duration_since(self.start));
        now
    }

    fn reset_election_timer(&mut self, now: Instant) {
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

    /// Ticks the core for each deadline that passed; true if any did.
    fn fire_timers(&mut self) -> bool {
        let now = self.set_now();
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

    fn handle_packet(&mut self, p: Packet<Wire<S>>) {
        match p.msg {
            Wire::Raft(m) => {
                if log::log_enabled!(target: "raftsim", log::Level::Trace) {
                    let who = self.who();
                    self.shared.trace.note(
                        log::Level::Trace,
                        &who,
                        &format!("recv from n{}: {m:?}", p.from),
                    );
                }
                self.core.step(p.from, m);
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
                    Err(nl) => self.send(
                        p.from,
                        Wire::ClientReply {
                            id,
                            result: Err(nl),
                        },
                    ),
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
                Err(nl) => self.send(
                    p.from,
                    Wire::ClientReply {
                        id,
                        result: Err(nl),
                    },
                ),
            },
            Wire::ClientReply { .. } => {} // nodes get no replies
        }
    }

    fn handle_control(&mut self, c: Control<S>) {
        match c {
            Control::Propose { command, reply } => {
                let _ = reply.send(self.core.propose(command));
            }
            Control::Inspect(f) => f(&self.sm),
            Control::TransferLeader { to, reply } => {
                let _ = reply.send(self.core.transfer_leadership(to));
            }
            Control::FireElectionTimeout => {
                self.core.tick_election();
                self.reset_election_timer(Instant::now());
            }
            Control::ChangeConfig { change, reply } => {
                let _ = reply.send(self.core.propose_config(change));
            }
            Control::Crash => unreachable!("handled by the loop"),
        }
    }

    /// Carries out the core's output: persist, send, apply, then publish.
    fn handle_ready(&mut self) {
        let was_leader = self.heartbeat_deadline.is_some();
        let ready: Ready<S::Command, S::Snapshot> = self.core.take_ready();
        let wrote =
            ready.hard_state.is_some() || ready.log_dirty_from.is_some() || ready.snapshot_changed;
        if wrote {
            self.shared.storage.lock().persist(&ready, &self.core);
        }
        let Ready {
            mut messages,
            log_dirty_from,
            snapshot_to_restore,
            committed,
            reads,
            failed_reads,
            reset_election_timer,
            events,
            ..
        } = ready;
        // The step's events are recorded before anything of it leaves, so the trace
        // never shows an effect (a vote granted) before its cause (an election).
        let (term, role) = (self.core.term(), self.core.role());
        // The safety checker reads the events too (a leadership won and lost within
        // this batch shows only there), after the trace has them.
        let checked_events = self.shared.checker.as_ref().map(|_| events.clone());
        for e in events {
            self.shared.trace.record(Some(self.id), term, Some(role), e);
        }
        if wrote && !self.config.storage_latency.is_zero() {
            // A synchronous fsync. Replies wait for it: a granted vote or an
            // acknowledged entry must be durable first. With parallel_disk_writes,
            // every other message leaves now (dissertation §10.2.1): a leader writes
            // its log while its AppendEntries travel, a candidate records its own vote
            // while its RequestVotes do. This thread handles no reply, so counts no
            // follower's vote or acknowledgement, until the write is done.
            if self.config.parallel_disk_writes {
                let (replies, requests): (Vec<_>, Vec<_>) =
                    messages.into_iter().partition(|e| e.msg.is_reply());
                for env in requests {
                    self.send(env.to, Wire::Raft(env.msg));
                }
                self.flush();
                messages = replies;
            }
            std::thread::sleep(self.config.storage_latency);
        }
        let now = Instant::now();
        for env in messages {
            self.send(env.to, Wire::Raft(env.msg));
        }
        // Raft messages leave before applying and answering clients: a follower's
        // acknowledgement, or a leader's next AppendEntries, is on the critical path of
        // every write; the state machine's work is not.
        self.flush();
        if let Some(s) = snapshot_to_restore {
            self.restore(s);
        }
        self.apply(&committed);
        self.serve_reads(reads, failed_reads);
        if self.shared.checker.is_some() {
            // The clients' answers leave before the checker takes its lock: checking
            // is not on the path of a write.
            self.flush();
        }
        if let Some(checker) = &self.shared.checker {
            let out = crate::safety::StepOutput {
                events: checked_events.as_deref().unwrap_or_default(),
                log_dirty_from,
                committed: &committed,
            };
            checker
                .lock()
                .observe_step(self.id, self.incarnation, &self.core, out);
        }
        if reset_election_timer {
            self.reset_election_timer(now);
        }
        match (was_leader, role == Role::Leader) {
            (false, true) => {
                self.heartbeat_deadline = Some(now + self.config.heartbeat_interval);
            }
            (true, false) => {
                self.heartbeat_deadline = None;
                self.fail_pending();
                for (_, q) in std::mem::take(&mut self.confirmed) {
                    let leader = self.core.leader_id();
                    self.send(
                        q.client,
                        Wire::ClientReply {
                            id: q.id,
                            result: Err(NotLeader { leader }),
                        },
                    );
                }
            }
            _ => {}
        }
        if let Some(threshold) = self.config.snapshot_threshold {
            if self.core.snapshot_due(threshold) {
                self.take_snapshot();
            }
        }
        self.publish_status();
        self.flush();
    }

    /// Hands the packets produced so far to the router, in one channel operation.
    fn flush(&mut self) {
        match self.outbox.len() {
            0 => {}
            1 => {
                let p = self.outbox.pop().expect("one");
                let _ = self.shared.router.send(router::Input::Packet(p));
            }
            _ => {
                let batch = std::mem::take(&mut self.outbox);
                let _ = self.shared.router.send(router::Input::Batch(batch));
            }
        }
    }

    /// Queues a packet for the router; `flush` (at the end of each round of work)
    /// sends it. Persisting happens before, at the start of `handle_ready`.
    fn send(&mut self, to: NodeId, msg: Wire<S>) {
        self.shared
            .counters
            .messages_sent
            .fetch_add(1, Ordering::Relaxed);
        self.shared
            .bytes_sent
            .fetch_add(msg.size() as u64, Ordering::Relaxed);
        let packet = Packet {
            from: self.id,
            to,
            msg,
        };
        self.outbox.push(packet);
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
    fn apply(&mut self, committed: &[crate::log::Entry<S::Command>]) {
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
                    Some(out) if p.term == e.term => self.send(
                        p.client,
                        Wire::ClientReply {
                            id: p.id,
                            result: Ok(out),
                        },
                    ),
                    _ => self.reply_not_leader(p),
                }
            }
        }
        let (term, role) = (self.core.term(), self.core.role());
        self.shared.trace.record(
            Some(self.id),
            term,
            Some(role),
            crate::event::EventKind::Applied { from, to },
        );
    }

    /// Answers ReadIndex reads: confirmed ones once their read index is applied, failed
    /// ones with a redirect.
    fn serve_reads(&mut self, reads: Vec<crate::raft::ReadState>, failed: Vec<u64>) {
        for ctx in failed {
            if let Some(q) = self.queries.remove(&ctx) {
                let leader = self.core.leader_id().filter(|&l| l != self.id);
                self.send(
                    q.client,
                    Wire::ClientReply {
                        id: q.id,
                        result: Err(NotLeader { leader }),
                    },
                );
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
            self.send(q.client, Wire::ClientReply { id: q.id, result });
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
        self.send(
            p.client,
            Wire::ClientReply {
                id: p.id,
                result: Err(NotLeader { leader }),
            },
        );
    }

    fn take_snapshot(&mut self) {
        let index = self.core.last_applied();
        let data = self.sm.snapshot();
        self.core.compact(index, data);
        let ready = self.core.take_ready();
        self.shared.storage.lock().persist(&ready, &self.core);
        let (term, role) = (self.core.term(), self.core.role());
        for e in ready.events {
            self.shared.trace.record(Some(self.id), term, Some(role), e);
        }
        debug_assert!(ready.messages.is_empty() && ready.committed.is_empty());
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
    let mut x = cluster_seed
        ^ (id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ incarnation.wrapping_mul(0xD1B5_4A32_D192_ED03);
    // splitmix64 finalizer, so nearby inputs give unrelated seeds.
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// How long to wait between retries of something that did not work yet.
pub(crate) const RETRY_PAUSE: Duration = Duration::from_millis(5);
