//! A stale read (dissertation §6.4): can a client read old data from a leader that was
//! already deposed? Five nodes; a client writes `k=1` through leader n0. Then n0 is cut
//! off with one follower, and that client is confined to their side of the partition.
//! The majority elects a new leader and another client writes `k=2` there, which
//! commits. Then the confined client reads `k` — from n0, which still believes it leads
//! (CheckQuorum is off, the paper's plain algorithm).
//!
//! Raft answers a read only after ReadIndex (`src/raft/read.rs`): the leader records its
//! commit index and confirms with a round of heartbeats answered by a majority that it
//! still leads. Cut off, n0 cannot get that majority, so the read is never answered
//! there; the client times out (outcome unknown) instead of seeing `1`. With the
//! teaching switch `Config::unsafe_stale_reads` the node answers from its own state
//! machine at once, and the client reads the stale `1` after `k=2` completed: the
//! history is not linearizable, and the checker says so.

use std::sync::Arc;
use std::time::Duration;

use crate::check::{check, CheckResult, KvHistory, KvInput, KvModel, KvOutput, Operation};
use crate::error::Error;
use crate::event::Event;
use crate::kv::KvStore;
use crate::safety::Violation;
use crate::types::{NodeId, Term};
use crate::{Cluster, Config, Runtime};

use super::{elect, narrate, scripted_config, wait_status, Result, ScenarioError};

/// How long the confined client's read may take before it gives up.
pub const READ_TIMEOUT: Duration = Duration::from_secs(1);

/// What to run.
#[derive(Debug, Clone, Copy)]
pub struct Opts {
    /// Turn on `Config::unsafe_stale_reads`: reads skip ReadIndex.
    pub stale_reads: bool,
    /// Seeds the run.
    pub seed: u64,
}

/// What the run showed.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The leader that was cut off.
    pub old_leader: NodeId,
    /// Its term.
    pub old_term: Term,
    /// The follower cut off with it.
    pub friend: NodeId,
    /// The leader the majority elected.
    pub new_leader: NodeId,
    /// Its term.
    pub new_term: Term,
    /// What the confined client's read of `k` returned, after `k=2` completed.
    pub read: std::result::Result<Option<String>, Error>,
    /// The clients' operations, as recorded for the checker.
    pub history: Vec<Operation<KvInput, KvOutput>>,
    /// The linearizability checker's verdict on `history`.
    pub check: CheckResult,
    /// Safety violations of the logs (none expected: stale reads break no log property).
    pub violations: Vec<Violation>,
    /// The run's trace.
    pub events: Vec<Event>,
}

impl Outcome {
    /// Whether the read returned the overwritten value `"1"`.
    pub fn read_stale(&self) -> bool {
        matches!(&self.read, Ok(Some(v)) if v == "1")
    }
}

/// [`run_on`] the threaded runtime (one OS thread per node).
pub fn run(opts: &Opts) -> Result<Outcome> {
    run_on(opts, Runtime::Threads)
}

/// Runs the write, the partition, the new leader's write and the confined read.
/// On `runtime`; on `Runtime::Simulated` the seed replays the run exactly.
pub fn run_on(opts: &Opts, runtime: Runtime) -> Result<Outcome> {
    let config = Config {
        runtime,
        unsafe_stale_reads: opts.stale_reads,
        ..scripted_config(opts.seed)
    };
    let cluster: Cluster<KvStore> = Cluster::try_with_config(5, config)?;
    let history = Arc::new(KvHistory::new());
    let old = 0;
    let old_term = elect(&cluster, old)?;
    let all: Vec<NodeId> = (0..5).collect();
    wait_status(&cluster, "every node to know the leader", |st| {
        st.iter().all(|s| s.leader == Some(old))
    })?;

    narrate(
        &cluster,
        &format!("n{old} leads term {old_term}; client A writes k=1"),
    );
    let mut a = cluster.client_recorded(&history);
    a.put("k", "1")
        .map_err(|e| ScenarioError(format!("client A's put k=1: {e}")))?;
    let index = cluster.status(old).commit_index;
    wait_status(&cluster, "k=1 applied everywhere", |st| {
        st.iter().all(|s| s.last_applied >= index)
    })?;

    let friend = old + 1;
    let majority: Vec<NodeId> = all
        .iter()
        .copied()
        .filter(|&n| n != old && n != friend)
        .collect();
    let mut b = cluster.client_recorded(&history);
    let minority_side = vec![old, friend, a.address()];
    let mut majority_side = majority.clone();
    majority_side.push(b.address());
    narrate(
        &cluster,
        &format!(
            "PARTITION: n{old} (the leader), n{friend} and client A are cut off from {majority:?} and client B"
        ),
    );
    cluster.partition(&[&minority_side, &majority_side]);

    let new = majority[0];
    narrate(
        &cluster,
        &format!("n{new}'s election timer is made to fire, as it would without heartbeats"),
    );
    let new_term = elect(&cluster, new)?;
    narrate(
        &cluster,
        &format!("n{new} leads term {new_term}; client B writes k=2, committed by 3 of 5"),
    );
    b.put("k", "2")
        .map_err(|e| ScenarioError(format!("client B's put k=2: {e}")))?;
    // A moment passes: on the simulated runtime the read would otherwise start at the
    // very instant the write returned, and the two would count as concurrent.
    cluster.sleep(Duration::from_millis(1));

    narrate(
        &cluster,
        &format!("client A reads k from n{old}, which still believes it leads term {old_term}"),
    );
    a.set_timeout(READ_TIMEOUT);
    let read = a.get("k");
    narrate(&cluster, &format!("client A's read of k returned {read:?}"));

    let history = history.operations();
    let check = check(&KvModel, &history, Duration::from_secs(10));
    Ok(Outcome {
        old_leader: old,
        old_term,
        friend,
        new_leader: new,
        new_term,
        read,
        history,
        check,
        violations: cluster.violations(),
        events: cluster.trace(),
    })
}
