//! Split votes (§5.2): two candidates time out together, each gets half the votes, and
//! nobody wins the term. Randomized election timeouts end it: each node waits a fresh
//! random 150-300 ms, one of them nearly always times out clearly first, and it wins the
//! next term before anyone else campaigns.
//!
//! Four nodes, so two votes each is a perfect tie (a majority of 4 is 3). n0 and n1 time
//! out at the same instant. Which of n2, n3 hears which candidate first is a race of
//! threads; to make the tie happen in every run, the first round runs with the network
//! split [n0, n2] | [n1, n3] (n2 hears only n0, n3 only n1), and is healed as soon as
//! the four votes are cast. From then on nothing is scripted: the timers decide.
//!
//! The rules: one vote per term, first come first served (`handle_request_vote`,
//! `src/raft/election.rs`); a candidate whose timer fires again starts a new term
//! (`tick_election`); the timeout is drawn afresh each time (`reset_election_timer`,
//! `src/node.rs`).

use std::time::Duration;

use crate::event::{Event, EventKind};
use crate::raft;
use crate::safety::Violation;
use crate::summary;
use crate::types::{NodeId, Term};
use crate::{Cluster, Config, Runtime};

use super::{ballots, wait_trace, Ballot, Rec, Result, ScenarioError, WAIT};

/// What to run.
#[derive(Debug, Clone, Copy)]
pub struct Opts {
    /// Seeds the randomized timeouts.
    pub seed: u64,
}

/// One election round after the split.
#[derive(Debug, Clone)]
pub struct Round {
    /// The term.
    pub term: Term,
    /// Who campaigned, in the order their timers fired, with the time (ms since start).
    pub candidates: Vec<(NodeId, f64)>,
    /// Who won, if anyone.
    pub leader: Option<NodeId>,
}

/// What the run showed.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The votes of term 1: each candidate voted for itself, each other node for one.
    pub first_round: Vec<Ballot>,
    /// Whether term 1 ended without a leader.
    pub term1_split: bool,
    /// Every term after the split, until one had a leader.
    pub rounds: Vec<Round>,
    /// The leader that ended it.
    pub winner: NodeId,
    /// Its term.
    pub winner_term: Term,
    /// Milliseconds from the split to the winner's election.
    pub resolved_after_ms: f64,
    /// Safety violations (none expected).
    pub violations: Vec<Violation>,
    /// The run's trace.
    pub events: Vec<Event>,
}

/// [`run_on`] the threaded runtime (one OS thread per node).
pub fn run(opts: &Opts) -> Result<Outcome> {
    run_on(opts, Runtime::Threads)
}

/// Runs the split and waits for the randomized timeouts to elect a leader.
/// On `runtime`; on `Runtime::Simulated` the seed replays the run exactly.
pub fn run_on(opts: &Opts, runtime: Runtime) -> Result<Outcome> {
    let config = Config {
        seed: Some(opts.seed),
        runtime,
        pre_vote: false,
        check_quorum: false,
        ..Config::default()
    };
    let cluster: Cluster<Rec> = Cluster::try_with_config(4, config)?;
    cluster.partition(&[&[0, 2], &[1, 3]]);
    // Both time out "together": well before any timer (150 ms at least) fires by itself.
    cluster.fire_election_timeout(0);
    cluster.fire_election_timeout(1);
    wait_trace(&cluster, "the four votes of term 1", WAIT, |ev| {
        ballots(ev, 1).len() >= 2
    })?;
    let split_at = cluster.trace_log().now_us() as f64 / 1000.0;
    cluster.heal();
    let leader = cluster.wait_for_leader(WAIT).map_err(|e| {
        ScenarioError(format!(
            "no leader after the split: {e}\n{}",
            cluster.dump(30)
        ))
    })?;
    // Let the winner's first heartbeat land, so the trace shows everyone following it.
    let term = cluster.status(leader).term;
    super::wait_status(&cluster, "everyone to follow the winner", |st| {
        st.iter()
            .all(|s| s.term == term && s.leader == Some(leader))
    })?;
    let events = cluster.trace();
    let first_round = ballots(&events, 1);
    let terms = summary::terms(&events);
    let term1_split = terms.iter().all(|t| t.term != 1 || t.leader.is_none());
    let rounds = terms
        .iter()
        .filter(|t| t.term > 1 && t.term <= term)
        .map(|t| Round {
            term: t.term,
            candidates: events
                .iter()
                .filter_map(|e| match e.kind {
                    EventKind::Raft(raft::Event::ElectionStarted {
                        term,
                        pre_vote: false,
                        ..
                    }) if term == t.term => Some((e.node?, e.at_us as f64 / 1000.0)),
                    _ => None,
                })
                .collect(),
            leader: t.leader,
        })
        .collect();
    let elected_at = terms
        .iter()
        .find(|t| t.term == term)
        .and_then(|t| t.elected_at_ms)
        .unwrap_or(split_at);
    Ok(Outcome {
        first_round,
        term1_split,
        rounds,
        winner: leader,
        winner_term: term,
        resolved_after_ms: elected_at - split_at,
        violations: cluster.violations(),
        events,
    })
}

/// How long the paper's election timeouts are, for the example's words.
pub const TIMEOUT_RANGE: (Duration, Duration) =
    (Duration::from_millis(150), Duration::from_millis(300));
