//! Leadership transfer (§3.10) against a crash failover. A planned handoff: the leader
//! stops taking writes, makes sure the target's log is complete, and sends it
//! TimeoutNow; the target campaigns at once (skipping PreVote) and wins. The cluster is
//! without a leader for a round trip or two. A crash: the followers first have to
//! notice the silence, which takes an election timeout (150-300 ms), then elect.
//!
//!     cargo run --example transfer
//!     RUST_LOG=info cargo run --example transfer

use std::time::Duration;

use raftsim::kv::KvStore;
use raftsim::{summary, Cluster, Config, EventKind, NodeId, Role};

fn main() {
    raftsim::logging::init();
    let config = Config {
        seed: Some(17),
        ..Config::default()
    };
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
    let t0 = cluster.trace_log().now_us();
    cluster
        .transfer_leader_from(leader, to)
        .expect("the leader takes the request");
    let planned = wait_first_commit(&cluster, to, t0);
    print_story(&cluster, t0);
    println!(
        "n{to} committed as leader {:.2} ms after the request.\n",
        planned.as_secs_f64() * 1000.0
    );
    client.put("k", "1").expect("put after the handoff");

    let crashed = cluster
        .wait_for_leader(Duration::from_secs(5))
        .expect("a leader");
    println!("Now n{crashed} crashes instead:");
    let t1 = cluster.trace_log().now_us();
    cluster.crash(crashed);
    let new = cluster
        .wait_for_leader(Duration::from_secs(5))
        .expect("a new leader");
    let failover = wait_first_commit(&cluster, new, t1);
    print_story(&cluster, t1);
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

/// Waits until `id` commits as leader after `from_us`; returns how long after.
fn wait_first_commit(cluster: &Cluster<KvStore>, id: NodeId, from_us: u64) -> Duration {
    for _ in 0..500 {
        let found = cluster.trace().into_iter().find(|e| {
            e.at_us >= from_us
                && e.node == Some(id)
                && e.role == Some(Role::Leader)
                && matches!(e.kind, EventKind::Committed { .. })
        });
        if let Some(e) = found {
            return Duration::from_micros(e.at_us - from_us);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!(
        "n{id} did not commit as leader within 5 s\n{}",
        cluster.dump(40)
    );
}

/// The protocol events since `from_us` that tell how leadership moved.
fn print_story(cluster: &Cluster<KvStore>, from_us: u64) {
    for e in cluster.trace().iter().filter(|e| e.at_us >= from_us) {
        let show = matches!(
            e.kind,
            EventKind::TransferStarted { .. }
                | EventKind::Crashed
                | EventKind::ElectionStarted { .. }
                | EventKind::RoleChanged { .. }
        ) || matches!(e.kind, EventKind::Committed { .. } if e.role == Some(Role::Leader));
        if show {
            println!("  {e}");
        }
        if matches!(e.kind, EventKind::Committed { .. }) && e.role == Some(Role::Leader) {
            break;
        }
    }
}
