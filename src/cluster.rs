//! The harness: builds the nodes and the router, and is the public entry point for
//! proposals, faults, observation and safety checks (the `Cluster` API of API.md).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, unbounded, Sender};
use parking_lot::Mutex;

use crate::config::{Config, NetConfig};
use crate::error::{Error, NotLeader};
use crate::event::{Event, EventKind};
use crate::membership::Membership;
use crate::node::{node_seed, Control, Counters, NodeRuntime, NodeShared, Wire};
use crate::raft::Persisted;
use crate::router::{self, RouterHandle};
use crate::safety::{SafetyChecker, Violation};
use crate::state_machine::StateMachine;
use crate::status::Status;
use crate::storage::{SharedStorage, Storage};
use crate::trace::Trace;
use crate::types::{Index, NodeId, Role, Term};

mod reconfig;

/// A running node thread.
struct Running<S: StateMachine> {
    control: Sender<Control<S>>,
    join: JoinHandle<()>,
}

/// Everything the harness keeps per node, alive or crashed.
struct Slot<S: StateMachine> {
    storage: SharedStorage<S::Command, S::Snapshot>,
    status: Arc<Mutex<Status>>,
    counters: Arc<Counters>,
    incarnation: u64,
    running: Option<Running<S>>,
    /// The configuration the node starts from before its log says otherwise: the
    /// cluster's first one for the original nodes, none for nodes added later.
    initial: Membership,
}

/// A cluster of Raft nodes, each on its own OS thread, talking through one router thread.
///
/// All methods take `&self`: a `Cluster` can be shared by scoped threads (concurrent
/// clients, a fault-injecting thread). Dropping it stops every thread.
pub struct Cluster<S: StateMachine> {
    config: Config,
    seed: u64,
    initial: Membership,
    trace: Arc<Trace>,
    checker: Option<Arc<Mutex<SafetyChecker<S::Command>>>>,
    router: RouterHandle<Wire<S>>,
    bytes_sent: Arc<AtomicU64>,
    slots: Mutex<BTreeMap<NodeId, Slot<S>>>,
    /// Serializes fault operations, so concurrent crash/restart of one node stay ordered.
    faults: Mutex<()>,
    next_client: AtomicU64,
    /// The next fresh node id.
    next_node: AtomicU64,
    /// The ids of the members, shared with clients so they know whom to ask.
    directory: Arc<Mutex<Vec<NodeId>>>,
}

impl<S: StateMachine + Default> Cluster<S> {
    /// A cluster of `nodes` nodes (ids `0..nodes`) with `Config::default()`.
    pub fn new(nodes: usize) -> Self {
        Self::with_config(nodes, Config::default())
    }

    /// A cluster with the given settings; panics with a clear message on an invalid
    /// `Config` (use [`Cluster::try_with_config`] to get the error instead).
    pub fn with_config(nodes: usize, config: Config) -> Self {
        match Self::try_with_config(nodes, config) {
            Ok(c) => c,
            Err(e) => panic!("Cluster::with_config: {e}"),
        }
    }

    /// A cluster with the given settings, or the reason they cannot work.
    pub fn try_with_config(nodes: usize, config: Config) -> Result<Self, Error> {
        Self::try_with_state(config, (0..nodes).map(|_| Persisted::default()).collect())
    }

