//! Log compaction (§7): with `snapshot_threshold: Some(10)` each node replaces its
//! applied entries with a snapshot of the key/value store whenever ten of them pile up,
//! so the log stays short. A follower cut off meanwhile falls so far behind that the
//! entries it needs no longer exist; the leader sends it the snapshot instead
//! (InstallSnapshot), and it ends with the same data.
//!
//!     cargo run --example snapshot
//!     RUST_LOG=info cargo run --example snapshot
//!     cargo run --example snapshot -- --sim --seed 2   # simulated runtime: replays exactly

#[path = "common/args.rs"]
mod args;

use std::time::Duration;

use raftsim::kv::KvStore;
use raftsim::raft;
use raftsim::{summary, Cluster, Config, EventKind};

fn main() {
    let args = args::Cli::new(
        "snapshot",
        "Log compaction (§7): snapshots keep the log short; a lagging node is caught up by \
         InstallSnapshot.",
    )
    .seed(5)
    .parse();
    raftsim::logging::init();
    let config = args.config(Config {
        snapshot_threshold: Some(10),
        ..Config::default()
    });
    let cluster: Cluster<KvStore> = Cluster::with_config(3, config);
    let leader = cluster
        .wait_for_leader(Duration::from_secs(5))
        .expect("a leader");
    let away = (leader + 1) % 3;
    println!("Three nodes, snapshot threshold 10; n{leader} leads. n{away} is disconnected.");
    cluster.disconnect(away);

    let mut client = cluster.client();
    for i in 0..45 {
        client
            .put(&format!("k{i:02}"), &format!("v{i}"))
            .expect("put");
    }
    println!("\nA client wrote 45 keys. Each node's log now:");
    print_logs(&cluster);
    let away_last = cluster.status(away).last_log_index;
    println!(
        "n{away} holds entries up to {away_last}, but n{leader} compacted everything up to {}: \
         the entries n{away} needs are gone from every log.",
        cluster.status(leader).snapshot_index
    );

    println!("\nn{away} reconnects.");
    cluster.connect(away);
    let target = cluster.status(leader).last_log_index;
    cluster
        .wait_for(
            &format!("n{away} to catch up"),
            Duration::from_secs(5),
            |st| st.iter().all(|s| s.last_applied >= target),
        )
        .expect("catch up");
    for e in cluster.trace() {
        match e.kind {
            EventKind::Raft(raft::Event::SnapshotSent { .. })
            | EventKind::Raft(raft::Event::SnapshotInstalled { .. }) => {
                println!("  {e}")
            }
            _ => {}
        }
    }
    println!("Each node's log after the catch-up:");
    print_logs(&cluster);

    let data: Vec<_> = (0..3)
        .map(|n| {
            cluster
                .inspect(n, |kv: &KvStore| kv.data().clone())
                .expect("alive")
        })
        .collect();
    assert!(data.iter().all(|d| d == &data[0]), "the stores differ");
    assert_eq!(data[0].len(), 45);
    println!("\nAll three stores hold the same {} keys.", data[0].len());

    println!(
        "\nWhat the trace recorded:\n{}",
        summary::summarize(&cluster.trace())
    );
    raftsim::scenarios::maybe_write_timeline(&cluster.trace(), "Snapshots and InstallSnapshot", "");
    cluster.assert_safe();
    println!("All safety properties held.");
}

/// One line per node: its snapshot index and how many entries its log still holds.
fn print_logs(cluster: &Cluster<KvStore>) {
    for s in cluster.statuses() {
        println!(
            "  n{}: snapshot through index {:>2}, log holds {:>2} entries ({}..={}), applied {}",
            s.id,
            s.snapshot_index,
            s.last_log_index - s.snapshot_index,
            s.snapshot_index + 1,
            s.last_log_index,
            s.last_applied
        );
    }
}
