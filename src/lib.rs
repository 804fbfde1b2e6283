//! # raftsim
//!
//! Raft (Ongaro & Ousterhout, "In Search of an Understandable Consensus Algorithm", and
//! Ongaro's dissertation) running for real — every node an OS thread, every message
//! through a router thread that drops, delays, duplicates, reorders and partitions — or
//! on a deterministic simulated runtime, where one thread runs every node on a virtual
//! clock and a seed replays a run byte for byte. Raft's safety properties are checked
//! on every step; a linearizability checker judges what clients saw.
//!
//! ## Quick start
//!
//! A replicated key/value store on five nodes, a crash, and the checks:
//!
//! ```
//! use std::time::Duration;
//! use raftsim::{kv::KvStore, Cluster, Config};
//!
//! // `simulated()`: one thread, a virtual clock; drop it to run a thread per node.
//! let cluster: Cluster<KvStore> = Cluster::with_config(5, Config::default().simulated());
//! let mut client = cluster.client();
//! client.put("x", "1")?; // exactly once, through crashes and drops
//!
//! let leader = cluster.wait_for_leader(Duration::from_secs(5))?;
//! cluster.crash(leader); // faults: crash, restart, disconnect, partition, heal, set_net
//! client.append("x", "2")?; // the client finds the new leader
//! assert_eq!(client.get("x")?, Some("12".into())); // linearizable (ReadIndex)
//!
//! cluster.assert_safe(); // Election Safety, Log Matching, ... held at every step
//! # Ok::<(), raftsim::Error>(())
//! ```
//!
//! ## Where to go next
//!
//! - [`Cluster`]: start nodes, make clients, propose, inject faults, change the
//!   membership, observe the trace. Works with any [`StateMachine`]; [`Config`] and
//!   [`NetConfig`] set the timing, the features and the network.
//! - [`kv`]: the key/value store and its [`Client`](kv::Client) (sessions for
//!   exactly-once writes, ReadIndex reads).
//! - [`check`]: the linearizability checker ([`check::check`]) and histories.
//! - [`sim`]: the simulated runtime and its concurrent clients; [`explore`]: the seed explorer.
//! - [`raft`]: the pure Raft core — messages in, a `Ready` out — that both runtimes
//!   drive; [`event`] and [`trace`]: what happened, with reasons; [`safety`]: the live
//!   checker of the five safety properties.
//!
//! The layers, from the bottom: the pure core ([`raft`]); the node driver, one node's
//! core, state machine and timers, carrying out each `Ready` in the order persist →
//! send → apply → publish; two runtimes driving it — threads ([`node`], [`router`])
//! and the simulation ([`sim`]) — over one network model ([`net`]); the [`Cluster`]
//! harness on top of both; the checkers ([`safety`], [`check`]) and the key/value
//! service ([`kv`]) beside it. NOTES.md in the repository draws them, says what each
//! may touch, and maps every rule of the paper's Figure 2 to the function that
//! implements it.
#![warn(missing_docs)]

pub mod check;
pub mod client;
pub mod cluster;
pub mod config;
pub(crate) mod driver;
pub mod entries;
pub mod error;
pub mod event;
pub mod explore;
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
#[cfg(feature = "harness")]
pub mod testkit;
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

/// The README's Rust examples, compiled and run as doc-tests (`cargo test --doc`).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
