//! A lossy network: 10% of messages dropped, delays of 2-30 ms that reorder them, a few
//! duplicated. Raft retries until every command is on every node, in the same order.
//!
//!     cargo run --example lossy
//!     RUST_LOG=raftsim=debug cargo run --example lossy   # every message's fate
//!     cargo run --example lossy -- --sim --seed 4        # simulated runtime: replays exactly
//!
//! On node threads the three clients are three threads proposing at once. On the
//! simulated runtime (`--sim`) they take turns, one command in flight at a time: client
//! threads calling into a simulated cluster would interleave differently on every run.

#[path = "common/args.rs"]
mod args;

use std::time::Duration;

use raftsim::state_machine::Recorder;
use raftsim::{summary, Cluster, Config, NetConfig};

fn main() {
    let args = args::Cli::new(
        "lossy",
        "A lossy network: 10% drops, delays that reorder, duplicates; every node still \
         applies the same commands in the same order.",
    )
    .seed(3)
    .parse();
    raftsim::logging::init();
    let config = args.config(Config {
        net: NetConfig::unreliable(),
        ..Config::default()
    });
    let cluster: Cluster<Recorder<u32>> = Cluster::with_config(5, config);
    println!("Five nodes on a network that drops 10% of messages and delays the rest by 2-30 ms.");
    let start = cluster.now();
    let commands = 60u32;
    let commit = |t: u32, i: u32| {
        cluster
            .propose_and_wait(t * 1000 + i, 5, Duration::from_secs(20))
            .expect("commit through the lossy network");
    };
    if cluster.is_simulated() {
        for i in 0..commands / 3 {
            for t in 0..3u32 {
                commit(t, i);
            }
        }
    } else {
        std::thread::scope(|s| {
            for t in 0..3u32 {
                s.spawn(move || (0..commands / 3).for_each(|i| commit(t, i)));
            }
        });
    }
    println!(
        "3 clients committed {commands} commands on all five nodes in {:.2} s{}.",
        (cluster.now() - start).as_secs_f64(),
        if cluster.is_simulated() {
            " of virtual time, taking turns"
        } else {
            ""
        }
    );
    let logs: Vec<Vec<u32>> = (0..5)
        .map(|n| {
            cluster
                .inspect(n, |sm: &Recorder<u32>| {
                    sm.applied.iter().map(|(_, c)| *c).collect()
                })
                .expect("alive")
        })
        .collect();
    assert!(
        logs.iter().all(|l| l == &logs[0]),
        "state machines diverged"
    );
    println!(
        "Every node applied the same {} commands in the same order.",
        logs[0].len()
    );
    println!(
        "Messages sent: {} ({} KiB estimated).",
        cluster.total_messages_sent(),
        cluster.bytes_sent() / 1024
    );
    println!(
        "\nWhat the trace recorded:\n{}",
        summary::summarize(&cluster.trace())
    );
    raftsim::scenarios::maybe_write_timeline(&cluster.trace(), "A lossy network", "");
    cluster.assert_safe();
    println!("All safety properties held.");
}
