//! The harness: builds the nodes and the router, and is the public entry point for
//! proposals, faults, observation and safety checks (the `Cluster` API of API.md).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{bounded, unbounded, Sender};
use parking_lot::Mutex;

use crate::config::{Config, NetConfig, Runtime};
use crate::driver::{node_seed, Counters, NodeDriver, NodeShared};
use crate::error::{Error, NotLeader};
use crate::event::{Event, EventKind};
use crate::membership::Membership;
use crate::net::{NetChange, Network};
use crate::node::{Control, NodeRuntime, Wire};
use crate::raft::Persisted;
use crate::router::{self, RouterHandle};
use crate::safety::{SafetyChecker, Violation};
use crate::sim::World;
use crate::state_machine::StateMachine;
use crate::status::Status;
use crate::storage::{SharedStorage, Storage};
use crate::trace::Trace;
use crate::transport::ClientLink;
use crate::types::{Index, NodeId, Role, Term};

mod reconfig;
mod stepping;

pub use stepping::LogView;

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

/// Where the nodes run: the threaded runtime's router (the nodes' threads are in their
/// slots), or the simulated world.
pub(crate) enum Backend<S: StateMachine> {
    /// One OS thread per node, one router thread, the wall clock.
    Threads(RouterHandle<Wire<S>>),
    /// Everything on the caller's thread, on a virtual clock.
    Sim(Arc<Mutex<World<S>>>),
}

