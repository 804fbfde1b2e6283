//! A replicated key/value service on top of the cluster: the state machine users ask
//! for first. [`KvStore`] applies Get / Put / Append with exactly-once semantics per
//! client request, through client sessions that clients register in the log and that
//! expire by a rule every replica applies alike (dissertation §6.3); [`Client`]
//! registers, finds the leader, retries through every fault, reports an expired
//! session as [`crate::Error::SessionExpired`], and reads linearizably through
//! ReadIndex (§6.4).

mod client;
mod op_recorder;
mod store;

pub use client::Client;
pub use op_recorder::OpRecorder;
pub use store::{Command, KvSnapshot, KvStore, Op, Reply, Request, MAX_SESSIONS};
