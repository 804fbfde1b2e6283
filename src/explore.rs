//! The seed explorer: one seed, one random fault schedule over a simulated cluster with
//! key/value clients, and every check raftsim has, after the run.
//!
//! A seed decides everything (FoundationDB's and TigerBeetle's way): the cluster's size
//! and settings, the network, the workload, and a schedule of faults — crashes and
//! restarts (sometimes of every node), partitions (majority/minority, an isolated
//! leader), drops, duplicates, delays and long reordering, membership changes,
//! leadership transfers, snapshots, storage latency. After the faults stop, the
//! network heals and the checks run: the five safety properties (live, on every step),
//! linearizability of the clients' history, exactly-once of every acknowledged append,
//! and liveness (a leader within a bounded virtual time, every client operation
//! answered or given up). The same seed and options give the same run, byte for byte,
//! so a failing seed is its own bug report.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use crate::check::{self, KvHistory, KvModel};
use crate::cluster::Cluster;
use crate::config::{derive_seed, Config, NetConfig};
use crate::event::Event;
use crate::kv::{KvStore, MAX_SESSIONS};
use crate::sim::{Workload, WorkloadHandle};
use crate::status::Status;
use crate::types::{NodeId, Role};

/// One of `Config`'s unsafe teaching switches, named by its field without `unsafe_`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum UnsafeSwitch {
    /// `unsafe_commit_previous_term_entries` (breaks §5.4.2, Figure 8).
    CommitPreviousTermEntries,
    /// `unsafe_skip_election_restriction` (breaks §5.4.1).
    SkipElectionRestriction,
    /// `unsafe_forget_vote_on_restart` (breaks Figure 2's persistent `votedFor`).
    ForgetVoteOnRestart,
    /// `unsafe_stale_reads` (breaks §6.4: reads skip ReadIndex).
    StaleReads,
}

impl UnsafeSwitch {
    /// Every switch with its name.
    pub const ALL: [(&'static str, UnsafeSwitch); 4] = [
        (
            "commit_previous_term_entries",
            UnsafeSwitch::CommitPreviousTermEntries,
        ),
        (
            "skip_election_restriction",
            UnsafeSwitch::SkipElectionRestriction,
        ),
        ("forget_vote_on_restart", UnsafeSwitch::ForgetVoteOnRestart),
        ("stale_reads", UnsafeSwitch::StaleReads),
    ];

    /// Turns the switch on in `config`.
    pub fn apply(self, config: &mut Config) {
        match self {
            UnsafeSwitch::CommitPreviousTermEntries => {
                config.unsafe_commit_previous_term_entries = true
            }
            UnsafeSwitch::SkipElectionRestriction => config.unsafe_skip_election_restriction = true,
            UnsafeSwitch::ForgetVoteOnRestart => config.unsafe_forget_vote_on_restart = true,
            UnsafeSwitch::StaleReads => config.unsafe_stale_reads = true,
        }
    }
}

impl FromStr for UnsafeSwitch {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let name = s.strip_prefix("unsafe_").unwrap_or(s);
        UnsafeSwitch::ALL
            .iter()
            .find(|(n, _)| *n == name)
            .map(|&(_, sw)| sw)
            .ok_or_else(|| {
                let names: Vec<&str> = UnsafeSwitch::ALL.iter().map(|(n, _)| *n).collect();
                format!("unknown unsafe switch {s:?}; one of: {}", names.join(", "))
            })
    }
}

impl fmt::Display for UnsafeSwitch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = UnsafeSwitch::ALL
            .iter()
            .find(|(_, sw)| sw == self)
            .map_or("?", |(n, _)| n);
        f.write_str(name)
    }
}

/// What every seed of a campaign shares.
#[derive(Debug, Clone)]
pub struct ExploreOptions {
    /// The cluster size; `None` draws 3, 5 or 7 per seed.
    pub nodes: Option<usize>,
    /// How long each run lasts in virtual time: faults for the first 70%, then the
    /// network heals and liveness is checked.
    pub virtual_time: Duration,
    /// A teaching switch to turn on: the explorer should then find violations.
    pub unsafe_switch: Option<UnsafeSwitch>,
    /// The linearizability checker's wall-clock budget per seed; past it the verdict is
    /// "unknown", which is reported but not counted as a failure.
    pub check_budget: Duration,
    /// Keep every message's fate in the trace (for the timeline picture of a replay);
    /// off, the run is the same but the trace holds only protocol events.
    pub trace_messages: bool,
}

