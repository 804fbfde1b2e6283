//! Leadership transfer (§3.10) against a crash failover. A planned handoff: the leader
//! stops taking writes, makes sure the target's log is complete, and sends it
//! TimeoutNow; the target campaigns at once (skipping PreVote) and wins. The cluster is
//! without a leader for a round trip or two. A crash: the followers first have to
//! notice the silence, which takes an election timeout (150-300 ms), then elect.
//! Messages take 1 ms each way (a LAN), so the handoff's round trips show on the
//! simulated runtime too, where nothing else takes time.
//!
//!     cargo run --example transfer
//!     RUST_LOG=info cargo run --example transfer
//!     cargo run --example transfer -- --sim --seed 3   # simulated runtime: replays exactly

#[path = "common/args.rs"]
mod args;

use std::time::Duration;

use raftsim::kv::KvStore;
use raftsim::raft;
use raftsim::{summary, Cluster, Config, EventKind, NetConfig, NodeId, Role};

fn main() {
    let args = args::Cli::new(
        "transfer",
        "Leadership transfer (§3.10): a planned handoff against a crash failover.",
    )
    .seed(17)
    .parse();
    raftsim::logging::init();
    let lan = Duration::from_millis(1);
    let config = args.config(Config {
        net: NetConfig {
            delay_min: lan,
            delay_max: lan,
            ..NetConfig::reliable()
        },
        ..Config::default()
    });
    let cluster: Cluster<KvStore> = Cluster::with_config(3, config);
    let mut client = cluster.client();
    client.put("k", "0").expect("put");
    let leader = cluster
        .wait_for_leader(Duration::from_secs(5))
        .expect("a leader");
    let to = (leader + 1) % 3;

    println!(
        "n{leader} leads term {}. Planned handoff to n{to}:",
        cluster.status(leader).term
    );
    let (mark, t0) = (cluster.trace().len(), cluster.trace_log().now_us());
    cluster
        .transfer_leader_from(leader, to)
        .expect("the leader takes the request");
    let planned = wait_first_commit(&cluster, to, mark, t0);
    print_story(&cluster, mark);
    println!(
        "n{to} committed as leader {:.2} ms after the request.\n",
        planned.as_secs_f64() * 1000.0
    );
    client.put("k", "1").expect("put after the handoff");

    let crashed = cluster
        .wait_for_leader(Duration::from_secs(5))
        .expect("a leader");
    println!("Now n{crashed} crashes instead:");
    let (mark, t1) = (cluster.trace().len(), cluster.trace_log().now_us());
    cluster.crash(crashed);
    let new = cluster
        .wait_for_leader(Duration::from_secs(5))
        .expect("a new leader");
    let failover = wait_first_commit(&cluster, new, mark, t1);
    print_story(&cluster, mark);
    println!(
        "n{new} committed as leader {:.2} ms after the crash.\n",
        failover.as_secs_f64() * 1000.0
    );
    cluster.restart(crashed);
    client.put("k", "2").expect("put after the failover");

    println!(
        "Downtime: planned handoff {:.2} ms, crash failover {:.0} ms ({:.0}x longer; election timeout {:?}).",
        planned.as_secs_f64() * 1000.0,
        failover.as_secs_f64() * 1000.0,
        failover.as_secs_f64() / planned.as_secs_f64().max(1e-6),
        cluster.config().election_timeout_min..cluster.config().election_timeout_max
    );
    assert!(planned < failover, "the handoff was slower than a failover");

    println!(
        "\nWhat the trace recorded:\n{}",
        summary::summarize(&cluster.trace())
    );
    raftsim::scenarios::maybe_write_timeline(&cluster.trace(), "Leadership transfer", "");
    cluster.assert_safe();
    println!("All safety properties held.");
}

/// Waits until `id` commits as leader in an event after the first `mark` of the trace;
/// returns how long after `from_us` (trace time, µs). Events are told apart by their
/// place in the trace, not their time: on the simulated runtime many share an instant.
/// Polls on
/// the cluster's clock, so it works on either runtime (on the simulated one the time
/// comes from the trace all the same, so the 10 ms between looks costs no precision).
fn wait_first_commit(
    cluster: &Cluster<KvStore>,
    id: NodeId,
    mark: usize,
    from_us: u64,
) -> Duration {
    let deadline = cluster.now() + Duration::from_secs(5);
    while cluster.now() < deadline {
        let found = cluster.trace().into_iter().skip(mark).find(|e| {
            e.node == Some(id)
                && e.role == Some(Role::Leader)
                && matches!(e.kind, EventKind::Raft(raft::Event::Committed { .. }))
        });
        if let Some(e) = found {
            return Duration::from_micros(e.at_us - from_us);
        }
        cluster.sleep(Duration::from_millis(10));
    }
    panic!(
        "n{id} did not commit as leader within 5 s\n{}",
        cluster.dump(40)
    );
}

/// The protocol events after the first `mark` of the trace that tell how leadership
/// moved.
fn print_story(cluster: &Cluster<KvStore>, mark: usize) {
    for e in cluster.trace().iter().skip(mark) {
        let show = matches!(
            e.kind,
            EventKind::Raft(raft::Event::TransferStarted { .. })
                | EventKind::Crashed
                | EventKind::Raft(raft::Event::ElectionStarted { .. })
                | EventKind::Raft(raft::Event::RoleChanged { .. })
        ) || matches!(e.kind, EventKind::Raft(raft::Event::Committed { .. }) if e.role == Some(Role::Leader));
        if show {
            println!("  {e}");
        }
        if matches!(e.kind, EventKind::Raft(raft::Event::Committed { .. }))
            && e.role == Some(Role::Leader)
        {
            break;
        }
    }
}
