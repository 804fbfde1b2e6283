//! `raftsim explore`, the seed explorer: thousands of random fault schedules on the
//! simulated runtime, each checked for the five safety properties, linearizability,
//! exactly-once and liveness. A failing seed prints one command that replays it exactly
//! and writes its timeline and history pictures.
//!
//! ```text
//! cargo run --release -- explore --seeds 1..=1000
//! cargo run --release -- explore --seeds 1..=200 --unsafe commit_previous_term_entries
//! cargo run --release -- explore --seed 42          # one seed, its story
//! ```
//!
//! The same runs as `cargo run --release --example explore -- …`. `--help` lists the
//! options. The last line is `N passed, M failed`; the exit status is 1 when a seed
//! failed, 2 on bad options.

use std::io::Write;
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use clap::Parser;
use raftsim::check::{history_html, KvModel};
use raftsim::explore::{explore, Exploration, ExploreOptions, SeedReport, UnsafeSwitch};

use crate::common::{count, virtual_seconds, Invocation, NoPictures, Progress};

/// Runs random fault schedules on the simulated runtime and checks each: the five
/// safety properties, linearizability, exactly-once and liveness. The last line is
/// `N passed, M failed`; the exit status is 1 when a seed failed.
#[derive(Parser, Debug)]
#[command(name = "explore")]
pub struct Args {
    /// Seeds to run: A..=B, A..B, or one number.
    #[arg(long, value_name = "RANGE", value_parser = parse_range, default_value = "1..=100", conflicts_with = "seed")]
    seeds: RangeInclusive<u64>,
    /// One seed, with its fault schedule printed (and its pictures if it fails).
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// Cluster size, 1 to 9 (default: 3, 5 or 7, drawn per seed).
    #[arg(long, value_name = "N", value_parser = cluster_size)]
    nodes: Option<usize>,
    /// Virtual seconds each seed runs, 1 to 600.
    #[arg(long, value_name = "S", value_parser = seed_seconds, default_value = "10")]
    virtual_secs: f64,
    /// A Config teaching switch, without its `unsafe_` prefix (e.g. commit_previous_term_entries).
    #[arg(long = "unsafe", value_name = "NAME", value_parser = |v: &str| v.parse::<UnsafeSwitch>())]
    unsafe_switch: Option<UnsafeSwitch>,
    /// Write one result per seed as a JSON line to FILE.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Worker threads, 1 to 1024 (default: the machine's cores; never more than the
    /// seeds). Each seed runs alone on one thread, so results do not depend on it.
    #[arg(long, value_name = "N", value_parser = jobs)]
    jobs: Option<usize>,
    /// Where a failing seed's timeline and history pictures go.
    #[arg(long, value_name = "DIR", default_value = "target/explore")]
    out: PathBuf,
    /// Stop once N seeds failed.
    #[arg(long, value_name = "N", value_parser = |v: &str| count(v).map(|n| n as u64))]
    stop_after: Option<u64>,
    /// Accepted and changes nothing: the explorer always runs on the simulated runtime.
    #[arg(long, hide = true)]
    sim: bool,
    /// `--timeline`/`--trace`: refused, with the reason.
    #[command(flatten)]
    pictures: NoPictures,
}

/// The parsed options, ready to run.
struct Run {
    seeds: RangeInclusive<u64>,
    one: bool,
    options: ExploreOptions,
    json: Option<PathBuf>,
    jobs: usize,
    out: PathBuf,
    stop_after: Option<u64>,
    how: Invocation,
}

/// `--nodes`: the explorer's clusters have 1 to 9 nodes (`ExploreOptions::validate`).
fn cluster_size(v: &str) -> Result<usize, String> {
    match v.trim().parse::<usize>() {
        Ok(n) if (1..=9).contains(&n) => Ok(n),
        _ => Err(format!("expected a cluster of 1 to 9 nodes; got {v:?}")),
    }
}

