//! Why `votedFor` is on stable storage (Figure 2, §5.2): a server that forgets its vote
//! in a crash can vote twice in one term, and two leaders can share that term.
//!
//! Three servers. n0 campaigns for term 1 and n2 votes for it; n0 wins. Before n0's
//! first AppendEntries reaches n2, the network splits `[n0] | [n1, n2]` and n2 crashes
//! and restarts. Then n1 campaigns for term 1 too. With the vote persisted (the rule),
//! n2 answers "already voted for n0 in this term" and n1 cannot win. With
//! `unsafe_forget_vote_on_restart` n2 votes again, n1 wins term 1 as well, and the live
//! checker reports Election Safety.
//!
//! The one timing assumption: every message is delayed 150 ms by the network, so the
//! scenario has 150 ms between seeing n0 win and n0's first AppendEntries landing on n2
//! to cut n0 off (n2 must not receive it: its log would then be ahead of n1's and n2
//! would refuse n1 for that reason instead). If the machine stalls longer than that, the
//! run reports the miss rather than a wrong answer. The deciding code: `voted_for` is
//! persisted in `Raft::persist_hard_state` (`src/raft/mod.rs`) and checked in
//! `handle_request_vote` (`src/raft/election.rs`); the switch is applied in
//! `Cluster::restart`.

use std::time::Duration;

use crate::config::NetConfig;
use crate::event::{Event, EventKind};
use crate::raft;
use crate::safety::Violation;
use crate::types::{NodeId, Role};
use crate::{Cluster, Config, Runtime};

use super::{
    ballots, leader_of, scripted_config, wait_status, wait_trace, Ballot, Rec, Result,
    ScenarioError, WAIT,
};

/// How long the network holds every message.
pub const DELAY: Duration = Duration::from_millis(150);

/// What to run.
#[derive(Debug, Clone, Copy)]
pub struct Opts {
    /// Turn on `unsafe_forget_vote_on_restart`.
    pub forget_vote: bool,
    /// Seeds the run.
    pub seed: u64,
}

/// What the run showed.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Every vote of term 1 (n2 appears twice if it voted twice).
    pub ballots: Vec<Ballot>,
    /// The leaders of term 1 the trace shows.
    pub leaders_of_term1: Vec<NodeId>,
    /// What the live checker found.
    pub violations: Vec<Violation>,
    /// The run's trace.
    pub events: Vec<Event>,
}

/// [`run_on`] the threaded runtime (one OS thread per node).
pub fn run(opts: &Opts) -> Result<Outcome> {
    run_on(opts, Runtime::Threads)
}

/// Runs the two elections of term 1 around n2's restart.
/// On `runtime`; on `Runtime::Simulated` the seed replays the run exactly.
pub fn run_on(opts: &Opts, runtime: Runtime) -> Result<Outcome> {
    let config = Config {
        unsafe_forget_vote_on_restart: opts.forget_vote,
        runtime,
        net: NetConfig {
            delay_min: DELAY,
            delay_max: DELAY,
            ..NetConfig::reliable()
        },
        ..scripted_config(opts.seed)
    };
    let cluster: Cluster<Rec> = Cluster::try_with_config(3, config)?;
    cluster.partition(&[&[0, 2], &[1]]);
    cluster.fire_election_timeout(0);
    wait_status(&cluster, "n0 to win term 1", |st| {
        st[0].role == Role::Leader
    })?;
    // n0's first AppendEntries is on its way to n2: cut n0 off before it lands.
    cluster.partition(&[&[0], &[1, 2]]);
    cluster.restart(2);
    wait_status(&cluster, "n2 to be back", |st| st[2].alive)?;
    if cluster.status(2).last_log_index > 0 {
        return Err(ScenarioError(
            "timing: n0's AppendEntries reached n2 before it could be cut off".into(),
        ));
    }
    cluster.fire_election_timeout(1);
    wait_trace(&cluster, "n2 to answer n1", WAIT, |ev| {
        ballots(ev, 1)
            .iter()
            .any(|b| b.voter == 2 && b.candidate == 1)
    })?;
    if opts.forget_vote {
        wait_status(&cluster, "n1 to win", |st| st[1].role == Role::Leader)?;
    }
    let events = cluster.trace();
    let mut leaders: Vec<NodeId> = Vec::new();
    for e in &events {
        if let EventKind::Raft(raft::Event::RoleChanged {
            to: Role::Leader, ..
        }) = e.kind
        {
            if e.term == 1 {
                leaders.extend(e.node);
            }
        }
    }
    debug_assert_eq!(leader_of(&events, 1), leaders.first().copied());
    Ok(Outcome {
        ballots: ballots(&events, 1),
        leaders_of_term1: leaders,
        violations: cluster.violations(),
        events,
    })
}
