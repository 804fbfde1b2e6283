//! Timing, behaviour and fault settings for a cluster (`Config`) and its network (`NetConfig`).

use std::time::Duration;

use crate::error::Error;
use crate::raft::RaftConfig;

/// Raft timing and behaviour.
///
/// `Default` uses the paper's values (§5.2, §9.3): election timeout 150..300 ms,
/// heartbeat 50 ms. Every field is public, so
/// `Config { snapshot_threshold: Some(10), ..Default::default() }` works.
///
/// ```
/// use std::time::Duration;
/// use raftsim::{kv::KvStore, Cluster, Config, Error};
///
/// // Compact every 100 entries, replay seed 42 exactly on the simulated runtime.
/// let config = Config {
///     snapshot_threshold: Some(100),
///     seed: Some(42),
///     ..Config::default().simulated()
/// };
/// let cluster: Cluster<KvStore> = Cluster::with_config(3, config);
/// assert_eq!(cluster.seed(), 42);
///
/// // Settings that cannot work are an error that names the field, not a panic.
/// let bad = Config {
///     election_timeout_min: Duration::from_millis(300),
///     election_timeout_max: Duration::from_millis(150),
///     ..Config::default()
/// };
/// let Err(Error::InvalidConfig(why)) = Cluster::<KvStore>::try_with_config(3, bad) else {
///     panic!("accepted an empty timeout range");
/// };
/// assert!(why.contains("election_timeout_min"));
/// ```
#[derive(Debug, Clone)]
pub struct Config {
    /// Lower bound of the randomized election timeout (§5.2).
    pub election_timeout_min: Duration,
    /// Upper bound of the randomized election timeout; each timeout is drawn uniformly
    /// from `[election_timeout_min, election_timeout_max]`.
    pub election_timeout_max: Duration,
    /// How often a leader sends AppendEntries when it has nothing new to send.
    pub heartbeat_interval: Duration,
    /// Compact once this many applied entries (internal ones included) sit in the log;
    /// `None` = never.
    pub snapshot_threshold: Option<u64>,
    /// Seeds every random choice the simulation makes (timers, faults). `None` draws a
    /// seed from the OS, which is logged so a run can be replayed.
    pub seed: Option<u64>,
    /// What the router does to messages in flight.
    pub net: NetConfig,
    /// PreVote (dissertation §9.6): a node asks whether it could win before it bumps its
    /// term, so a node returning from a partition does not unseat a healthy leader.
    pub pre_vote: bool,
    /// CheckQuorum (dissertation §6.2, §9.6): a leader that has not heard from a majority
    /// within an election timeout steps down, and followers that heard from a leader
    /// recently ignore vote requests (§4.2.3).
    pub check_quorum: bool,
    /// The most entries one AppendEntries carries.
    pub max_entries_per_append: usize,
    /// Use the follower's conflict hint to skip back a whole term at a time; off, the
    /// leader backs up one entry per rejection, as Figure 2 literally says.
    pub fast_backtracking: bool,
    /// The most AppendEntries with entries a leader keeps unacknowledged per follower
    /// (pipelining); 1 means stop-and-wait.
    pub max_inflight_appends: usize,
    /// Record the structured event trace (`Cluster::trace`). Benchmarks turn it off.
    pub trace: bool,
    /// Also record the router's fate for every message (delivered, dropped, ...).
    pub trace_messages: bool,
    /// The most events the trace keeps; older ones are discarded first.
    pub trace_capacity: usize,
    /// Check Raft's safety properties live while the cluster runs (`Cluster::violations`).
    pub check_safety: bool,
    /// How long a write to stable storage takes (an fsync): a node's thread blocks this
    /// long whenever a step changed its term, vote, log or snapshot. The step's replies
    /// (a granted vote, an acknowledged entry) leave after the write. Zero (the
    /// default) is a RAM disk. A voter and a follower storing a batch pay it before
    /// answering; heartbeats that change nothing do not — which is why the paper's
    /// 15 ms broadcast time (§9.3, Figure 16) is mostly disk, not wire.
    pub storage_latency: Duration,
    /// With `storage_latency`: every message of a step that is not a reply (RequestVote,
    /// AppendEntries, InstallSnapshot, TimeoutNow, answers to clients) leaves before its
    /// write instead of after, so a candidate records its own vote, and a leader its new
    /// entries, while the messages travel (dissertation §10.2.1). Safe because the node
    /// handles no reply, so counts no follower's vote or acknowledgement, until its
    /// write is done (and the in-memory write itself precedes the modelled delay).
    /// Off, nothing of a step leaves before its write, as in LogCabin, which the
    /// paper's Figure 16 measured. Default on.
    pub parallel_disk_writes: bool,
    /// How long a busy thread (node, router or client) polls its inbox before it parks
    /// (src/spin.rs). A parked thread costs tens of microseconds to wake on a virtual
    /// machine, several times per write; polling briefly while traffic flows saves that,
    /// and a thread that has been resting parks at once, so an idle cluster does not
    /// spin. Zero parks at once always (lowest CPU, several times the latency).
    pub busy_poll: Duration,
    /// Which runtime runs the nodes: one OS thread per node (the default), or the
    /// simulated runtime, where a seed replays a run exactly.
    pub runtime: Runtime,
    /// The most client sessions a state machine keeps (dissertation §6.3), for those
    /// that keep any (`kv::KvStore`, through `StateMachine::configure`). Beyond it the
    /// least recently active session expires, at the same log index on every replica,
    /// and a later write of that client is refused (`Error::SessionExpired`) rather
    /// than risk applying it twice. Default `kv::MAX_SESSIONS` (4096); small values let
    /// tests exercise expiry with a few clients.
    pub max_client_sessions: usize,
    /// UNSAFE, for teaching: commit entries of earlier terms by counting replicas, which
    /// §5.4.2 and Figure 8 of the paper forbid. Committed entries can then be lost.
    pub unsafe_commit_previous_term_entries: bool,
    /// UNSAFE, for teaching: grant votes without the election restriction of §5.4.1, so a
    /// candidate missing committed entries can win and overwrite them.
    pub unsafe_skip_election_restriction: bool,
    /// UNSAFE, for teaching: do not persist `voted_for`, so a node that crashes and
    /// restarts can vote twice in one term and two leaders can share a term.
    pub unsafe_forget_vote_on_restart: bool,
    /// UNSAFE, for teaching: serve read-only requests from the local state machine at
    /// whichever node the client reached, leader or not, without ReadIndex (dissertation
    /// §6.4), so a deposed leader or a lagging follower answers with stale data. The
    /// runtime skips the core's `read_index`; the core itself is unchanged.
    pub unsafe_stale_reads: bool,
}

