//! A stale leader (§5.1, §5.3, §5.4; dissertation §6.2): the leader is cut off with one
//! follower. It keeps believing it leads and keeps accepting commands, but it cannot
//! commit them: a commit needs a majority (`maybe_commit`, `src/raft/replication.rs`).
//! The majority elects a new leader in a higher term and commits. When the partition
//! heals, the old leader sees the higher term in the first message from the other side
//! and steps down (`Raft::step` → `become_follower`, `src/raft/mod.rs`), and the new
//! leader's AppendEntries delete its uncommitted entries (`handle_append_entries`,
//! AppendEntries rule 3).
//!
//! With CheckQuorum off (the paper's plain algorithm) the old leader believes it leads
//! for as long as the partition lasts. With CheckQuorum on it notices within an election
//! timeout that it hears from no majority and steps down by itself
//! (`check_quorum_tick`, `src/raft/election.rs`), so it stops accepting commands.

use crate::event::{Event, EventKind};
use crate::raft;
use crate::safety::Violation;
use crate::types::{Index, NodeId, Role, Term};
use crate::{Cluster, Config, Runtime};

use super::{
    applied, commit_on, elect, narrate, scripted_config, truncations, wait_status, Rec, Result,
    ScenarioError, WAIT,
};

/// What to run.
#[derive(Debug, Clone, Copy)]
pub struct Opts {
    /// CheckQuorum on: the old leader steps down by itself while still cut off.
    pub check_quorum: bool,
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
    /// Commands the old leader accepted while cut off: (command, index).
    pub accepted_while_cut_off: Vec<(String, Index)>,
    /// Commands it refused while cut off (CheckQuorum made it a follower).
    pub refused_while_cut_off: Vec<String>,
    /// Its role, term and commit index just before the partition healed.
    pub before_heal: (Role, Term, Index),
    /// Whether it stepped down before the partition healed.
    pub stepped_down_while_cut_off: bool,
    /// Why it stepped down, in its own words (from the trace).
    pub step_down_reason: String,
    /// What the majority committed meanwhile.
    pub committed_by_majority: Vec<String>,
    /// Entries deleted on healing: (node, first, last).
    pub truncated: Vec<(NodeId, Index, Index)>,
    /// What each node applied by the end, in id order.
    pub applied: Vec<Vec<String>>,
    /// Safety violations (none expected).
    pub violations: Vec<Violation>,
    /// The run's trace.
    pub events: Vec<Event>,
}

fn err(what: &str, cluster: &Cluster<Rec>) -> ScenarioError {
    ScenarioError(format!("{what}\n{}", cluster.dump(30)))
}

/// [`run_on`] the threaded runtime (one OS thread per node).
pub fn run(opts: &Opts) -> Result<Outcome> {
    run_on(opts, Runtime::Threads)
}

/// Runs the partition, the new election, and the healing.
/// On `runtime`; on `Runtime::Simulated` the seed replays the run exactly.
pub fn run_on(opts: &Opts, runtime: Runtime) -> Result<Outcome> {
    let cluster: Cluster<Rec> = Cluster::try_with_config(5, config(opts, runtime))?;
    let all: Vec<NodeId> = (0..5).collect();
    let (old, old_term) = first_leader(&cluster, opts, &all)?;
    let (friend, majority) = partition(&cluster, old, &all);
    let mut cut_off = CutOff::default();
    narrate(&cluster, &format!("a client sends \"lost-1\" to n{old}"));
    cut_off.offer(&cluster, old, "lost-1");
    let new = new_leader(&cluster, opts, old, &majority)?;
    let new_term = cluster.status(new).term;
    let committed_by_majority = majority_commits(&cluster, new, new_term, &majority)?;
    let before_heal = old_leader_meanwhile(&cluster, opts, old, friend, &mut cut_off)?;
    heal(&cluster, old, friend, new, &all)?;
    let events = cluster.trace();
    let (stepped_down_while_cut_off, step_down_reason) = step_down(&cluster, &events, old)?;
    let truncated = truncations(&events);
    Ok(Outcome {
        old_leader: old,
        old_term,
        friend,
        new_leader: new,
        new_term,
        accepted_while_cut_off: cut_off.accepted,
        refused_while_cut_off: cut_off.refused,
        before_heal,
        stepped_down_while_cut_off,
        step_down_reason,
        committed_by_majority,
        truncated,
        applied: all.iter().map(|&n| applied(&cluster, n)).collect(),
        violations: cluster.violations(),
        events,
    })
}

