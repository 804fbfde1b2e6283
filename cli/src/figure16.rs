//! `raftsim figure16`: Figure 16 of the Raft paper reproduced: how long a 5-node
//! cluster is without a leader after the leader crashes, for several election timeout
//! ranges.
//!
//! ```text
//! cargo run --release -- figure16                       # every line, 1000 trials
//! cargo run --release -- figure16 --sim                 # the same, simulated
//! cargo run --release -- figure16 --sim --lines 150-300 --trials 200 --seed 3
//! cargo run --release -- figure16 --trials 100 --lines 150-300,12-24
//! cargo run --release -- figure16 --parallel 4 --out /tmp/figure16.svg
//! cargo run --release -- figure16 --delay-us 6000-9000 --storage-us 0
//! cargo run --release -- figure16 --serial-writes --lines 150-155
//! cargo run --release -- figure16 --lines 150-300 --trials 200 --prevote \
//!     --delay-us 0-0 --storage-us 0          # failover with raftsim's default Config
//! ```
//!
//! (also `cargo run --release --example figure16 -- …`)
//!
//! Setup as in the paper (§9.3): 5 nodes, a broadcast time of about 15 ms, the
//! heartbeat half the minimum election timeout. Where those 15 ms come from matters: by
//! default the wire takes 1-2 ms each way and every step that changes persistent state
//! (a new term, a vote, the new leader's no-op) blocks 6 ms on "disk"
//! (`Config::storage_latency`), as LogCabin's fsyncs did. Replies wait for the write;
//! requests leave while it runs (`Config::parallel_disk_writes`, dissertation §10.2.1),
//! so a vote round is 1.5 + 6 + 1.5 ms and a candidate's RequestVotes reach the others
//! 1-2 ms after its timer fired. `--serial-writes` makes requests wait too, as LogCabin
//! did: then they arrive 7-8 ms after, when every other timer of a narrow range has
//! fired, and those lines split votes far more often than in the paper.
//! `--delay-us 6000-9000 --storage-us 0` puts all of it on the wire instead.
//! PreVote and CheckQuorum are off (`--prevote` turns them on), as the paper
//! had neither (both are on by default in raftsim). Each trial waits until every node
//! follows the leader, sleeps a uniformly random part of a heartbeat interval (so the
//! crash falls at a uniformly random moment of it), crashes the leader, and measures from
//! the crash until a node first accepts an AppendEntries (heartbeat) from the new leader
//! — taken from the event trace. The crashed node is then restarted and the next trial
//! begins. Trials of one line run on several clusters at once (`--parallel`, default 6):
//! an idle cluster uses almost no CPU, so they barely disturb one another's timing, but
//! on a busy 2-core machine scheduling adds a few milliseconds here and there.
//!
//! With `--sim` every trial runs on the simulated runtime, on a fresh cluster of its own
//! seeded from `--seed`, the line and the trial's number, with the same model of wire
//! and disk; trials share out over `--parallel` OS threads (default: one per core),
//! each simulated cluster on one thread, so the result does not depend on which thread
//! ran which trial, and a seed gives the same figure byte for byte. The first leader of
//! each simulated cluster is made by firing one node's election timer (exact timers
//! would leave 150-150 without one); the measured election, after the crash, is left
//! to the timers. The whole figure takes a couple of seconds.
//!
//! Prints each line's min / median / mean / p90 / p99 / max beside the threaded
//! runtime's (from README.md) and the paper's, and writes the CDFs as an SVG and the
//! raw times as CSV (paths printed).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use clap::Parser;
use raftsim::config::derive_seed;
use raftsim::raft;
use raftsim::state_machine::Noop;
use raftsim::{Cluster, Config, EventKind, NetConfig, NodeId, Role, Runtime};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::common::{count, invalid, range, Invocation, NoPictures, Progress};

