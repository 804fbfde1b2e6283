//! `raftsim bench`: replicated writes per second and their latency, against the echo
//! baseline (the ceiling of this design) and beside openraft's published in-process
//! numbers.
//!
//! ```text
//! cargo run --release -- bench                        # the whole table
//! cargo run --release -- bench --clients 1,16 --nodes 3 --secs 2
//! cargo run --release -- bench --per-call 4        # 4 entries per call
//! cargo run --release -- bench --workloads echo,noop,put,get
//! cargo run --release -- bench --snapshot 10000   # compact every 10k entries
//! cargo run --release -- bench --runs 3     # each cell 3 times, medians printed
//! cargo run --release -- bench --busy-poll-us 0   # park at once (no polling)
//! cargo run --release -- bench --check-safety     # live safety checks on
//! cargo run --release -- bench --latency-svg target/bench   # each cell's latency over time
//! ```
//!
//! (also `cargo run --release --example bench -- …`)
//!
//! It measures the threaded runtime's wall-clock throughput, so `--sim` is refused.
//!
//! Workloads, each through the real router thread with the trace and live safety checks
//! off (`--check-safety` turns the checks on, to measure what they cost):
//! - `noop`: empty commands to a no-op state machine; each client waits until the leader
//!   applied its write, then sends the next (openraft's `benchmarks/minimal` workload).
//! - `put`: key/value Puts (with client sessions), each client waiting likewise.
//! - `get`: key/value Gets answered through ReadIndex (dissertation §6.4).
//! - `echo`: the same hops (client → leader → followers → leader → client) through the
//!   same router with no Raft logic: Raft's figure is printed as a fraction of it.
//!
//! Clients are logical, not threads: one client thread drives all of them through a
//! `ClientMux` (one router address), each with one call outstanding. With `--per-call
//! N`, a call is N requests sent together, and the client waits for all N.

use std::time::{Duration, Instant};

use clap::Parser;
use raftsim::client::ClientMux;
use raftsim::kv::{Command, KvStore, Op, Request, MAX_SESSIONS};
use raftsim::router::echo::EchoCluster;
use raftsim::state_machine::Noop;
use raftsim::svg::latency::{latency_svg, LatencyPoint, CSS as LATENCY_CSS};
use raftsim::{Cluster, Config, StateMachine};

use crate::common::{count, refuse, wall_seconds, Invocation, NoPictures, Progress};

/// Replicated writes per second and their latency, against an echo baseline (the
/// ceiling of this design) and openraft's published figures. Measures the threaded
/// runtime's wall-clock throughput: run it with --release.
#[derive(Parser, Debug)]
#[command(name = "bench")]
pub struct Args {
    /// Logical clients per cell.
    #[arg(long, value_name = "N,..", value_delimiter = ',', value_parser = count, default_value = "1,16,64,256,1024")]
    clients: Vec<usize>,
    /// Cluster sizes.
    #[arg(long, value_name = "N,..", value_delimiter = ',', value_parser = count, default_value = "3,5")]
    nodes: Vec<usize>,
    /// Measured time per cell, in seconds.
    #[arg(long, value_name = "S", value_parser = wall_seconds, default_value = "2")]
    secs: f64,
    /// Requests a client sends together and waits for.
    #[arg(long, value_name = "N", value_parser = count, default_value = "1")]
    per_call: usize,
    /// Workloads, from echo, noop, put, get.
    #[arg(
        long,
        value_name = "W,..",
        value_delimiter = ',',
        default_value = "echo,noop,put,get"
    )]
    workloads: Vec<Workload>,
    /// Compact every N entries, 1 or more (default: never).
    #[arg(long, value_name = "N", value_parser = |v: &str| count(v).map(|n| n as u64))]
    snapshot: Option<u64>,
    /// Runs per cell; medians are printed.
    #[arg(long, value_name = "N", value_parser = count, default_value = "1")]
    runs: usize,
    /// Config::busy_poll in µs (default 100; 0 parks at once).
    #[arg(long, value_name = "US")]
    busy_poll_us: Option<u64>,
    /// Check the safety properties live, to measure what the checker costs.
    #[arg(long)]
    check_safety: bool,
    /// Seed of the clusters' random choices (timers).
    #[arg(long, value_name = "N", default_value = "42")]
    seed: u64,
    /// Also plot each cell's call latency over time (SVG, one file per cell) into DIR.
    #[arg(long, value_name = "DIR")]
    latency_svg: Option<std::path::PathBuf>,
    /// Not supported: the benchmark measures the threaded runtime's wall-clock throughput.
    #[arg(long, hide = true)]
    sim: bool,
    /// `--timeline`/`--trace`: refused, with the reason.
    #[command(flatten)]
    pictures: NoPictures,
}

