//! The seed explorer: thousands of random fault schedules on the simulated runtime, each
//! checked for the five safety properties, linearizability, exactly-once and liveness.
//! A failing seed prints one command that replays it exactly and writes its timeline
//! and history pictures.
//!
//!     cargo run --release --example explore -- --seeds 1..=1000
//!     cargo run --release --example explore -- --seeds 1..=200 --unsafe commit_previous_term_entries
//!     cargo run --release --example explore -- --seed 42          # one seed, its story
//!
//! Options: --seeds A..=B | A..B | N (a range, or one seed), --seed N (one seed, with its
//! fault schedule printed), --nodes N (3, 5 or 7 by default, drawn per seed),
//! --virtual-secs S (10), --unsafe NAME (a Config teaching switch without its
//! `unsafe_` prefix), --json FILE (one result per seed as JSON lines), --jobs N (worker
//! threads; default: the machine's cores; each seed runs alone on one thread, so results
//! do not depend on it), --out DIR (where a failing seed's pictures go; default
//! target/explore), --stop-after N (stop once N seeds failed). The last line is
//! `N passed, M failed`; the exit status is 1 when a seed failed, 2 on bad options.

use std::io::Write;
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use raftsim::check::{history_html, KvModel};
use raftsim::sim::explore::{explore, ExploreOptions, SeedReport, UnsafeSwitch};

const USAGE: &str = "usage: explore [--seeds A..=B | --seed N] [--nodes N] [--virtual-secs S] \
[--unsafe NAME] [--json FILE] [--jobs N] [--out DIR] [--stop-after N]";

struct Args {
    seeds: RangeInclusive<u64>,
    one: bool,
    options: ExploreOptions,
    json: Option<PathBuf>,
    jobs: usize,
    out: PathBuf,
    stop_after: Option<u64>,
}

fn bad(msg: String) -> ! {
    eprintln!("explore: {msg}\n{USAGE}");
    std::process::exit(2)
}

fn parse_range(s: &str) -> Result<RangeInclusive<u64>, String> {
    let num = |x: &str| {
        x.trim()
            .parse::<u64>()
            .map_err(|_| format!("--seeds {s:?}: {x:?} is not a number"))
    };
    let r = if let Some((a, b)) = s.split_once("..=") {
        num(a)?..=num(b)?
    } else if let Some((a, b)) = s.split_once("..") {
        let b = num(b)?;
        if b == 0 {
            return Err(format!("--seeds {s:?}: the range is empty"));
        }
        num(a)?..=b - 1
    } else {
        let n = num(s)?;
        n..=n
    };
    if r.is_empty() {
        return Err(format!(
            "--seeds {s:?}: the range is empty (write A..=B with A <= B)"
        ));
    }
    Ok(r)
}

fn parse() -> Args {
    let mut args = Args {
        seeds: 1..=100,
        one: false,
        options: ExploreOptions::default(),
        json: None,
        jobs: std::thread::available_parallelism().map_or(1, |n| n.get()),
        out: PathBuf::from("target/explore"),
        stop_after: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--help" || flag == "-h" {
            println!(
                "{USAGE}\n\nRuns random fault schedules on the simulated runtime and checks each."
            );
            std::process::exit(0);
        }
        let mut value = || {
            it.next()
                .unwrap_or_else(|| bad(format!("{flag} needs a value")))
        };
        let number = |v: String, what: &str| -> u64 {
            v.parse()
                .unwrap_or_else(|_| bad(format!("{flag} {v:?}: expected {what}")))
        };
        match flag.as_str() {
            "--seeds" => args.seeds = parse_range(&value()).unwrap_or_else(|e| bad(e)),
            "--seed" => {
                let n = number(value(), "a seed (a whole number)");
                args.seeds = n..=n;
                args.one = true;
            }
            "--nodes" => args.options.nodes = Some(number(value(), "a cluster size") as usize),
            "--virtual-secs" => {
                let v = value();
                let secs: f64 = v
                    .parse()
                    .unwrap_or_else(|_| bad(format!("--virtual-secs {v:?}: expected seconds")));
                if !(secs.is_finite() && secs > 0.0) {
                    bad(format!(
                        "--virtual-secs {v:?}: expected a positive number of seconds"
                    ));
                }
                args.options.virtual_time = Duration::from_secs_f64(secs);
            }
            "--unsafe" => {
                let v = value();
                args.options.unsafe_switch = Some(
                    v.parse::<UnsafeSwitch>()
                        .unwrap_or_else(|e| bad(format!("--unsafe: {e}"))),
                );
            }
            "--json" => args.json = Some(PathBuf::from(value())),
            "--jobs" => args.jobs = number(value(), "a number of threads").max(1) as usize,
            "--out" => args.out = PathBuf::from(value()),
            "--stop-after" => {
                args.stop_after = Some(number(value(), "a number of failures").max(1))
            }
            other => bad(format!("unknown option {other:?}")),
        }
    }
    if let Err(e) = args.options.validate() {
        bad(e);
    }
    args
}

