//! Checking what clients saw: a linearizability checker (after porcupine), the
//! sequential model of the key/value store, a recorder of concurrent histories, and a
//! picture of a history.
//!
//! - [`linearizability`]: the generic [`Model`] trait and [`check`], the Wing & Gong /
//!   Lowe search with memoization, partitioned by key, under a time budget.
//! - [`kv_model`]: [`KvModel`], the store as a sequential object.
//! - [`history`]: [`History`], a thread-safe recorder of concurrent operations.
//! - [`kv_history`]: [`KvHistory`], which `kv::Client::record_into` writes to (through
//!   the `kv::OpRecorder` hook, so that `kv` does not depend on `check`).
//! - [`history_html`]: [`write_html`], one lane per client, the conflict in red.

pub mod history;
pub mod history_html;
pub mod kv_history;
pub mod kv_model;
pub mod linearizability;
mod search;

pub use history::{History, OpHandle};
pub use history_html::{render_html, write_html};
pub use kv_history::KvHistory;
pub use kv_model::{KvInput, KvModel, KvOutput};
pub use linearizability::{
    check, CheckResult, Lookahead, Model, Operation, Partition, Violation, PENDING,
};