impl From<&Config> for RaftConfig {
    fn from(c: &Config) -> Self {
        RaftConfig {
            pre_vote: c.pre_vote,
            check_quorum: c.check_quorum,
            election_timeout_min: c.election_timeout_min,
            max_entries_per_append: c.max_entries_per_append,
            fast_backtracking: c.fast_backtracking,
            max_inflight_appends: c.max_inflight_appends,
            snapshot_resend_ticks: election_timeout_in_heartbeats(c).max(2),
            unsafe_commit_previous_term_entries: c.unsafe_commit_previous_term_entries,
            unsafe_skip_election_restriction: c.unsafe_skip_election_restriction,
        }
    }
}

/// How many heartbeat intervals fit in the shortest election timeout, rounded up.
fn election_timeout_in_heartbeats(c: &Config) -> u32 {
    let hb = c.heartbeat_interval.as_nanos().max(1);
    let n = c.election_timeout_min.as_nanos().div_ceil(hb);
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl Default for Config {
    fn default() -> Self {
        Config {
            election_timeout_min: Duration::from_millis(150),
            election_timeout_max: Duration::from_millis(300),
            heartbeat_interval: Duration::from_millis(50),
            snapshot_threshold: None,
            seed: None,
            net: NetConfig::default(),
            pre_vote: true,
            check_quorum: true,
            max_entries_per_append: 1024,
            fast_backtracking: true,
            max_inflight_appends: 32,
            trace: true,
            trace_messages: true,
            trace_capacity: 1_000_000,
            check_safety: true,
            storage_latency: Duration::ZERO,
            parallel_disk_writes: true,
            busy_poll: Duration::from_micros(100),
            runtime: Runtime::Threads,
            max_client_sessions: DEFAULT_MAX_CLIENT_SESSIONS,
            unsafe_commit_previous_term_entries: false,
            unsafe_skip_election_restriction: false,
            unsafe_forget_vote_on_restart: false,
            unsafe_stale_reads: false,
        }
    }
}

/// The default of [`Config::max_client_sessions`] (`kv::MAX_SESSIONS`). Defined here
/// so that `config` does not import `kv`, which imports `config`.
pub const DEFAULT_MAX_CLIENT_SESSIONS: usize = 4096;

/// The seed to run with: `RAFTSIM_SEED` from the environment if set (to replay a run a
/// test or example printed), else `default`.
pub fn seed_from_env(default: u64) -> u64 {
    std::env::var("RAFTSIM_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// Which runtime runs a cluster's nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Runtime {
    /// One OS thread per node and a router thread, on the wall clock: real concurrency,
    /// and runs that differ with thread timing.
    #[default]
    Threads,
    /// Every node, the network and the clients on the caller's thread, on a virtual
    /// clock driven by an event queue: the same seed gives the same run, byte for byte.
    /// `busy_poll` does not apply; `storage_latency` is modelled, not slept.
    Simulated,
}

/// A seed for one source of randomness (a node's timers, the network, a client, the fault
/// schedule), derived from the run's seed and a salt naming the source: each source
/// draws from its own stream, so adding a node or a client does not reshuffle the
/// others' choices.
pub fn derive_seed(seed: u64, salt: u64) -> u64 {
    // splitmix64's finalizer, so nearby inputs give unrelated seeds.
    let mut x = seed ^ salt;
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

impl Config {
    /// Short timeouts (election 50..100 ms, heartbeat 15 ms) for tests that want many
    /// elections in little time. Everything else is the default.
    pub fn fast() -> Self {
        Config {
            election_timeout_min: Duration::from_millis(50),
            election_timeout_max: Duration::from_millis(100),
            heartbeat_interval: Duration::from_millis(15),
            ..Config::default()
        }
    }

    /// The same settings on the simulated runtime (see [`Runtime::Simulated`]).
    pub fn simulated(self) -> Self {
        Config {
            runtime: Runtime::Simulated,
            ..self
        }
    }

    /// Checks that the settings can work; the error names the field and why.
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |why: String| Err(Error::InvalidConfig(why));
        if self.election_timeout_min.is_zero() {
            return bad("election_timeout_min must be above zero".into());
        }
        if self.election_timeout_min > self.election_timeout_max {
            return bad(format!(
                "election_timeout_min ({:?}) is above election_timeout_max ({:?})",
                self.election_timeout_min, self.election_timeout_max
            ));
        }
        if self.heartbeat_interval.is_zero() {
            return bad("heartbeat_interval must be above zero".into());
        }
        if self.heartbeat_interval >= self.election_timeout_min {
            return bad(format!(
                "heartbeat_interval ({:?}) must be below election_timeout_min ({:?}), \
                 or followers time out while the leader is healthy (§5.6)",
                self.heartbeat_interval, self.election_timeout_min
            ));
        }
        if self.snapshot_threshold == Some(0) {
            return bad("snapshot_threshold must be at least 1 (or None)".into());
        }
        if self.max_entries_per_append == 0 {
            return bad("max_entries_per_append must be at least 1".into());
        }
        if self.max_inflight_appends == 0 {
            return bad("max_inflight_appends must be at least 1".into());
        }
        if self.max_client_sessions == 0 {
            return bad(
                "max_client_sessions must be at least 1, or no client could ever write".into(),
            );
        }
        self.net.validate()
    }
}

/// What the router does to messages in flight. Applies to every link that is connected.
/// `Default` is [`NetConfig::reliable`].
///
/// ```
/// use std::time::Duration;
/// use raftsim::{kv::KvStore, Cluster, Config, NetConfig};
///
/// // Start on a lossy network (10% drops, 2-30 ms delays), simulated: milliseconds of
/// // wall time for seconds of virtual time.
/// let config = Config {
///     net: NetConfig::unreliable(),
///     seed: Some(7),
///     ..Config::default().simulated()
/// };
/// let cluster: Cluster<KvStore> = Cluster::with_config(3, config);
/// let mut client = cluster.client();
/// client.put("k", "v")?; // retried through the drops
///
/// // Change the network while the cluster runs: only delays now.
/// cluster.set_net(NetConfig {
///     delay_min: Duration::from_millis(1),
///     delay_max: Duration::from_millis(5),
///     ..NetConfig::reliable()
/// })?;
/// assert_eq!(client.get("k")?, Some("v".into()));
///
/// // A rate outside 0..=1 is refused.
/// assert!(cluster.set_net(NetConfig { drop_rate: 1.5, ..NetConfig::reliable() }).is_err());
/// # Ok::<(), raftsim::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct NetConfig {
    /// Probability a message is lost (requests and replies alike), in `0..=1`.
    pub drop_rate: f64,
    /// Probability a delivered message is delivered twice, in `0..=1`.
    pub duplicate_rate: f64,
    /// Each message is delayed uniformly in `[delay_min, delay_max]`; unequal delays
    /// reorder messages.
    pub delay_min: Duration,
    /// Upper bound of the delay.
    pub delay_max: Duration,
    /// A fraction ([`NetConfig::LONG_REORDER_RATE`]) of messages is held back much longer
    /// (200..1200 ms), as in the 6.824 lab network.
    pub long_reordering: bool,
}

impl NetConfig {
    /// The share of messages held back when `long_reordering` is on.
    pub const LONG_REORDER_RATE: f64 = 0.1;
    /// The range of the extra hold-back under `long_reordering`.
    pub const LONG_REORDER_DELAY: (Duration, Duration) =
        (Duration::from_millis(200), Duration::from_millis(1200));

    /// No drops, no duplicates, no delay (the `Default`).
    pub fn reliable() -> Self {
        NetConfig {
            drop_rate: 0.0,
            duplicate_rate: 0.0,
            delay_min: Duration::ZERO,
            delay_max: Duration::ZERO,
            long_reordering: false,
        }
    }

    /// 10% drops, 1% duplicates, delays of 2 to 30 ms (which reorders messages).
    pub fn unreliable() -> Self {
        NetConfig {
            drop_rate: 0.1,
            duplicate_rate: 0.01,
            delay_min: Duration::from_millis(2),
            delay_max: Duration::from_millis(30),
            long_reordering: false,
        }
    }

    /// Checks rates are probabilities and the delay range is ordered.
    pub fn validate(&self) -> Result<(), Error> {
        for (name, rate) in [
            ("drop_rate", self.drop_rate),
            ("duplicate_rate", self.duplicate_rate),
        ] {
            if !(0.0..=1.0).contains(&rate) {
                return Err(Error::InvalidConfig(format!(
                    "NetConfig.{name} is {rate}; a probability must lie in 0..=1"
                )));
            }
        }
        if self.delay_min > self.delay_max {
            return Err(Error::InvalidConfig(format!(
                "NetConfig.delay_min ({:?}) is above delay_max ({:?})",
                self.delay_min, self.delay_max
            )));
        }
        Ok(())
    }

    /// True when messages go straight through: the router's fast path.
    pub fn is_instant(&self) -> bool {
        self.drop_rate == 0.0
            && self.duplicate_rate == 0.0
            && self.delay_max.is_zero()
            && !self.long_reordering
    }
}

impl Default for NetConfig {
    fn default() -> Self {
        NetConfig::reliable()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid_and_follows_the_paper() {
        let c = Config::default();
        c.validate().unwrap();
        assert_eq!(c.election_timeout_min, Duration::from_millis(150));
        assert_eq!(c.heartbeat_interval, Duration::from_millis(50));
        Config::fast().validate().unwrap();
    }

    #[test]
    fn bad_rates_and_ranges_are_rejected_with_a_reason() {
        let mut n = NetConfig::unreliable();
        n.drop_rate = 1.5;
        assert!(matches!(n.validate(), Err(Error::InvalidConfig(s)) if s.contains("drop_rate")));
        n.drop_rate = f64::NAN;
        assert!(n.validate().is_err());
        let n = NetConfig {
            delay_min: Duration::from_millis(5),
            delay_max: Duration::from_millis(1),
            ..NetConfig::reliable()
        };
        assert!(n.validate().is_err());
        let c = Config {
            heartbeat_interval: Duration::from_millis(200),
            ..Config::default()
        };
        assert!(c.validate().is_err());
        let c = Config {
            max_client_sessions: 0,
            ..Config::default()
        };
        assert!(
            matches!(c.validate(), Err(Error::InvalidConfig(s)) if s.contains("max_client_sessions"))
        );
    }

    /// One default story: the core on its own runs the same algorithm as a cluster
    /// started with `Config::default()`.
    #[test]
    fn the_core_default_is_the_cluster_default() {
        assert_eq!(RaftConfig::default(), RaftConfig::from(&Config::default()));
    }
}