/// The cluster's settings: the paper's plain algorithm with scripted elections, or
/// real timers with CheckQuorum and PreVote (dissertation §6.2, §9.6).
fn config(opts: &Opts, runtime: Runtime) -> Config {
    let config = if opts.check_quorum {
        // Real timers: CheckQuorum runs on the leader's election timer.
        Config {
            seed: Some(opts.seed),
            check_quorum: true,
            pre_vote: true,
            ..Config::default()
        }
    } else {
        scripted_config(opts.seed)
    };
    Config { runtime, ..config }
}

/// Before the partition: a leader is elected (§5.2) and commits "a" on all five
/// (§5.3). Returns the leader and its term.
fn first_leader(cluster: &Cluster<Rec>, opts: &Opts, all: &[NodeId]) -> Result<(NodeId, Term)> {
    let old = if opts.check_quorum {
        cluster
            .wait_for_leader(WAIT)
            .map_err(|_| err("no first leader", cluster))?
    } else {
        elect(cluster, 0)?;
        0
    };
    let old_term = cluster.status(old).term;
    narrate(
        cluster,
        &format!("n{old} leads term {old_term}; it commits \"a\" on all five"),
    );
    commit_on(cluster, old, "a", all)?;
    Ok((old, old_term))
}

/// The partition: the leader and one follower (its friend) are cut off from the other
/// three, a majority (§5.1: the network may partition). Returns the friend and the
/// majority.
fn partition(cluster: &Cluster<Rec>, old: NodeId, all: &[NodeId]) -> (NodeId, Vec<NodeId>) {
    let friend = (old + 1) % 5;
    let majority: Vec<NodeId> = all
        .iter()
        .copied()
        .filter(|&n| n != old && n != friend)
        .collect();
    narrate(
        cluster,
        &format!("PARTITION: n{old} (the leader) and n{friend} are cut off from {majority:?}"),
    );
    cluster.partition(&[&[old, friend], &majority]);
    (friend, majority)
}

/// What the cut-off old leader did with client commands.
#[derive(Default)]
struct CutOff {
    /// Accepted: (command, index).
    accepted: Vec<(String, Index)>,
    /// Refused (CheckQuorum made it a follower).
    refused: Vec<String>,
}

impl CutOff {
    /// The old leader's futile proposal: it accepts a command it can never commit, as
    /// a commit needs a majority (§5.3), unless it already stepped down.
    fn offer(&mut self, cluster: &Cluster<Rec>, old: NodeId, cmd: &str) {
        match cluster.propose(old, cmd.to_string()) {
            Ok((index, term)) => {
                let text = format!(
                    "n{old} accepts {cmd:?} at index {index} in term {term}: it still believes it leads"
                );
                narrate(cluster, &text);
                self.accepted.push((cmd.to_string(), index));
            }
            Err(e) => {
                narrate(cluster, &format!("n{old} refuses {cmd:?}: {e}"));
                self.refused.push(cmd.to_string());
            }
        }
    }
}

/// The majority elects a new leader in a higher term (§5.2). With CheckQuorum the old
/// leader first steps down by itself, still cut off (dissertation §6.2).
fn new_leader(
    cluster: &Cluster<Rec>,
    opts: &Opts,
    old: NodeId,
    majority: &[NodeId],
) -> Result<NodeId> {
    if opts.check_quorum {
        // Nobody is scripted: the old leader's CheckQuorum and the majority's timers run.
        wait_status(cluster, "the old leader to step down", |st| {
            st[old].role != Role::Leader
        })?;
        narrate(
            cluster,
            &format!("n{old} gave up leadership by itself, still cut off (CheckQuorum)"),
        );
        wait_status(cluster, "a leader in the majority", |st| {
            majority.iter().any(|&n| st[n].role == Role::Leader)
        })?;
        majority
            .iter()
            .copied()
            .find(|&n| cluster.status(n).role == Role::Leader)
            .ok_or_else(|| err("majority leader vanished", cluster))
    } else {
        narrate(
            cluster,
            &format!(
                "n{}'s election timer is made to fire now, as it would after an election timeout without heartbeats",
                majority[0]
            ),
        );
        elect(cluster, majority[0])?;
        Ok(majority[0])
    }
}

