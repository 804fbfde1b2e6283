//! The core's settings: which of the dissertation's additions to Figure 2 are on, the
//! flow control of replication, and the unsafe teaching switches.

use std::time::Duration;

/// The settings the core uses (a subset of the cluster's `Config`, which converts into
/// it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RaftConfig {
    /// PreVote (§9.6).
    pub pre_vote: bool,
    /// CheckQuorum and the leader lease on votes (§6.2, §4.2.3).
    pub check_quorum: bool,
    /// The minimum election timeout: how long a follower trusts a leader it heard from.
    pub election_timeout_min: Duration,
    /// The most entries per AppendEntries.
    pub max_entries_per_append: usize,
    /// Back up by the follower's conflict hint (else one entry per rejection).
    pub fast_backtracking: bool,
    /// The most unacknowledged AppendEntries per follower.
    pub max_inflight_appends: usize,
    /// Heartbeat intervals a leader waits for the answer to an InstallSnapshot before it
    /// presumes the snapshot or its answer lost and sends it again (§7). The core has no
    /// clock, so the wait is counted in `tick_heartbeat` calls: an election timeout's
    /// worth, at least 2 (a snapshot sent just before a tick waits one whole interval).
    pub snapshot_resend_ticks: u32,
    /// UNSAFE: commit earlier terms' entries by counting replicas (breaks §5.4.2).
    pub unsafe_commit_previous_term_entries: bool,
    /// UNSAFE: vote without the election restriction (breaks §5.4.1).
    pub unsafe_skip_election_restriction: bool,
}

impl RaftConfig {
    /// Figure 2 as the paper writes it: PreVote and CheckQuorum off (they come from the
    /// dissertation, §9.6 and §6.2), everything else as in [`RaftConfig::default`]. The
    /// tests of the paper's figures use it.
    pub fn figure2() -> Self {
        RaftConfig {
            pre_vote: false,
            check_quorum: false,
            ..RaftConfig::default()
        }
    }

    /// Whether any unsafe teaching switch is on.
    pub fn is_unsafe(&self) -> bool {
        self.unsafe_commit_previous_term_entries || self.unsafe_skip_election_restriction
    }
}

impl Default for RaftConfig {
    /// The same algorithm as the cluster's `Config::default()`: PreVote and CheckQuorum
    /// on (§9.6, §6.2), election timeout from 150 ms (3 heartbeats of 50 ms), 1024
    /// entries per AppendEntries, fast backtracking, 32 AppendEntries in flight, no
    /// unsafe switch. A unit test of the
    /// paper's plain Figure 2 turns `pre_vote` and `check_quorum` off.
    fn default() -> Self {
        RaftConfig {
            pre_vote: true,
            check_quorum: true,
            election_timeout_min: Duration::from_millis(150),
            max_entries_per_append: 1024,
            fast_backtracking: true,
            max_inflight_appends: 32,
            snapshot_resend_ticks: 3,
            unsafe_commit_previous_term_entries: false,
            unsafe_skip_election_restriction: false,
        }
    }
}