impl Default for ExploreOptions {
    fn default() -> Self {
        ExploreOptions {
            nodes: None,
            virtual_time: Duration::from_secs(10),
            unsafe_switch: None,
            check_budget: Duration::from_secs(5),
            trace_messages: false,
        }
    }
}

impl ExploreOptions {
    /// Checks the options can run; the error names the option and what it accepts.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(n) = self.nodes {
            if !(1..=9).contains(&n) {
                return Err(format!("--nodes {n}: a cluster of 1 to 9 nodes"));
            }
        }
        if self.virtual_time < Duration::from_secs(1) {
            return Err("--virtual-secs: at least 1 second of virtual time".into());
        }
        Ok(())
    }
}

/// The outcome of one seed.
#[derive(Debug, Clone, Serialize)]
pub struct SeedReport {
    /// The seed.
    pub seed: u64,
    /// The cluster's size.
    pub nodes: usize,
    /// The teaching switch that was on, if any.
    pub unsafe_switch: Option<String>,
    /// True when every check passed.
    pub passed: bool,
    /// What failed, one line each (`"safety: Election Safety: ..."`,
    /// `"linearizability: ..."`, `"exactly-once: ..."`, `"liveness: ..."`).
    pub failures: Vec<String>,
    /// The linearizability checker's verdict in words.
    pub linearizability: String,
    /// The fault schedule, one step a line, with its virtual time.
    pub schedule: Vec<String>,
    /// Client operations answered.
    pub ops_completed: u64,
    /// Client operations given up (timed out or session expired).
    pub ops_unknown: u64,
    /// Simulation events handled.
    pub events: u64,
    /// Virtual time the run covered, in milliseconds.
    pub virtual_ms: u64,
    /// Wall time it took, in milliseconds.
    pub wall_ms: u64,
}

/// A run of one seed with what it leaves behind for pictures.
pub struct Exploration {
    /// The verdicts.
    pub report: SeedReport,
    /// The run's trace.
    pub trace: Vec<Event>,
    /// The clients' history.
    pub history: Arc<KvHistory>,
    /// The linearizability verdict, for the history picture.
    pub check: check::CheckResult,
}

/// How long after the faults stop and a leader is elected some client operation must
/// complete.
const PROGRESS_BOUND: Duration = Duration::from_secs(10);

/// The streams of the schedule's randomness (see `config::derive_seed`).
const SCHEDULE_STREAM: u64 = 0x7363_6865_6475_6c65; // "schedule"

/// Runs one seed and checks it (see the module doc).
pub fn explore_seed(seed: u64, options: &ExploreOptions) -> SeedReport {
    explore(seed, options).report
}

/// Runs one seed and keeps its trace and history too. A panic inside raftsim during the
/// run (a broken invariant, a livelock) is a failure of the seed, not of the campaign.
pub fn explore(seed: u64, options: &ExploreOptions) -> Exploration {
    let wall = Instant::now();
    match std::panic::catch_unwind(|| explore_unguarded(seed, options)) {
        Ok(run) => run,
        Err(panic) => {
            let what = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "a panic".into());
            let report = SeedReport {
                seed,
                nodes: 0,
                unsafe_switch: options.unsafe_switch.map(|s| s.to_string()),
                passed: false,
                failures: vec![format!("panic: {what}")],
                linearizability: "not checked".into(),
                schedule: Vec::new(),
                ops_completed: 0,
                ops_unknown: 0,
                events: 0,
                virtual_ms: 0,
                wall_ms: wall.elapsed().as_millis() as u64,
            };
            Exploration {
                report,
                trace: Vec::new(),
                history: Arc::new(KvHistory::new()),
                check: check::CheckResult::Unknown {
                    reason: "the run panicked".into(),
                },
            }
        }
    }
}