/// The command that replays one seed exactly.
fn replay_command(report: &SeedReport, args: &Args) -> String {
    let mut cmd = format!(
        "cargo run --release --example explore -- --seed {}",
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

fn main() {
    // Timeouts of harness waits are expected under faults: quiet unless RUST_LOG says.
    raftsim::logging::init_with_default("error");
    let args = parse();
    if args.one {
        return replay_one(&args);
    }
    let total = args.seeds.end() - args.seeds.start() + 1;
    eprintln!(
        "exploring seeds {}..={} ({total} seeds, {} thread(s))",
        args.seeds.start(),
        args.seeds.end(),
        args.jobs
    );
    let next = AtomicU64::new(*args.seeds.start());
    let (passed, failed, done) = (AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0));
    let stop = AtomicBool::new(false);
    let results: Mutex<Vec<SeedReport>> = Mutex::new(Vec::new());
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..args.jobs {
            s.spawn(|| loop {
                let seed = next.fetch_add(1, Ordering::Relaxed);
                if seed > *args.seeds.end() || stop.load(Ordering::Relaxed) {
                    return;
                }
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
                if d % 100 == 0 {
                    let secs = started.elapsed().as_secs_f64();
                    let left = (total - d) as f64 * secs / d as f64;
                    eprintln!(
                        "  {d}/{total} seeds, {} failed, {:.0} seeds/min, ~{left:.0} s left",
                        failed.load(Ordering::Relaxed),
                        d as f64 / secs * 60.0
                    );
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
    if let Some(path) = &args.json {
        let mut f = std::fs::File::create(path)
            .unwrap_or_else(|e| bad(format!("--json {}: {e}", path.display())));
        for r in &results {
            writeln!(
                f,
                "{}",
                serde_json::to_string(r).expect("reports serialize")
            )
            .expect("write");
        }
    }
    let (p, f) = (passed.into_inner(), failed.into_inner());
    println!("{p} passed, {f} failed");
    if f > 0 {
        std::process::exit(1);
    }
}

/// One seed: its schedule, its verdicts, and on failure its pictures.
fn replay_one(args: &Args) {
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
    if !r.passed {
        std::fs::create_dir_all(&args.out).expect("create the output folder");
        let timeline = args.out.join(format!("seed-{seed}-timeline.html"));
        let history = args.out.join(format!("seed-{seed}-history.html"));
        let title = format!("explore seed {seed}");
        raftsim::timeline::write_html(&timeline, &run.trace, &title).expect("write the timeline");
        history_html::write_html(&history, &KvModel, &run.history.operations(), &run.check)
            .expect("write the history");
        println!("FAILED:");
        for f in &r.failures {
            println!("  {f}");
        }
        println!(
            "timeline: {}\nhistory: {}",
            timeline.display(),
            history.display()
        );
        println!("replay: {}", replay_command(r, args));
    }
    let (p, f) = if r.passed { (1, 0) } else { (0, 1) };
    println!("{p} passed, {f} failed");
    if f > 0 {
        std::process::exit(1);
    }
}
