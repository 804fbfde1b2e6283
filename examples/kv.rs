//! The key/value service under fire: several clients on a 5-node cluster read, write
//! and append a few shared keys while the network drops and delays messages, random
//! partitions come and go, and nodes crash and restart. Every operation is recorded;
//! at the end the history is checked for linearizability and drawn as a page of HTML
//! (one lane per client, each operation a bar from call to response).
//!
//!     cargo run --release --example kv
//!     cargo run --release --example kv -- --clients 8 --secs 20 --seed 7 --html /tmp/kv.html
//!
//! Options: `--clients N` (5), `--secs S` (10), `--seed X` (1), `--keys K` shared keys
//! (3), `--html PATH` (kv-history.html in the temp directory), `--timeout-ms MS` a
//! client's time limit per operation (1500; a timed-out operation stays pending in the
//! history), `--reliable` (no faults at all, for comparison).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use raftsim::check::{check, write_html, KvHistory, KvModel};
use raftsim::kv::KvStore;
use raftsim::{Cluster, Config, NetConfig, NodeId};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The command line.
struct Args {
    clients: usize,
    secs: f64,
    seed: u64,
    keys: usize,
    html: std::path::PathBuf,
    reliable: bool,
    timeout: Duration,
}

fn parse_args() -> Args {
    let mut a = Args {
        clients: 5,
        secs: 10.0,
        seed: 1,
        keys: 3,
        html: std::env::temp_dir().join("kv-history.html"),
        reliable: false,
        timeout: Duration::from_millis(1500),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .unwrap_or_else(|| usage(&format!("{flag} needs a value")))
        };
        match flag.as_str() {
            "--clients" => a.clients = value().parse().unwrap_or_else(|_| usage("--clients N")),
            "--secs" => a.secs = value().parse().unwrap_or_else(|_| usage("--secs S")),
            "--seed" => a.seed = value().parse().unwrap_or_else(|_| usage("--seed X")),
            "--keys" => a.keys = value().parse().unwrap_or_else(|_| usage("--keys K")),
            "--html" => a.html = value().into(),
            "--timeout-ms" => {
                let ms = value().parse().unwrap_or_else(|_| usage("--timeout-ms MS"));
                a.timeout = Duration::from_millis(ms);
            }
            "--reliable" => a.reliable = true,
            "-h" | "--help" => usage(""),
            other => usage(&format!("unknown option {other}")),
        }
    }
    if a.clients == 0 || a.keys == 0 {
        usage("--clients and --keys must be at least 1");
    }
    a
}

fn usage(why: &str) -> ! {
    if !why.is_empty() {
        eprintln!("error: {why}");
    }
    eprintln!(
        "usage: cargo run --example kv -- [--clients N] [--secs S] [--seed X] [--keys K] \
         [--html PATH] [--timeout-ms MS] [--reliable]"
    );
    std::process::exit(2)
}

/// What one client saw: the latency of every answered operation, and how many timed out.
#[derive(Default)]
struct Stats {
    latencies: Vec<Duration>,
    timeouts: usize,
}

