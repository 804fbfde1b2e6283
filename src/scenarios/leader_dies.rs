//! The leader dies before its entry commits (§5.3, §5.4.1, §5.4.2): entry "x" reached
//! only one follower (a minority: 2 of 5 with the leader) when the leader crashed.
//! Is "x" kept or lost? It depends on who wins the next election, and either way every
//! server ends with the same log: nobody applies "x" unless everybody eventually does.
//!
//! - If the follower holding "x" wins, "x" is in the new leader's log; it commits as
//!   soon as the new leader's own no-op reaches a majority (§5.4.2: entries of earlier
//!   terms commit indirectly), and every server applies it.
//! - If a server without "x" wins (the holder refuses to vote for it, `LogBehind`, but
//!   three votes are enough), the new leader's log wins: "x" is deleted from the holder
//!   and, when the old leader restarts, from it too (AppendEntries rule 3). Nobody ever
//!   applied it, because it never committed: a leader applies only what a majority
//!   stores (`maybe_commit`, `src/raft/replication.rs`).

use crate::event::Event;
use crate::safety::Violation;
use crate::types::{Index, NodeId};
use crate::{Cluster, Config, Runtime};

use super::{
    applied, ballots, commit_on, elect, scripted_config, truncations, wait_status, Ballot, Rec,
    Result, ScenarioError,
};

/// The leader that dies.
pub const OLD_LEADER: NodeId = 0;
/// The follower that received "x" before the leader died.
pub const HOLDER: NodeId = 1;
/// A follower that never received "x".
pub const OTHER: NodeId = 2;

/// Who wins the election after the crash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Winner {
    /// The follower holding "x" ([`HOLDER`]) times out first.
    HasEntry,
    /// A follower without "x" ([`OTHER`]) times out first.
    LacksEntry,
}

/// What to run.
#[derive(Debug, Clone, Copy)]
pub struct Opts {
    /// Who times out first after the crash.
    pub winner: Winner,
    /// Seeds the run.
    pub seed: u64,
}

/// What the run showed.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Where "x" sat in the old leader's log.
    pub x_index: Index,
    /// Commit index of the old leader when it crashed (below `x_index`).
    pub old_leader_commit: Index,
    /// The new leader.
    pub new_leader: NodeId,
    /// The votes in its election.
    pub ballots: Vec<Ballot>,
    /// Whether "x" survived (every node applied it).
    pub x_kept: bool,
    /// Nodes that applied "x".
    pub applied_x: Vec<NodeId>,
    /// Entries deleted: (node, first, last).
    pub truncated: Vec<(NodeId, Index, Index)>,
    /// What each node applied by the end, in id order.
    pub applied: Vec<Vec<String>>,
    /// Safety violations (none expected).
    pub violations: Vec<Violation>,
    /// The run's trace.
    pub events: Vec<Event>,
}

/// [`run_on`] the threaded runtime (one OS thread per node).
pub fn run(opts: &Opts) -> Result<Outcome> {
    run_on(opts, Runtime::Threads)
}

/// Runs the crash and the election, restarts the old leader, and compares the logs.
/// On `runtime`; on `Runtime::Simulated` the seed replays the run exactly.
pub fn run_on(opts: &Opts, runtime: Runtime) -> Result<Outcome> {
    let cluster: Cluster<Rec> = Cluster::try_with_config(
        5,
        Config {
            runtime,
            ..scripted_config(opts.seed)
        },
    )?;
    let all: Vec<NodeId> = (0..5).collect();
    elect(&cluster, OLD_LEADER)?;
    commit_on(&cluster, OLD_LEADER, "a", &all)?;

    // "x" can reach only the holder.
    cluster.partition(&[&[OLD_LEADER, HOLDER], &[2, 3, 4]]);
    let (x_index, _) = cluster
        .propose(OLD_LEADER, "x".into())
        .map_err(|e| ScenarioError(format!("propose x: {e}")))?;
    wait_status(&cluster, "x to reach the holder", |st| {
        st[HOLDER].last_log_index >= x_index
    })?;
    let old_leader_commit = cluster.status(OLD_LEADER).commit_index;
    cluster.crash(OLD_LEADER);
    cluster.heal();

    let candidate = match opts.winner {
        Winner::HasEntry => HOLDER,
        Winner::LacksEntry => OTHER,
    };
    let term = elect(&cluster, candidate)?;
    let survivors: Vec<NodeId> = (1..5).collect();
    commit_on(&cluster, candidate, "y", &survivors)?;
    // The old leader comes back and is brought in line with the new leader's log.
    cluster.restart(OLD_LEADER);
    commit_on(&cluster, candidate, "z", &all)?;

    let events = cluster.trace();
    let applied: Vec<Vec<String>> = all.iter().map(|&n| applied(&cluster, n)).collect();
    let applied_x: Vec<NodeId> = all
        .iter()
        .copied()
        .filter(|&n| applied[n].iter().any(|c| c == "x"))
        .collect();
    let truncated = truncations(&events);
    Ok(Outcome {
        x_index,
        old_leader_commit,
        new_leader: candidate,
        ballots: ballots(&events, term),
        x_kept: applied_x.len() == all.len(),
        applied_x,
        truncated,
        applied,
        violations: cluster.violations(),
        events,
    })
}
