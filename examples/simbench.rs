//! How fast the simulated runtime runs: simulated events per second and virtual seconds
//! per wall second for an idle 5-node cluster, for 5 nodes under 64 key/value clients
//! (no think time, a 0.1-0.5 ms network),
//! and for explorer seeds. Each figure is the median of `--runs` runs.
//!
//!     cargo run --release --example simbench
//!     cargo run --release --example simbench -- --runs 5 --virtual-secs 60

use std::time::{Duration, Instant};

use raftsim::kv::KvStore;
use raftsim::sim::explore::{explore_seed, ExploreOptions};
use raftsim::sim::Workload;
use raftsim::{Cluster, Config};

const USAGE: &str = "usage: simbench [--runs N] [--virtual-secs S]";

fn bad(msg: String) -> ! {
    eprintln!("simbench: {msg}\n{USAGE}");
    std::process::exit(2)
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

fn main() {
    raftsim::logging::init_with_default("error");
    let (mut runs, mut secs) = (3usize, 30.0f64);
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .unwrap_or_else(|| bad(format!("{flag} needs a value")))
        };
        match flag.as_str() {
            "--help" | "-h" => {
                println!("{USAGE}");
                return;
            }
            "--runs" => {
                let v = value();
                runs = v
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .unwrap_or_else(|| bad(format!("--runs {v:?}: a count above 0")));
            }
            "--virtual-secs" => {
                let v = value();
                secs = v
                    .parse()
                    .ok()
                    .filter(|s: &f64| s.is_finite() && *s > 0.0)
                    .unwrap_or_else(|| bad(format!("--virtual-secs {v:?}: seconds above 0")));
            }
            other => bad(format!("unknown option {other:?}")),
        }
    }
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
}