fn explore_unguarded(seed: u64, options: &ExploreOptions) -> Exploration {
    let wall = Instant::now();
    let mut rng = SmallRng::seed_from_u64(derive_seed(seed, SCHEDULE_STREAM));
    let nodes = options.nodes.unwrap_or([3, 5, 7][rng.gen_range(0..3)]);
    let workload = draw_workload(&mut rng);
    let mut config = draw_config(&mut rng, seed, workload.clients);
    config.trace_messages = options.trace_messages;
    if let Some(sw) = options.unsafe_switch {
        sw.apply(&mut config);
    }
    let cluster: Cluster<KvStore> = Cluster::with_config(nodes, config);
    let history = Arc::new(KvHistory::new());
    let clients = cluster
        .start_workload(workload.clone(), Some(history.clone()))
        .expect("a drawn workload is valid");
    let mut run = Run {
        cluster: &cluster,
        rng,
        schedule: Vec::new(),
        crashed: Vec::new(),
        failures: Vec::new(),
    };
    let fault_end = options.virtual_time.mul_f64(0.7);
    run.faults(fault_end);
    run.settle();
    run.liveness(&clients, options.virtual_time, workload.op_timeout);
    let ops = history.operations();
    let verdict = check::check(&KvModel, &ops, options.check_budget);
    if verdict.is_illegal() {
        run.failures.push(format!("linearizability: {verdict}"));
    }
    run.exactly_once(&clients);
    for v in cluster.violations() {
        run.failures
            .push(format!("safety: {}: {}", v.property, v.description));
    }
    let stats = clients.stats();
    let Run {
        failures, schedule, ..
    } = run;
    let report = SeedReport {
        seed,
        nodes,
        unsafe_switch: options.unsafe_switch.map(|s| s.to_string()),
        passed: failures.is_empty(),
        failures,
        linearizability: verdict.to_string(),
        schedule,
        ops_completed: stats.completed,
        ops_unknown: stats.timed_out + stats.expired,
        events: cluster.sim_events(),
        virtual_ms: cluster.now().as_millis() as u64,
        wall_ms: wall.elapsed().as_millis() as u64,
    };
    Exploration {
        report,
        trace: cluster.trace(),
        history,
        check: verdict,
    }
}

fn draw_workload(rng: &mut SmallRng) -> Workload {
    let think_max = Duration::from_millis(rng.gen_range(20..=150));
    Workload {
        clients: rng.gen_range(1..=4),
        keys: rng.gen_range(1..=3),
        get_share: rng.gen_range(0.1..0.5),
        put_share: if rng.gen_bool(0.5) {
            0.0
        } else {
            rng.gen_range(0.0..0.2)
        },
        think_time: (Duration::from_millis(5), think_max),
        op_timeout: Duration::from_millis(rng.gen_range(500..=2500)),
    }
}

fn draw_net(rng: &mut SmallRng) -> NetConfig {
    match rng.gen_range(0..4) {
        0 => NetConfig::reliable(),
        1 => NetConfig::unreliable(),
        2 => NetConfig {
            long_reordering: true,
            ..NetConfig::unreliable()
        },
        _ => {
            let max = Duration::from_micros(rng.gen_range(0..=40_000));
            NetConfig {
                drop_rate: rng.gen_range(0.0..0.3),
                duplicate_rate: rng.gen_range(0.0..0.1),
                delay_min: max / 4,
                delay_max: max,
                long_reordering: rng.gen_bool(0.2),
            }
        }
    }
}

fn draw_config(rng: &mut SmallRng, seed: u64, clients: usize) -> Config {
    let pre_vote = rng.gen_bool(0.7);
    // Sometimes a narrow election timeout range, so candidates often collide.
    let election_timeout_max = if rng.gen_bool(0.3) {
        Duration::from_millis(160)
    } else {
        Duration::from_millis(300)
    };
    Config {
        seed: Some(seed),
        election_timeout_max,
        pre_vote,
        check_quorum: pre_vote && rng.gen_bool(0.8),
        snapshot_threshold: rng.gen_bool(0.5).then(|| rng.gen_range(5..=60)),
        storage_latency: if rng.gen_bool(0.5) {
            Duration::ZERO
        } else {
            Duration::from_micros(rng.gen_range(200..=5000))
        },
        parallel_disk_writes: rng.gen_bool(0.7),
        fast_backtracking: rng.gen_bool(0.8),
        max_inflight_appends: [1, 4, 32][rng.gen_range(0..3)],
        max_entries_per_append: [1, 8, 1024][rng.gen_range(0..3)],
        // Sometimes so few sessions that clients evict each other (§6.3).
        max_client_sessions: if rng.gen_bool(0.25) {
            clients + rng.gen_range(0..=1)
        } else {
            MAX_SESSIONS
        },
        net: draw_net(rng),
        trace_capacity: 200_000,
        ..Config::default().simulated()
    }
}

/// One seed's run in progress.
struct Run<'a> {
    cluster: &'a Cluster<KvStore>,
    rng: SmallRng,
    schedule: Vec<String>,
    crashed: Vec<NodeId>,
    failures: Vec<String>,
}

