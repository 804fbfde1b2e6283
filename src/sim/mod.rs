//! The simulated runtime: every node, the network and the clients on one thread, on a
//! virtual clock, so that a seed is a complete recording of a run.
//!
//! The nodes run the same driver as on the threaded runtime (`crate::driver`), the
//! network makes its choices with the same model (`crate::net`), and the trace, the
//! safety checker and the timeline are the same. Only the loop and the clock differ:
//! instead of threads blocking in `select!`, one event queue ordered by (virtual time,
//! sequence number) says what happens next. Choose it with
//! `Config { runtime: Runtime::Simulated, .. }` (or [`crate::Config::simulated`]).
//!
//! What differs from the threaded runtime:
//! - time moves only inside raftsim: `Cluster::sleep`, the waits, membership changes
//!   and client calls run the simulation; faults and proposals happen at the current
//!   virtual instant (`Cluster::now`);
//! - each message is handled at its own instant with its own `Ready` (a thread batches
//!   up to 512); handling takes no virtual time, so throughput measured here is the
//!   network's and disk model's, not the CPU's;
//! - timers are exact: equal timeouts fire at the same instant (threads have jitter);
//! - a modelled fsync (`Config::storage_latency`) suspends the node until a write-done
//!   event instead of sleeping; `Config::busy_poll` does not apply;
//! - concurrent clients are actors ([`Workload`], `Cluster::start_workload`), not OS
//!   threads; `kv::Client` works, one call at a time;
//! - over a million events at one instant is a livelock, and panics naming it.
//!
//! [`crate::explore`] runs random fault schedules, one seed each, and checks every run.

pub(crate) mod workload;
mod world;

pub use workload::{Workload, WorkloadHandle, WorkloadStats};
pub use world::MessageFilter;
pub(crate) use world::World;