/// The paper's Figure 16: time without a leader after the leader crashes, for ten
/// election timeout ranges, as CDFs (an SVG and the raw times as CSV).
#[derive(Parser, Debug)]
#[command(name = "figure16")]
pub struct Args {
    /// Trials a line (default 1000; 150-150: at most 100).
    #[arg(long, value_name = "N", value_parser = count)]
    trials: Option<usize>,
    /// Which lines, e.g. 150-300,12-24 (default: all ten).
    #[arg(long, value_name = "L,..", value_delimiter = ',', value_parser = line_name)]
    lines: Vec<String>,
    /// Clusters at once on threads (default 6); threads running trials with --sim
    /// (default: the cores).
    #[arg(long, value_name = "N", value_parser = count)]
    parallel: Option<usize>,
    /// The SVG to write; the CSV goes beside it.
    #[arg(long, value_name = "PATH", default_value = "target/figure16.svg")]
    out: String,
    /// One-way network delay in µs (HI plus --storage-us below the lowest election
    /// timeout of the lines).
    #[arg(long, value_name = "LO-HI", value_parser = range, default_value = "1000-2000")]
    delay_us: (u64, u64),
    /// A storage write in µs (plus the highest --delay-us, below the lowest election
    /// timeout of the lines).
    #[arg(long, value_name = "US", default_value = "6000")]
    storage_us: u64,
    /// PreVote and CheckQuorum on (off, as in the paper).
    #[arg(long)]
    prevote: bool,
    /// Requests wait for the write too, as in LogCabin.
    #[arg(long)]
    serial_writes: bool,
    /// Run every trial on the simulated runtime: a seed gives the same figure byte for byte.
    #[arg(long)]
    sim: bool,
    /// Seed; with the line and the trial's number it seeds each trial.
    #[arg(long, value_name = "N", default_value = "1")]
    seed: u64,
    /// `--timeline`/`--trace`: refused, with the reason.
    #[command(flatten)]
    pictures: NoPictures,
}

/// A line of the figure: election timeout range in ms, default trials, the paper's
/// numbers in words.
const LINES: [(u64, u64, usize, &str); 10] = [
    (150, 150, 100, "over 10 s (split votes)"),
    (150, 151, 1000, ""),
    (150, 155, 1000, "median 287"),
    (150, 175, 1000, ""),
    (150, 200, 1000, "max 513"),
    (150, 300, 1000, "median 171, p99 415, max 603"),
    (12, 24, 1000, "mean 35, max 152"),
    (25, 50, 1000, ""),
    (50, 100, 1000, ""),
    (100, 200, 1000, ""),
];

/// The same figure on the threaded runtime with the default setup, as README.md's
/// Performance section reports it (1000 trials a line, 150-150: 100; 6 clusters at once
/// on a 2-vCPU machine): median, mean, p99, max in ms, and trials capped at 30 s. For
/// comparison only; not re-measured by this run.
const THREADED: [(&str, u64, u64, u64, u64, usize); 10] = [
    ("150-150", 8895, 12900, 30000, 30000, 20),
    ("150-151", 1891, 2774, 12330, 19725, 0),
    ("150-155", 148, 214, 895, 1412, 0),
    ("150-175", 136, 143, 325, 488, 0),
    ("150-200", 143, 146, 335, 492, 0),
    ("150-300", 161, 163, 253, 358, 0),
    ("12-24", 29, 31, 70, 93, 0),
    ("25-50", 41, 44, 90, 134, 0),
    ("50-100", 65, 67, 134, 167, 0),
    ("100-200", 112, 115, 183, 296, 0),
];

/// A trial that has not ended after this long is recorded at this value (and counted).
const TRIAL_CAP: Duration = Duration::from_secs(30);

/// Whether an election can finish with the chosen lines' timeouts: a message's
/// one-way delay plus a storage write must stay below the lowest election timeout.
/// Otherwise a follower's vote, or a new leader's first heartbeat, comes after the
/// timers have fired again, and the cluster never settles on a leader.
fn check_wire_and_disk(args: &Args) -> Result<(), String> {
    let lowest = LINES
        .iter()
        .filter(|&&(lo, hi, ..)| {
            args.lines.is_empty() || args.lines.contains(&format!("{lo}-{hi}"))
        })
        .min_by_key(|&&(lo, ..)| lo)
        .expect("at least one line");
    let (lo, hi) = (lowest.0, lowest.1);
    let limit_us = lo * 1000;
    let (delay, storage) = (args.delay_us.1, args.storage_us);
    if delay.saturating_add(storage) < limit_us {
        return Ok(());
    }
    let option = if storage >= limit_us && delay < limit_us {
        format!("--storage-us {storage}")
    } else if delay >= limit_us && storage < limit_us {
        format!("--delay-us {}-{}", args.delay_us.0, delay)
    } else {
        format!(
            "--delay-us {}-{} with --storage-us {storage}",
            args.delay_us.0, delay
        )
    };
    Err(format!(
        "{option}: a message's one-way delay (up to {}) plus a storage write ({}) must \
         stay below the lowest election timeout of the chosen lines ({lo} ms, line {lo}-{hi}); \
         otherwise votes and heartbeats arrive after the timers fire again and no \
         election can finish",
        us_words(delay),
        us_words(storage)
    ))
}

