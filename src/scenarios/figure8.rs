//! Figure 8 of the paper (§5.4.2): why a leader may not commit an entry of an earlier
//! term by counting replicas.
//!
//! Five servers S1..S5 (n0..n4). (a) S1 leads term 2 and gets the entry at index 2 to
//! S2 only. (b) S1 crashes; S5 wins term 3 (votes from S3, S4, itself) and writes a
//! different entry at index 2. (c) S5 crashes; S1 comes back, wins term 4 and copies
//! its term-2 entry to S3 and S4: it is now on a majority. With the rule, S1 does not
//! commit it (its term is 2, not 4). (d) S1 crashes; S5 wins term 5 with S2, S3 and S4's
//! votes (its last term 3 beats their 2) and overwrites index 2 everywhere: harmless,
//! since it never committed. With `unsafe_commit_previous_term_entries`, S1 committed and
//! applied it at (c), and (d) destroys a committed entry: the live checker reports
//! Leader Completeness and State Machine Safety. (e) Instead, had S1 got an entry of its
//! own term 4 onto a majority, that commits index 2 with it and S5 can never win.
//!
//! Run on the pure core ([`Stepper`]), because (c) needs the entry at index 2 to reach
//! S3 and S4 while the one at index 3, sent right after on the same links, does not.
//! As in `tests/core_figures.rs`, every new leader first appends a no-op of its term
//! (dissertation §6.4): in (a) that no-op *is* S1's term-2 entry at index 2, and in (c)
//! S1's term-4 no-op takes the figure's index 3. The rule lives in `maybe_commit`
//! (`src/raft/replication.rs`).

use crate::event::{Event, EventKind};
use crate::raft::{self, RaftConfig};
use crate::safety::Violation;
use crate::testkit::{carries_index, is_vote};
use crate::types::{Index, NodeId, Role, Term};

use super::stepper::Stepper;
use super::{Result, ScenarioError};

/// S1..S5 of the figure are n0..n4.
pub const S1: NodeId = 0;
/// S2.
pub const S2: NodeId = 1;
/// S3.
pub const S3: NodeId = 2;
/// S4.
pub const S4: NodeId = 3;
/// S5.
pub const S5: NodeId = 4;

/// How the story ends after (c).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// (d): S1 crashes with index 2 on a majority, S5 wins term 5 and overwrites it.
    D,
    /// (e): S1 first gets its term-4 entry onto a majority, then crashes; S5 tries.
    E,
}

/// What to run.
#[derive(Debug, Clone, Copy)]
pub struct Opts {
    /// Turn on `unsafe_commit_previous_term_entries` (break §5.4.2).
    pub unsafe_commit: bool,
    /// Which ending.
    pub ending: Ending,
}

/// The logs after one step of the figure.
#[derive(Debug, Clone)]
pub struct Stage {
    /// "(a)".."(e)".
    pub label: &'static str,
    /// What happened, in words.
    pub what: String,
    /// Each server's log terms, S1 first (a crashed server's persisted log).
    pub logs: Vec<Vec<Term>>,
}

/// What the run showed.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The figure's states, in order.
    pub stages: Vec<Stage>,
    /// S1's commit index at (c), once index 2 sat on a majority.
    pub s1_commit_at_c: Index,
    /// Whether S1 applied the term-2 entry at index 2 during (c).
    pub s1_applied_term2_entry: bool,
    /// Who led term 5, if anyone (S5 in (d)).
    pub leader_of_term5: Option<NodeId>,
    /// Entries some server applied that are no longer in the final logs: committed
    /// entries lost.
    pub lost_committed: Vec<(Index, Term)>,
    /// Servers that deleted entries they held, with (first index, last index, terms).
    pub truncations: Vec<(NodeId, Index, Index, Vec<Term>)>,
    /// What the live safety checker found.
    pub violations: Vec<Violation>,
    /// The run's trace, on a virtual clock (one ms per delivered message).
    pub events: Vec<Event>,
}

fn check(ok: bool, what: &str, s: &Stepper) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(ScenarioError(format!(
            "figure 8: {what}\n{}",
            s.net.describe()
        )))
    }
}

