//! How a client talks to the cluster on either runtime: its address on the network, a
//! way to send, a way to wait for mail until a deadline, and the clock it measures with.
//!
//! On the threaded runtime the client has a crossbeam inbox registered with the router
//! and waits on the wall clock. On the simulated runtime it has a mailbox in the world,
//! and waiting for mail *is* running the simulation until mail comes or the virtual
//! deadline passes: a client call on a simulated cluster moves time forward.

use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{bounded, Receiver, Sender};
use parking_lot::Mutex;

use crate::net::Packet;
use crate::router;
use crate::sim::World;
use crate::spin::Spin;
use crate::state_machine::StateMachine;
use crate::trace::Trace;

/// How long a caller waits before it retries something that did not work yet (a
/// proposal to a node that just lost leadership, a membership change while no leader
/// is known): long enough not to spin, short next to an election.
pub(crate) const RETRY_PAUSE: Duration = Duration::from_millis(5);
use crate::types::NodeId;
use crate::wire::Wire;

enum Transport<S: StateMachine> {
    Threads {
        router: Sender<router::Input<Wire<S>>>,
        inbox: Receiver<Packet<Wire<S>>>,
        spin: Spin,
    },
    Sim(Arc<Mutex<World<S>>>),
}

/// A client's endpoint on a cluster's network.
pub(crate) struct ClientLink<S: StateMachine> {
    /// The client's address on the network.
    pub addr: NodeId,
    /// The current members, shared with the cluster: whom to ask.
    pub members: Arc<Mutex<Vec<NodeId>>>,
    /// For log lines (and the clock on the threaded runtime).
    pub trace: Arc<Trace>,
    transport: Transport<S>,
}

impl<S: StateMachine> ClientLink<S> {
    /// An endpoint registered with the router thread.
    pub(crate) fn threaded(
        addr: NodeId,
        router: Sender<router::Input<Wire<S>>>,
        inbox: Receiver<Packet<Wire<S>>>,
        members: Arc<Mutex<Vec<NodeId>>>,
        trace: Arc<Trace>,
        busy_poll: Duration,
    ) -> Self {
        let spin = Spin::new(busy_poll);
        let transport = Transport::Threads {
            router,
            inbox,
            spin,
        };
        ClientLink {
            addr,
            members,
            trace,
            transport,
        }
    }

    /// An endpoint with a mailbox in the simulated world.
    pub(crate) fn simulated(
        addr: NodeId,
        world: Arc<Mutex<World<S>>>,
        members: Arc<Mutex<Vec<NodeId>>>,
        trace: Arc<Trace>,
    ) -> Self {
        ClientLink {
            addr,
            members,
            trace,
            transport: Transport::Sim(world),
        }
    }

    /// The time since the cluster started, on its runtime's clock.
    pub(crate) fn now(&self) -> Duration {
        match &self.transport {
            Transport::Threads { .. } => self.trace.start().elapsed(),
            Transport::Sim(world) => world.lock().now(),
        }
    }

    /// Sends a packet from this client.
    pub(crate) fn send(&self, to: NodeId, msg: Wire<S>) {
        let p = Packet {
            from: self.addr,
            to,
            msg,
        };
        match &self.transport {
            Transport::Threads { router, .. } => {
                let _ = router.send(router::Input::Packet(p));
            }
            Transport::Sim(world) => world.lock().send(vec![p]),
        }
    }

    /// Sends several packets at once.
    pub(crate) fn send_batch(&self, packets: Vec<Packet<Wire<S>>>) {
        if packets.is_empty() {
            return;
        }
        match &self.transport {
            Transport::Threads { router, .. } => {
                let _ = router.send(router::Input::Batch(packets));
            }
            Transport::Sim(world) => world.lock().send(packets),
        }
    }

    /// The next packet for this client, waiting until `until` (cluster time) at most.
    pub(crate) fn recv(&mut self, until: Duration) -> Option<Packet<Wire<S>>> {
        match &mut self.transport {
            Transport::Threads { inbox, spin, .. } => {
                let deadline = self.trace.start() + until;
                spin.recv(inbox, Some(deadline)).ok()
            }
            Transport::Sim(world) => {
                let mut world = world.lock();
                let addr = self.addr;
                world.run_until(until, |w| w.has_mail(addr));
                world.take_mail(addr)
            }
        }
    }

    /// A packet already waiting, if any.
    pub(crate) fn try_recv(&mut self) -> Option<Packet<Wire<S>>> {
        match &mut self.transport {
            Transport::Threads { inbox, .. } => inbox.try_recv().ok(),
            Transport::Sim(world) => world.lock().take_mail(self.addr),
        }
    }

    /// Lets `d` pass (a back-off): sleeps, or runs the simulation.
    pub(crate) fn pause(&self, d: Duration) {
        match &self.transport {
            Transport::Threads { .. } => std::thread::sleep(d),
            Transport::Sim(world) => {
                let mut world = world.lock();
                let until = world.now() + d;
                world.run_until(until, |_| false);
            }
        }
    }
}

impl<S: StateMachine> Drop for ClientLink<S> {
    fn drop(&mut self) {
        match &self.transport {
            Transport::Threads { router, .. } => {
                let (ack, _) = bounded(1);
                let unregister = router::Control::Unregister(self.addr);
                let _ = router.send(router::Input::Control(unregister, ack));
            }
            Transport::Sim(world) => world.lock().close_mailbox(self.addr),
        }
    }
}