/// Microseconds in milliseconds, as words: `150 ms`, `1.5 ms`.
fn us_words(us: u64) -> String {
    format!("{} ms", us_in_ms(us))
}

/// Microseconds as a number of milliseconds: `150`, `1.5`.
fn us_in_ms(us: u64) -> String {
    if us.is_multiple_of(1000) {
        (us / 1000).to_string()
    } else {
        (us as f64 / 1000.0).to_string()
    }
}

fn line_name(v: &str) -> Result<String, String> {
    if LINES.iter().any(|&(lo, hi, ..)| format!("{lo}-{hi}") == v) {
        Ok(v.to_string())
    } else {
        Err(format!(
            "expected timeout ranges of the figure: 150-150, 150-151, 150-155, 150-175, \
             150-200, 150-300, 12-24, 25-50, 50-100, 100-200; got {v:?}"
        ))
    }
}

/// Draws the figure; returns the exit status.
pub fn run(args: Args, how: Invocation) -> i32 {
    if let Some(status) = args.pictures.refuse(
        "a figure of thousands of runs has no single timeline or trace; \
             `cargo run --example election -- --timeline FILE` draws one election",
    ) {
        return status;
    }
    if let Err(message) = check_wire_and_disk(&args) {
        return invalid::<Args>(how, "figure16", &message);
    }
    raftsim::logging::init();
    let sim = args.sim;
    let runtime = if sim {
        "simulated runtime; replays exactly"
    } else {
        "threaded runtime: thread timing varies, so runs differ"
    };
    println!(
        "seed {}, with the line and the trial's number it seeds each trial ({runtime}; \
         replay on the simulated runtime with: {} --sim --seed {})",
        args.seed,
        how.prefix("figure16", true),
        args.seed
    );
    let trials = args.trials;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut parallel: usize = args.parallel.unwrap_or(if sim { cores } else { 6 });
    if sim && log::log_enabled!(target: "raftsim", log::Level::Info) {
        // With the story logged (RUST_LOG=info), one trial after another: trials on
        // several threads would interleave their lines differently in every run.
        parallel = 1;
    }
    let out = args.out.clone();
    let setup = Setup {
        delay: args.delay_us,
        storage: Duration::from_micros(args.storage_us),
        extensions: args.prevote,
        serial_writes: args.serial_writes,
        runtime: if sim {
            Runtime::Simulated
        } else {
            Runtime::Threads
        },
    };
    let wanted: Option<Vec<String>> = (!args.lines.is_empty()).then(|| args.lines.clone());
    let chosen: Vec<(u64, u64, usize, &str)> = LINES
        .iter()
        .filter(|&&(lo, hi, ..)| {
            wanted
                .as_ref()
                .is_none_or(|w| w.contains(&format!("{lo}-{hi}")))
        })
        .map(|&(lo, hi, default_trials, paper)| {
            let n = trials.map_or(default_trials, |t| {
                if lo == hi {
                    t.min(default_trials)
                } else {
                    t
                }
            });
            (lo, hi, n, paper)
        })
        .collect();
    let total: usize = chosen.iter().map(|c| c.2).sum();
    let progress = Mutex::new(Progress::new("trials", total as u64));
    let done = AtomicU64::new(0);
    println!(
        "Figure 16: 5 nodes, one-way delay {:.1}-{:.1} ms, storage write {:.1} ms ({}), \
         heartbeat = min timeout / 2, PreVote and CheckQuorum {}, {}",
        setup.delay.0 as f64 / 1000.0,
        setup.delay.1 as f64 / 1000.0,
        ms(setup.storage),
        if setup.serial_writes {
            "requests wait for it"
        } else {
            "requests overlap it"
        },
        if setup.extensions { "on" } else { "off" },
        if sim {
            // No thread count here: the output of a simulated run depends on its seed
            // and options alone.
            "each trial its own simulated cluster".to_string()
        } else {
            format!("{parallel} clusters at once")
        }
    );
    println!("time without a leader, from the leader's crash to a node accepting the new leader's first heartbeat (ms):");
    println!(
        "{:>9} {:>6} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>6}  {:<36} paper",
        "timeout",
        "trials",
        "min",
        "median",
        "mean",
        "p90",
        "p99",
        "max",
        "capped",
        "threaded, README: med/mean/p99/max"
    );
    let mut curves = Vec::new();
    for &(lo, hi, n, paper) in &chosen {
        let name = format!("{lo}-{hi}");
        let started = Instant::now();
        let seed = derive_seed(args.seed, lo << 32 | hi);
        let tick = || {
            let d = done.fetch_add(1, Ordering::Relaxed) + 1;
            progress
                .lock()
                .expect("lock")
                .update(d, &format!("line {name}"));
        };
        let times = if sim {
            run_line_simulated(lo, hi, n, parallel, setup, seed, &tick)
        } else {
            run_line(lo, hi, n, parallel, setup, seed, &tick)
        };
        let mut times = match times {
            Ok(times) => times,
            Err(e) => {
                eprintln!(
                    "error: line {name}: {e} (one-way delay {}-{}, storage write {}): \
                     with this wire and disk the cluster did not settle on a leader",
                    us_in_ms(setup.delay.0),
                    us_words(setup.delay.1),
                    us_words(setup.storage.as_micros() as u64)
                );
                return 1;
            }
        };
        times.sort();
        let capped = times.iter().filter(|&&t| t >= TRIAL_CAP).count();
        let q = |p: f64| ms(times[((times.len() - 1) as f64 * p).round() as usize]);
        let mean = times.iter().map(|&t| ms(t)).sum::<f64>() / times.len() as f64;
        // The threaded figures were measured with the default setup only.
        let threaded = THREADED
            .iter()
            .find(|t| t.0 == name && setup.is_default())
            .map_or(String::new(), |t| {
                let capped = if t.5 > 0 {
                    format!(" ({} capped)", t.5)
                } else {
                    String::new()
                };
                format!("{}/{}/{}/{}{capped}", t.1, t.2, t.3, t.4)
            });
        // Wall time per line on threads only: a simulated run's output is a function
        // of its seed, and wall time is not.
        let took = if sim {
            String::new()
        } else {
            format!("   [{:.0} s]", started.elapsed().as_secs_f64())
        };
        println!(
            "{name:>9} {:>6} {:>7.0} {:>7.0} {:>7.0} {:>7.0} {:>7.0} {:>7.0} {capped:>6}  {threaded:<36} {paper}{took}",
            times.len(),
            q(0.0),
            q(0.5),
            mean,
            q(0.9),
            q(0.99),
            q(1.0),
        );
        curves.push((name, lo, times));
    }
    if setup.is_default() {
        println!(
            "(threaded: this figure on node threads as README.md's Performance section reports \
         it, 6 clusters at once on 2 vCPUs; not re-measured by this run)"
        );
    }
    if sim && curves.iter().any(|(name, ..)| name == "150-150") {
        println!(
            "(150-150 on the simulated runtime: timers are exact; the four survivors heard the \
             last heartbeat within 1 ms of each other, so each times out before another's \
             RequestVote (1-2 ms on the wire) reaches it, round after round, and the votes \
             split for ever. On threads, scheduling jitter breaks the tie now and then, as \
             real clocks did for the paper.)"
        );
    }
    if let Some(dir) = std::path::Path::new(&out).parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    if let Err(e) = std::fs::write(&out, svg(&curves)) {
        eprintln!("error: --out {out}: {e}");
        return 2;
    }
    // The raw times too, one line per trial, so the picture can be redrawn elsewhere.
    let csv_path = std::path::Path::new(&out).with_extension("csv");
    let mut csv = String::from("timeout_ms,downtime_ms\n");
    for (name, _, times) in &curves {
        for t in times {
            csv += &format!("{name},{:.3}\n", ms(*t));
        }
    }
    if let Err(e) = std::fs::write(&csv_path, csv) {
        eprintln!("error: {}: {e}", csv_path.display());
        return 2;
    }
    println!("CDFs written to {out} (raw times: {})", csv_path.display());
    0
}