/// Plays (a), (b), (c) and the chosen ending.
pub fn run(opts: &Opts) -> Result<Outcome> {
    let cfg = RaftConfig {
        // One entry per AppendEntries, so S1 can hand S3 and S4 the entry at index 2
        // without the one at index 3.
        max_entries_per_append: 1,
        unsafe_commit_previous_term_entries: opts.unsafe_commit,
        ..RaftConfig::figure2()
    };
    let mut s = Stepper::new(5, cfg);
    before_a(&mut s)?;
    let mut stages = vec![phase_a(&mut s)?, phase_b(&mut s)?];
    let (stage_c, s1_commit_at_c, s1_applied_term2_entry) = phase_c(&mut s)?;
    stages.push(stage_c);
    stages.push(match opts.ending {
        Ending::D => phase_d(&mut s)?,
        Ending::E => phase_e(&mut s)?,
    });
    Ok(Outcome {
        stages,
        s1_commit_at_c,
        s1_applied_term2_entry,
        leader_of_term5: s.net.leader_of(5),
        lost_committed: lost_committed(&s),
        truncations: truncations(&s),
        violations: s.violations(),
        events: s.events().to_vec(),
    })
}

/// The logs as they stand, for one step of the figure.
fn stage(s: &Stepper, label: &'static str, what: &str) -> Stage {
    Stage {
        label,
        what: what.to_string(),
        logs: s.logs(),
    }
}

/// Before (a): S1 leads term 1; its no-op at index 1 reaches everyone and commits
/// (§5.3), so the figure's logs start with one committed entry.
fn before_a(s: &mut Stepper) -> Result<()> {
    s.tick_election(S1);
    s.deliver_all();
    check(
        s.net.node(S1).commit_index() == 1,
        "term 1 commits index 1",
        s,
    )
}

/// (a) S1 restarts and leads term 2; its term-2 entry at index 2 reaches only S2
/// (§5.4.2, Figure 8 (a)).
fn phase_a(s: &mut Stepper) -> Result<Stage> {
    s.restart(S1);
    s.tick_election(S1);
    s.deliver_matching(is_vote);
    check(s.net.leader_of(2) == Some(S1), "S1 leads term 2", s)?;
    s.deliver_matching(|e| e.to == S2 || e.from == S2);
    s.drop_matching(|_| true);
    Ok(stage(
        s,
        "(a)",
        "S1 leads term 2; its entry at index 2 reached only S2",
    ))
}

/// (b) S1 crashes; S5 wins term 3 with S3, S4 and itself (S2 refuses: its log is
/// more up to date, §5.4.1) and writes its own entry at index 2, which reaches nobody
/// (§5.4.2, Figure 8 (b)).
fn phase_b(s: &mut Stepper) -> Result<Stage> {
    s.crash(S1);
    s.tick_election(S5);
    s.deliver_matching(is_vote);
    check(s.net.leader_of(3) == Some(S5), "S5 leads term 3", s)?;
    s.drop_matching(|_| true);
    Ok(stage(
        s,
        "(b)",
        "S1 crashed; S5 won term 3 and wrote a term-3 entry at index 2",
    ))
}

