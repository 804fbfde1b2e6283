//! Key/value histories: [`KvHistory`] is what `kv::Client::record_into` writes to. The
//! client calls the [`kv::OpRecorder`](crate::kv::OpRecorder) hook, which the history
//! implements here, so that `kv` never imports `check` (the dependency runs one way:
//! the checker knows the store's operations, the store knows nothing of the checker).

use super::history::{History, OpHandle};
use super::kv_model::{KvInput, KvOutput};
use crate::kv::{Op, OpRecorder, Reply};

/// A history of key/value operations, as recorded by `kv::Client::record_into`.
pub type KvHistory = History<KvInput, KvOutput>;

impl OpRecorder for KvHistory {
    fn invoke(&self, client: u64, op: Op, at_ns: u64) -> usize {
        self.invoke_at(client, op, at_ns).index()
    }

    fn complete(&self, token: usize, reply: Reply, at_ns: u64) {
        self.complete_at(OpHandle::from_index(token), reply, at_ns);
    }
}