    /// A cluster whose node `i` starts from `persisted[i]` (term, vote, log, snapshot)
    /// instead of empty storage: how scenarios build the paper's figures (e.g. the logs
    /// of Figure 7) and then let the real nodes run.
    pub fn try_with_state(
        config: Config,
        persisted: Vec<Persisted<S::Command, S::Snapshot>>,
    ) -> Result<Self, Error> {
        config.validate()?;
        let nodes = persisted.len();
        if nodes == 0 {
            return Err(Error::InvalidConfig(
                "a cluster needs at least one node".into(),
            ));
        }
        crate::logging::init();
        let seed = config.seed.unwrap_or_else(rand::random);
        let trace = Arc::new(Trace::new(
            config.trace,
            config.trace_messages,
            config.trace_capacity,
        ));
        trace.note(
            log::Level::Info,
            "cluster",
            &format!("starting {nodes} nodes, seed {seed}"),
        );
        let checker = config
            .check_safety
            .then(|| Arc::new(Mutex::new(SafetyChecker::new(trace.clone()))));
        let router = RouterHandle::spawn(config.net.clone(), seed, trace.clone(), config.busy_poll);
        let cluster = Cluster {
            initial: Membership::new(0..nodes),
            config,
            seed,
            trace,
            checker,
            router,
            bytes_sent: Arc::new(AtomicU64::new(0)),
            slots: Mutex::new(BTreeMap::new()),
            faults: Mutex::new(()),
            next_client: AtomicU64::new(0),
            next_node: AtomicU64::new(nodes as u64),
            directory: Arc::new(Mutex::new((0..nodes).collect())),
        };
        for (id, state) in persisted.into_iter().enumerate() {
            let slot = cluster.new_slot(id, cluster.initial.clone());
            slot.storage.lock().replace(state);
            cluster.slots.lock().insert(id, slot);
            cluster.start_node(id);
        }
        Ok(cluster)
    }

    fn new_slot(&self, id: NodeId, initial: Membership) -> Slot<S> {
        Slot {
            initial,
            storage: Arc::new(Mutex::new(Storage::default())),
            status: Arc::new(Mutex::new(Status::unknown(id))),
            counters: Arc::new(Counters::default()),
            incarnation: 0,
            running: None,
        }
    }

    /// Spawns the thread of node `id` from its storage.
    fn start_node(&self, id: NodeId) {
        let mut slots = self.slots.lock();
        let slot = slots.get_mut(&id).expect("slot exists");
        slot.incarnation += 1;
        let shared = NodeShared {
            storage: slot.storage.clone(),
            status: slot.status.clone(),
            counters: slot.counters.clone(),
            bytes_sent: self.bytes_sent.clone(),
            trace: self.trace.clone(),
            checker: self.checker.clone(),
            router: self.router.sender(),
        };
        let seed = node_seed(self.seed, id, slot.incarnation);
        let runtime = NodeRuntime::<S>::new(
            id,
            slot.incarnation,
            self.config.clone(),
            slot.initial.clone(),
            shared,
            seed,
        );
        let (inbox_tx, inbox_rx) = unbounded();
        let (control_tx, control_rx) = unbounded();
        self.router.control(router::Control::Register(id, inbox_tx));
        self.router.control(router::Control::SetAlive(id, true));
        let join = std::thread::Builder::new()
            .name(format!("raft-n{id}"))
            .spawn(move || runtime.run(inbox_rx, control_rx))
            .expect("spawn a node thread");
        slot.running = Some(Running {
            control: control_tx,
            join,
        });
    }

    /// The id the next added node gets: ids are never reused, even after removal.
    fn next_node_id(&self) -> NodeId {
        let n = self.next_node.fetch_add(1, Ordering::Relaxed);
        n as NodeId
    }

    /// Every node ever started and not removed, in id order.
    pub fn ids(&self) -> Vec<NodeId> {
        self.slots.lock().keys().copied().collect()
    }

    /// The seed this run uses (from `Config::seed`, or drawn at start).
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The settings the cluster was built with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// A point-in-time view of node `id`. For a crashed node, its persisted term, vote
    /// and log; for an unknown id, an all-zero status with `alive == false`.
    pub fn status(&self, id: NodeId) -> Status {
        self.try_status(id).unwrap_or_else(|_| Status::unknown(id))
    }

    /// Like [`Cluster::status`], but an unknown id is an error.
    pub fn try_status(&self, id: NodeId) -> Result<Status, Error> {
        let slots = self.slots.lock();
        let slot = slots.get(&id).ok_or(Error::UnknownNode(id))?;
        let status = slot.status.lock().clone();
        Ok(status)
    }

    /// The status of every node, in id order.
    pub fn statuses(&self) -> Vec<Status> {
        let slots = self.slots.lock();
        slots.values().map(|s| s.status.lock().clone()).collect()
    }

