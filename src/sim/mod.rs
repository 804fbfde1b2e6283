//! The simulated runtime: every node, the network and the clients on one thread, on a
//! virtual clock, so that a seed is a complete recording of a run.
//!
//! The nodes run the same driver as on the threaded runtime (`crate::driver`), the
//! network makes its choices with the same model (`crate::net`), and the trace, the
//! safety checker and the timeline are the same. Only the loop and the clock differ:
//! instead of threads blocking in `select!`, one event queue ordered by (virtual time,
//! sequence number) says what happens next. Choose it with
//! `Config { runtime: Runtime::Simulated, .. }` (or [`crate::Config::simulated`]).

pub mod explore;
mod workload;
mod world;

pub use workload::{Workload, WorkloadHandle, WorkloadStats};
pub(crate) use world::World;