fn main() {
    raftsim::logging::init();
    let args = parse_args();
    const NODES: usize = 5;
    let config = Config {
        seed: Some(args.seed),
        snapshot_threshold: Some(500),
        // The live safety checker looks at every step; its verdict is printed at the end.
        check_safety: true,
        // A long run under faults makes millions of message events; keep the trace small.
        trace_messages: false,
        ..Config::default()
    };
    let cluster: Cluster<KvStore> = Cluster::with_config(NODES, config);
    let history = Arc::new(KvHistory::new());
    println!(
        "{NODES} nodes, {} clients on {} keys for {} s, seed {}{}",
        args.clients,
        args.keys,
        args.secs,
        args.seed,
        if args.reliable {
            ", no faults"
        } else {
            ": lossy network (10% drops, 2-30 ms delays), partitions, crashes"
        }
    );
    if !args.reliable {
        cluster
            .set_net(NetConfig::unreliable())
            .expect("a valid network");
    }
    let stop = AtomicBool::new(false);
    let stats = Mutex::new(Stats::default());
    let faults = Mutex::new(Vec::<String>::new());
    let start = Instant::now();
    std::thread::scope(|s| {
        for c in 0..args.clients {
            let (cluster, history, stop, stats) = (&cluster, &history, &stop, &stats);
            let (keys, seed, timeout) = (args.keys, args.seed, args.timeout);
            s.spawn(move || {
                let mut client = cluster.client_recorded(history);
                client.set_timeout(timeout);
                let mut rng = StdRng::seed_from_u64(seed ^ (c as u64 + 1) << 32);
                let mut mine = Stats::default();
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    let key = format!("k{}", rng.gen_range(0..keys));
                    let t = Instant::now();
                    let ok = match rng.gen_range(0..10) {
                        0..=3 => client.get(&key).is_ok(),
                        4 => client.put(&key, &format!("{c}.{i};")).is_ok(),
                        _ => client.append(&key, &format!("{c}.{i};")).is_ok(),
                    };
                    i += 1;
                    if ok {
                        mine.latencies.push(t.elapsed());
                    } else {
                        mine.timeouts += 1;
                    }
                }
                let mut all = stats.lock();
                all.latencies.extend(mine.latencies);
                all.timeouts += mine.timeouts;
            });
        }
        if !args.reliable {
            let (cluster, stop, faults) = (&cluster, &stop, &faults);
            let seed = args.seed;
            s.spawn(move || inject_faults(cluster, seed, stop, faults, start));
        }
        std::thread::sleep(Duration::from_secs_f64(args.secs));
        stop.store(true, Ordering::Relaxed);
    });
    let elapsed = start.elapsed();
    // Back to health, so that the final state can be compared.
    cluster.heal();
    cluster
        .set_net(NetConfig::reliable())
        .expect("a valid network");
    for id in cluster.ids() {
        if !cluster.status(id).alive {
            cluster.restart(id);
        }
    }

    let mut stats = stats.into_inner();
    stats.latencies.sort_unstable();
    let ops = history.operations();
    let answered = stats.latencies.len();
    println!("\nfaults injected:");
    for f in faults.lock().iter() {
        println!("  {f}");
    }
    println!(
        "\n{answered} operations answered in {:.1} s: {:.0} ops/s; {} timed out (outcome unknown)",
        elapsed.as_secs_f64(),
        answered as f64 / elapsed.as_secs_f64(),
        stats.timeouts
    );
    if answered > 0 {
        let pct = |p: f64| {
            let i = ((answered as f64 * p).ceil() as usize).clamp(1, answered) - 1;
            stats.latencies[i]
        };
        println!(
            "latency: p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            ms(pct(0.5)),
            ms(pct(0.9)),
            ms(pct(0.99)),
            ms(*stats.latencies.last().expect("non-empty"))
        );
    }
    let t = Instant::now();
    let verdict = check(&KvModel, &ops, Duration::from_secs(60));
    println!(
        "linearizability of {} recorded operations ({} pending): {verdict} (checked in {:.2} s)",
        ops.len(),
        ops.iter().filter(|o| o.is_pending()).count(),
        t.elapsed().as_secs_f64()
    );
    let violations = cluster.violations();
    println!(
        "Raft safety (checked live on every step): {}",
        if violations.is_empty() {
            "no violation".to_string()
        } else {
            format!("{} violation(s): {}", violations.len(), violations[0])
        }
    );
    match write_html(&args.html, &KvModel, &ops, &verdict) {
        Ok(()) => println!("history picture: {}", args.html.display()),
        Err(e) => eprintln!("could not write {}: {e}", args.html.display()),
    }
    if !verdict.is_ok() || !violations.is_empty() {
        std::process::exit(1);
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Every 0.5..1.5 s: heal what the last fault did, then partition the nodes at random,
/// or crash one node (restarted at the next turn), or do nothing for a while.
fn inject_faults(
    cluster: &Cluster<KvStore>,
    seed: u64,
    stop: &AtomicBool,
    log: &Mutex<Vec<String>>,
    start: Instant,
) {
    let mut rng = StdRng::seed_from_u64(seed.wrapping_mul(31) + 7);
    let mut crashed: Option<NodeId> = None;
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(rng.gen_range(500..1500)));
        cluster.heal();
        if let Some(id) = crashed.take() {
            cluster.restart(id);
        }
        let at = start.elapsed().as_secs_f64();
        let what = match rng.gen_range(0..3) {
            0 => {
                let (mut a, mut b) = (Vec::new(), Vec::new());
                for id in cluster.ids() {
                    if rng.gen_bool(0.5) {
                        a.push(id);
                    } else {
                        b.push(id);
                    }
                }
                cluster.partition(&[&a, &b]);
                format!("partition {a:?} | {b:?}")
            }
            1 => {
                let id = rng.gen_range(0..cluster.ids().len());
                let was = if cluster.leader() == Some(id) {
                    " (the leader)"
                } else {
                    ""
                };
                cluster.crash(id);
                crashed = Some(id);
                format!("crash n{id}{was}")
            }
            _ => "healthy".to_string(),
        };
        log.lock().push(format!("{at:5.1} s  {what}"));
    }
}