/// Where the broadcast time comes from: the wire (one-way delay range, µs) and the
/// disk (each step that changes persistent state blocks for `storage`).
#[derive(Clone, Copy)]
struct Setup {
    delay: (u64, u64),
    storage: Duration,
    /// `--prevote`: PreVote and CheckQuorum on, as in raftsim's default `Config`.
    extensions: bool,
    /// `--serial-writes`: `Config::parallel_disk_writes` off, as in LogCabin.
    serial_writes: bool,
    /// Node threads, or the simulated runtime (`--sim`).
    runtime: Runtime,
}

impl Setup {
    /// The setup the README's threaded figures were measured with.
    fn is_default(&self) -> bool {
        self.delay == (1000, 2000)
            && self.storage == Duration::from_micros(6000)
            && !self.extensions
            && !self.serial_writes
    }

    /// The cluster's settings for timeouts `lo..hi` ms.
    fn config(&self, lo: u64, hi: u64, seed: u64) -> Config {
        Config {
            election_timeout_min: Duration::from_millis(lo),
            election_timeout_max: Duration::from_millis(hi),
            heartbeat_interval: Duration::from_millis(lo / 2),
            pre_vote: self.extensions,
            check_quorum: self.extensions,
            net: NetConfig {
                delay_min: Duration::from_micros(self.delay.0),
                delay_max: Duration::from_micros(self.delay.1),
                ..NetConfig::reliable()
            },
            seed: Some(seed),
            runtime: self.runtime,
            trace: true,
            trace_messages: false,
            trace_capacity: 200_000,
            check_safety: false,
            storage_latency: self.storage,
            parallel_disk_writes: !self.serial_writes,
            ..Config::default()
        }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Runs `trials` leader crashes spread over `parallel` threaded clusters, each used
/// for one trial after another (the crashed leader restarted in between).
fn run_line(
    lo: u64,
    hi: u64,
    trials: usize,
    parallel: usize,
    setup: Setup,
    seed: u64,
    tick: &(dyn Fn() + Sync),
) -> Result<Vec<Duration>, String> {
    let left = Mutex::new(trials);
    let times = Mutex::new(Vec::with_capacity(trials));
    let failed = Mutex::new(None);
    std::thread::scope(|s| {
        for k in 0..parallel.min(trials) {
            let (left, times, failed) = (&left, &times, &failed);
            s.spawn(move || {
                let seed = derive_seed(seed, k as u64);
                let cluster: Cluster<Noop> = Cluster::with_config(5, setup.config(lo, hi, seed));
                let mut rng = StdRng::seed_from_u64(derive_seed(seed, CRASH_STREAM));
                loop {
                    {
                        let mut l = left.lock().expect("lock");
                        if *l == 0 {
                            return;
                        }
                        *l -= 1;
                    }
                    match trial(&cluster, Duration::from_millis(lo / 2), &mut rng) {
                        Ok((leader, t)) => {
                            cluster.restart(leader);
                            times.lock().expect("lock").push(t);
                            tick();
                        }
                        Err(e) => {
                            // No more trials on any cluster: the line has failed.
                            *left.lock().expect("lock") = 0;
                            failed.lock().expect("lock").get_or_insert(e);
                            return;
                        }
                    }
                }
            });
        }
    });
    match failed.into_inner().expect("lock") {
        Some(e) => Err(e),
        None => Ok(times.into_inner().expect("lock")),
    }
}

/// Runs `trials` leader crashes on the simulated runtime, each on a fresh cluster of its
/// own seeded from `seed` and the trial's number, so a trial's result does not depend
/// on which thread ran it or when: `parallel` OS threads share the trials out.
fn run_line_simulated(
    lo: u64,
    hi: u64,
    trials: usize,
    parallel: usize,
    setup: Setup,
    seed: u64,
    tick: &(dyn Fn() + Sync),
) -> Result<Vec<Duration>, String> {
    let next = AtomicUsize::new(0);
    let times = Mutex::new(vec![Duration::ZERO; trials]);
    // The failed trial of the lowest number, so that the error does not depend on
    // which thread got there first.
    let failed: Mutex<Option<(usize, String)>> = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..parallel.min(trials) {
            let (next, times, failed) = (&next, &times, &failed);
            s.spawn(move || loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                if k >= trials {
                    return;
                }
                let seed = derive_seed(seed, k as u64);
                let cluster: Cluster<Noop> = Cluster::with_config(5, setup.config(lo, hi, seed));
                let mut rng = StdRng::seed_from_u64(derive_seed(seed, CRASH_STREAM));
                // The first leader is made: one node times out at once. A simulated
                // cluster's timers are exact, so with 150-150 ms every node would time
                // out at the same instant, round after round, and no first leader
                // would ever be elected (on threads, scheduling jitter breaks the tie).
                // What is measured, the election after the crash, is left alone.
                cluster.fire_election_timeout(rng.gen_range(0..5));
                match trial(&cluster, Duration::from_millis(lo / 2), &mut rng) {
                    Ok((_, t)) => {
                        times.lock().expect("lock")[k] = t;
                        tick();
                    }
                    Err(e) => {
                        let mut failed = failed.lock().expect("lock");
                        if failed.as_ref().is_none_or(|(j, _)| k < *j) {
                            *failed = Some((k, format!("trial {}: {e}", k + 1)));
                        }
                    }
                }
            });
        }
    });
    match failed.into_inner().expect("lock") {
        Some((_, e)) => Err(e),
        None => Ok(times.into_inner().expect("lock")),
    }
}