/// (c) S5 crashes; S1 restarts and wins term 4, then copies its term-2 entry at index 2
/// onto a majority; whether it may commit it is the rule of §5.4.2 (Figure 8 (c)).
/// Returns the stage, S1's commit index and whether S1 applied the term-2 entry.
fn phase_c(s: &mut Stepper) -> Result<(Stage, Index, bool)> {
    // Term 3 is taken (S3, S4 voted for S5), so S1 wins term 4 with S2, S3 and S4. It
    // copies index 2 to S3 and S4 (S2 hears nothing); its own term-4 entry at index 3,
    // sent right after, is lost on the way.
    s.crash(S5);
    s.restart(S1);
    s.tick_election(S1);
    s.deliver_matching(is_vote);
    s.tick_election(S1);
    s.deliver_matching(is_vote);
    check(s.net.leader_of(4) == Some(S1), "S1 leads term 4", s)?;
    s.block(|e| e.to == S2);
    s.deliver_round(); // probes reach S3, S4: rejected, they lack index 2
    s.deliver_round(); // the rejections reach S1, which backs up to index 2
    s.deliver_round(); // index 2 reaches S3, S4
    s.deliver_round(); // their acknowledgements reach S1, which sends index 3
    s.drop_matching(|e| carries_index(e, 3));
    s.drop_matching(|_| true);
    s.recover();
    let s1 = s.net.node(S1);
    let s1_commit_at_c = s1.commit_index();
    let s1_applied_term2_entry = s
        .net
        .applied(S1)
        .iter()
        .any(|e| e.index == 2 && e.term == 2);
    let stage = stage(
        s,
        "(c)",
        &format!(
            "S1 won term 4; index 2 (term 2) is on S1, S2, S3, S4; S1's commit index is {s1_commit_at_c}"
        ),
    );
    Ok((stage, s1_commit_at_c, s1_applied_term2_entry))
}

/// (d) S1 crashes; S5 restarts. Term 4 is taken; in term 5, S2, S3 and S4 vote for it
/// (its last entry, term 3, beats their term 2: §5.4.1) and it overwrites index 2
/// everywhere (§5.4.2, Figure 8 (d)).
fn phase_d(s: &mut Stepper) -> Result<Stage> {
    s.crash(S1);
    s.restart(S5);
    s.tick_election(S5);
    s.deliver_matching(is_vote);
    s.tick_election(S5);
    s.deliver_matching(is_vote);
    check(s.net.leader_of(5) == Some(S5), "S5 leads term 5", s)?;
    s.deliver_all();
    // S1 comes back and is brought in line too.
    s.restart(S1);
    s.tick_heartbeat(S5);
    s.deliver_all();
    Ok(stage(
        s,
        "(d)",
        "S1 crashed; S5 won term 5 and overwrote index 2",
    ))
}

/// (e) S1's term-4 entry reaches S2 and S3 (S4 stays cut off): a majority holds an
/// entry of S1's own term, so indexes 2 and 3 commit together and S5 can never win
/// (§5.4.2, Figure 8 (e)).
fn phase_e(s: &mut Stepper) -> Result<Stage> {
    s.cut(S1, S4);
    s.tick_heartbeat(S1);
    s.deliver_all();
    s.tick_heartbeat(S1);
    s.deliver_all();
    check(s.net.node(S1).commit_index() == 3, "S1 commits index 3", s)?;
    s.crash(S1);
    s.recover();
    s.restart(S5);
    for _ in 0..3 {
        s.tick_election(S5);
        s.deliver_matching(is_vote);
    }
    check(
        s.net.node(S5).role() != Role::Leader,
        "S5 cannot win after (e)",
        s,
    )?;
    Ok(stage(
        s,
        "(e)",
        "S1 got its term-4 entry onto S2 and S3, committing 2 and 3; S5 cannot win",
    ))
}

/// Committed entries lost, what Leader Completeness forbids (§5.4): a committed entry
/// is lost if the current leader lacks it or, with no leader, if no majority holds it
/// any more (then no future leader can have it).
fn lost_committed(s: &Stepper) -> Vec<(Index, Term)> {
    let term_at = |n: NodeId, i: Index| match s.net.nodes.get(&n) {
        Some(core) => core.log().term_at(i),
        None => s.net.persisted(n).log.term_at(i),
    };
    let leader = s.net.leader();
    s.net
        .committed()
        .into_iter()
        .filter(|&(i, t)| match leader {
            Some(l) => term_at(l, i) != Some(t),
            None => (0..5).filter(|&n| term_at(n, i) == Some(t)).count() < 3,
        })
        .collect()
}

/// Entries servers deleted to match a leader's log (§5.3, AppendEntries rule 3), from
/// the trace.
fn truncations(s: &Stepper) -> Vec<(NodeId, Index, Index, Vec<Term>)> {
    s.events()
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Raft(raft::Event::Truncated {
                from, to, terms, ..
            }) => Some((e.node?, *from, *to, terms.clone())),
            _ => None,
        })
        .collect()
}
