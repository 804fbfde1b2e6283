//! `raftsim simbench`: how fast the simulated runtime runs: simulated events per second and virtual seconds
//! per wall second for an idle 5-node cluster, for 5 nodes under 64 key/value clients
//! (no think time, a 0.1-0.5 ms network),
//! and for explorer seeds. Each figure is the median of `--runs` runs.
//!
//! ```text
//! cargo run --release -- simbench
//! cargo run --release -- simbench --runs 5 --virtual-secs 60
//! ```
//!
//! (also `cargo run --release --example simbench -- …`)

use std::time::{Duration, Instant};

use raftsim::explore::{explore_seed, ExploreOptions};
use raftsim::kv::KvStore;
use raftsim::sim::Workload;
use raftsim::{Cluster, Config};

use crate::common::{count, virtual_seconds, Invocation, NoPictures};
use clap::Parser;

/// How fast the simulated runtime runs: simulated events per second and virtual
/// seconds per wall second (median of several runs).
#[derive(Parser, Debug)]
#[command(name = "simbench")]
pub struct Args {
    /// Runs per figure; the median is printed.
    #[arg(long, value_name = "N", value_parser = count, default_value = "3")]
    runs: usize,
    /// Virtual seconds per run.
    #[arg(long, value_name = "S", value_parser = virtual_seconds, default_value = "30")]
    virtual_secs: f64,
    /// Accepted and changes nothing: simbench measures the simulated runtime.
    #[arg(long, hide = true)]
    sim: bool,
    /// Not supported: run k of each figure uses seed k, so that the medians compare.
    #[arg(long, hide = true, value_name = "N")]
    seed: Option<u64>,
    /// `--timeline`/`--trace`: refused, with the reason.
    #[command(flatten)]
    pictures: NoPictures,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Runs `f` (which returns events handled and virtual time covered) `runs` times;
/// prints the median events/s and virtual/real ratio.
fn measure(name: &str, runs: usize, mut f: impl FnMut(u64) -> (u64, Duration)) {
    let (mut rates, mut ratios) = (Vec::new(), Vec::new());
    for run in 0..runs {
        let t = Instant::now();
        let (events, virt) = f(run as u64 + 1);
        let wall = t.elapsed().as_secs_f64();
        rates.push(events as f64 / wall);
        ratios.push(virt.as_secs_f64() / wall);
    }
    println!(
        "{name:<38} {:>10.2}M events/s {:>10.0}x virtual time",
        median(rates) / 1e6,
        median(ratios)
    );
}

/// Prints the three figures; returns the exit status.
pub fn run(args: Args, _how: Invocation) -> i32 {
    raftsim::logging::init_with_default("error");
    if args.seed.is_some() {
        return crate::common::refuse(
            "--seed",
            "run k of each figure uses seed k (1..=--runs), so that the medians compare",
        );
    }
    if let Some(status) = args.pictures.refuse("simbench is a measurement") {
        return status;
    }
    let (runs, secs) = (args.runs, args.virtual_secs);
    let span = Duration::from_secs_f64(secs);
    println!("simulated runtime, {secs} virtual s per run, median of {runs} runs");
    let sim = |seed| Config {
        seed: Some(seed),
        ..Config::default().simulated()
    };
    measure("idle, 5 nodes", runs, |seed| {
        let c: Cluster<KvStore> = Cluster::with_config(5, sim(seed));
        c.sleep(span);
        (c.sim_events(), c.now())
    });
    measure("5 nodes, 64 clients, 0.1-0.5 ms network", runs, |seed| {
        // Some delay: with an instant network, an instant disk and no think time, the
        // clients would do unbounded work at one virtual instant.
        let net = raftsim::NetConfig {
            delay_min: Duration::from_micros(100),
            delay_max: Duration::from_micros(500),
            ..raftsim::NetConfig::reliable()
        };
        let c: Cluster<KvStore> = Cluster::with_config(5, Config { net, ..sim(seed) });
        let w = Workload {
            clients: 64,
            keys: 16,
            think_time: (Duration::ZERO, Duration::ZERO),
            ..Workload::default()
        };
        let h = c.start_workload(w, None).expect("a valid workload");
        c.sleep(span);
        let ops = h.stats().completed as f64 / c.now().as_secs_f64();
        eprintln!("  ({ops:.0} operations per virtual second)");
        (c.sim_events(), c.now())
    });
    let options = ExploreOptions::default();
    measure("explorer seed (10 virtual s, checks)", runs * 20, |seed| {
        let r = explore_seed(seed, &options);
        (r.events, Duration::from_millis(r.virtual_ms))
    });
    0
}