/// The name of the random stream that picks the moment of each crash.
const CRASH_STREAM: u64 = 0x6372_6173_6800; // "crash"

/// One leader crash; returns the crashed leader and the time without a leader, or an
/// error when no stable leader emerged before it (in `10 * TRIAL_CAP`). Works on
/// either runtime: it waits with `Cluster::sleep` and reads the cluster's clock.
fn trial(
    cluster: &Cluster<Noop>,
    heartbeat: Duration,
    rng: &mut StdRng,
) -> Result<(NodeId, Duration), String> {
    // A stable start: one leader, every node alive and following it. Polled here
    // rather than with `wait_for_leader`, because with short timeouts leadership may
    // move while we wait, and then the wait must start over, not time out.
    let start = cluster.now();
    let leader = loop {
        let st = cluster.statuses();
        let leader = st
            .iter()
            .find(|s| s.alive && s.role == Role::Leader)
            .map(|s| s.id);
        if let Some(l) = leader {
            let stable = st
                .iter()
                .all(|s| s.alive && s.leader == Some(l) && (s.id == l) == (s.role == Role::Leader));
            if stable {
                break l;
            }
        }
        if cluster.now() - start >= 10 * TRIAL_CAP {
            log::info!("no stable leader:\n{}", cluster.dump(20));
            return Err(format!(
                "no stable leader for {} s before the crash",
                (cluster.now() - start).as_secs()
            ));
        }
        cluster.sleep(Duration::from_millis(1));
    };
    // The crash falls at a uniformly random moment of the heartbeat interval.
    cluster.sleep(heartbeat.mul_f64(rng.gen::<f64>()));
    let trace = cluster.trace_log();
    let crashed_at = trace.now_us();
    cluster.crash(leader);
    let deadline = cluster.now() + TRIAL_CAP;
    let downtime = loop {
        if let Some(at) = first_heartbeat(cluster, leader, crashed_at) {
            break Duration::from_micros(at - crashed_at);
        }
        if cluster.now() >= deadline {
            break TRIAL_CAP;
        }
        // The time comes from the trace, so polling every millisecond costs no
        // precision.
        cluster.sleep(Duration::from_millis(1));
    };
    Ok((leader, downtime))
}

