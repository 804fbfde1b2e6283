//! Catching up a follower far behind (§5.3, "the leader decrements nextIndex and
//! retries", and the optimization the paper sketches right after it).
//!
//! n0 leads term 1 and is cut off; it accepts `stale` commands nobody else sees. The
//! others elect n1 (term 2) and commit `behind` commands; then n2 takes over (term 3), so
//! the leader that repairs n0 knows nothing about n0's log and starts optimistic, at its
//! own end (Figure 2: nextIndex = last log index + 1). When n0 comes back its log is
//! both short and divergent: the leader must find the last index where they agree.
//!
//! - One entry at a time (`fast_backtracking: false`, Figure 2 as written): every
//!   rejection moves nextIndex back by one, so it takes about as many round trips as
//!   n0 is behind.
//! - Fast backtracking (on by default): the rejection carries a hint (`ConflictHint`,
//!   `src/message.rs`): "my log ends at 12", or "I hold term 1 there, from index 1 on";
//!   the leader skips the whole run (`handle_append_reply`,
//!   `src/raft/replication.rs`), so a couple of round trips suffice.

use crate::event::{Event, EventKind, Fate};
use crate::raft;
use crate::safety::Violation;
use crate::types::{Index, NodeId};
use crate::{Cluster, Config, Runtime};

use super::{commit_on, elect, scripted_config, wait_status, Rec, Result, ScenarioError};

/// The follower that falls behind.
pub const LAGGARD: NodeId = 0;
/// The leader that repairs it.
pub const REPAIRER: NodeId = 2;

/// What to run.
#[derive(Debug, Clone, Copy)]
pub struct Opts {
    /// Use the follower's conflict hints (else back up one entry per rejection).
    pub fast_backtracking: bool,
    /// Commands the laggard accepts alone while cut off (its divergent suffix).
    pub stale: usize,
    /// Commands the others commit meanwhile.
    pub behind: usize,
    /// Seeds the run.
    pub seed: u64,
}

impl Default for Opts {
    fn default() -> Self {
        Opts {
            fast_backtracking: true,
            stale: 10,
            behind: 40,
            seed: 1,
        }
    }
}

/// What the repair cost.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The settings it ran with.
    pub opts: Opts,
    /// The laggard's last index when it came back.
    pub laggard_last_index: Index,
    /// The leader's last index when the laggard came back.
    pub leader_last_index: Index,
    /// Rejected AppendEntries before the logs agreed (`NextIndexBackedUp` events).
    pub rejections: usize,
    /// AppendEntries (heartbeats included) from the leader to the laggard until it
    /// matched.
    pub appends: usize,
    /// Replies from the laggard until it matched.
    pub replies: usize,
    /// Log entries carried to the laggard until it matched.
    pub entries_sent: usize,
    /// The laggard's entries deleted: (first, last).
    pub truncated: Option<(Index, Index)>,
    /// Milliseconds from the first AppendEntries that reached the laggard to matching
    /// the leader's log.
    pub repair_ms: f64,
    /// Safety violations (none expected).
    pub violations: Vec<Violation>,
    /// The run's trace.
    pub events: Vec<Event>,
}

/// [`run_on`] the threaded runtime (one OS thread per node).
pub fn run(opts: &Opts) -> Result<Outcome> {
    run_on(opts, Runtime::Threads)
}

/// Builds the lagging, divergent follower, reconnects it and measures the repair.
/// On `runtime`; on `Runtime::Simulated` the seed replays the run exactly.
pub fn run_on(opts: &Opts, runtime: Runtime) -> Result<Outcome> {
    let config = Config {
        fast_backtracking: opts.fast_backtracking,
        runtime,
        ..scripted_config(opts.seed)
    };
    let cluster: Cluster<Rec> = Cluster::try_with_config(5, config)?;
    diverge(&cluster, opts)?;
    let (laggard_last_index, target) = reconnect(&cluster)?;
    let events = cluster.trace();
    let (connected_at, matched_at) = repair_window(&events, target);
    let window = |e: &&Event| e.at_us >= connected_at && e.at_us <= matched_at;
    let (appends, replies, entries_sent) = traffic(&events, window);
    let rejections = events
        .iter()
        .filter(window)
        .filter(|e| {
            matches!(e.kind, EventKind::Raft(raft::Event::NextIndexBackedUp { follower, .. }) if follower == LAGGARD)
        })
        .count();
    let truncated = events.iter().find_map(|e| match e.kind {
        EventKind::Raft(raft::Event::Truncated { from, to, .. }) if e.node == Some(LAGGARD) => {
            Some((from, to))
        }
        _ => None,
    });
    Ok(Outcome {
        opts: *opts,
        laggard_last_index,
        leader_last_index: target,
        rejections,
        appends,
        replies,
        entries_sent,
        truncated,
        repair_ms: matched_at.saturating_sub(connected_at) as f64 / 1000.0,
        violations: cluster.violations(),
        events,
    })
}

