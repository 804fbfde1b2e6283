//! A compact terminal summary of a run, built from its trace: who led which term and
//! for how long, what committed, what was discarded, and which faults were injected.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::event::{Event, EventKind, Fate};
use crate::raft;
use crate::types::{NodeId, Role, Term};

/// One term as the trace saw it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TermSummary {
    /// The term.
    pub term: Term,
    /// Who won it, if anyone.
    pub leader: Option<NodeId>,
    /// When the leader won, in ms since the start.
    pub elected_at_ms: Option<f64>,
    /// Who started elections (or pre-votes) for it.
    pub candidates: Vec<NodeId>,
    /// Votes granted in it: (voter, candidate). A candidate's vote for itself is not
    /// among them (it grants none: it votes for itself as it starts its election).
    pub votes: Vec<(NodeId, NodeId)>,
    /// The highest commit index a node reached while in it.
    pub commit_index: u64,
}

/// Per-term summaries, in term order.
pub fn terms(events: &[Event]) -> Vec<TermSummary> {
    let mut terms: BTreeMap<Term, TermSummary> = BTreeMap::new();
    fn get(terms: &mut BTreeMap<Term, TermSummary>, t: Term) -> &mut TermSummary {
        terms.entry(t).or_insert_with(|| TermSummary {
            term: t,
            ..Default::default()
        })
    }
    for e in events {
        let Some(node) = e.node else { continue };
        let Some(raft_event) = e.raft() else { continue };
        match raft_event {
            raft::Event::ElectionStarted {
                term,
                pre_vote: false,
                ..
            } => get(&mut terms, *term).candidates.push(node),
            raft::Event::VoteGranted {
                candidate,
                term,
                pre_vote: false,
            } => get(&mut terms, *term).votes.push((node, *candidate)),
            raft::Event::RoleChanged {
                to: Role::Leader, ..
            } => {
                let t = get(&mut terms, e.term);
                t.leader = Some(node);
                t.elected_at_ms = Some(e.at_us as f64 / 1000.0);
            }
            raft::Event::Committed { to, .. } => {
                let t = get(&mut terms, e.term);
                t.commit_index = t.commit_index.max(*to);
            }
            _ => {}
        }
    }
    terms.into_values().collect()
}

/// A few lines that tell the story of a run: terms and leaders, commits, discarded
/// entries, faults and message fates.
pub fn summarize(events: &[Event]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "terms:");
    for t in terms(events) {
        let leader = match (t.leader, t.elected_at_ms) {
            (Some(l), Some(at)) => format!("leader n{l} (elected at {at:.0} ms)"),
            _ => "no leader".into(),
        };
        // Each candidate's tally counts its own vote, as the election does (§5.2).
        let mut tallies = Vec::new();
        for &c in &t.candidates {
            let granted = t.votes.iter().filter(|&&(_, to)| to == c).count();
            tallies.push(format!("n{c} {granted} granted + own = {}", granted + 1));
        }
        let _ = writeln!(
            out,
            "  term {:>3}: {leader:<32} votes: {}; commit index reached {}",
            t.term,
            if tallies.is_empty() {
                "none".to_string()
            } else {
                tallies.join(", ")
            },
            t.commit_index
        );
    }
    let mut truncations = Vec::new();
    let mut faults = Vec::new();
    let mut fates: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut violations = Vec::new();
    for e in events {
        let ms = e.at_us as f64 / 1000.0;
        match &e.kind {
            EventKind::Raft(raft::Event::Truncated { .. }) => truncations.push(format!(
                "  {ms:>8.0} ms n{}: {}",
                e.node.unwrap_or_default(),
                e.kind
            )),
            EventKind::Crashed
            | EventKind::Restarted { .. }
            | EventKind::Disconnected { .. }
            | EventKind::Connected { .. }
            | EventKind::Partitioned { .. }
            | EventKind::Healed
            | EventKind::NetChanged { .. } => {
                let who = e.node.map(|n| format!("n{n} ")).unwrap_or_default();
                faults.push(format!("  {ms:>8.0} ms {who}{}", e.kind));
            }
            EventKind::Message { fate, .. } => {
                let name = match fate {
                    Fate::Delivered => "delivered",
                    Fate::Dropped => "dropped",
                    Fate::Delayed { .. } => "delayed",
                    Fate::Duplicated => "duplicated",
                    Fate::BlockedByPartition => "blocked by a partition",
                    Fate::BlockedDisconnected => "blocked (disconnected)",
                    Fate::BlockedCrashed => "blocked (crashed)",
                };
                *fates.entry(name).or_default() += 1;
            }
            EventKind::Violation { description } => {
                violations.push(format!("  {ms:>8.0} ms {description}"))
            }
            _ => {}
        }
    }
    for (title, lines) in [
        ("faults injected:", &faults),
        (
            "entries discarded (overwritten by a newer leader; uncommitted, unless a safety rule was switched off):",
            &truncations,
        ),
        ("SAFETY VIOLATIONS:", &violations),
    ] {
        if !lines.is_empty() {
            let _ = writeln!(out, "{title}");
            for l in lines {
                let _ = writeln!(out, "{l}");
            }
        }
    }
    if !fates.is_empty() {
        let parts: Vec<String> = fates.iter().map(|(k, v)| format!("{v} {k}")).collect();
        let _ = writeln!(out, "messages: {}", parts.join(", "));
    }
    out
}