/// When a node first accepted an AppendEntries from a leader other than `old` after
/// `since` (trace time, µs).
fn first_heartbeat(cluster: &Cluster<Noop>, old: NodeId, since: u64) -> Option<u64> {
    // The statuses first: reading them is cheap, and until a node follows a new leader
    // there is nothing to look for in the trace.
    let follows_new = cluster
        .statuses()
        .iter()
        .any(|s| s.alive && s.leader.is_some_and(|l| l != old && l != s.id));
    if !follows_new {
        return None;
    }
    let events = cluster.trace_log().tail(400);
    events
        .iter()
        .filter(|e| e.at_us > since)
        .find(|e| matches!(e.kind, EventKind::Raft(raft::Event::AppendAccepted { leader, .. }) if leader != old))
        .map(|e| e.at_us)
}

/// The CDFs as an SVG in the paper's layout: top, the randomness in the timeout varied
/// (150-150 ... 150-300); bottom, the minimum timeout scaled (12-24 ... 150-300).
fn svg(curves: &[(String, u64, Vec<Duration>)]) -> String {
    let (w, h, pad_l, pad_r, pad_t, gap, panel_h) = (900.0, 760.0, 80.0, 180.0, 40.0, 80.0, 280.0);
    let mut s = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="13">
<rect width="100%" height="100%" fill="white"/>
"#
    );
    let colors = [
        "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
    ];
    let top: [&str; 6] = [
        "150-150", "150-151", "150-155", "150-175", "150-200", "150-300",
    ];
    let bottom: [&str; 5] = ["12-24", "25-50", "50-100", "100-200", "150-300"];
    let panels: [(&str, &[&str], f64, f64); 2] = [
        ("randomness varied (minimum 150 ms)", &top, 100.0, 50_000.0),
        ("minimum timeout scaled", &bottom, 10.0, 5_000.0),
    ];
    for (pi, (title, names, xmin, xmax)) in panels.iter().enumerate() {
        let y0 = pad_t + pi as f64 * (panel_h + gap);
        let (x0, x1) = (pad_l, w - pad_r);
        let xs = |v: f64| {
            x0 + (v.clamp(*xmin, *xmax).ln() - xmin.ln()) / (xmax.ln() - xmin.ln()) * (x1 - x0)
        };
        let ys = |f: f64| y0 + panel_h - f * panel_h;
        s += &format!(
            r#"<text x="{x0}" y="{}" font-weight="bold">{title}</text>
<rect x="{x0}" y="{y0}" width="{}" height="{panel_h}" fill="none" stroke="black"/>
"#,
            y0 - 8.0,
            x1 - x0
        );
        for f in [0.0, 0.2, 0.4, 0.6, 0.8, 1.0] {
            let y = ys(f);
            s += &format!(
                r##"<line x1="{x0}" y1="{y}" x2="{x1}" y2="{y}" stroke="#ddd"/><text x="{}" y="{}" text-anchor="end">{:.0}%</text>
"##,
                x0 - 6.0,
                y + 4.0,
                f * 100.0
            );
        }
        let mut tick = *xmin;
        while tick <= *xmax * 1.001 {
            for m in [1.0, 2.0, 5.0] {
                let v = tick * m;
                if v > *xmax * 1.001 {
                    continue;
                }
                let x = xs(v);
                s += &format!(
                    r##"<line x1="{x}" y1="{y0}" x2="{x}" y2="{}" stroke="#ddd"/><text x="{x}" y="{}" text-anchor="middle">{v}</text>
"##,
                    y0 + panel_h,
                    y0 + panel_h + 16.0
                );
            }
            tick *= 10.0;
        }
        s += &format!(
            r#"<text x="{}" y="{}" text-anchor="middle">time without leader (ms, log scale)</text>
<text x="20" y="{}" transform="rotate(-90 20 {})" text-anchor="middle">cumulative percent</text>
"#,
            (x0 + x1) / 2.0,
            y0 + panel_h + 34.0,
            y0 + panel_h / 2.0,
            y0 + panel_h / 2.0
        );
        for (ci, name) in names.iter().enumerate() {
            let Some((_, _, times)) = curves.iter().find(|(n, ..)| n == name) else {
                continue;
            };
            let color = colors[ci % colors.len()];
            let n = times.len() as f64;
            let mut d = format!("M{:.1},{:.1}", xs(ms(times[0])), ys(0.0));
            for (i, t) in times.iter().enumerate() {
                let x = xs(ms(*t));
                d += &format!(
                    " L{x:.1},{:.1} L{x:.1},{:.1}",
                    ys(i as f64 / n),
                    ys((i + 1) as f64 / n)
                );
            }
            s += &format!(
                r#"<path d="{d}" fill="none" stroke="{color}" stroke-width="2"/>
<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{color}" stroke-width="3"/><text x="{}" y="{}">{name} ms</text>
"#,
                x1 + 15.0,
                y0 + 20.0 + ci as f64 * 20.0,
                x1 + 40.0,
                y0 + 20.0 + ci as f64 * 20.0,
                x1 + 50.0,
                y0 + 24.0 + ci as f64 * 20.0
            );
        }
    }
    s += "</svg>\n";
    s
}
