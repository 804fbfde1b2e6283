//! Benchmarks: commit throughput and latency, and failover time.
//!
//!     cargo run --release --example bench                 # everything
//!     cargo run --release --example bench -- throughput   # writes/s, p50/p99/max latency
//!     cargo run --release --example bench -- failover --trials 200
//!     cargo run --release --example bench -- reads        # ReadIndex gets vs gets through the log
//!
//! Throughput: clients on their own threads, each submitting an empty command to a
//! no-op state machine through the router and waiting until the leader applied it.
//! Failover: the leader of a 5-node cluster with the paper's timeouts (150-300 ms) is
//! crashed; the time from the crash to a new leader's election is taken from the trace.

use std::time::{Duration, Instant};

use raftsim::kv::{KvStore, Op, Request};
use raftsim::state_machine::Noop;
use raftsim::{Cluster, Config, EventKind, Role};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mode = args.first().map(String::as_str).unwrap_or("all");
    let trials = flag(&args, "--trials").unwrap_or(200);
    let secs = flag(&args, "--secs").unwrap_or(2) as u64;
    println!(
        "raftsim benchmark on {} cores",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    if matches!(mode, "all" | "throughput") {
        throughput(Duration::from_secs(secs));
    }
    if matches!(mode, "all" | "reads") {
        reads(Duration::from_secs(secs));
    }
    if matches!(mode, "all" | "failover") {
        failover(trials);
    }
}

fn flag(args: &[String], name: &str) -> Option<usize> {
    let i = args.iter().position(|a| a == name)?;
    args.get(i + 1)?.parse().ok()
}

/// Settings for measuring speed: no trace, no live checks (both cost per message).
fn quiet() -> Config {
    Config {
        seed: Some(42),
        trace: false,
        check_safety: false,
        ..Config::default()
    }
}

/// Percentiles of a sorted slice of latencies.
fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Runs `clients` threads for `dur`, each calling `op` in a loop; returns (ops/s, sorted latencies).
fn drive<C: Send>(
    clients: Vec<C>,
    dur: Duration,
    op: impl Fn(&mut C) + Sync,
) -> (f64, Vec<Duration>) {
    let start = Instant::now();
    let mut lat: Vec<Duration> = std::thread::scope(|s| {
        let handles: Vec<_> = clients
            .into_iter()
            .map(|mut c| {
                let op = &op;
                s.spawn(move || {
                    let mut lat = Vec::new();
                    while start.elapsed() < dur {
                        let t = Instant::now();
                        op(&mut c);
                        lat.push(t.elapsed());
                    }
                    lat
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("client thread"))
            .collect()
    });
    let elapsed = start.elapsed().as_secs_f64();
    lat.sort();
    (lat.len() as f64 / elapsed, lat)
}

fn throughput(dur: Duration) {
    println!(
        "\n== Commit throughput (no-op state machine, each client waits for its write to apply) =="
    );
    println!(
        "{:>5} {:>7} {:>12} {:>9} {:>9} {:>9}",
        "nodes", "clients", "writes/s", "p50 ms", "p99 ms", "max ms"
    );
    for nodes in [3, 5] {
        for clients in [1, 16, 64] {
            let cluster: Cluster<Noop> = Cluster::with_config(nodes, quiet());
            cluster
                .wait_for_leader(Duration::from_secs(5))
                .expect("leader");
            let cs: Vec<_> = (0..clients).map(|_| cluster.raw_client()).collect();
            let (rate, lat) = drive(cs, dur, |c| {
                c.submit((), false).expect("write");
            });
            println!(
                "{nodes:>5} {clients:>7} {rate:>12.0} {:>9.3} {:>9.3} {:>9.3}",
                ms(pct(&lat, 0.5)),
                ms(pct(&lat, 0.99)),
                ms(pct(&lat, 1.0))
            );
        }
    }
}

fn reads(dur: Duration) {
    println!("\n== Key/value reads: ReadIndex vs through the log (3 nodes, 16 clients) ==");
    println!(
        "{:>12} {:>10} {:>9} {:>9}",
        "read path", "reads/s", "p50 ms", "p99 ms"
    );
    for read_only in [true, false] {
        let cluster: Cluster<KvStore> = Cluster::with_config(3, quiet());
        cluster
            .wait_for_leader(Duration::from_secs(5))
            .expect("leader");
        let cs: Vec<_> = (0..16).map(|_| cluster.raw_client()).collect();
        let (rate, lat) = drive(cs, dur, |c| {
            let get = Request {
                client: c.id(),
                seq: 0,
                op: Op::Get { key: "k".into() },
            };
            c.submit(get, read_only).expect("read");
        });
        let name = if read_only { "ReadIndex" } else { "log" };
        println!(
            "{name:>12} {rate:>10.0} {:>9.3} {:>9.3}",
            ms(pct(&lat, 0.5)),
            ms(pct(&lat, 0.99))
        );
    }
}

fn failover(trials: usize) {
    println!("\n== Failover: 5 nodes, election timeout 150-300 ms, heartbeat 50 ms, {trials} leader crashes ==");
    let config = Config {
        seed: Some(7),
        trace_messages: false,
        check_safety: false,
        ..Config::default()
    };
    let cluster: Cluster<Noop> = Cluster::with_config(5, config);
    let trace = cluster.trace_log().clone();
    let mut times = Vec::with_capacity(trials);
    for _ in 0..trials {
        let leader = cluster
            .wait_for_leader(Duration::from_secs(10))
            .expect("leader");
        // Wait until every node follows it, so each trial starts from a stable cluster.
        cluster
            .wait_for("a stable cluster", Duration::from_secs(10), |st| {
                st.iter().all(|s| s.alive && s.leader == Some(leader))
            })
            .expect("stable");
        // Crash at a random point of the heartbeat interval.
        std::thread::sleep(Duration::from_micros(rand::random::<u64>() % 50_000));
        let crashed_at = trace.now_us();
        cluster.crash(leader);
        cluster
            .wait_for("a new leader", Duration::from_secs(10), |st| {
                st.iter().any(|s| s.alive && s.role == Role::Leader)
            })
            .expect("new leader");
        let elected = trace
            .events()
            .iter()
            .rev()
            .find(|e| {
                e.at_us > crashed_at
                    && matches!(
                        e.kind,
                        EventKind::RoleChanged {
                            to: Role::Leader,
                            ..
                        }
                    )
            })
            .map(|e| e.at_us)
            .expect("the election is in the trace");
        times.push(Duration::from_micros(elected - crashed_at));
        cluster.restart(leader);
    }
    times.sort();
    let mean = times.iter().sum::<Duration>() / times.len() as u32;
    println!(
        "leader crash -> new leader elected: min {:.0} ms, median {:.0} ms, mean {:.0} ms, p90 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        ms(times[0]),
        ms(pct(&times, 0.5)),
        ms(mean),
        ms(pct(&times, 0.9)),
        ms(pct(&times, 0.99)),
        ms(pct(&times, 1.0))
    );
    let _ = Instant::now();
}
