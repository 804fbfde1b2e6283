//! Clients of a cluster: the key/value [`Client`] (for a `Cluster<KvStore>`), the
//! [`RawClient`] for any state machine, and the [`ClientMux`] that carries many logical
//! clients on one thread. Each gets its own address on the network.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use crossbeam_channel::unbounded;
use parking_lot::Mutex;

use super::{Backend, Cluster};
use crate::check::KvHistory;
use crate::client::{ClientMux, RawClient};
use crate::error::Error;
use crate::kv::{Client, KvStore, OpRecorder};
use crate::router;
use crate::sim::{Workload, WorkloadHandle};
use crate::state_machine::StateMachine;
use crate::transport::ClientLink;
use crate::types::NodeId;

/// Clients of the key/value service.
impl Cluster<KvStore> {
    /// A new key/value client with its own id. It registers a session before its first
    /// write; each call finds the leader and retries through faults (see [`Client`]).
    pub fn client(&self) -> Client {
        Client::new(self.raw_client())
    }

    /// A new client that records every operation into `history`, for the
    /// linearizability checker (see [`Client::record_into`]; `history` is usually an
    /// `Arc<check::KvHistory>`).
    pub fn client_recorded<R: OpRecorder + 'static>(&self, history: &Arc<R>) -> Client {
        let mut c = self.client();
        c.record_into(history.clone());
        c
    }

    /// Starts simulated key/value clients, recording every operation into `history` if
    /// given (on the virtual clock, in nanoseconds). They run whenever the simulation
    /// does: during [`Cluster::sleep`], [`Cluster::wait_for`], a client call. Simulated
    /// runtime only: on threads, run `kv::Client`s on threads instead.
    ///
    /// ```
    /// use std::{sync::Arc, time::Duration};
    /// use raftsim::check::KvHistory;
    /// use raftsim::sim::Workload;
    /// use raftsim::{kv::KvStore, Cluster, Config};
    ///
    /// let config = Config { seed: Some(3), ..Config::default().simulated() };
    /// let cluster: Cluster<KvStore> = Cluster::with_config(3, config);
    /// let history = Arc::new(KvHistory::new());
    /// let clients = cluster.start_workload(Workload::default(), Some(history.clone()))?;
    /// cluster.sleep(Duration::from_secs(1)); // one virtual second: milliseconds of wall time
    /// clients.stop();
    /// assert!(clients.stats().completed > 0);
    /// # Ok::<(), raftsim::Error>(())
    /// ```
    pub fn start_workload(
        &self,
        workload: Workload,
        history: Option<Arc<KvHistory>>,
    ) -> Result<WorkloadHandle, Error> {
        let Some(world) = self.world() else {
            return Err(Error::InvalidConfig(
                "start_workload runs simulated clients: it needs Config::runtime = \
                 Runtime::Simulated (on threads, use kv::Client on threads)"
                    .into(),
            ));
        };
        let at = crate::sim::workload::Attach {
            world,
            now: self.now(),
            seed: self.seed(),
            members: self.directory().clone(),
            new_addr: &|| self.new_client_addr(),
        };
        crate::sim::workload::start(at, workload, history)
    }
}

/// Clients of any state machine.
impl<S: StateMachine + Default> Cluster<S> {
    /// A new client with its own id and router address, for any state machine: it
    /// follows redirects and retries on silence, but does not deduplicate (see
    /// [`RawClient`]).
    pub fn raw_client(&self) -> RawClient<S> {
        RawClient::new(self.connect_client())
    }

    /// A new client multiplexer with its own router address (see [`ClientMux`]).
    pub fn client_mux(&self) -> ClientMux<S> {
        ClientMux::new(self.connect_client())
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

    /// The ids of the voting members, as clients see them (whom to ask).
    pub(crate) fn directory(&self) -> &Arc<Mutex<Vec<NodeId>>> {
        &self.directory
    }
}
