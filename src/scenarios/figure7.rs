//! Figure 7 of the paper (§5.3, §5.4.1): seven servers with the figure's logs, the
//! leader (top row, n0) crashed. One of the followers (a)..(f) (n1..n6) times out first;
//! can it win, and who votes for it?
//!
//! The answer is decided by the election restriction (§5.4.1, `handle_request_vote` in
//! `src/raft/election.rs`): a voter refuses a candidate whose last log term is lower
//! than its own, or equal but with a shorter log. Every node starts in term 8 having
//! voted for nobody in term 9, so in the election for term 9 only the logs decide.

use crate::event::Event;
use crate::log::{Entry, RaftLog};
use crate::raft::VoteRefusal;
use crate::raft::{HardState, Persisted};
use crate::safety::Violation;
use crate::types::{NodeId, Role, Term};
use crate::{Cluster, Config, Runtime};

use super::{ballots, scripted_config, wait_trace, Rec, Result, WAIT};

/// The crashed leader of term 8 (the figure's top row).
pub const LEADER: NodeId = 0;

/// The figure's log terms: the leader (n0), then followers (a)..(f) as n1..n6.
pub const LOGS: [&[Term]; 7] = [
    &[1, 1, 1, 4, 4, 5, 5, 6, 6, 6],
    &[1, 1, 1, 4, 4, 5, 5, 6, 6],
    &[1, 1, 1, 4],
    &[1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6],
    &[1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7],
    &[1, 1, 1, 4, 4, 4, 4],
    &[1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3],
];

/// The node id of follower `label` ('a'..='f').
pub fn node_of(label: char) -> NodeId {
    assert!(('a'..='f').contains(&label), "Figure 7 has followers a..f");
    (label as u8 - b'a') as NodeId + 1
}

/// The figure's name for node `id`: "leader" or "(a)".."(f)".
pub fn label_of(id: NodeId) -> String {
    match id {
        LEADER => "the old leader".into(),
        _ => format!("({})", (b'a' + (id - 1) as u8) as char),
    }
}

/// What to run.
#[derive(Debug, Clone)]
pub struct Opts {
    /// Which follower times out first: 'a'..='f'.
    pub candidate: char,
    /// Seeds the run (timers never fire on their own here, so it matters little).
    pub seed: u64,
}

/// What happened in the election.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The candidate's node id.
    pub candidate: NodeId,
    /// The term it campaigned in (9).
    pub term: Term,
    /// Whether it became leader.
    pub won: bool,
    /// The live servers that granted their vote (the candidate's own vote not included).
    pub granted: Vec<NodeId>,
    /// The live servers that refused, with their reason (from the trace).
    pub refused: Vec<(NodeId, VoteRefusal)>,
    /// Safety violations (none expected).
    pub violations: Vec<Violation>,
    /// The run's trace.
    pub events: Vec<Event>,
}

/// The figure's state as stable storage: every server in term 8, no vote cast in it,
/// the entry at index `i` of term `t` carrying the command "t{t}@{i}".
pub fn persisted() -> Vec<Persisted<String, <Rec as crate::StateMachine>::Snapshot>> {
    LOGS.iter()
        .map(|terms| {
            let entries = terms
                .iter()
                .zip(1..)
                .map(|(&t, i)| Entry::command(t, i, format!("t{t}@{i}")))
                .collect();
            Persisted {
                hard_state: HardState {
                    current_term: 8,
                    voted_for: None,
                },
                log: RaftLog::from_parts(0, 0, entries),
                snapshot: None,
            }
        })
        .collect()
}

/// [`run_on`] the threaded runtime (one OS thread per node).
pub fn run(opts: &Opts) -> Result<Outcome> {
    run_on(opts, Runtime::Threads)
}

/// Builds the figure on seven real nodes, crashes the leader, fires the
/// candidate's election timer and waits until all six live servers answered.
/// On `runtime`; on `Runtime::Simulated` the seed replays the run exactly.
pub fn run_on(opts: &Opts, runtime: Runtime) -> Result<Outcome> {
    let candidate = node_of(opts.candidate);
    let cluster: Cluster<Rec> = Cluster::try_with_state(
        Config {
            runtime,
            ..scripted_config(opts.seed)
        },
        persisted(),
    )?;
    cluster.crash(LEADER);
    cluster.fire_election_timeout(candidate);
    let term = 9;
    // Every live voter answers once; then the candidate has either won (a majority of
    // 7 is 4) or been refused by a majority and gone back to following (§5.2).
    wait_trace(&cluster, "all five voters to answer", WAIT, |ev| {
        ballots(ev, term).len() == 5
    })?;
    super::wait_status(&cluster, "the candidate to settle", |st| {
        st[candidate].role != Role::Candidate
    })?;
    let events = cluster.trace();
    let b = ballots(&events, term);
    let mut granted: Vec<NodeId> = b
        .iter()
        .filter(|b| b.refused.is_none())
        .map(|b| b.voter)
        .collect();
    granted.sort();
    let mut refused: Vec<(NodeId, VoteRefusal)> = b
        .iter()
        .filter_map(|b| b.refused.clone().map(|r| (b.voter, r)))
        .collect();
    refused.sort_by_key(|(v, _)| *v);
    Ok(Outcome {
        candidate,
        term,
        won: cluster.status(candidate).role == Role::Leader,
        granted,
        refused,
        violations: cluster.violations(),
        events,
    })
}
