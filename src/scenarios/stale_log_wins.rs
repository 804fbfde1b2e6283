//! Why the election restriction exists (§5.4.1): a server that missed committed entries
//! must not become leader, or it would overwrite them.
//!
//! n4 is cut off while n0 (leader of term 1) commits "a" and "b" on n0..n3. n0 crashes;
//! n4 comes back and times out first. With the rule (`handle_request_vote`,
//! `src/raft/election.rs`), n1, n2 and n3 refuse it (`LogBehind`: their last entry is
//! `t1@3`, its is `t1@1`) and it cannot win. With `unsafe_skip_election_restriction`
//! they vote for it and it wins term 2 without the committed "a" and "b": the live
//! checker reports Leader Completeness (a leader without a committed entry) at once, and
//! State Machine Safety when n4 commits and applies its own term-2 entry at index 2,
//! where n0..n3 applied "a".
//!
//! (With the rule broken, n4's entries conflict with the followers' committed ones at
//! index 2, and a follower follows its leader, AppendEntries rule 3: it deletes entries
//! it had applied, listed in `truncated`. A follower cannot know; only the election
//! restriction prevents it.)

use crate::event::Event;
use crate::safety::Violation;
use crate::types::{Index, NodeId, Role};
use crate::{Cluster, Config, Runtime};

use super::{
    applied, ballots, commit_on, elect, scripted_config, truncations, wait_status, wait_trace,
    Ballot, Rec, Result, WAIT,
};

/// The server that misses the committed entries.
pub const STALE: NodeId = 4;

/// What to run.
#[derive(Debug, Clone, Copy)]
pub struct Opts {
    /// Turn on `unsafe_skip_election_restriction`.
    pub unsafe_skip: bool,
    /// Seeds the run.
    pub seed: u64,
}

/// What the run showed.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Whether the stale server won.
    pub stale_won: bool,
    /// The votes of its election.
    pub ballots: Vec<Ballot>,
    /// The committed commands it lacked.
    pub committed_before: Vec<String>,
    /// Entries deleted: (node, first, last).
    pub truncated: Vec<(NodeId, Index, Index)>,
    /// What n1 applied (it applied "a" and "b" before the stale leader came).
    pub n1_applied: Vec<String>,
    /// What the live checker found.
    pub violations: Vec<Violation>,
    /// The run's trace.
    pub events: Vec<Event>,
}

/// [`run_on`] the threaded runtime (one OS thread per node).
pub fn run(opts: &Opts) -> Result<Outcome> {
    run_on(opts, Runtime::Threads)
}

/// Commits without n4, crashes the leader, and lets n4 campaign.
/// On `runtime`; on `Runtime::Simulated` the seed replays the run exactly.
pub fn run_on(opts: &Opts, runtime: Runtime) -> Result<Outcome> {
    let config = Config {
        unsafe_skip_election_restriction: opts.unsafe_skip,
        runtime,
        ..scripted_config(opts.seed)
    };
    let cluster: Cluster<Rec> = Cluster::try_with_config(5, config)?;
    elect(&cluster, 0)?;
    wait_status(&cluster, "everyone to apply the first no-op", |st| {
        st.iter().all(|s| s.last_applied >= 1)
    })?;
    cluster.disconnect(STALE);
    let majority: Vec<NodeId> = (0..4).collect();
    for cmd in ["a", "b"] {
        commit_on(&cluster, 0, cmd, &majority)?;
    }
    cluster.crash(0);
    cluster.connect(STALE);
    let term = cluster.status(STALE).term + 1;
    cluster.fire_election_timeout(STALE);
    wait_trace(&cluster, "n1, n2, n3 to answer n4", WAIT, |ev| {
        ballots(ev, term).len() >= 3
    })?;
    wait_status(&cluster, "n4 to settle", |st| {
        st[STALE].role != Role::Candidate
    })?;
    let stale_won = cluster.status(STALE).role == Role::Leader;
    if stale_won {
        // Its no-op at index 2 commits and n4 applies it, where the others applied "a".
        wait_status(&cluster, "the stale leader to apply index 2", |st| {
            st[STALE].last_applied >= 2
        })?;
    }
    let events = cluster.trace();
    let truncated = truncations(&events);
    Ok(Outcome {
        stale_won,
        ballots: ballots(&events, term),
        committed_before: vec!["a".into(), "b".into()],
        truncated,
        n1_applied: applied(&cluster, 1),
        violations: cluster.violations(),
        events,
    })
}
