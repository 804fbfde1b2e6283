//! # raftsim
//!
//! Raft (Ongaro & Ousterhout, "In Search of an Understandable Consensus Algorithm", and
//! Ongaro's dissertation) running as a thread-per-node in-memory actor simulation.
//!
//! - [`raft`]: the pure, deterministic Raft core (Figure 2 lives here).
//! - `driver`: one node's core, state machine and timers, and the order persist → send →
//!   apply → publish, written once for both runtimes.
//! - [`node`] and [`router`]: the threaded runtime (a thread per node, a router thread).
//! - [`sim`]: the simulated runtime (one thread, a virtual clock, exact replay by seed).
//! - [`net`]: the network model both runtimes share (links, drops, delays, duplicates).
//! - [`cluster`]: the public harness: spawn, propose, crash, partition, observe.
//! - [`event`], [`trace`], [`safety`]: what happened, and whether it was safe.
//!
//! See NOTES.md for a tour that maps each rule of the paper to the code.
#![warn(missing_docs)]

pub mod check;
pub mod client;
pub mod cluster;
pub mod config;
pub(crate) mod driver;
pub mod entries;
pub mod error;
pub mod event;
pub mod kv;
pub mod log;
#[cfg(feature = "harness")]
pub mod logging;
pub mod membership;
pub mod message;
pub mod net;
pub mod node;
pub mod raft;
pub mod router;
pub mod safety;
#[cfg(feature = "harness")]
pub mod scenarios;
#[cfg(feature = "harness")]
pub mod script;
pub mod sim;
mod spin;
pub mod state_machine;
pub mod status;
pub mod storage;
pub mod summary;
pub mod svg;
pub mod timeline;
pub mod trace;
pub(crate) mod transport;
pub mod types;
pub mod wire;

pub use cluster::Cluster;
pub use config::{Config, NetConfig, Runtime};
pub use error::{Error, NotLeader};
pub use event::{Event, EventKind};
pub use state_machine::StateMachine;
pub use status::Status;
pub use types::{Index, NodeId, Role, Term};