/// The most virtual time one seed may run. A seed keeps its whole history for the
/// linearizability check, and its clients' appends make the values it records grow
/// with the run: memory and checking time grow with the square of the run's length
/// (600 s: ~10 s a seed; 3600 s: gigabytes and many minutes).
const MAX_SEED_SECS: f64 = 600.0;

/// `--virtual-secs`: at least a second of virtual time (`ExploreOptions::validate`),
/// at most `MAX_SEED_SECS`.
fn seed_seconds(v: &str) -> Result<f64, String> {
    match virtual_seconds(v) {
        Ok(s) if (1.0..=MAX_SEED_SECS).contains(&s) => Ok(s),
        _ => Err(format!(
            "expected a number of virtual seconds from 1 to {MAX_SEED_SECS} (a seed's history \
             grows with the square of its length); got {v:?}"
        )),
    }
}

/// `--jobs`: 1 to `MAX_JOBS` threads.
fn jobs(v: &str) -> Result<usize, String> {
    match v.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_JOBS).contains(&n) => Ok(n),
        _ => Err(format!(
            "expected a number of threads from 1 to {MAX_JOBS}; got {v:?}"
        )),
    }
}

/// The most worker threads `--jobs` starts: far more than any machine's cores.
const MAX_JOBS: usize = 1024;

fn parse_range(s: &str) -> Result<RangeInclusive<u64>, String> {
    let num = |x: &str| {
        x.trim()
            .parse::<u64>()
            .map_err(|_| format!("{x:?} is not a whole number"))
    };
    let r = if let Some((a, b)) = s.split_once("..=") {
        num(a)?..=num(b)?
    } else if let Some((a, b)) = s.split_once("..") {
        let b = num(b)?;
        if b == 0 {
            return Err("the range is empty".into());
        }
        num(a)?..=b - 1
    } else {
        let n = num(s)?;
        n..=n
    };
    if r.is_empty() {
        return Err("the range is empty (write A..=B with A <= B)".into());
    }
    let seeds = u128::from(r.end() - r.start()) + 1;
    if seeds > MAX_SEEDS {
        return Err(format!(
            "{seeds} seeds: a campaign runs at most 2^48 ({MAX_SEEDS}) seeds; \
             split the range"
        ));
    }
    Ok(r)
}

/// The most seeds one campaign runs: 2^48, years of work at a million seeds a minute,
/// and a count that no counter here overflows.
const MAX_SEEDS: u128 = 1 << 48;

impl Run {
    fn new(a: Args, how: Invocation) -> Result<Run, String> {
        let options = ExploreOptions {
            nodes: a.nodes,
            virtual_time: Duration::from_secs_f64(a.virtual_secs),
            unsafe_switch: a.unsafe_switch,
            ..ExploreOptions::default()
        };
        options.validate()?;
        let seeds = a.seed.map_or(a.seeds, |n| n..=n);
        let jobs = a
            .jobs
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        // A thread with no seed to run would only start and stop.
        let seed_count = usize::try_from(seeds.end() - seeds.start() + 1).unwrap_or(usize::MAX);
        let jobs = jobs.min(seed_count);
        Ok(Run {
            seeds,
            one: a.seed.is_some(),
            options,
            json: a.json,
            jobs,
            out: a.out,
            stop_after: a.stop_after,
            how,
        })
    }
}

/// The command that replays one seed exactly.
fn replay_command(report: &SeedReport, args: &Run) -> String {
    let mut cmd = format!(
        "{} --seed {}",
        args.how.prefix("explore", true),
        report.seed
    );
    if let Some(n) = args.options.nodes {
        cmd.push_str(&format!(" --nodes {n}"));
    }
    if args.options.virtual_time != ExploreOptions::default().virtual_time {
        cmd.push_str(&format!(
            " --virtual-secs {}",
            args.options.virtual_time.as_secs_f64()
        ));
    }
    if let Some(sw) = args.options.unsafe_switch {
        cmd.push_str(&format!(" --unsafe {sw}"));
    }
    cmd
}

