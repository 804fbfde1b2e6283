//! Time and the runtime, for tests, scenarios and examples that work on both runtimes:
//! the cluster's clock, letting time pass, firing a node's election timer, and running
//! code on a node between two of its steps.

use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{bounded, Sender};
use parking_lot::Mutex;

use super::{Backend, Cluster};
use crate::driver::NodeDriver;
use crate::node::Control;
use crate::sim::World;
use crate::state_machine::StateMachine;
use crate::types::NodeId;

/// Advanced: time, the runtime, and scripting a node.
impl<S: StateMachine + Default> Cluster<S> {
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

    /// Makes node `id`'s election timer fire now, as if it had timed out: scenarios use
    /// it to choose who campaigns (e.g. two nodes at once for a split vote). Does
    /// nothing for a crashed or unknown node.
    pub fn fire_election_timeout(&self, id: NodeId) {
        self.on_node(id, |d, now| d.fire_election_timeout(now));
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
                std::thread::sleep(crate::transport::RETRY_PAUSE.min(left));
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

    pub(super) fn control_of(&self, id: NodeId) -> Option<Sender<Control<S>>> {
        let slots = self.slots.lock();
        slots.get(&id)?.running.as_ref().map(|r| r.control.clone())
    }

    /// The simulated world, when running on the simulated runtime.
    pub(crate) fn world(&self) -> Option<&Arc<Mutex<World<S>>>> {
        match &self.backend {
            Backend::Sim(world) => Some(world),
            Backend::Threads(_) => None,
        }
    }
}
