//! The harness: builds the nodes and the runtime they run on, and is the public entry
//! point for clients, proposals, faults, membership changes, observation and safety
//! checks.
//!
//! [`Cluster`]'s methods are grouped by concept, one file each, in the order a user
//! meets them (and rustdoc lists them): starting a cluster (`start.rs`), clients
//! (`clients.rs`), proposing (`propose.rs`), reading the nodes' state and waiting
//! for it (`state.rs`), faults (`faults.rs`), membership and leadership transfer
//! (`reconfig.rs`), observation (`observe.rs`), then the advanced part: time, the
//! runtime and scripting a node (`runtime.rs`), and exact stepping on the simulated
//! runtime — holding, delivering and dropping messages, frozen timers — for scripts
//! (`stepping.rs`).

use std::collections::BTreeMap;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam_channel::Sender;
use parking_lot::Mutex;

use crate::config::Config;
use crate::driver::Counters;
use crate::membership::Membership;
use crate::node::{Control, Wire};
use crate::router::RouterHandle;
use crate::safety::SafetyChecker;
use crate::sim::World;
use crate::state_machine::StateMachine;
use crate::status::Status;
use crate::storage::SharedStorage;
use crate::trace::Trace;
use crate::types::NodeId;

// The order of these modules is the order of `Cluster`'s methods in rustdoc; the
// blank lines keep rustfmt from sorting them.
mod start;

mod clients;

mod propose;

mod state;

mod faults;

mod reconfig;

mod observe;

mod runtime;

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
///
/// The methods come in this order: starting a cluster, clients, proposing, reading the
/// nodes' state, faults, membership, observation, then the advanced ones (time, the
/// runtime, scripting a node).
///
/// ```
/// use std::time::Duration;
/// use raftsim::state_machine::Recorder;
/// use raftsim::{Cluster, Config, Role};
///
/// // Five nodes on the simulated runtime: a seed replays the run exactly.
/// let config = Config { seed: Some(1), ..Config::default().simulated() };
/// let cluster: Cluster<Recorder<u64>> = Cluster::with_config(5, config);
/// let leader = cluster.wait_for_leader(Duration::from_secs(5))?;
/// assert_eq!(cluster.status(leader).role, Role::Leader);
///
/// // Raft's Start(): returns at once with the index the command will take if it commits.
/// let (index, term) = cluster.propose(leader, 7).expect("it leads");
/// cluster.wait_for("every node to apply it", Duration::from_secs(5), |st| {
///     st.iter().all(|s| s.last_applied >= index)
/// })?;
///
/// // Crash the leader: the others elect a new one in a later term and go on.
/// cluster.crash(leader);
/// let index = cluster.propose_and_wait(8, 4, Duration::from_secs(5))?;
/// let next = cluster.wait_for_leader(Duration::from_secs(5))?;
/// assert!(next != leader && cluster.status(next).term > term);
/// cluster.restart(leader); // from its persisted term, vote and log
/// cluster.wait_for("the old leader to catch up", Duration::from_secs(5), |st| {
///     st[leader].last_applied >= index
/// })?;
/// cluster.assert_safe(); // the five safety properties held at every step
/// # Ok::<(), raftsim::Error>(())
/// ```
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
