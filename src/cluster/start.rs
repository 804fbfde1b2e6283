//! Starting a cluster: `new`, `with_config`, `try_with_config`, and `try_with_state`
//! for a cluster whose nodes start from given logs; then how each node is started, on
//! a thread of its own or in the simulated world.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use crossbeam_channel::unbounded;
use parking_lot::Mutex;

use super::{Backend, Cluster, Running, Slot, NET_STREAM};
use crate::config::{Config, Runtime};
use crate::driver::{node_seed, Counters, NodeDriver, NodeShared};
use crate::error::Error;
use crate::membership::Membership;
use crate::net::{NetChange, Network};
use crate::node::NodeRuntime;
use crate::raft::Persisted;
use crate::router::{self, RouterHandle};
use crate::safety::SafetyChecker;
use crate::sim::World;
use crate::state_machine::StateMachine;
use crate::status::Status;
use crate::storage::Storage;
use crate::trace::Trace;
use crate::types::NodeId;

/// Starting a cluster.
impl<S: StateMachine + Default> Cluster<S> {
    /// A cluster of `nodes` nodes (ids `0..nodes`) with `Config::default()`.
    #[track_caller]
    pub fn new(nodes: usize) -> Self {
        Self::with_config(nodes, Config::default())
    }

    /// A cluster with the given settings; panics with a clear message on an invalid
    /// `Config` (use [`Cluster::try_with_config`] to get the error instead).
    #[track_caller]
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

    pub(super) fn new_slot(&self, id: NodeId, initial: Membership) -> Slot<S> {
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
    pub(super) fn start_node(&self, id: NodeId) {
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
}

#[cfg(test)]
mod tests {
    use std::panic::{self, Location};
    use std::sync::Arc;

    use parking_lot::Mutex;

    use crate::kv::KvStore;
    use crate::state_machine::Noop;
    use crate::{Cluster, Config};

    /// Runs `f`, which must panic, and returns the file and line the panic names. The
    /// hook records panics of this thread only and passes others on.
    fn panic_location(f: impl FnOnce() + panic::UnwindSafe) -> (String, u32) {
        let seen: Arc<Mutex<Option<(String, u32)>>> = Arc::default();
        let me = std::thread::current().id();
        let previous = Arc::new(panic::take_hook());
        let (record, pass_on) = (seen.clone(), previous.clone());
        panic::set_hook(Box::new(move |info| match info.location() {
            Some(l) if std::thread::current().id() == me => {
                *record.lock() = Some((l.file().to_string(), l.line()));
            }
            _ => pass_on(info),
        }));
        let result = panic::catch_unwind(f);
        let _ = panic::take_hook();
        panic::set_hook(Box::new(move |info| previous(info)));
        assert!(result.is_err(), "expected a panic");
        let seen = seen.lock().clone();
        seen.expect("the hook saw the panic")
    }

    /// `#[track_caller]`: a constructor given bad input panics at the caller's line,
    /// not inside raftsim (whose `panic!` sits above, in this very file).
    #[test]
    fn invalid_input_panics_point_at_the_caller() {
        let first = line!();
        let bad = Config {
            heartbeat_interval: std::time::Duration::ZERO,
            ..Config::default()
        };
        let at = [
            panic_location(|| drop(Cluster::<Noop>::new(0))),
            panic_location(move || drop(Cluster::<Noop>::with_config(3, bad))),
            panic_location(|| drop(KvStore::with_max_sessions(0))),
        ];
        let last = line!();
        let here = Location::caller().file();
        for (file, line) in at {
            assert_eq!(
                file, here,
                "the panic names raftsim's code, not the caller's"
            );
            assert!(
                (first..=last).contains(&line),
                "line {line} is not the caller's"
            );
        }
    }
}
