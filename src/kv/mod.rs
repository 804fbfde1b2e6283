//! A replicated key/value service on top of the cluster: the state machine users ask
//! for first. [`KvStore`] applies Get / Put / Append with exactly-once semantics per
//! client request (dissertation §6.3); [`Client`] finds the leader, retries through
//! every fault and reads linearizably through ReadIndex (§6.4).

mod client;
mod store;

pub use client::Client;
pub use store::{KvStore, Op, Reply, Request, MAX_SESSIONS};