/// A cluster of Raft nodes: by default each on its own OS thread, talking through one
/// router thread; with `Config::runtime = Runtime::Simulated`, all of them on the
/// caller's thread under a virtual clock, so that a seed replays a run exactly.
///
/// All methods take `&self`: a threaded `Cluster` can be shared by scoped threads
/// (concurrent clients, a fault-injecting thread). Dropping it stops every thread.
///
/// On the simulated runtime, time moves only inside raftsim: while a method waits
/// ([`Cluster::wait_for`], [`Cluster::propose_and_wait`], a client call,
/// [`Cluster::sleep`]), the simulation runs; faults and proposals take effect at the
/// current virtual instant. Concurrent clients are simulated actors
/// ([`crate::sim::Workload`]), not threads.
pub struct Cluster<S: StateMachine> {
    config: Config,
    seed: u64,
    initial: Membership,
    trace: Arc<Trace>,
    checker: Option<Arc<Mutex<SafetyChecker<S::Command>>>>,
    backend: Backend<S>,
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
        // Tests and examples (built with the harness) read RUST_LOG without setting
        // up a logger themselves; a library user installs their own.
        #[cfg(feature = "harness")]
        crate::logging::init();
        let seed = config.seed.unwrap_or_else(rand::random);
        let sim = config.runtime == Runtime::Simulated;
        let (enabled, messages, capacity) =
            (config.trace, config.trace_messages, config.trace_capacity);
        let trace = Arc::new(if sim {
            Trace::new_virtual(enabled, messages, capacity)
        } else {
            Trace::new(enabled, messages, capacity)
        });
        let runtime = if sim { "simulated" } else { "threaded" };
        trace.note(
            log::Level::Info,
            "cluster",
            &format!("starting {nodes} nodes on the {runtime} runtime, seed {seed}"),
        );
        let checker = config
            .check_safety
            .then(|| Arc::new(Mutex::new(SafetyChecker::new(trace.clone()))));
        let net_seed = crate::config::derive_seed(seed, NET_STREAM);
        let backend = if sim {
            let network = Network::new(config.net.clone(), net_seed);
            Backend::Sim(Arc::new(Mutex::new(World::new(network, trace.clone()))))
        } else {
            let busy_poll = config.busy_poll;
            let net = config.net.clone();
            Backend::Threads(RouterHandle::spawn(net, net_seed, trace.clone(), busy_poll))
        };
        let cluster = Cluster {
            initial: Membership::new(0..nodes),
            config,
            seed,
            trace,
            checker,
            backend,
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

    /// Starts node `id` from its storage: a new thread, or a new node in the world.
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
        };
        let seed = node_seed(self.seed, id, slot.incarnation);
        let (config, initial) = (self.config.clone(), slot.initial.clone());
        let incarnation = slot.incarnation;
        let driver = |now| NodeDriver::new(id, incarnation, config, initial, shared, seed, now);
        match &self.backend {
            Backend::Sim(world) => {
                let mut world = world.lock();
                let driver = driver(world.now());
                world.start(driver, incarnation);
            }
            Backend::Threads(rt) => {
                let start = self.trace.start();
                let driver = driver(start.elapsed());
                let runtime = NodeRuntime::new(driver, rt.sender(), start, self.config.busy_poll);
                let (inbox_tx, inbox_rx) = unbounded();
                let (control_tx, control_rx) = unbounded();
                rt.control(router::Control::Register(id, inbox_tx));
                rt.control(router::Control::Net(NetChange::SetAlive(id, true)));
                let join = std::thread::Builder::new()
                    .name(format!("raft-n{id}"))
                    .spawn(move || runtime.run(inbox_rx, control_rx))
                    .expect("spawn a node thread");
                slot.running = Some(Running {
                    control: control_tx,
                    join,
                });
            }
        }
    }

    /// Whether this cluster runs on the simulated runtime.
    pub fn is_simulated(&self) -> bool {
        matches!(self.backend, Backend::Sim(_))
    }

    /// How many events the simulation handled so far (0 on the threaded runtime).
    pub fn sim_events(&self) -> u64 {
        match &self.backend {
            Backend::Sim(world) => world.lock().events,
            Backend::Threads(_) => 0,
        }
    }

    /// The time since the cluster started: the wall clock's, or the simulation's.
    pub fn now(&self) -> Duration {
        match &self.backend {
            Backend::Sim(world) => world.lock().now(),
            Backend::Threads(_) => self.trace.start().elapsed(),
        }
    }

    /// Lets `d` pass: the calling thread sleeps, or the simulation runs for `d` of
    /// virtual time. Examples and tests use it instead of `std::thread::sleep`, so that
    /// they work on both runtimes.
    pub fn sleep(&self, d: Duration) {
        match &self.backend {
            Backend::Sim(world) => {
                let mut world = world.lock();
                let until = world.now() + d;
                world.run_until(until, |_| false);
            }
            Backend::Threads(_) => std::thread::sleep(d),
        }
    }

    /// Waits a little, never past `deadline`: the threads run meanwhile, or the
    /// simulation handles the events of its next instant. What polling loops call
    /// between two looks at the cluster.
    pub(crate) fn pause(&self, deadline: Duration) {
        match &self.backend {
            Backend::Sim(world) => {
                let mut world = world.lock();
                match world.next_event_at() {
                    Some(t) if t <= deadline => {
                        while world.next_event_at() == Some(t) {
                            world.step();
                        }
                    }
                    _ => world.advance_to(deadline),
                }
            }
            Backend::Threads(_) => {
                let left = deadline.saturating_sub(self.now());
                std::thread::sleep(crate::node::RETRY_PAUSE.min(left));
            }
        }
    }

    /// Runs `job` on node `id`'s driver, on its thread or in the world, and returns its
    /// result; `None` if the node is crashed or unknown.
    pub(crate) fn on_node<R: Send + 'static>(
        &self,
        id: NodeId,
        job: impl FnOnce(&mut NodeDriver<S>, Duration) -> R + Send + 'static,
    ) -> Option<R> {
        match &self.backend {
            Backend::Sim(world) => world.lock().with_node(id, job),
            Backend::Threads(_) => {
                let control = self.control_of(id)?;
                let (tx, rx) = bounded(1);
                let job = Box::new(move |d: &mut NodeDriver<S>, now| {
                    let _ = tx.send(job(d, now));
                });
                control.send(Control::Run(job)).ok()?;
                rx.recv().ok()
            }
        }
    }

    /// Applies a change to the links or the network's settings.
    fn net(&self, change: NetChange) {
        match &self.backend {
            Backend::Sim(world) => world.lock().net(change),
            Backend::Threads(rt) => rt.control(router::Control::Net(change)),
        }
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
        self.on_node(id, move |d, _| d.propose(command))
            .unwrap_or(Err(NotLeader { leader: None }))
    }

    /// Runs `f` on node `id`'s state machine, on the node's own thread between two
    /// steps. `None` while the node is crashed (or unknown).
    pub fn inspect<R: Send + 'static>(
        &self,
        id: NodeId,
        f: impl FnOnce(&S) -> R + Send + 'static,
    ) -> Option<R> {
        self.on_node(id, move |d, _| f(d.state_machine()))
    }

    /// Makes node `id`'s election timer fire now, as if it had timed out: scenarios use
    /// it to choose who campaigns (e.g. two nodes at once for a split vote). Does
    /// nothing for a crashed or unknown node.
    pub fn fire_election_timeout(&self, id: NodeId) {
        self.on_node(id, |d, now| d.fire_election_timeout(now));
    }

    /// Asks the leader `from` to hand leadership to `to` (§3.10).
    pub fn transfer_leader_from(&self, from: NodeId, to: NodeId) -> Result<(), Error> {
        if !self.slots.lock().contains_key(&to) {
            return Err(Error::UnknownNode(to));
        }
        self.on_node(from, move |d, _| d.transfer_leadership(to))
            .ok_or(Error::NodeCrashed(from))?
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
        match (&self.backend, running) {
            (Backend::Sim(world), _) => {
                if !world.lock().crash(id) {
                    return;
                }
            }
            (Backend::Threads(rt), Some(running)) => {
                rt.control(router::Control::Net(NetChange::SetAlive(id, false)));
                let _ = running.control.send(Control::Crash);
                let _ = running.join.join();
            }
            (Backend::Threads(_), None) => return,
        }
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
        self.net(NetChange::SetConnected(id, false));
        self.trace
            .record(None, 0, None, EventKind::Disconnected { node: id });
    }

    /// Same as [`Cluster::disconnect`]: the name raft-rs's harness uses.
    pub fn isolate(&self, id: NodeId) {
        self.disconnect(id);
    }

    /// Restores the links of `id` to the connected peers.
    pub fn connect(&self, id: NodeId) {
        self.net(NetChange::SetConnected(id, true));
        self.trace
            .record(None, 0, None, EventKind::Connected { node: id });
    }

    /// Only nodes in the same group can talk; a node in no group is alone. Clients reach
    /// every node, unless a group holds a client's address (`kv::Client::address`,
    /// `RawClient::address`): that client is then confined to its group's side.
    pub fn partition(&self, groups: &[&[NodeId]]) {
        let groups: Vec<Vec<NodeId>> = groups.iter().map(|g| g.to_vec()).collect();
        self.net(NetChange::Partition(groups.clone()));
        self.trace
            .record(None, 0, None, EventKind::Partitioned { groups });
    }

    /// No partition, every node connected again.
    pub fn heal(&self) {
        self.net(NetChange::Heal);
        self.trace.record(None, 0, None, EventKind::Healed);
    }

    /// Changes what the network does to messages from now on.
    pub fn set_net(&self, net: NetConfig) -> Result<(), Error> {
        net.validate()?;
        let text = format!("{net:?}");
        self.net(NetChange::SetNet(net));
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
        if self.is_simulated() {
            return; // a panic in the simulation happens on the caller's thread
        }
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
        let deadline = self.now() + timeout;
        loop {
            self.check_threads();
            if cond(&self.statuses()) {
                return Ok(());
            }
            if self.now() >= deadline {
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
            self.pause(deadline);
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
        let deadline = self.now() + timeout;
        while self.now() < deadline {
            self.check_threads();
            let Some(leader) = self.leader() else {
                self.pause(deadline);
                continue;
            };
            let Ok((index, term)) = self.propose(leader, command.clone()) else {
                self.pause(deadline);
                continue;
            };
            // Wait for it to commit at that index in that term, or for the term to pass.
            while self.now() < deadline {
                let st = self.statuses();
                let applied = st
                    .iter()
                    .filter(|s| s.alive && s.last_applied >= index)
                    .count();
                let committed = self.commit_of(index, term);
                if applied >= replicas && committed == Commit::Ours {
                    return Ok(index);
                }
                // Another leader's entry committed at that index: ours is gone for good,
                // so propose again rather than wait out the deadline.
                if committed == Commit::Replaced {
                    break;
                }
                let moved_on = st.iter().any(|s| s.term > term);
                if moved_on && applied == 0 {
                    break;
                }
                self.pause(deadline);
            }
            // Let time pass before trying again: the node that looked like the leader
            // may be a stale one that has not heard of the newer term yet, and asking
            // it again at once would spin (forever, on the simulated runtime).
            self.pause(deadline);
        }
        Err(Error::Timeout)
    }

    /// Whether the entry proposed at `(index, term)` committed, from the nodes' stored
    /// logs and snapshots.
    ///
    /// A live node that committed `index` and still holds it in its log tells its term.
    /// Once every node compacted past `index` (§7), only snapshots are left, and a
    /// snapshot gives the term of its last entry alone; everything it covers is
    /// committed. With `index <= last_index`:
    /// - `last_term == term`: ours committed. The snapshot's last entry was created by
    ///   the one leader of `term` (§5.2, Election Safety), which held ours at `index`
    ///   from the proposal on (Leader Append-Only) and created later entries at higher
    ///   indexes; so its log at that entry's creation had ours at `index`, and by Log
    ///   Matching so does the committed log.
    /// - `last_term < term`: another entry committed there (terms never decrease along
    ///   a log, so the entry at `index` has a term `<= last_term`).
    /// - `last_term > term`: not decidable from this snapshot; ask the next node.
    pub(crate) fn commit_of(&self, index: Index, term: Term) -> Commit {
        let slots = self.slots.lock();
        for slot in slots.values() {
            let status = slot.status.lock();
            let committed_here = status.alive && status.commit_index >= index;
            drop(status);
            let storage = slot.storage.lock();
            let log = &storage.persisted().log;
            if committed_here {
                if let Some(t) = log.term_at(index) {
                    return Commit::of(t == term);
                }
            }
            // A snapshot covers committed entries only, so a crashed node's counts too.
            let (last_index, last_term) = (log.snapshot_index(), log.snapshot_term());
            if index <= last_index && last_term <= term {
                return Commit::of(last_term == term);
            }
        }
        Commit::Unknown
    }
    /// A fresh client address (clients' addresses are never reused).
    pub(crate) fn new_client_addr(&self) -> NodeId {
        crate::net::CLIENT_ADDR_BASE + self.next_client.fetch_add(1, Ordering::Relaxed) as NodeId
    }

    /// A new client endpoint: its address on the network, and how it sends and
    /// receives on this cluster's runtime.
    pub(crate) fn connect_client(&self) -> ClientLink<S> {
        let addr = self.new_client_addr();
        match &self.backend {
            Backend::Sim(world) => {
                world.lock().open_mailbox(addr);
                ClientLink::simulated(
                    addr,
                    world.clone(),
                    self.directory.clone(),
                    self.trace.clone(),
                )
            }
            Backend::Threads(rt) => {
                let (tx, rx) = unbounded();
                rt.control(router::Control::Register(addr, tx));
                ClientLink::threaded(
                    addr,
                    rt.sender(),
                    rx,
                    self.directory.clone(),
                    self.trace.clone(),
                    self.config.busy_poll,
                )
            }
        }
    }

    /// The simulated world, when running on the simulated runtime.
    pub(crate) fn world(&self) -> Option<&Arc<Mutex<World<S>>>> {
        match &self.backend {
            Backend::Sim(world) => Some(world),
            Backend::Threads(_) => None,
        }
    }

    /// The ids of the voting members, as clients see them (whom to ask).
    pub(crate) fn directory(&self) -> &Arc<Mutex<Vec<NodeId>>> {
        &self.directory
    }
}

/// What the harness knows of a proposed entry (see [`Cluster::commit_of`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Commit {
    /// The entry committed at its index.
    Ours,
    /// Another entry committed at its index: it never will.
    Replaced,
    /// Not known (yet).
    Unknown,
}

impl Commit {
    fn of(ours: bool) -> Commit {
        if ours {
            Commit::Ours
        } else {
            Commit::Replaced
        }
    }
}

/// The name of the network's random stream (see `config::derive_seed`).
const NET_STREAM: u64 = 0x6e65_7477_6f72_6b00; // "network"

impl<S: StateMachine> Drop for Cluster<S> {
    fn drop(&mut self) {
        let slots = std::mem::take(&mut *self.slots.lock());
        for (_, slot) in slots {
            if let Some(r) = slot.running {
                let _ = r.control.send(Control::Crash);
                let _ = r.join.join();
            }
        }
        if let Backend::Threads(rt) = &mut self.backend {
            rt.stop();
        }
    }
}