/// Runs the explorer; returns the exit status (1 when a seed failed, 2 on bad options).
pub fn run(args: Args, how: Invocation) -> i32 {
    // Timeouts of harness waits are expected under faults: quiet unless RUST_LOG says.
    raftsim::logging::init_with_default("error");
    if let Some(status) = args.pictures.refuse(
        "a failing seed's timeline and history are written to --out; \
             `--seed N` replays one seed and says where",
    ) {
        return status;
    }
    let args = match Run::new(args, how) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    // Files are opened before the run, so that a bad path is refused at once rather
    // than after a campaign of hours.
    if let Err(e) = check_out(&args.out) {
        eprintln!("error: --out {}: {e}", args.out.display());
        return 2;
    }
    let json = match &args.json {
        None => None,
        Some(path) => match std::fs::File::create(path) {
            Ok(f) => Some((path, f)),
            Err(e) => {
                eprintln!("error: --json {}: {e}", path.display());
                return 2;
            }
        },
    };
    if args.one {
        return replay_one(&args, json);
    }
    // At most 2^48 (`parse_range`), so neither this nor the shared counter below
    // overflows, whatever the range's ends.
    let total = args.seeds.end() - args.seeds.start() + 1;
    eprintln!(
        "exploring seeds {}..={} ({total} seeds, {} thread(s))",
        args.seeds.start(),
        args.seeds.end(),
        args.jobs
    );
    // The next seed's place in the range: counting places rather than seeds, a range
    // ending at u64::MAX ends (the seed after it would wrap to 0).
    let next = AtomicU64::new(0);
    let (passed, failed, done) = (AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0));
    let stop = AtomicBool::new(false);
    let results: Mutex<Vec<SeedReport>> = Mutex::new(Vec::new());
    let started = Instant::now();
    let progress = Mutex::new(Progress::new("seeds", total));
    std::thread::scope(|s| {
        for _ in 0..args.jobs {
            s.spawn(|| loop {
                let place = next.fetch_add(1, Ordering::Relaxed);
                if place >= total || stop.load(Ordering::Relaxed) {
                    return;
                }
                let seed = args.seeds.start() + place;
                let report = explore(seed, &args.options).report;
                if report.passed {
                    passed.fetch_add(1, Ordering::Relaxed);
                } else {
                    let n = failed.fetch_add(1, Ordering::Relaxed) + 1;
                    println!("seed {seed} FAILED:");
                    for f in &report.failures {
                        println!("  {f}");
                    }
                    println!("  replay: {}", replay_command(&report, &args));
                    if args.stop_after.is_some_and(|limit| n >= limit) {
                        stop.store(true, Ordering::Relaxed);
                    }
                }
                let d = done.fetch_add(1, Ordering::Relaxed) + 1;
                if d % 100 == 0 || d == total {
                    let secs = started.elapsed().as_secs_f64();
                    let note = format!(
                        "{} failed, {:.0} seeds/min",
                        failed.load(Ordering::Relaxed),
                        d as f64 / secs * 60.0
                    );
                    progress.lock().unwrap().update(d, &note);
                }
                results.lock().unwrap().push(report);
            });
        }
    });
    let mut results = results.into_inner().unwrap();
    results.sort_by_key(|r| r.seed);
    let secs = started.elapsed().as_secs_f64();
    let events: u64 = results.iter().map(|r| r.events).sum();
    let virtual_ms: u64 = results.iter().map(|r| r.virtual_ms).sum();
    eprintln!(
        "{} seeds in {secs:.1} s: {:.0} seeds/min, {:.2}M simulated events/s, {:.0}x virtual time",
        results.len(),
        results.len() as f64 / secs * 60.0,
        events as f64 / secs / 1e6,
        virtual_ms as f64 / 1000.0 / secs
    );
    if let Some((path, file)) = json {
        if let Err(e) = write_json(file, &results) {
            eprintln!("error: --json {}: {e}", path.display());
            return 2;
        }
    }
    let (p, f) = (passed.into_inner(), failed.into_inner());
    println!("{p} passed, {f} failed");
    i32::from(f > 0)
}

