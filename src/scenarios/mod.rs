//! The paper's scenarios as runnable, checkable stories: each submodule sets up one
//! situation a student asks about, runs it on the real cluster (or, for Figure 8, on the
//! pure core stepped message by message) and returns an `Outcome` with the answer as
//! data (who won, who voted for whom and why, what committed, what was discarded, which
//! safety property broke) plus the event trace it came from.
//!
//! The examples (`cargo run --example figure7`, ...) print these outcomes in words; the
//! tests (`tests/scenarios.rs`) assert them. Keeping the logic here means both read the
//! same run.
//!
//! Determinism: a scenario that must decide *who* campaigns uses [`scripted_config`],
//! whose election timers never fire on their own, and starts elections with
//! `Cluster::fire_election_timeout`. Waits are for conditions on the trace or the
//! statuses, each with a deadline on the cluster's own clock; nothing sleeps and hopes.
//! So every scenario runs on either runtime: `run(&opts)` on node threads, and
//! `run_on(&opts, Runtime::Simulated)` on the simulated runtime, where its seed replays
//! the run exactly.
//!
//! Left out on purpose: PreVote and CheckQuorum are off unless a scenario is about them,
//! so the runs show the paper's plain algorithm (Figure 2).

pub mod catch_up;
pub mod double_vote;
pub mod figure7;
pub mod figure8;
pub mod leader_dies;
pub mod split_vote;
pub mod stale_leader;
pub mod stale_log_wins;
pub mod stale_read;
pub mod stepper;

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::cluster::Cluster;
use crate::config::Config;
use crate::event::Event;
use crate::raft::{self, VoteRefusal};
use crate::state_machine::{Recorder, StateMachine};
use crate::types::{Index, NodeId, Term};

/// The state machine of the scenarios: it records every applied command.
pub type Rec = Recorder<String>;

/// How long a scenario waits for something that should happen "soon". Generous: the
/// machines that run tests are small and shared.
pub const WAIT: Duration = Duration::from_secs(10);

/// A scenario that could not finish: a wait ran out (the text has the cluster's state).
#[derive(Debug, Clone)]
pub struct ScenarioError(pub String);

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ScenarioError {}

impl From<crate::error::Error> for ScenarioError {
    fn from(e: crate::error::Error) -> Self {
        ScenarioError(e.to_string())
    }
}

/// What a scenario's `run` returns.
pub type Result<T> = std::result::Result<T, ScenarioError>;

/// Settings for a scripted run: election timers that never fire on their own (an hour),
/// heartbeats every 20 ms, PreVote and CheckQuorum off (the paper's plain algorithm).
/// Elections happen only when the scenario calls `fire_election_timeout`.
pub fn scripted_config(seed: u64) -> Config {
    Config {
        election_timeout_min: Duration::from_secs(3600),
        election_timeout_max: Duration::from_secs(3600),
        heartbeat_interval: Duration::from_millis(20),
        pre_vote: false,
        check_quorum: false,
        seed: Some(seed),
        ..Config::default()
    }
}

/// One voter's answer to one candidate, read from the trace.
#[derive(Debug, Clone, PartialEq)]
pub struct Ballot {
    /// Who answered.
    pub voter: NodeId,
    /// Who asked.
    pub candidate: NodeId,
    /// The election's term.
    pub term: Term,
    /// `None`: granted; `Some(why)`: refused.
    pub refused: Option<VoteRefusal>,
}

/// Every real (not pre-) vote granted or refused in `term`, in trace order.
pub fn ballots(events: &[Event], term: Term) -> Vec<Ballot> {
    events
        .iter()
        .filter_map(|e| {
            let voter = e.node?;
            match e.raft()? {
                raft::Event::VoteGranted {
                    candidate,
                    term: t,
                    pre_vote: false,
                } if *t == term => Some(Ballot {
                    voter,
                    candidate: *candidate,
                    term,
                    refused: None,
                }),
                raft::Event::VoteRefused {
                    candidate,
                    term: t,
                    pre_vote: false,
                    reason,
                } if *t == term => Some(Ballot {
                    voter,
                    candidate: *candidate,
                    term,
                    refused: Some(reason.clone()),
                }),
                _ => None,
            }
        })
        .collect()
}

/// Who became leader of `term`, from the trace.
pub fn leader_of(events: &[Event], term: Term) -> Option<NodeId> {
    events.iter().find_map(|e| match e.raft()? {
        raft::Event::RoleChanged {
            to: crate::Role::Leader,
            ..
        } if e.term == term => e.node,
        _ => None,
    })
}

/// Waits until `cond` holds of the trace, or fails after `timeout` with the cluster's
/// state and the last events. Time is the cluster's: on the simulated runtime the wait
/// runs the simulation, one instant at a time, so it stops exactly when `cond` holds.
pub fn wait_trace<S: StateMachine + Default>(
    cluster: &Cluster<S>,
    what: &str,
    timeout: Duration,
    mut cond: impl FnMut(&[Event]) -> bool,
) -> Result<()> {
    let deadline = cluster.now() + timeout;
    loop {
        cluster.check_threads();
        if cond(&cluster.trace()) {
            return Ok(());
        }
        if cluster.now() >= deadline {
            return Err(ScenarioError(format!(
                "gave up waiting for {what} after {timeout:?}\n{}",
                cluster.dump(30)
            )));
        }
        cluster.pause(deadline);
    }
}

