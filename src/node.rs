//! The threaded runtime's node: one OS thread per node that owns a crossbeam inbox and
//! runs a `NodeDriver` (`src/driver.rs`: the Raft core, the state machine, the order persist → send →
//! apply → publish) against the wall clock.
//!
//! The thread blocks in one `select!` over its inbox, its control channel and its next
//! deadline (the randomized election timeout, and while leading, the heartbeat): no
//! polling, so an idle cluster costs next to nothing. After each wake-up it drains what
//! else is waiting (so a burst of proposals or messages is handled as one batch), then
//! has the driver carry out the core's output. A modelled fsync is a real sleep here:
//! the thread handles nothing while it "writes".

use std::time::{Duration, Instant};

use crossbeam_channel::{select, Receiver, Sender};

pub use crate::driver::Counters;
use crate::driver::NodeDriver;
use crate::net::Packet;
use crate::router;
use crate::state_machine::StateMachine;
pub use crate::wire::Wire;

/// Work for a node's driver, run on the node's own thread with the current time.
pub(crate) type NodeJob<S> = Box<dyn FnOnce(&mut NodeDriver<S>, Duration) + Send>;

/// What the harness asks of a node thread.
pub(crate) enum Control<S: StateMachine> {
    /// Run a job on the driver between two steps (a proposal, an inspection, a
    /// transfer, a membership change, a scripted timeout); its effects are carried out
    /// with the rest of the batch.
    Run(NodeJob<S>),
    /// Stop the thread now, losing all volatile state.
    Crash,
}

/// One node thread: the driver, where it sends, and the clock's origin.
pub(crate) struct NodeRuntime<S: StateMachine> {
    driver: NodeDriver<S>,
    router: Sender<router::Input<Wire<S>>>,
    start: Instant,
    busy_poll: Duration,
}

/// The most inbox messages handled before the core's output is carried out.
const BATCH: usize = 512;

impl<S: StateMachine + Default> NodeRuntime<S> {
    /// A node thread's state around `driver`, not yet running; `start` is the cluster's
    /// time origin.
    pub(crate) fn new(
        driver: NodeDriver<S>,
        router: Sender<router::Input<Wire<S>>>,
        start: Instant,
        busy_poll: Duration,
    ) -> Self {
        NodeRuntime {
            driver,
            router,
            start,
            busy_poll,
        }
    }

    /// Runs until crashed (or the harness goes away).
    pub(crate) fn run(mut self, inbox: Receiver<Packet<Wire<S>>>, control: Receiver<Control<S>>) {
        let mut spin = crate::spin::Spin::new(self.busy_poll);
        loop {
            let deadline = self.start + self.driver.next_deadline();
            let wait = deadline.saturating_duration_since(Instant::now());
            // Busy a moment ago: poll the inbox briefly instead of parking (src/spin.rs).
            // A control message waits for the drain below, one spin at most.
            if let Some(p) = spin.poll(Some(deadline), || inbox.try_recv().ok()) {
                self.set_now();
                self.driver.handle_packet(p);
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
                            self.driver.handle_packet(p)
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
                    Ok(p) => self.driver.handle_packet(p),
                    Err(_) => break,
                }
            }
            self.handle_ready();
            if self.driver.fire_timers(self.now()) {
                self.handle_ready();
            }
        }
    }

    fn now(&self) -> Duration {
        self.start.elapsed()
    }

    fn set_now(&mut self) {
        let now = self.now();
        self.driver.set_now(now);
    }

    fn handle_control(&mut self, c: Control<S>) {
        match c {
            Control::Run(job) => {
                let now = self.now();
                job(&mut self.driver, now)
            }
            Control::Crash => unreachable!("handled by the loop"),
        }
    }

    /// Has the driver carry out the core's output; a modelled write blocks the thread.
    fn handle_ready(&mut self) {
        let router = self.router.clone();
        let mut send = |out| flush(&router, out);
        loop {
            let now = self.now();
            if let Some(write) = self.driver.begin_ready(now, &mut send) {
                // What may leave before the write does (parallel_disk_writes), now.
                send(self.driver.take_outbox());
                std::thread::sleep(write);
                let now = self.now();
                self.driver.finish_ready(now, &mut send);
            }
            send(self.driver.take_outbox());
            // The write's acknowledgement may have left work (a leader's commit, in a
            // cluster of one): carry it out now, not at the next wake-up.
            if !self.driver.has_ready() {
                break;
            }
        }
    }
}

/// Hands packets to the router in one channel operation.
fn flush<S: StateMachine>(router: &Sender<router::Input<Wire<S>>>, mut out: Vec<Packet<Wire<S>>>) {
    match out.len() {
        0 => {}
        1 => {
            let p = out.pop().expect("one");
            let _ = router.send(router::Input::Packet(p));
        }
        _ => {
            let _ = router.send(router::Input::Batch(out));
        }
    }
}
