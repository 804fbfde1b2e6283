//! The key/value service under fire: several clients on a 5-node cluster read, write
//! and append a few shared keys while the network drops and delays messages, random
//! partitions come and go, and nodes crash and restart. Every operation is recorded;
//! at the end the history is checked for linearizability and drawn as a page of HTML
//! (one lane per client, each operation a bar from call to response), with the fault
//! windows (partitions, crashes) shaded on its time axes and a plot of every
//! operation's latency over time above it. `--timeline PATH` also draws the Raft side
//! of the run: roles, terms, crashes, partitions, elections and commits on one lane per
//! node (messages are not traced in this long run, so there are no arrows).
//!
//!     cargo run --release --example kv
//!     cargo run --release --example kv -- --clients 8 --secs 20 --seed 7 --html /tmp/kv.html
//!     cargo run --release --example kv -- --sim --seed 7   # simulated runtime: replays exactly
//!     cargo run --release --example kv -- --sim --secs 5 --timeline /tmp/kv-raft.html
//!
//! Options: `--clients N` (5), `--secs S` (10), `--seed X` (1), `--keys K` shared keys
//! (3), `--html PATH` (kv-history.html in the temp directory), `--timeline PATH` (no
//! timeline unless given), `--timeout-ms MS` a
//! client's time limit per operation (1500; a timed-out operation stays pending in the
//! history), `--storage-ms MS` how long each disk write takes (0), `--reliable` (no
//! faults at all, for comparison), `--sim`.
//!
//! On node threads every client is a thread and the faults come from a thread of their
//! own, all at once. On the simulated runtime (`--sim`) the clients are simulated actors
//! (`sim::Workload`: the same operation mix, all concurrent) and the fault schedule runs
//! between stretches of virtual time; `--secs` is virtual time, and the seed replays the
//! run — output and history picture — byte for byte.

#[path = "common/args.rs"]
mod args;
use args::Opt;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use raftsim::check::history_html::{write_html_with, Extras};
use raftsim::check::{check, KvHistory, KvModel};
use raftsim::kv::{Client, KvStore};
use raftsim::sim::Workload;
use raftsim::{Cluster, Config, NetConfig, NodeId};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// What one client saw: the latency of every answered operation, and how many timed out.
#[derive(Default)]
struct Stats {
    latencies: Vec<Duration>,
    timeouts: usize,
    /// Writes sent again after an unanswered attempt (each a possible duplicate entry).
    resent_writes: u64,
}

/// One client's loop state: its connection, its own random stream, what it saw.
struct Worker {
    c: usize,
    client: Client,
    rng: StdRng,
    stats: Stats,
    /// Operations done so far (numbers its values).
    i: usize,
}

impl Worker {
    fn new(
        cluster: &Cluster<KvStore>,
        history: &Arc<KvHistory>,
        c: usize,
        seed: u64,
        timeout: Duration,
    ) -> Worker {
        let mut client = cluster.client_recorded(history);
        client.set_timeout(timeout);
        Worker {
            c,
            client,
            rng: StdRng::seed_from_u64(seed ^ (c as u64 + 1) << 32),
            stats: Stats::default(),
            i: 0,
        }
    }

    /// One random operation on one of `keys` keys: 40% Get, 10% Put, 50% Append.
    fn step(&mut self, cluster: &Cluster<KvStore>, keys: usize) {
        let (c, i) = (self.c, self.i);
        let key = format!("k{}", self.rng.gen_range(0..keys));
        let t = cluster.now();
        let ok = match self.rng.gen_range(0..10) {
            0..=3 => self.client.get(&key).is_ok(),
            4 => self.client.put(&key, &format!("{c}.{i};")).is_ok(),
            _ => self.client.append(&key, &format!("{c}.{i};")).is_ok(),
        };
        self.i += 1;
        if ok {
            self.stats.latencies.push(cluster.now() - t);
        } else {
            self.stats.timeouts += 1;
        }
    }
}