/// Waits until `cond` holds of the statuses (`Cluster::wait_for`), as a scenario error.
pub fn wait_status<S: StateMachine + Default>(
    cluster: &Cluster<S>,
    what: &str,
    cond: impl FnMut(&[crate::Status]) -> bool,
) -> Result<()> {
    cluster
        .wait_for(what, WAIT, cond)
        .map_err(|e| ScenarioError(format!("{what}: {e}\n{}", cluster.dump(30))))
}

/// Fires `id`'s election timer and waits until it leads.
pub fn elect<S: StateMachine + Default>(cluster: &Cluster<S>, id: NodeId) -> Result<Term> {
    cluster.fire_election_timeout(id);
    wait_status(cluster, &format!("n{id} to win"), |st| {
        st[id].role == crate::Role::Leader
    })?;
    Ok(cluster.status(id).term)
}

/// Proposes `cmd` to leader `leader` and waits until every node in `appliers` applied it.
/// Returns its index.
pub fn commit_on(
    cluster: &Cluster<Rec>,
    leader: NodeId,
    cmd: &str,
    appliers: &[NodeId],
) -> Result<crate::Index> {
    let (index, _) = cluster
        .propose(leader, cmd.to_string())
        .map_err(|e| ScenarioError(format!("propose {cmd:?} to n{leader}: {e}")))?;
    wait_status(cluster, &format!("{cmd:?} applied on {appliers:?}"), |st| {
        appliers.iter().all(|&n| st[n].last_applied >= index)
    })?;
    Ok(index)
}

/// The commands node `id` applied, in order (empty while it is crashed).
pub fn applied(cluster: &Cluster<Rec>, id: NodeId) -> Vec<String> {
    cluster
        .inspect(id, |sm: &Rec| {
            sm.applied.iter().map(|(_, c)| c.clone()).collect()
        })
        .unwrap_or_default()
}

/// Every deletion of log entries in `events`: (node, first index, last index).
pub fn truncations(events: &[Event]) -> Vec<(NodeId, Index, Index)> {
    events
        .iter()
        .filter_map(|e| match *e.raft()? {
            raft::Event::Truncated { from, to, .. } => Some((e.node?, from, to)),
            _ => None,
        })
        .collect()
}

/// The value of `--NAME PATH` (or `--NAME=PATH`) on the command line.
fn path_arg(name: &str) -> Option<PathBuf> {
    let flag = format!("--{name}");
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == flag {
            return args.next().map(PathBuf::from);
        }
        if let Some(p) = a.strip_prefix(&format!("{flag}=")) {
            return Some(PathBuf::from(p));
        }
    }
    None
}

/// Where an example should write its timeline: `--timeline PATH` on the command line,
/// else the `RAFTSIM_TIMELINE` environment variable.
pub fn timeline_path() -> Option<PathBuf> {
    path_arg("timeline").or_else(|| std::env::var_os("RAFTSIM_TIMELINE").map(PathBuf::from))
}

/// Where an example should write its event trace (JSON lines): `--trace PATH` on the
/// command line, else the `RAFTSIM_TRACE` environment variable.
pub fn trace_path() -> Option<PathBuf> {
    path_arg("trace").or_else(|| std::env::var_os("RAFTSIM_TRACE").map(PathBuf::from))
}

/// `path` with `suffix` before its extension (`run.html` + `-safe` → `run-safe.html`),
/// to tell several runs of one example apart.
fn with_suffix(path: PathBuf, suffix: &str, default_ext: &str) -> PathBuf {
    if suffix.is_empty() {
        return path;
    }
    let stem = path
        .file_stem()
        .map_or("run".into(), |s| s.to_string_lossy().into_owned());
    let ext = path
        .extension()
        .map_or(default_ext.into(), |s| s.to_string_lossy().into_owned());
    path.with_file_name(format!("{stem}{suffix}.{ext}"))
}

/// Writes what the user asked for of a run of `events`: its timeline (`--timeline
/// PATH`, see [`timeline_path`]) and its trace as JSON lines (`--trace PATH`, see
/// [`trace_path`]), and says where. `suffix` tells several runs of one example apart
/// (`-safe`, ...).
pub fn maybe_write_timeline(events: &[Event], title: &str, suffix: &str) {
    if let Some(path) = timeline_path() {
        let path = with_suffix(path, suffix, "html");
        match crate::timeline::write_html(&path, events, title) {
            Ok(()) => println!("(timeline written to {})", path.display()),
            Err(e) => eprintln!("could not write the timeline to {}: {e}", path.display()),
        }
    }
    if let Some(path) = trace_path() {
        let path = with_suffix(path, suffix, "jsonl");
        match write_trace(&path, events) {
            Ok(()) => println!("(trace written to {})", path.display()),
            Err(e) => eprintln!("could not write the trace to {}: {e}", path.display()),
        }
    }
}

/// Writes `events` to `path`, one JSON object a line (the schema of [`Event`]).
pub fn write_trace(path: &std::path::Path, events: &[Event]) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    for e in events {
        serde_json::to_writer(&mut out, e)?;
        out.write_all(b"\n")?;
    }
    out.flush()
}

/// Writes a line of the story into the log (`RUST_LOG=info`), between the nodes' own
/// lines, so that the log reads as a narrated run.
pub fn narrate<S: StateMachine + Default>(cluster: &Cluster<S>, text: &str) {
    cluster
        .trace_log()
        .note(log::Level::Info, "== scenario ==", text);
}

/// "n1, n2 and n5" (or "nobody").
pub fn names(ids: &[NodeId]) -> String {
    let v: Vec<String> = ids.iter().map(|i| format!("n{i}")).collect();
    match v.len() {
        0 => "nobody".into(),
        1 => v[0].clone(),
        n => format!("{} and {}", v[..n - 1].join(", "), v[n - 1]),
    }
}
