//! The replicated state machine a cluster serves, and two small ones for tests and
//! benchmarks.

use std::fmt::Debug;

use crate::config::Config;
use crate::types::Index;

/// A replicated state machine. Each node owns one instance and applies every committed
/// command to it, in log order (§5.3).
///
/// A counter, replicated on three nodes:
///
/// ```
/// use std::time::Duration;
/// use raftsim::{Cluster, Config, Index, StateMachine};
///
/// #[derive(Default)]
/// struct Counter(u64);
///
/// impl StateMachine for Counter {
///     type Command = u64; // add this much
///     type Output = u64; // the total after adding
///     type Snapshot = u64;
///
///     fn apply(&mut self, _index: Index, add: &u64) -> u64 {
///         self.0 += add;
///         self.0
///     }
///     fn snapshot(&self) -> u64 {
///         self.0
///     }
///     fn restore(&mut self, snapshot: u64) {
///         self.0 = snapshot;
///     }
/// }
///
/// let cluster: Cluster<Counter> = Cluster::with_config(3, Config::default().simulated());
/// for add in 1..=4 {
///     // Proposed to the leader, waited for until every node applied it.
///     cluster.propose_and_wait(add, 3, Duration::from_secs(5))?;
/// }
/// for id in cluster.ids() {
///     assert_eq!(cluster.inspect(id, |c: &Counter| c.0), Some(10));
/// }
/// # Ok::<(), raftsim::Error>(())
/// ```
pub trait StateMachine: Send + 'static {
    /// What clients propose. `Sync` because a leader
    /// shares one copy of a batch of entries among the AppendEntries to all its
    /// followers, on their threads (src/entries.rs); any plain-data command is.
    type Command: Clone + Debug + PartialEq + Send + Sync + 'static;
    /// What applying a command returns to the client that proposed it.
    type Output: Clone + Debug + Send + 'static;
    /// A point-in-time copy of the whole state (§7).
    type Snapshot: Clone + Debug + Send + 'static;

    /// Takes the settings that concern the state machine (e.g.
    /// `Config::max_client_sessions`). Every node calls it once on a fresh
    /// `Self::default()`, before any `restore` or `apply`, with the cluster's `Config`,
    /// so every replica runs under the same settings. The default ignores them.
    fn configure(&mut self, _config: &Config) {}

    /// Called once per committed command, in log order, with the entry's index.
    /// Indexes strictly increase but may skip: internal entries (the no-op a new leader
    /// appends at the start of its term, membership changes) occupy log indexes and are
    /// never passed to `apply`.
    fn apply(&mut self, index: Index, command: &Self::Command) -> Self::Output;

    /// Captures the state, for log compaction.
    fn snapshot(&self) -> Self::Snapshot;

    /// Replaces the state with a snapshot's.
    fn restore(&mut self, snapshot: Self::Snapshot);

    /// The size a command would have on a wire, for `bytes_sent`. The default is
    /// `size_of_val(command)`; a state machine with variable-size commands overrides it.
    fn command_size(command: &Self::Command) -> usize {
        std::mem::size_of_val(command)
    }

    /// Answers a read-only command from the current state without going through the log,
    /// or `None` if the command is not read-only. Used for ReadIndex reads (dissertation
    /// §6.4); the default treats every command as a write.
    fn query(&self, _command: &Self::Command) -> Option<Self::Output> {
        None
    }
}

/// A state machine that records every command applied, with its index: the simplest way
/// for a test to compare what each node applied.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorder<C> {
    /// `(index, command)` for every applied command, in order.
    pub applied: Vec<(Index, C)>,
}

impl<C> Default for Recorder<C> {
    fn default() -> Self {
        Recorder {
            applied: Vec::new(),
        }
    }
}

impl<C: Clone + Debug + PartialEq + Send + Sync + 'static> StateMachine for Recorder<C> {
    type Command = C;
    /// The number of commands applied so far, this one included.
    type Output = usize;
    type Snapshot = Vec<(Index, C)>;

    fn apply(&mut self, index: Index, command: &C) -> usize {
        if let Some(&(last, _)) = self.applied.last() {
            assert!(index > last, "apply order broken: {index} after {last}");
        }
        self.applied.push((index, command.clone()));
        self.applied.len()
    }

    fn snapshot(&self) -> Self::Snapshot {
        self.applied.clone()
    }

    fn restore(&mut self, snapshot: Self::Snapshot) {
        self.applied = snapshot;
    }
}

/// A state machine that does nothing: the workload of throughput benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Noop;

impl StateMachine for Noop {
    type Command = ();
    type Output = ();
    type Snapshot = ();

    fn apply(&mut self, _index: Index, _command: &()) {}
    fn snapshot(&self) {}
    fn restore(&mut self, _snapshot: ()) {}
}
