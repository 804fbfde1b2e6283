//! `raftsim idle`: cost at rest and at scale: CPU of an idle cluster, throughput and memory from 3 to 51
//! nodes, and peak memory of a million writes with and without snapshots.
//!
//! ```text
//! cargo run --release -- idle                     # all three tables
//! cargo run --release -- idle idle --secs 10      # idle CPU, 5 and 51 nodes
//! cargo run --release -- idle scale --secs 2      # 3..51 nodes
//! cargo run --release -- idle million             # 1M writes, peak memory
//! ```
//!
//! (also `cargo run --release --example idle -- …`)
//!
//! Each measurement runs in a child process of its own (this program started again
//! with `--child`), so the peak resident set (VmHWM) read from /proc/self/status is that
//! measurement's alone. CPU is the sum of every thread's time on a CPU
//! (/proc/self/task/*/schedstat, in nanoseconds) over the interval, as a share of one
//! core. Clusters use the default `Config` (paper timeouts, trace on, safety checks on)
//! for idle CPU, and the trace and checks off for throughput and memory, except the
//! million-write rows with checks on, which show what the live safety checker costs.
//!
//! It measures what the OS threads of the threaded runtime cost, so `--sim` is refused.

use std::process::Command;
use std::time::{Duration, Instant};

use clap::Parser;
use raftsim::state_machine::Noop;
use raftsim::{Cluster, Config};

use crate::common::{refuse, wall_seconds, Invocation, NoPictures, Progress};

/// CPU of an idle cluster, throughput and memory from 3 to 51 nodes, peak memory of a
/// million writes. Measures the threaded runtime's OS threads: run it with --release.
#[derive(Parser, Debug)]
#[command(name = "idle")]
pub struct Args {
    /// Which tables to print.
    #[arg(value_enum, default_value = "all")]
    mode: Mode,
    /// Seconds per measurement (default: idle 10, scale 2).
    #[arg(long, value_name = "S", value_parser = wall_seconds)]
    secs: Option<f64>,
    /// Seed of the clusters' random choices (timers).
    #[arg(long, value_name = "N", default_value = "42")]
    seed: u64,
    /// Not supported: it measures the OS threads' CPU time and the process's memory.
    #[arg(long, hide = true)]
    sim: bool,
    /// `--timeline`/`--trace`: refused, with the reason.
    #[command(flatten)]
    pictures: NoPictures,
    /// How this program runs itself for one measurement (see `spawn`); not for users.
    #[arg(long, hide = true, num_args = 1.., allow_hyphen_values = true)]
    child: Option<Vec<String>>,
}

/// Which tables `idle` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Mode {
    /// All three tables.
    All,
    /// CPU of an idle cluster of 5 and 51 nodes.
    Idle,
    /// Throughput and memory from 3 to 51 nodes.
    Scale,
    /// Peak memory of a million writes, with and without snapshots.
    Million,
}

/// Prints the tables; returns the exit status.
pub fn run(args: Args, how: Invocation) -> i32 {
    if let Some(child_args) = &args.child {
        child(child_args);
        return 0;
    }
    if args.sim {
        return refuse(
            "--sim",
            "idle measures the OS threads' CPU time and the process's memory",
        );
    }
    if let Some(status) = args
        .pictures
        .refuse("idle is a measurement; it draws no pictures")
    {
        return status;
    }
    println!(
        "seed {} (threaded runtime: thread timing varies, so runs differ)",
        args.seed
    );
    let mode = args.mode;
    let secs = args.secs.unwrap_or(0.0);
    let seed = args.seed.to_string();
    let measurements = match mode {
        Mode::All => 4 + 9 + 4,
        Mode::Idle => 4,
        Mode::Scale => 9,
        Mode::Million => 4,
    };
    let mut progress = Progress::new("measurements", measurements);
    let mut done = 0;
    let mut spawn = |args: &[&str]| {
        let out = spawn(how, args);
        done += 1;
        progress.update(done, &args[..args.len() - 1].join(" "));
        out
    };
    if matches!(mode, Mode::All | Mode::Idle) {
        let secs = if secs > 0.0 { secs } else { 10.0 };
        let poll = Config::default().busy_poll.as_micros().to_string();
        println!("== Idle cluster: CPU over {secs} s as % of one core (default Config) ==");
        println!(
            "{:>5} {:>8} {:>10} {:>24}",
            "nodes", "CPU %", "VmHWM MiB", "CPU % with busy_poll 0"
        );
        for n in [5, 51] {
            let (n, secs) = (n.to_string(), secs.to_string());
            let out = spawn(&["idle", &n, &secs, &poll, &seed]);
            let off = spawn(&["idle", &n, &secs, "0", &seed]);
            println!("{n:>5} {:>8} {:>10} {:>24}", out[0], out[1], off[0]);
        }
    }
    if matches!(mode, Mode::All | Mode::Scale) {
        let secs = if secs > 0.0 { secs } else { 2.0 };
        println!(
            "\n== Scale: 256 clients, empty writes, {secs} s per size (trace and checks off, snapshot every 10000 entries) =="
        );
        println!(
            "{:>5} {:>10} {:>10} {:>10} {:>9}",
            "nodes", "writes/s", "VmHWM MiB", "VmRSS MiB", "threads"
        );
        for n in [3, 5, 7, 9, 15, 21, 31, 41, 51] {
            let out = spawn(&["scale", &n.to_string(), &secs.to_string(), &seed]);
            println!(
                "{n:>5} {:>10} {:>10} {:>10} {:>9}",
                out[0], out[1], out[2], out[3]
            );
        }
    }
    if matches!(mode, Mode::All | Mode::Million) {
        println!("\n== 1,000,000 empty writes, 3 nodes, 256 clients: peak memory ==");
        println!(
            "{:>22} {:>13} {:>8} {:>10} {:>10}",
            "snapshots", "safety checks", "secs", "writes/s", "VmHWM MiB"
        );
        for checks in ["off", "on"] {
            for threshold in ["none", "10000"] {
                let out = spawn(&["million", threshold, checks, &seed]);
                let label = if threshold == "none" {
                    "off".to_string()
                } else {
                    format!("every {threshold} entries")
                };
                println!(
                    "{label:>22} {checks:>13} {:>8} {:>10} {:>10}",
                    out[0], out[1], out[2]
                );
            }
        }
    }
    0
}