/// The new leader commits "b" and "c" with three of five (§5.3). Returns them.
fn majority_commits(
    cluster: &Cluster<Rec>,
    new: NodeId,
    new_term: Term,
    majority: &[NodeId],
) -> Result<Vec<String>> {
    narrate(
        cluster,
        &format!("n{new} leads term {new_term} on the majority side; it commits \"b\" and \"c\" with 3 of 5"),
    );
    let mut committed_by_majority = Vec::new();
    for cmd in ["b", "c"] {
        commit_on(cluster, new, cmd, majority)?;
        committed_by_majority.push(cmd.to_string());
    }
    Ok(committed_by_majority)
}

/// Meanwhile the old leader accepts another command; only its friend stores it, so
/// its commit index stays put (§5.3). Returns its role, term and commit index just
/// before the partition heals.
fn old_leader_meanwhile(
    cluster: &Cluster<Rec>,
    opts: &Opts,
    old: NodeId,
    friend: NodeId,
    cut_off: &mut CutOff,
) -> Result<(Role, Term, Index)> {
    let o = cluster.status(old);
    narrate(
        cluster,
        &format!(
            "meanwhile n{old} is {} of term {} with commit index {}; a client sends \"lost-2\" to it",
            o.role, o.term, o.commit_index
        ),
    );
    cut_off.offer(cluster, old, "lost-2");
    let last_accepted = cut_off.accepted.last().map_or(0, |(_, i)| *i);
    wait_status(
        cluster,
        "the friend to store what the old leader accepted",
        |st| st[friend].last_log_index >= last_accepted || opts.check_quorum,
    )?;
    if !cut_off.accepted.is_empty() && !opts.check_quorum {
        let text = format!(
            "only n{friend} stored n{old}'s new entries: 2 of 5 is no majority, so n{old}'s commit index stays {}",
            cluster.status(old).commit_index
        );
        narrate(cluster, &text);
    }
    let o = cluster.status(old);
    Ok((o.role, o.term, o.commit_index))
}

/// The partition heals: the old leader sees the higher term and follows the new leader
/// (§5.1), whose AppendEntries replace its uncommitted entries (§5.3); "d" then
/// commits on all five.
fn heal(
    cluster: &Cluster<Rec>,
    old: NodeId,
    friend: NodeId,
    new: NodeId,
    all: &[NodeId],
) -> Result<()> {
    narrate(
        cluster,
        &format!("HEAL: n{old} and n{friend} can talk to the majority again"),
    );
    cluster.heal();
    wait_status(cluster, "the old leader to follow the new one", |st| {
        st[old].role == Role::Follower && st[old].leader == Some(new)
    })?;
    narrate(
        cluster,
        &format!(
            "n{old} follows n{new}; \"d\" is committed on all five, and every log is the same"
        ),
    );
    // One more command through the new leader: every node applies the same sequence.
    commit_on(cluster, new, "d", all)?;
    Ok(())
}

/// The old leader's step-down, from the trace: whether it came before the healing
/// (CheckQuorum, dissertation §6.2) or on seeing the higher term (§5.1), and its reason.
fn step_down(cluster: &Cluster<Rec>, events: &[Event], old: NodeId) -> Result<(bool, String)> {
    let step_down = events.iter().find(|e| {
        e.node == Some(old)
            && matches!(
                e.kind,
                EventKind::Raft(raft::Event::RoleChanged {
                    from: Role::Leader,
                    ..
                })
            )
    });
    match step_down {
        Some(e) => {
            let healed_at = events
                .iter()
                .find(|h| matches!(h.kind, EventKind::Healed))
                .map_or(u64::MAX, |h| h.at_us);
            let reason = match &e.kind {
                EventKind::Raft(raft::Event::RoleChanged { reason, .. }) => reason.to_string(),
                _ => unreachable!(),
            };
            Ok((e.at_us < healed_at, reason))
        }
        None => Err(err("no step-down in the trace", cluster)),
    }
}