impl Run<'_> {
    fn note(&mut self, what: String) {
        let at = self.cluster.now().as_secs_f64();
        self.schedule.push(format!("{at:>8.3}s {what}"));
    }

    fn live(&self) -> Vec<NodeId> {
        let ids = self.cluster.ids();
        ids.into_iter()
            .filter(|i| !self.crashed.contains(i))
            .collect()
    }

    /// Draws and applies faults until `end`: a fifth of the seeds get only leader
    /// churn (the shape of Figure 8), the rest every kind of fault.
    fn faults(&mut self, end: Duration) {
        if self.rng.gen_bool(0.2) {
            return self.leader_churn(end);
        }
        while self.sleep_to_next_fault(end) {
            self.one_fault();
        }
    }

    /// Sleeps until the next fault is due and says so, or sleeps until `end` and says
    /// there is none. Half the faults come in bursts a few milliseconds apart: what
    /// breaks Raft is a crash inside one election (§5.2) or one round of replication
    /// (§5.3).
    fn sleep_to_next_fault(&mut self, end: Duration) -> bool {
        let c = self.cluster;
        let gap = if self.rng.gen_bool(0.5) {
            Duration::from_millis(self.rng.gen_range(2..=80))
        } else {
            Duration::from_millis(self.rng.gen_range(80..=700))
        };
        if c.now() + gap >= end {
            c.sleep(end.saturating_sub(c.now()));
            return false;
        }
        c.sleep(gap);
        true
    }

    /// Draws one fault and applies it: crashes and restarts (§5.2, §5.4.2), partitions
    /// and a lossy network (§5.1, §5.5), leadership transfer (dissertation §3.10) and
    /// membership changes (dissertation §4.1).
    fn one_fault(&mut self) {
        let c = self.cluster;
        match self.rng.gen_range(0..100) {
            0..=14 => self.crash_one(),
            15..=18 => {
                if let Some(l) = c.leader().filter(|_| self.live().len() > 1) {
                    self.note(format!("crash the leader n{l}"));
                    c.crash(l);
                    self.crashed.push(l);
                }
            }
            // Crash points: the leader dies the instant its log grows (the entry
            // exists on it alone) or its commit index moves (§5.4.2's window: an
            // entry counted on a majority, the next one not yet sent). Figure 8 is
            // a sequence of exactly these.
            19..=21 => self.crash_leader_when("appends an entry", |s| s.last_log_index),
            22..=24 => self.crash_leader_when("advances its commit index", |s| s.commit_index),
            25..=36 => self.restart_one(),
            37..=46 => self.reboot_one(),
            47..=49 => self.crash_and_restart_all(),
            50..=61 => self.partition_at_random(),
            62..=67 => {
                if let Some(l) = c.leader() {
                    self.note(format!("isolate the leader n{l}"));
                    c.disconnect(l);
                }
            }
            68..=77 => {
                self.note("heal".into());
                c.heal();
            }
            78..=84 => self.redraw_net(),
            85..=88 => self.transfer_leadership(),
            89..=93 => self.add_node(),
            _ => self.remove_node(),
        }
    }

    /// Crashes one live node, drawn at random, unless it is the last one up: a
    /// follower's crash costs nothing, a leader's an election (§5.2, §5.5).
    fn crash_one(&mut self) {
        let live = self.live();
        if live.len() > 1 {
            let n = live[self.rng.gen_range(0..live.len())];
            self.note(format!("crash n{n}"));
            self.cluster.crash(n);
            self.crashed.push(n);
        }
    }

    /// A reboot: one live node is down for a moment and comes back from what it
    /// persisted (§5.1, Figure 2's persistent state).
    fn reboot_one(&mut self) {
        let c = self.cluster;
        let live = self.live();
        let n = live[self.rng.gen_range(0..live.len())];
        let down = Duration::from_millis(self.rng.gen_range(0..=30));
        self.note(format!("reboot n{n} ({down:?} down)"));
        c.crash(n);
        c.sleep(down);
        c.restart(n);
    }

    /// Every node crashes, then every node restarts: only what each persisted survives
    /// (§5.1, Figure 2's persistent state).
    fn crash_and_restart_all(&mut self) {
        let c = self.cluster;
        self.note("crash every node, then restart every node".into());
        for n in c.ids() {
            c.crash(n);
        }
        c.sleep(Duration::from_millis(self.rng.gen_range(10..=300)));
        for n in c.ids() {
            c.restart(n);
        }
        self.crashed.clear();
    }

    /// Splits the nodes in two at random: at most one side has a majority and can
    /// elect and commit (§5.2, §5.3).
    fn partition_at_random(&mut self) {
        let c = self.cluster;
        let mut ids = c.ids();
        shuffle(&mut self.rng, &mut ids);
        let cut = self.rng.gen_range(1..ids.len().max(2));
        let (a, b) = ids.split_at(cut.min(ids.len()));
        self.note(format!("partition {a:?} | {b:?}"));
        c.partition(&[a, b]);
    }

    /// A new network, drawn at random: messages dropped, duplicated, delayed and
    /// reordered, all of which Raft must survive (§5.1).
    fn redraw_net(&mut self) {
        let net = draw_net(&mut self.rng);
        self.note(format!(
            "network: drop {:.2}, duplicate {:.2}, delay {:?}..{:?}, long reordering {}",
            net.drop_rate, net.duplicate_rate, net.delay_min, net.delay_max, net.long_reordering
        ));
        self.cluster.set_net(net).expect("a drawn network is valid");
    }

    /// The leader hands leadership to a node drawn at random (dissertation §3.10).
    fn transfer_leadership(&mut self) {
        let c = self.cluster;
        let ids = c.ids();
        let to = ids[self.rng.gen_range(0..ids.len())];
        if let Some(l) = c.leader() {
            self.note(format!("transfer leadership n{l} -> n{to}"));
            let _ = c.transfer_leader_from(l, to);
        }
    }

    /// A node joins, up to seven (one server at a time: dissertation §4.1).
    fn add_node(&mut self) {
        let c = self.cluster;
        if c.ids().len() < 7 {
            self.note("add a node".into());
            match c.add_node() {
                Ok(n) => self.note(format!("n{n} joined")),
                Err(e) => self.note(format!("add_node failed: {e}")),
            }
        }
    }

    /// A live node, drawn at random, is removed, down to three (one server at a time:
    /// dissertation §4.1).
    fn remove_node(&mut self) {
        let c = self.cluster;
        let live = self.live();
        if c.ids().len() > 3 && !live.is_empty() {
            let n = live[self.rng.gen_range(0..live.len())];
            self.note(format!("remove n{n}"));
            match c.remove_node(n) {
                Ok(()) => {}
                Err(e) => self.note(format!("remove_node n{n} failed: {e}")),
            }
        }
    }

    /// Leaders crash as they append or commit, and crashed nodes come back, in quick
    /// succession: Figure 8's (a)-(e) is five such steps. At most a minority is down,
    /// so that elections keep happening.
    fn leader_churn(&mut self, end: Duration) {
        let c = self.cluster;
        self.note("leader churn".into());
        while c.now() < end {
            let gap = Duration::from_millis(self.rng.gen_range(1..=60));
            c.sleep(gap.min(end.saturating_sub(c.now())));
            let minority = (c.ids().len() - 1) / 2;
            match self.rng.gen_range(0..10) {
                0..=3 if self.crashed.len() < minority => {
                    self.crash_leader_when("appends an entry", |s| s.last_log_index)
                }
                4..=6 if self.crashed.len() < minority => {
                    self.crash_leader_when("advances its commit index", |s| s.commit_index)
                }
                _ => self.restart_one(),
            }
        }
    }

    /// Restarts one crashed node, drawn at random, if any is down.
    fn restart_one(&mut self) {
        if !self.crashed.is_empty() {
            let n = self
                .crashed
                .remove(self.rng.gen_range(0..self.crashed.len()));
            self.note(format!("restart n{n}"));
            self.cluster.restart(n);
        }
    }

    /// Crashes the leader at the first instant `watch` of its status grows (waiting a
    /// few hundred milliseconds at most).
    fn crash_leader_when(&mut self, what: &str, watch: fn(&Status) -> u64) {
        let c = self.cluster;
        let Some(l) = c.leader().filter(|_| self.live().len() > 1) else {
            return;
        };
        let before = watch(&c.status(l));
        let moved = c.wait_for("the leader to move", Duration::from_millis(300), |st| {
            st.iter().any(|s| s.id == l && s.alive && watch(s) > before)
        });
        if moved.is_ok() && c.status(l).alive {
            self.note(format!("crash the leader n{l} as it {what}"));
            c.crash(l);
            self.crashed.push(l);
        }
    }

    /// Ends the faults: every node up, links healed, a reliable network.
    fn settle(&mut self) {
        let c = self.cluster;
        self.note("faults stop: heal, restart every crashed node, reliable network".into());
        c.heal();
        c.set_net(NetConfig::reliable()).expect("valid");
        for n in std::mem::take(&mut self.crashed) {
            c.restart(n);
        }
    }

    /// A leader within a bounded time, then every client operation answered or given up,
    /// and clients making progress again.
    fn liveness(&mut self, clients: &WorkloadHandle, end: Duration, op_timeout: Duration) {
        let c = self.cluster;
        // Ten election timeouts: PreVote, CheckQuorum and a long-reordered message may
        // each cost one.
        let bound = c.config().election_timeout_max * 10;
        if c.wait_for_leader(bound).is_err() {
            self.failures.push(format!(
                "liveness: no leader followed by a majority within {bound:?} after the faults stopped"
            ));
            return;
        }
        // Progress: some client operation completes. A new leader may first have to
        // bring followers hundreds of entries forward (one per round trip, with
        // max_entries_per_append = 1) before its own term's entry commits, so the
        // bound is generous; then the run goes on to its planned end.
        let before = clients.stats().completed;
        let progress = PROGRESS_BOUND;
        if c.wait_for("a client operation to complete", progress, |_| {
            clients.stats().completed > before
        })
        .is_err()
        {
            self.failures.push(format!(
                "liveness: no client operation completed within {progress:?} after a leader was elected"
            ));
        }
        c.sleep(end.saturating_sub(c.now()));
        clients.stop();
        let drain = op_timeout + Duration::from_secs(1);
        if c.wait_for("client operations to end", drain, |_| {
            clients.in_flight() == 0
        })
        .is_err()
        {
            self.failures.push(format!(
                "liveness: {} client operation(s) neither answered nor given up",
                clients.in_flight()
            ));
        }
        // Let every live node apply everything, for the exactly-once read.
        let _ = c.wait_for("every node to apply the commit index", bound, |st| {
            let commit = st.iter().map(|s| s.commit_index).max().unwrap_or(0);
            st.iter()
                .filter(|s| s.alive)
                .all(|s| s.last_applied >= commit)
        });
    }

    /// Every acknowledged append is in its key's value exactly once, in the order its
    /// client saw them acknowledged; appends of unknown outcome at most once.
    fn exactly_once(&mut self, clients: &WorkloadHandle) {
        let c = self.cluster;
        let stats = clients.stats();
        let Some(reader) = c
            .statuses()
            .into_iter()
            .filter(|s| s.alive && s.role == Role::Leader)
            .max_by_key(|s| s.term)
            .map(|s| s.id)
        else {
            return; // liveness already reported
        };
        let Some(data) = c.inspect(reader, |kv: &KvStore| kv.data().clone()) else {
            return;
        };
        for (key, value) in &data {
            if stats.put_keys.contains(key) {
                continue; // a put may have overwritten appends: the checker judges those
            }
            let tokens: Vec<&str> = value.split_whitespace().collect();
            let acked: Vec<(usize, &str)> = stats
                .acknowledged_appends
                .iter()
                .filter(|(_, k, _)| k == key)
                .map(|(c, _, v)| (*c, v.trim()))
                .collect();
            for (client, v) in &acked {
                let n = tokens.iter().filter(|t| *t == v).count();
                if n != 1 {
                    self.failures.push(format!(
                        "exactly-once: client {client}'s acknowledged append {v:?} appears {n} times in {key}"
                    ));
                }
            }
            for (_, k, v) in &stats.unknown_appends {
                let n = tokens.iter().filter(|t| **t == v.trim()).count();
                if k == key && n > 1 {
                    self.failures.push(format!(
                        "exactly-once: append {v:?} of unknown outcome appears {n} times in {key}"
                    ));
                }
            }
            // Each client's acknowledged appends appear in the order it made them.
            let mut by_client: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
            for (client, v) in &acked {
                if let Some(pos) = tokens.iter().position(|t| t == v) {
                    by_client.entry(*client).or_default().push(pos);
                }
            }
            for (client, positions) in by_client {
                if positions.windows(2).any(|w| w[0] > w[1]) {
                    self.failures.push(format!(
                        "exactly-once: client {client}'s appends to {key} are out of order"
                    ));
                }
            }
        }
    }
}

fn shuffle(rng: &mut SmallRng, v: &mut [NodeId]) {
    for i in (1..v.len()).rev() {
        let j = rng.gen_range(0..=i);
        v.swap(i, j);
    }
}