/// Whether `dir` can be the folder of a failing seed's pictures: a folder, or a path
/// whose nearest existing ancestor is a folder (created only when a seed fails, so
/// that a passing run leaves no trace).
fn check_out(dir: &std::path::Path) -> Result<(), String> {
    let existing = dir
        .ancestors()
        .filter(|p| !p.as_os_str().is_empty())
        .find(|p| p.exists());
    match existing {
        Some(p) if !p.is_dir() && p == dir => {
            Err("exists and is not a folder; --out takes a folder for the pictures".into())
        }
        Some(p) if !p.is_dir() => Err(format!(
            "{} is not a folder, so no folder can be made inside it",
            p.display()
        )),
        _ => Ok(()),
    }
}

/// Writes a failing seed's timeline and history pictures into `dir`; returns their paths.
fn write_pictures(
    dir: &std::path::Path,
    seed: u64,
    run: &Exploration,
) -> std::io::Result<(PathBuf, PathBuf)> {
    std::fs::create_dir_all(dir)?;
    let timeline = dir.join(format!("seed-{seed}-timeline.html"));
    let history = dir.join(format!("seed-{seed}-history.html"));
    let title = format!("explore seed {seed}");
    raftsim::timeline::write_html(&timeline, &run.trace, &title)?;
    history_html::write_html(&history, &KvModel, &run.history.operations(), &run.check)?;
    Ok((timeline, history))
}

/// One JSON line per seed's report.
fn write_json(file: std::fs::File, results: &[SeedReport]) -> std::io::Result<()> {
    let mut f = std::io::BufWriter::new(file);
    for r in results {
        writeln!(
            f,
            "{}",
            serde_json::to_string(r).expect("reports serialize")
        )?;
    }
    f.flush()
}

/// One seed: its schedule, its verdicts, and on failure its pictures; its JSON line
/// to `json` if given.
fn replay_one(args: &Run, json: Option<(&PathBuf, std::fs::File)>) -> i32 {
    let seed = *args.seeds.start();
    let options = ExploreOptions {
        trace_messages: true,
        ..args.options.clone()
    };
    let run = explore(seed, &options);
    let r = &run.report;
    println!(
        "seed {seed}: {} nodes, {} ms virtual in {} ms, {} events, {} operations answered, {} unknown",
        r.nodes, r.virtual_ms, r.wall_ms, r.events, r.ops_completed, r.ops_unknown
    );
    if let Some(sw) = &r.unsafe_switch {
        println!("teaching switch on: unsafe_{sw}");
    }
    println!("fault schedule:");
    for line in &r.schedule {
        println!("  {line}");
    }
    println!("linearizability: {}", r.linearizability);
    // A picture that cannot be written (a full disk, no permission) does not hide the
    // verdict: it is printed, then the error, and the status is 2.
    let mut status = 0;
    if !r.passed {
        println!("FAILED:");
        for f in &r.failures {
            println!("  {f}");
        }
        match write_pictures(&args.out, seed, &run) {
            Ok((timeline, history)) => println!(
                "timeline: {}\nhistory: {}",
                timeline.display(),
                history.display()
            ),
            Err(e) => {
                eprintln!("error: --out {}: {e}", args.out.display());
                status = 2;
            }
        }
        println!("replay: {}", replay_command(r, args));
    }
    if let Some((path, file)) = json {
        if let Err(e) = write_json(file, std::slice::from_ref(r)) {
            eprintln!("error: --json {}: {e}", path.display());
            return 2;
        }
    }
    let (p, f) = if r.passed { (1, 0) } else { (0, 1) };
    println!("{p} passed, {f} failed");
    if status != 0 {
        return status;
    }
    i32::from(f > 0)
}