/// Makes the laggard's log short and divergent (§5.3, Figure 7's (e) and (f)): it
/// leads, is cut off and accepts `stale` commands alone; the others elect a leader that
/// commits `behind` commands, then the repairer, a fresh leader that knows nothing of
/// the laggard's log.
fn diverge(cluster: &Cluster<Rec>, opts: &Opts) -> Result<()> {
    let all: Vec<NodeId> = (0..5).collect();
    let rest: Vec<NodeId> = (1..5).collect();
    elect(cluster, LAGGARD)?;
    commit_on(cluster, LAGGARD, "a", &all)?;

    cluster.disconnect(LAGGARD);
    for i in 0..opts.stale {
        cluster
            .propose(LAGGARD, format!("stale-{i}"))
            .map_err(|e| ScenarioError(format!("stale proposal: {e}")))?;
    }
    elect(cluster, 1)?;
    for i in 0..opts.behind {
        cluster
            .propose(1, format!("new-{i}"))
            .map_err(|e| ScenarioError(format!("proposal: {e}")))?;
    }
    commit_on(cluster, 1, "last", &rest)?;
    // A fresh leader: it knows nothing of n0's log.
    elect(cluster, REPAIRER)?;
    wait_status(cluster, "the repairer's no-op to commit", |st| {
        rest.iter()
            .all(|&n| st[n].last_applied == st[REPAIRER].last_log_index)
    })?;
    Ok(())
}

/// Reconnects the laggard and waits until the repairer has made its log match (§5.3:
/// the leader backs nextIndex up until the logs agree). Returns the laggard's last index
/// before and the leader's last index, which the laggard ends at.
fn reconnect(cluster: &Cluster<Rec>) -> Result<(Index, Index)> {
    let laggard_last_index = cluster.status(LAGGARD).last_log_index;
    let leader = cluster.status(REPAIRER);
    let target = leader.last_log_index;
    cluster.connect(LAGGARD);
    wait_status(cluster, "the laggard to match the leader", |st| {
        st[LAGGARD].last_log_index == target
            && st[LAGGARD].last_log_term == leader.last_log_term
            && st[LAGGARD].commit_index >= target
    })?;
    Ok((laggard_last_index, target))
}

/// When the repair (§5.3's consistency check and backing up) started and ended, in
/// trace microseconds: from the first AppendEntries that reached the laggard to its
/// first acceptance up to `target`.
fn repair_window(events: &[Event], target: Index) -> (u64, u64) {
    let connected_at = events
        .iter()
        .find(|e| matches!(e.kind, EventKind::Connected { node } if node == LAGGARD))
        .map_or(0, |e| e.at_us);
    // The repair starts with the first AppendEntries that gets through (the leader's
    // next heartbeat tick, up to one interval after reconnecting).
    let connected_at = events
        .iter()
        .find(|e| {
            e.at_us >= connected_at
                && matches!(
                    e.kind,
                    EventKind::Message {
                        from: REPAIRER,
                        to: LAGGARD,
                        fate: Fate::Delivered,
                        ..
                    }
                )
        })
        .map_or(connected_at, |e| e.at_us);
    // The repair ends when the laggard first accepts entries up to the leader's end.
    let matched_at = events
        .iter()
        .find(|e| {
            e.at_us >= connected_at
                && e.node == Some(LAGGARD)
                && matches!(e.kind, EventKind::Raft(raft::Event::AppendAccepted { match_index, .. }) if match_index >= target)
        })
        .map_or(u64::MAX, |e| e.at_us);
    (connected_at, matched_at)
}

/// What the repair cost on the wire (§5.3's AppendEntries round trips): AppendEntries
/// to the laggard, its replies, and the entries carried, within `window`.
fn traffic(events: &[Event], window: impl Fn(&&Event) -> bool) -> (usize, usize, usize) {
    let (mut appends, mut replies, mut entries_sent) = (0, 0, 0);
    for e in events.iter().filter(window) {
        if let EventKind::Message {
            from,
            to,
            kind,
            entries,
            fate: Fate::Delivered,
            ..
        } = e.kind
        {
            if from == REPAIRER && to == LAGGARD && matches!(kind, "AppendEntries" | "Heartbeat") {
                appends += 1;
                entries_sent += entries;
            }
            if from == LAGGARD && to == REPAIRER && kind == "AppendEntriesReply" {
                replies += 1;
            }
        }
    }
    (appends, replies, entries_sent)
}