    fn control_of(&self, id: NodeId) -> Option<Sender<Control<S>>> {
        let slots = self.slots.lock();
        slots.get(&id)?.running.as_ref().map(|r| r.control.clone())
    }

    /// Raft's Start(): returns at once with the index the command will occupy if it
    /// commits and the leader's term; the entry may or may not commit later. A follower,
    /// a crashed node or an unknown id answers `NotLeader` (with a hint where known).
    pub fn propose(&self, id: NodeId, command: S::Command) -> Result<(Index, Term), NotLeader> {
        let Some(control) = self.control_of(id) else {
            return Err(NotLeader { leader: None });
        };
        let (tx, rx) = bounded(1);
        if control
            .send(Control::Propose { command, reply: tx })
            .is_err()
        {
            return Err(NotLeader { leader: None });
        }
        rx.recv().unwrap_or(Err(NotLeader { leader: None }))
    }

    /// Runs `f` on node `id`'s state machine, on the node's own thread between two
    /// steps. `None` while the node is crashed (or unknown).
    pub fn inspect<R: Send + 'static>(
        &self,
        id: NodeId,
        f: impl FnOnce(&S) -> R + Send + 'static,
    ) -> Option<R> {
        let control = self.control_of(id)?;
        let (tx, rx) = bounded(1);
        let job = Box::new(move |s: &S| {
            let _ = tx.send(f(s));
        });
        control.send(Control::Inspect(job)).ok()?;
        rx.recv().ok()
    }

    /// Makes node `id`'s election timer fire now, as if it had timed out: scenarios use
    /// it to choose who campaigns (e.g. two nodes at once for a split vote). Does
    /// nothing for a crashed or unknown node.
    pub fn fire_election_timeout(&self, id: NodeId) {
        if let Some(control) = self.control_of(id) {
            let _ = control.send(Control::FireElectionTimeout);
        }
    }

    /// Asks the leader `from` to hand leadership to `to` (§3.10).
    pub fn transfer_leader_from(&self, from: NodeId, to: NodeId) -> Result<(), Error> {
        if !self.slots.lock().contains_key(&to) {
            return Err(Error::UnknownNode(to));
        }
        let control = self.control_of(from).ok_or(Error::NodeCrashed(from))?;
        let (tx, rx) = bounded(1);
        control
            .send(Control::TransferLeader { to, reply: tx })
            .map_err(|_| Error::NodeCrashed(from))?;
        rx.recv()
            .map_err(|_| Error::NodeCrashed(from))?
            .map_err(Error::NotLeader)
    }

    // ---- faults --------------------------------------------------------------------

    /// Crashes node `id`: its thread stops and its volatile state is lost; what it
    /// persisted stays. Crashing a crashed or unknown node does nothing.
    pub fn crash(&self, id: NodeId) {
        let _f = self.faults.lock();
        let running = {
            let mut slots = self.slots.lock();
            let Some(slot) = slots.get_mut(&id) else {
                self.trace.note(
                    log::Level::Warn,
                    "cluster",
                    &format!("crash({id}): no such node"),
                );
                return;
            };
            slot.running.take()
        };
        let Some(running) = running else { return };
        self.router.control(router::Control::SetAlive(id, false));
        let _ = running.control.send(Control::Crash);
        let _ = running.join.join();
        let slots = self.slots.lock();
        let slot = slots.get(&id).expect("slot exists");
        let (term, persisted_status) = {
            let storage = slot.storage.lock();
            let p = storage.persisted();
            let mut st = slot.status.lock().clone();
            st.alive = false;
            st.role = Role::Follower;
            st.term = p.hard_state.current_term;
            st.voted_for = p.hard_state.voted_for;
            st.leader = None;
            st.snapshot_index = p.log.snapshot_index();
            st.last_log_index = p.log.last_index();
            st.last_log_term = p.log.last_term();
            (p.hard_state.current_term, st)
        };
        *slot.status.lock() = persisted_status;
        self.trace.record(Some(id), term, None, EventKind::Crashed);
    }

    /// Restarts node `id` on a fresh thread from its persisted state (term, vote, log,
    /// snapshot). Restarting a running node crashes it first. Link state is untouched:
    /// a disconnected node stays disconnected.
    pub fn restart(&self, id: NodeId) {
        if !self.slots.lock().contains_key(&id) {
            self.trace.note(
                log::Level::Warn,
                "cluster",
                &format!("restart({id}): no such node"),
            );
            return;
        }
        self.crash(id);
        let _f = self.faults.lock();
        let (term, last) = {
            let slots = self.slots.lock();
            // remove_node may have discarded the node since the check above.
            let Some(slot) = slots.get(&id) else { return };
            let mut storage = slot.storage.lock();
            if self.config.unsafe_forget_vote_on_restart {
                storage.forget_vote();
            }
            let p = storage.persisted();
            (p.hard_state.current_term, p.log.last_index())
        };
        self.trace.record(
            Some(id),
            term,
            None,
            EventKind::Restarted {
                last_log_index: last,
            },
        );
        self.start_node(id);
    }

    /// Cuts every link to and from `id`.
    pub fn disconnect(&self, id: NodeId) {
        self.router
            .control(router::Control::SetConnected(id, false));
        self.trace
            .record(None, 0, None, EventKind::Disconnected { node: id });
    }

    /// Same as [`Cluster::disconnect`]: the name raft-rs's harness uses.
    pub fn isolate(&self, id: NodeId) {
        self.disconnect(id);
    }

    /// Restores the links of `id` to the connected peers.
    pub fn connect(&self, id: NodeId) {
        self.router.control(router::Control::SetConnected(id, true));
        self.trace
            .record(None, 0, None, EventKind::Connected { node: id });
    }

    /// Only nodes in the same group can talk; a node in no group is alone. Clients reach
    /// every node, unless a group holds a client's address (`kv::Client::address`,
    /// `RawClient::address`): that client is then confined to its group's side.
    pub fn partition(&self, groups: &[&[NodeId]]) {
        let groups: Vec<Vec<NodeId>> = groups.iter().map(|g| g.to_vec()).collect();
        self.router
            .control(router::Control::Partition(groups.clone()));
        self.trace
            .record(None, 0, None, EventKind::Partitioned { groups });
    }

    /// No partition, every node connected again.
    pub fn heal(&self) {
        self.router.control(router::Control::Heal);
        self.trace.record(None, 0, None, EventKind::Healed);
    }

    /// Changes what the network does to messages from now on.
    pub fn set_net(&self, net: NetConfig) -> Result<(), Error> {
        net.validate()?;
        let text = format!("{net:?}");
        self.router.control(router::Control::SetNet(net));
        self.trace
            .record(None, 0, None, EventKind::NetChanged { net: text });
        Ok(())
    }

    // ---- observation ---------------------------------------------------------------

    /// Every message node `id` handed to the router.
    pub fn messages_sent(&self, id: NodeId) -> u64 {
        let slots = self.slots.lock();
        slots
            .get(&id)
            .map_or(0, |s| s.counters.messages_sent.load(Ordering::Relaxed))
    }

    /// Messages sent by all nodes together.
    pub fn total_messages_sent(&self) -> u64 {
        self.ids().into_iter().map(|i| self.messages_sent(i)).sum()
    }

    /// An estimate of the bytes all nodes sent (commands counted by their size).
    pub fn bytes_sent(&self) -> u64 {
        self.bytes_sent.load(Ordering::Relaxed)
    }

    /// The structured event trace so far, oldest first.
    pub fn trace(&self) -> Vec<Event> {
        self.trace.events()
    }

    /// The trace handle (for JSON export and the last events).
    pub fn trace_log(&self) -> &Arc<Trace> {
        &self.trace
    }

    /// Every safety violation found so far (empty when the checks are off).
    pub fn violations(&self) -> Vec<Violation> {
        self.checker
            .as_ref()
            .map(|c| c.lock().violations().to_vec())
            .unwrap_or_default()
    }

    /// Panics, printing each violation with the events that led to it, if any safety
    /// property was broken. Tests call this (and `Drop` in debug builds does not).
    pub fn assert_safe(&self) {
        let v = self.violations();
        if !v.is_empty() {
            let text: Vec<String> = v.iter().map(|v| v.to_string()).collect();
            panic!(
                "{} safety violation(s) (seed {}):\n{}",
                v.len(),
                self.seed,
                text.join("\n")
            );
        }
    }

    /// Panics if a node thread died on its own: that is a panic inside Raft (a broken
    /// invariant, printed above), and the run cannot be trusted any more.
    pub fn check_threads(&self) {
        let slots = self.slots.lock();
        for (id, slot) in slots.iter() {
            if slot.running.as_ref().is_some_and(|r| r.join.is_finished()) {
                panic!(
                    "node n{id}'s thread died (its panic is printed above); seed {}",
                    self.seed
                );
            }
        }
    }

    /// The node that leads the highest term among live nodes, if any.
    pub fn leader(&self) -> Option<NodeId> {
        self.statuses()
            .into_iter()
            .filter(|s| s.alive && s.role == Role::Leader)
            .max_by_key(|s| s.term)
            .map(|s| s.id)
    }

    /// Every live node's status, one per line, and the last `n` trace events: what a
    /// failing test prints.
    pub fn dump(&self, n: usize) -> String {
        let mut out = format!("seed {}\n", self.seed);
        for s in self.statuses() {
            out.push_str(&format!("  {s}\n"));
        }
        out.push_str(&format!("last {n} events:\n"));
        for e in self.trace.tail(n) {
            out.push_str(&format!("  {e}\n"));
        }
        out
    }

    /// What a failing test prints: [`dump`](Self::dump) of the statuses and last 40
    /// events, then the last 40 protocol events (the router's message fates left out,
    /// as they drown the story).
    pub fn failure_report(&self) -> String {
        let mut out = format!("---- cluster state at the failure ----\n{}", self.dump(40));
        out.push_str("last protocol events (messages left out):\n");
        let events = self.trace();
        let protocol: Vec<&Event> = events
            .iter()
            .filter(|e| !matches!(e.kind, EventKind::Message { .. }))
            .collect();
        for e in &protocol[protocol.len().saturating_sub(40)..] {
            out.push_str(&format!("  {e}\n"));
        }
        out
    }

    /// Waits until `cond` holds of the statuses, checking as they change, or fails
    /// after `timeout` with the cluster's state.
    pub fn wait_for(
        &self,
        what: &str,
        timeout: Duration,
        mut cond: impl FnMut(&[Status]) -> bool,
    ) -> Result<(), Error> {
        let deadline = Instant::now() + timeout;
        loop {
            self.check_threads();
            if cond(&self.statuses()) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                self.trace.note(
                    log::Level::Warn,
                    "cluster",
                    &format!(
                        "gave up waiting for {what} after {timeout:?}\n{}",
                        self.dump(30)
                    ),
                );
                return Err(Error::Timeout);
            }
            std::thread::sleep(crate::node::RETRY_PAUSE);
        }
    }

    /// Waits for a live node that leads with a majority of its voters (itself included)
    /// alive, in its term and following it, and returns it. A leader cut off in a
    /// minority (§6.4's stale leader) is not returned: its followers never hear it.
    pub fn wait_for_leader(&self, timeout: Duration) -> Result<NodeId, Error> {
        let mut found = None;
        self.wait_for("a leader followed by a majority", timeout, |st| {
            found = st
                .iter()
                .filter(|l| l.alive && l.role == Role::Leader && Self::has_majority(l, st))
                .max_by_key(|l| l.term)
                .map(|l| l.id);
            found.is_some()
        })?;
        Ok(found.expect("set when the wait succeeded"))
    }

    /// Whether a majority of `leader`'s voters are alive, in its term and follow it.
    fn has_majority(leader: &Status, st: &[Status]) -> bool {
        let following = leader
            .members
            .iter()
            .filter(|&&m| {
                st.iter().any(|s| {
                    s.id == m
                        && s.alive
                        && s.term == leader.term
                        && (s.id == leader.id || s.leader == Some(leader.id))
                })
            })
            .count();
        following * 2 > leader.members.len()
    }

    /// Proposes `command` to whichever node leads, retrying through elections, and
    /// waits until at least `replicas` live nodes applied it at its index. Returns the
    /// index. Fails with `Timeout` (outcome unknown) after `timeout`.
    pub fn propose_and_wait(
        &self,
        command: S::Command,
        replicas: usize,
        timeout: Duration,
    ) -> Result<Index, Error> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            self.check_threads();
            let Some(leader) = self.leader() else {
                std::thread::sleep(crate::node::RETRY_PAUSE);
                continue;
            };
            let Ok((index, term)) = self.propose(leader, command.clone()) else {
                std::thread::sleep(crate::node::RETRY_PAUSE);
                continue;
            };
            // Wait for it to commit at that index in that term, or for the term to pass.
            while Instant::now() < deadline {
                let st = self.statuses();
                let applied = st
                    .iter()
                    .filter(|s| s.alive && s.last_applied >= index)
                    .count();
                let committed = self.committed_term(index);
                if applied >= replicas && committed == Some(term) {
                    return Ok(index);
                }
                // Another leader's entry committed at that index: ours is gone for good,
                // so propose again rather than wait out the deadline.
                if committed.is_some_and(|t| t != term) {
                    break;
                }
                let moved_on = st.iter().any(|s| s.term > term);
                if moved_on && applied == 0 {
                    break;
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        Err(Error::Timeout)
    }

    /// The term of the entry at `index` on a live node that has committed it.
    fn committed_term(&self, index: Index) -> Option<Term> {
        let slots = self.slots.lock();
        for slot in slots.values() {
            if slot.running.is_none() || slot.status.lock().commit_index < index {
                continue;
            }
            let storage = slot.storage.lock();
            if let Some(t) = storage.persisted().log.term_at(index) {
                return Some(t);
            }
        }
        None
    }

    /// Registers a new client endpoint on the router: its address, where it sends, and
    /// the shared list of members.
    pub(crate) fn connect_client(&self, inbox: Sender<router::Packet<Wire<S>>>) -> ClientLink<S> {
        let addr =
            router::CLIENT_ADDR_BASE + self.next_client.fetch_add(1, Ordering::Relaxed) as NodeId;
        self.router.control(router::Control::Register(addr, inbox));
        ClientLink {
            addr,
            router: self.router.sender(),
            members: self.directory.clone(),
            trace: self.trace.clone(),
            busy_poll: self.config.busy_poll,
        }
    }
}