fn main() {
    let args = args::Cli::new(
        "kv",
        "Clients on a key/value store through partitions, crashes and drops; \
         linearizability checked, history drawn.",
    )
    .release()
    .seed(1)
    .opt(Opt::count("--clients", "N", "clients (5)"))
    .opt(Opt::seconds("--secs", "how long the clients run (10)"))
    .opt(Opt::count("--keys", "K", "shared keys (3)"))
    .opt(Opt::path(
        "--html",
        "where to draw the history (kv-history.html in the temp directory)",
    ))
    .opt(Opt::whole(
        "--timeout-ms",
        "MS",
        "a client's time limit per operation (1500)",
    ))
    .opt(Opt::whole(
        "--storage-ms",
        "MS",
        "how long each disk write takes (0): writes then take longer than reads",
    ))
    .opt(Opt::flag("--reliable", "no faults at all, for comparison"))
    .parse();
    let clients: usize = args.get("--clients").unwrap_or(5);
    let secs: f64 = args.get("--secs").unwrap_or(10.0);
    let keys: usize = args.get("--keys").unwrap_or(3);
    let html = args
        .get::<std::path::PathBuf>("--html")
        .unwrap_or_else(|| std::env::temp_dir().join("kv-history.html"));
    let timeout = Duration::from_millis(args.get("--timeout-ms").unwrap_or(1500));
    let reliable = args.flag("--reliable");
    let storage_latency = Duration::from_millis(args.get("--storage-ms").unwrap_or(0));
    let seed = args.seed();
    raftsim::logging::init();
    const NODES: usize = 5;
    let config = args.config(Config {
        snapshot_threshold: Some(500),
        // The live safety checker looks at every step; its verdict is printed at the end.
        check_safety: true,
        // A long run under faults makes millions of message events; keep the trace small.
        trace_messages: false,
        storage_latency,
        ..Config::default()
    });
    let cluster: Cluster<KvStore> = Cluster::with_config(NODES, config);
    let sim = cluster.is_simulated();
    let history = Arc::new(KvHistory::new());
    println!(
        "{NODES} nodes, {clients} clients on {keys} keys for {secs} s{}, seed {seed}{}",
        if sim {
            " of virtual time (simulated clients)"
        } else {
            ""
        },
        if reliable {
            ", no faults"
        } else {
            ": lossy network (10% drops, 2-30 ms delays), partitions, crashes"
        }
    );
    if !reliable {
        cluster
            .set_net(NetConfig::unreliable())
            .expect("a valid network");
    }
    let mut stats = Stats::default();
    let faults = Mutex::new(Vec::<String>::new());
    let start = cluster.now();
    let end = start + Duration::from_secs_f64(secs);
    let mut schedule = (!reliable).then(|| Faults::new(seed));
    if sim {
        // Concurrent clients as simulated actors (the same operation mix as the
        // threads: 40% Get, 10% Put, 50% Append), the fault schedule between.
        let workload = Workload {
            clients,
            keys,
            get_share: 0.4,
            put_share: 0.1,
            think_time: (Duration::ZERO, Duration::ZERO),
            op_timeout: timeout,
        };
        let handle = cluster
            .start_workload(workload, Some(history.clone()))
            .expect("the workload is valid: --clients and --keys are at least 1");
        while cluster.now() < end {
            match schedule.as_mut() {
                Some(f) => {
                    let pause = f.pause().min(end - cluster.now());
                    cluster.sleep(pause);
                    if cluster.now() < end {
                        f.inject(&cluster, &faults, start);
                    }
                }
                None => cluster.sleep(end - cluster.now()),
            }
        }
        handle.stop();
        let w = handle.stats();
        stats.latencies = w
            .latencies_us
            .iter()
            .map(|&us| Duration::from_micros(us))
            .collect();
        stats.timeouts = (w.timed_out + w.expired) as usize;
        stats.resent_writes = w.resent_writes;
    } else {
        let stop = AtomicBool::new(false);
        let all = Mutex::new(Stats::default());
        std::thread::scope(|s| {
            for c in 0..clients {
                let (cluster, history, stop, all) = (&cluster, &history, &stop, &all);
                s.spawn(move || {
                    let mut w = Worker::new(cluster, history, c, seed, timeout);
                    while !stop.load(Ordering::Relaxed) {
                        w.step(cluster, keys);
                    }
                    let mut all = all.lock();
                    all.latencies.extend(w.stats.latencies);
                    all.timeouts += w.stats.timeouts;
                    all.resent_writes += w.client.resent_writes();
                });
            }
            if let Some(mut f) = schedule.take() {
                let (cluster, stop, faults) = (&cluster, &stop, &faults);
                s.spawn(move || {
                    // Every 0.5..1.5 s until the clients stop.
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(f.pause());
                        f.inject(cluster, faults, start);
                    }
                });
            }
            std::thread::sleep(Duration::from_secs_f64(secs));
            stop.store(true, Ordering::Relaxed);
        });
        stats = all.into_inner();
    }
    let elapsed = cluster.now() - start;
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

    stats.latencies.sort_unstable();
    let ops = history.operations();
    let answered = stats.latencies.len();
    println!("\nfaults injected:");
    for f in faults.lock().iter() {
        println!("  {f}");
    }
    println!(
        "\n{answered} operations answered in {:.1} s{}: {:.0} ops/s; {} timed out (outcome unknown)",
        elapsed.as_secs_f64(),
        if sim { " of virtual time" } else { "" },
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
    println!(
        "writes re-sent after an unanswered attempt: {}",
        stats.resent_writes
    );
    let t = Instant::now();
    let verdict = check(&KvModel, &ops, Duration::from_secs(60));
    // How long the checker took is wall-clock time: left out on the simulated runtime,
    // whose output is a function of the seed alone.
    let took = if sim {
        String::new()
    } else {
        format!(" (checked in {:.2} s)", t.elapsed().as_secs_f64())
    };
    println!(
        "linearizability of {} recorded operations ({} pending): {verdict}{took}",
        ops.len(),
        ops.iter().filter(|o| o.is_pending()).count(),
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
    // The trace gives the fault windows to shade on the history's time axes.
    let trace = cluster.trace();
    let extras = Extras::from_trace(&trace);
    match write_html_with(&html, &KvModel, &ops, &verdict, &extras) {
        Ok(()) => println!("history picture: {}", html.display()),
        Err(e) => eprintln!("could not write {}: {e}", html.display()),
    }
    let title = format!("kv: {NODES} nodes, {clients} clients, seed {seed}");
    raftsim::scenarios::maybe_write_timeline(&trace, &title, "");
    if !verdict.is_ok() || !violations.is_empty() {
        std::process::exit(1);
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The fault schedule: every 0.5..1.5 s, heal what the last fault did, then partition
/// the nodes at random, or crash one node (restarted at the next turn), or do nothing
/// for a while. One random stream draws both the pauses and the faults, in the same
/// order on either runtime.
struct Faults {
    rng: StdRng,
    crashed: Option<NodeId>,
}

impl Faults {
    fn new(seed: u64) -> Faults {
        Faults {
            rng: StdRng::seed_from_u64(seed.wrapping_mul(31) + 7),
            crashed: None,
        }
    }

    /// How long until the next fault.
    fn pause(&mut self) -> Duration {
        Duration::from_millis(self.rng.gen_range(500..1500))
    }

    /// Heals the last fault (a partition healed, a crashed node restarted) and injects
    /// the next, logging both with the time since `start`.
    fn inject(&mut self, cluster: &Cluster<KvStore>, log: &Mutex<Vec<String>>, start: Duration) {
        let rng = &mut self.rng;
        cluster.heal();
        // The restart is listed too, so the list never shows a node crashing twice
        // without coming back in between.
        let restarted = self.crashed.take().map_or(String::new(), |id| {
            cluster.restart(id);
            format!("restart n{id}, then ")
        });
        let at = (cluster.now() - start).as_secs_f64();
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
                self.crashed = Some(id);
                format!("crash n{id}{was}")
            }
            _ => "healthy".to_string(),
        };
        log.lock().push(format!("{at:5.1} s  {restarted}{what}"));
    }
}
