//! What a key/value client tells whoever records its operations: the hook through which
//! [`Client::record_into`](super::Client::record_into) feeds a history to the
//! linearizability checker.
//!
//! The hook is a trait defined here, on the service's side, so that the service does
//! not depend on the checker: `check` imports `kv` (its model of the store speaks
//! [`Op`] and [`Reply`]), and `kv` imports nothing of `check`. The checker's
//! `check::KvHistory` implements [`OpRecorder`].

use super::store::{Op, Reply};

/// Records a client's operations: when each was called, and when and with what it was
/// answered. Times are nanoseconds on the client's clock (the wall clock since the
/// cluster started, or the simulation's virtual clock), so a simulated run's history
/// replays exactly. `Send + Sync`: one recorder is shared by many clients.
pub trait OpRecorder: Send + Sync {
    /// Notes that `client` called `op` at `at_ns`; returns a token for
    /// [`OpRecorder::complete`]. An operation never completed stays pending: it may or
    /// may not have taken effect, at any time after its call.
    fn invoke(&self, client: u64, op: Op, at_ns: u64) -> usize;

    /// Notes that the operation `token` names was answered `reply` at `at_ns`.
    fn complete(&self, token: usize, reply: Reply, at_ns: u64);
}