/// Runs this program again with `--child args` and returns the words it printed.
fn spawn(how: Invocation, args: &[&str]) -> Vec<String> {
    let exe = std::env::current_exe().expect("own path");
    let mut command = Command::new(exe);
    if how == Invocation::Command {
        command.arg("idle");
    }
    let out = command
        .arg("--child")
        .args(args)
        .output()
        .expect("run the child");
    assert!(
        out.status.success(),
        "child {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// One measurement: `args` are the mode, the mode's numbers, and the seed last.
fn child(args: &[String]) {
    let seed: u64 = args.last().expect("a seed").parse().expect("a seed");
    let n = |i: usize| args[i].parse::<f64>().expect("a number");
    match args[0].as_str() {
        "idle" => {
            let config = Config {
                seed: Some(seed),
                busy_poll: Duration::from_micros(n(3) as u64),
                ..Config::default()
            };
            let cluster: Cluster<Noop> = Cluster::with_config(n(1) as usize, config);
            cluster
                .wait_for_leader(Duration::from_secs(20))
                .expect("a leader");
            // Let the election's aftermath settle before measuring.
            std::thread::sleep(Duration::from_secs(1));
            let (cpu0, t0) = (cpu_ns(), Instant::now());
            std::thread::sleep(Duration::from_secs_f64(n(2)));
            let (cpu1, t1) = (cpu_ns(), Instant::now());
            let share = (cpu1 - cpu0) as f64 / (t1 - t0).as_nanos() as f64;
            println!("{:.2} {:.1}", 100.0 * share, mib(status_kb("VmHWM")));
        }
        "scale" => {
            // Compaction on, so memory shows what each node costs rather than how long
            // the log grew in the time given.
            let config = quiet(seed, Some(10_000));
            let cluster: Cluster<Noop> = Cluster::with_config(n(1) as usize, config);
            cluster
                .wait_for_leader(Duration::from_secs(20))
                .expect("a leader");
            let dur = Duration::from_secs_f64(n(2));
            let done = write(&cluster, 256, u64::MAX, dur);
            println!(
                "{:.0} {:.1} {:.1} {}",
                done as f64 / dur.as_secs_f64(),
                mib(status_kb("VmHWM")),
                mib(status_kb("VmRSS")),
                status_kb("Threads")
            );
        }
        "million" => {
            let threshold = args[1].parse::<u64>().ok();
            let config = Config {
                check_safety: args.get(2).map(String::as_str) == Some("on"),
                ..quiet(seed, threshold)
            };
            let cluster: Cluster<Noop> = Cluster::with_config(3, config);
            cluster
                .wait_for_leader(Duration::from_secs(20))
                .expect("a leader");
            let t = Instant::now();
            let done = write(&cluster, 256, 1_000_000, Duration::from_secs(600));
            let secs = t.elapsed().as_secs_f64();
            println!(
                "{secs:.1} {:.0} {:.1}",
                done as f64 / secs,
                mib(status_kb("VmHWM"))
            );
        }
        other => panic!("unknown child mode {other}"),
    }
}

/// Settings for measuring speed: no trace, no live checks.
fn quiet(seed: u64, snapshot_threshold: Option<u64>) -> Config {
    Config {
        seed: Some(seed),
        trace: false,
        trace_messages: false,
        check_safety: false,
        snapshot_threshold,
        ..Config::default()
    }
}

/// `clients` logical clients each writing and waiting for its write to apply, until
/// `total` writes are done or `dur` passed; returns how many were done.
fn write(cluster: &Cluster<Noop>, clients: u64, total: u64, dur: Duration) -> u64 {
    let mut mux = cluster.client_mux();
    let end = Instant::now() + dur;
    for c in 0..clients {
        mux.send(c, (), false);
    }
    let mut done = 0;
    while done < total && Instant::now() < end {
        if let Some((id, result)) = mux.recv(end) {
            done += u64::from(result.is_ok());
            mux.send(id, (), false);
        }
    }
    done
}

/// CPU time of every thread of this process so far, in nanoseconds.
fn cpu_ns() -> u64 {
    let mut total = 0;
    for task in std::fs::read_dir("/proc/self/task").expect("/proc/self/task") {
        let path = task.expect("a task").path().join("schedstat");
        if let Ok(s) = std::fs::read_to_string(path) {
            total += s
                .split_whitespace()
                .next()
                .and_then(|x| x.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    total
}

/// A field of /proc/self/status (kB for the memory ones).
fn status_kb(field: &str) -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    s.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn mib(kb: u64) -> f64 {
    kb as f64 / 1024.0
}