/// What a client needs to talk to the cluster through the router.
pub(crate) struct ClientLink<S: StateMachine> {
    /// The client's address on the router.
    pub addr: NodeId,
    /// Where to send requests.
    pub router: Sender<router::Input<Wire<S>>>,
    /// The current members.
    pub members: Arc<Mutex<Vec<NodeId>>>,
    /// For log lines.
    pub trace: Arc<Trace>,
    /// `Config::busy_poll`.
    pub busy_poll: Duration,
}

impl<S: StateMachine> ClientLink<S> {
    /// Sends a packet from this client.
    pub fn send(&self, to: NodeId, msg: Wire<S>) {
        let p = router::Packet {
            from: self.addr,
            to,
            msg,
        };
        let _ = self.router.send(router::Input::Packet(p));
    }
}

impl<S: StateMachine> Drop for ClientLink<S> {
    fn drop(&mut self) {
        let (ack, _) = bounded(1);
        let _ = self.router.send(router::Input::Control(
            router::Control::Unregister(self.addr),
            ack,
        ));
    }
}

impl<S: StateMachine> Drop for Cluster<S> {
    fn drop(&mut self) {
        let slots = std::mem::take(&mut *self.slots.lock());
        for (_, slot) in slots {
            if let Some(r) = slot.running {
                let _ = r.control.send(Control::Crash);
                let _ = r.join.join();
            }
        }
        self.router.stop();
    }
}