/// What a cell's clients send.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Workload {
    /// The same hops through the same router with no Raft logic: the ceiling.
    Echo,
    /// Empty commands to a no-op state machine (openraft's `benchmarks/minimal`).
    Noop,
    /// Key/value Puts, each client in a session of its own.
    Put,
    /// Key/value Gets answered through ReadIndex.
    Get,
}

impl Workload {
    fn name(self) -> &'static str {
        match self {
            Workload::Echo => "echo",
            Workload::Noop => "noop",
            Workload::Put => "put",
            Workload::Get => "get",
        }
    }
}

/// openraft 0.10 `benchmarks/minimal`, 3 members, on a 2-core machine.
const OPENRAFT: [(usize, &str, &str); 5] = [
    (1, "16k-19k", "55k-61k"),
    (16, "135k-199k", "450k-577k"),
    (64, "450k-550k", "0.94M-1.25M"),
    (256, "840k-980k", "1.4M-1.74M"),
    (1024, "1.1M-1.3M", "1.6M-1.98M"),
];

/// Runs the benchmark table; returns the exit status.
pub fn run(args: Args, _how: Invocation) -> i32 {
    if args.sim {
        return refuse(
            "--sim",
            "the benchmark measures the threaded runtime's wall-clock throughput",
        );
    }
    if let Some(status) = args
        .pictures
        .refuse("the benchmark runs with the trace off, so that it measures Raft alone")
    {
        return status;
    }
    let Args {
        clients,
        nodes,
        secs,
        per_call,
        workloads,
        snapshot,
        runs: repeat,
        busy_poll_us,
        check_safety,
        seed,
        latency_svg: plot_dir,
        ..
    } = args;
    if let Some(dir) = &plot_dir {
        if let Err(e) = std::fs::create_dir_all(dir) {
            eprintln!("error: --latency-svg {}: {e}", dir.display());
            return 2;
        }
    }
    let busy_poll = busy_poll_us.map_or(Config::default().busy_poll, Duration::from_micros);
    println!("seed {seed} (threaded runtime: thread timing varies, so runs differ)");
    let dur = Duration::from_secs_f64(secs);
    println!(
        "raftsim bench: {} cores, {secs} s per cell, {per_call} entr{} per call, busy poll {} µs, \
         safety checks {}; latency is per call; median of {repeat} run{}",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        if per_call == 1 { "y" } else { "ies" },
        busy_poll.as_micros(),
        if check_safety { "on" } else { "off" },
        if repeat == 1 { "" } else { "s" },
    );
    println!(
        "{:>5} {:>7} {:>8} {:>11} {:>8} {:>8} {:>8} {:>8}  {:>12}",
        "nodes",
        "clients",
        "workload",
        "ops/s",
        "p50 ms",
        "p99 ms",
        "max ms",
        "of echo",
        "openraft"
    );
    let mut progress = Progress::new(
        "cells",
        (nodes.len() * clients.len() * workloads.len()) as u64,
    );
    let mut done = 0;
    for &n in &nodes {
        for &c in &clients {
            let mut echo_rate = None;
            for &w in &workloads {
                let cell = Cell {
                    nodes: n,
                    clients: c,
                    per_call,
                    dur,
                    snapshot,
                    busy_poll,
                    seed,
                    check_safety,
                };
                let runs: Vec<Stats> = (0..repeat)
                    .map(|_| match w {
                        Workload::Echo => {
                            let mut t = EchoCluster::start_with(n, busy_poll);
                            drive(&mut t, c, per_call, dur)
                        }
                        Workload::Noop => run_raft::<Noop, _>(&cell, false, |_| |_, _| ()),
                        Workload::Put => run_raft::<KvStore, _>(&cell, false, |cluster| {
                            // Each logical client writes in a session of its own (§6.3).
                            let sessions = register(cluster, clients_of(&cell));
                            move |client, seq| {
                                Command::from(Request {
                                    client: sessions[client as usize - 1],
                                    seq,
                                    op: Op::Put {
                                        key: format!("k{}", client % 64),
                                        value: "v".into(),
                                    },
                                })
                            }
                        }),
                        Workload::Get => run_raft::<KvStore, _>(&cell, true, |_| {
                            // Reads need no session.
                            |client, seq| {
                                Command::from(Request {
                                    client,
                                    seq,
                                    op: Op::Get {
                                        key: format!("k{}", client % 64),
                                    },
                                })
                            }
                        }),
                    })
                    .collect();
                let r = Stats::median(&runs);
                if w == Workload::Echo {
                    echo_rate = Some(r.rate);
                }
                let of_echo = match echo_rate {
                    Some(e) if w != Workload::Echo && e > 0.0 && r.completed() => {
                        format!("{:.0}%", 100.0 * r.rate / e)
                    }
                    Some(_) if w != Workload::Echo => "-".to_string(),
                    _ => String::new(),
                };
                let reference = OPENRAFT
                    .iter()
                    .find(|(k, ..)| *k == c)
                    .filter(|_| w == Workload::Noop)
                    .map(|(_, one, four)| if per_call == 4 { *four } else { *one })
                    .unwrap_or("");
                match (r.p50, r.p99, r.max) {
                    (Some(p50), Some(p99), Some(max)) if r.completed() => println!(
                        "{n:>5} {c:>7} {:>8} {:>11.0} {:>8.3} {:>8.3} {:>8.3} {of_echo:>8}  {reference:>12}",
                        w.name(),
                        r.rate,
                        ms(p50),
                        ms(p99),
                        ms(max)
                    ),
                    // No rate or latency to show: say so rather than print zeros.
                    _ => println!(
                        "{n:>5} {c:>7} {:>8} {:>11} {:>8} {:>8} {:>8} {of_echo:>8}  {reference:>12}  \
                         no operation completed in the measured time{}",
                        w.name(),
                        "-",
                        "-",
                        "-",
                        "-",
                        if repeat > 1 { " (median run)" } else { "" },
                    ),
                }
                if let Some(dir) = &plot_dir {
                    let path = dir.join(format!("bench-{n}n-{c}c-{}.svg", w.name()));
                    match write_latency_svg(&path, &r.calls, w.name(), dur) {
                        Ok(()) => eprintln!("  (latency over time: {})", path.display()),
                        Err(e) => eprintln!("error: {}: {e}", path.display()),
                    }
                }
                done += 1;
                progress.update(done, &format!("{n} nodes, {c} clients, {}", w.name()));
            }
        }
    }
    0
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A cluster as the driver sees it: send request `id` (of logical client `client`, its
/// `seq`th), receive `(id, succeeded)`.
trait Target {
    fn send(&mut self, id: u64, client: u64, seq: u64);
    fn recv(&mut self, until: Instant) -> Option<(u64, bool)>;
    fn try_recv(&mut self) -> Option<(u64, bool)>;
}

impl Target for EchoCluster {
    fn send(&mut self, id: u64, _client: u64, _seq: u64) {
        EchoCluster::send(self, id);
    }
    fn recv(&mut self, until: Instant) -> Option<(u64, bool)> {
        EchoCluster::recv(self, until).map(|id| (id, true))
    }
    fn try_recv(&mut self) -> Option<(u64, bool)> {
        EchoCluster::try_recv(self).map(|id| (id, true))
    }
}

struct RaftTarget<S: StateMachine, F> {
    mux: ClientMux<S>,
    make: F,
    read_only: bool,
}

impl<S: StateMachine, F: Fn(u64, u64) -> S::Command> Target for RaftTarget<S, F> {
    fn send(&mut self, id: u64, client: u64, seq: u64) {
        let command = (self.make)(client, seq);
        self.mux.send(id, command, self.read_only);
    }
    fn recv(&mut self, until: Instant) -> Option<(u64, bool)> {
        self.mux.recv(until).map(|(id, r)| (id, r.is_ok()))
    }
    fn try_recv(&mut self) -> Option<(u64, bool)> {
        self.mux.try_recv().map(|(id, r)| (id, r.is_ok()))
    }
}

/// One cell of the table.
struct Cell {
    nodes: usize,
    clients: usize,
    per_call: usize,
    dur: Duration,
    snapshot: Option<u64>,
    busy_poll: Duration,
    seed: u64,
    check_safety: bool,
}

/// One cell on a fresh cluster; `setup` prepares the cluster (e.g. registers sessions)
/// and returns what makes the command of a logical client (from 1) and its `seq`.
fn run_raft<S: StateMachine + Default, F: Fn(u64, u64) -> S::Command>(
    cell: &Cell,
    read_only: bool,
    setup: impl FnOnce(&Cluster<S>) -> F,
) -> Stats {
    let config = Config {
        seed: Some(cell.seed),
        snapshot_threshold: cell.snapshot,
        busy_poll: cell.busy_poll,
        trace: false,
        trace_messages: false,
        check_safety: cell.check_safety,
        // Room for every logical client's session, however many there are.
        max_client_sessions: MAX_SESSIONS.max(clients_of(cell)),
        ..Config::default()
    };
    let cluster: Cluster<S> = Cluster::with_config(cell.nodes, config);
    cluster
        .wait_for_leader(Duration::from_secs(10))
        .expect("a leader");
    let make = setup(&cluster);
    let mut t = RaftTarget {
        mux: cluster.client_mux(),
        make,
        read_only,
    };
    drive(&mut t, cell.clients, cell.per_call, cell.dur)
}

/// How many logical key/value clients `drive` numbers (`kv_client` there): one per
/// request of a call.
fn clients_of(cell: &Cell) -> usize {
    cell.clients * cell.per_call
}

/// Registers `n` sessions, one after another through one client, before the clock
/// starts; returns their ids.
fn register(cluster: &Cluster<KvStore>, n: usize) -> Vec<u64> {
    let mut client = cluster.client();
    (0..n)
        .map(|_| {
            client
                .register()
                .expect("a registration on a healthy cluster")
        })
        .collect()
}

/// Throughput in requests per second and per-call latency percentiles (`None` when no
/// call completed in the measured time).
struct Stats {
    rate: f64,
    p50: Option<Duration>,
    p99: Option<Duration>,
    max: Option<Duration>,
    /// Each measured call: when it started (µs after the measurement began) and how
    /// long it took (µs), for the latency-over-time plot.
    calls: Vec<(u64, u64)>,
}

impl Stats {
    /// Whether any call completed in the measured time.
    fn completed(&self) -> bool {
        self.rate > 0.0
    }

    /// Each figure's median over several runs of a cell (taken separately: on a noisy
    /// machine the run with the median rate need not have the median latency). A
    /// latency's median is over the runs that measured one.
    fn median(runs: &[Stats]) -> Stats {
        fn mid<T: Copy + PartialOrd>(mut v: Vec<T>) -> Option<T> {
            v.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
            v.get(v.len() / 2).copied()
        }
        Stats {
            rate: mid(runs.iter().map(|r| r.rate).collect()).unwrap_or(0.0),
            p50: mid(runs.iter().filter_map(|r| r.p50).collect()),
            p99: mid(runs.iter().filter_map(|r| r.p99).collect()),
            max: mid(runs.iter().filter_map(|r| r.max).collect()),
            // The plot shows one run as it happened: the first.
            calls: runs.first().map_or(Vec::new(), |r| r.calls.clone()),
        }
    }
}

/// The ids of one logical client's requests: its number in the high bits, its call
/// number and the request's place in the call in the low ones, so late replies to an
/// earlier call are recognised.
fn request_id(client: usize, call: u64, k: usize, per_call: usize) -> u64 {
    ((client as u64) << 32) | ((call * per_call as u64 + k as u64) & 0xffff_ffff)
}

/// Runs `clients` logical clients for a warm-up and then `dur`: each sends a call of
/// `per_call` requests, waits for all of them to succeed (resending any that got a
/// redirect), and starts its next call at once.
fn drive<T: Target>(t: &mut T, clients: usize, per_call: usize, dur: Duration) -> Stats {
    struct Slot {
        call: u64,
        started: Instant,
        left: usize,
    }
    let warmup = Duration::from_millis(300).min(dur / 2);
    let begin = Instant::now();
    let (measure_from, end) = (begin + warmup, begin + warmup + dur);
    let kv_client = |c: usize, k: usize| (c * per_call + k) as u64 + 1;
    let mut slots: Vec<Slot> = (0..clients)
        .map(|_| Slot {
            call: 0,
            started: begin,
            left: per_call,
        })
        .collect();
    for c in 0..clients {
        for k in 0..per_call {
            t.send(request_id(c, 0, k, per_call), kv_client(c, k), 1);
        }
    }
    let mut latencies: Vec<Duration> = Vec::new();
    let mut calls: Vec<(u64, u64)> = Vec::new();
    let mut done: u64 = 0;
    loop {
        let now = Instant::now();
        if now >= end {
            break;
        }
        let Some(mut reply) = t.recv(end) else {
            continue;
        };
        loop {
            let (id, ok) = reply;
            let c = (id >> 32) as usize;
            let slot = &mut slots[c];
            let k = ((id & 0xffff_ffff) % per_call as u64) as usize;
            if request_id(c, slot.call, k, per_call) == id {
                if !ok {
                    t.send(id, kv_client(c, k), slot.call + 1);
                } else {
                    slot.left -= 1;
                    if slot.left == 0 {
                        let now = Instant::now();
                        if slot.started >= measure_from && now <= end {
                            latencies.push(now - slot.started);
                            calls.push((
                                (slot.started - measure_from).as_micros() as u64,
                                (now - slot.started).as_micros() as u64,
                            ));
                            done += per_call as u64;
                        }
                        slot.call += 1;
                        slot.left = per_call;
                        slot.started = now;
                        for k in 0..per_call {
                            let id = request_id(c, slot.call, k, per_call);
                            t.send(id, kv_client(c, k), slot.call + 1);
                        }
                    }
                }
            }
            match t.try_recv() {
                Some(r) => reply = r,
                None => break,
            }
        }
    }
    latencies.sort();
    let pct = |p: f64| {
        if latencies.is_empty() {
            return None;
        }
        Some(latencies[((latencies.len() - 1) as f64 * p).round() as usize])
    };
    Stats {
        rate: done as f64 / dur.as_secs_f64(),
        p50: pct(0.5),
        p99: pct(0.99),
        max: pct(1.0),
        calls,
    }
}

/// Writes the latency of a cell's calls over time as a self-contained SVG (a log scale,
/// one dot per call; at most `MAX_POINTS` calls, evenly spaced, so that a cell of a
/// million calls stays a picture a browser opens).
fn write_latency_svg(
    path: &std::path::Path,
    calls: &[(u64, u64)],
    kind: &str,
    dur: Duration,
) -> std::io::Result<()> {
    const MAX_POINTS: usize = 5000;
    let stride = calls.len().div_ceil(MAX_POINTS).max(1);
    let points: Vec<LatencyPoint> = calls
        .iter()
        .step_by(stride)
        .map(|&(at_us, latency_us)| LatencyPoint {
            at_us,
            latency_us,
            kind: kind.to_string(),
            ok: true,
            text: format!(
                "{kind} at {:.1} ms: {:.3} ms",
                at_us as f64 / 1e3,
                latency_us as f64 / 1e3
            ),
        })
        .collect();
    let svg = latency_svg(&points, &[], dur.as_micros() as u64);
    // The plot's CSS travels inside it, so the file stands alone.
    let svg = svg.replacen('>', &format!("><style>{LATENCY_CSS}</style>"), 1);
    std::fs::write(path, svg)
}
