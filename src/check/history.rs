//! A thread-safe recorder of a history: each client notes when it invokes an operation
//! and when (and with what) it completes. Every time stamp comes from one monotonic
//! clock (`Instant`, as nanoseconds since the recorder was made), so calls and
//! responses of different threads are ordered as they really happened — up to the
//! moment between the clock read and the lock, which only widens an operation's
//! interval (the clock is read before the call is sent and after the answer came back).
//!
//! An operation never completed stays pending: the checker treats it as returning at
//! infinity with an unknown output, i.e. it may or may not have taken effect.

use std::time::Instant;

use parking_lot::Mutex;

use super::linearizability::{Operation, PENDING};

/// A handle on an invoked operation, for [`History::complete`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpHandle(usize);

impl OpHandle {
    /// The operation's position in its history (a token for hooks that cannot name
    /// `OpHandle`, such as `kv::OpRecorder`).
    pub(crate) fn index(self) -> usize {
        self.0
    }

    /// The handle of the operation at `index`, from [`OpHandle::index`].
    pub(crate) fn from_index(index: usize) -> OpHandle {
        OpHandle(index)
    }
}

/// The history of every operation of a test or run, shared by the clients (`Arc`).
pub struct History<I, O> {
    start: Instant,
    ops: Mutex<Vec<Operation<I, O>>>,
}

impl<I: Clone, O: Clone> Default for History<I, O> {
    fn default() -> Self {
        Self::new()
    }
}

impl<I: Clone, O: Clone> History<I, O> {
    /// An empty history; its clock starts now.
    pub fn new() -> Self {
        History {
            start: Instant::now(),
            ops: Mutex::new(Vec::new()),
        }
    }

    /// Nanoseconds since the history started.
    pub fn now(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }

    /// When the history's clock started.
    pub fn start(&self) -> Instant {
        self.start
    }

    /// Notes that `client` calls `input` now (call this just before sending it).
    pub fn invoke(&self, client: u64, input: I) -> OpHandle {
        self.invoke_at(client, input, self.now())
    }

    /// Notes that `client` called `input` at `call` (nanoseconds on the caller's own
    /// clock, e.g. a simulation's virtual time: then the history replays exactly).
    pub fn invoke_at(&self, client: u64, input: I, call: u64) -> OpHandle {
        let mut ops = self.ops.lock();
        ops.push(Operation {
            client,
            input,
            output: None,
            call,
            ret: PENDING,
        });
        OpHandle(ops.len() - 1)
    }

    /// Notes that the operation answered `output` now (call this just after the answer
    /// arrived). An operation never completed stays pending.
    #[track_caller]
    pub fn complete(&self, handle: OpHandle, output: O) {
        self.complete_at(handle, output, self.now())
    }

    /// Notes that the operation answered `output` at `ret` (the clock of
    /// [`History::invoke_at`]).
    #[track_caller]
    pub fn complete_at(&self, handle: OpHandle, output: O, ret: u64) {
        let mut ops = self.ops.lock();
        let op = &mut ops[handle.0];
        assert!(
            op.output.is_none(),
            "operation {} completed twice",
            handle.0
        );
        op.output = Some(output);
        op.ret = ret;
    }

    /// Every operation so far, in the order they were invoked; pending ones have
    /// `output: None` and `ret: PENDING`.
    pub fn operations(&self) -> Vec<Operation<I, O>> {
        self.ops.lock().clone()
    }

    /// How many operations were invoked.
    pub fn len(&self) -> usize {
        self.ops.lock().len()
    }

    /// Whether no operation was invoked yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many operations are still pending (never answered).
    pub fn pending(&self) -> usize {
        self.ops.lock().iter().filter(|o| o.ret == PENDING).count()
    }
}
