//! Membership changes one server at a time (dissertation ch. 4): three nodes grow to
//! five while two key/value clients keep appending, the leader removes itself (it steps
//! down once the change commits, and the rest elect a new leader), and the cluster
//! shrinks back to three. No write is lost or applied twice.
//!
//!     cargo run --example membership
//!     RUST_LOG=info cargo run --example membership    # every node's side of the story
//!     cargo run --example membership -- --sim --seed 4  # simulated runtime: replays exactly

#[path = "common/args.rs"]
mod args;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use raftsim::kv::{Client, KvStore};
use raftsim::raft;
use raftsim::{summary, Cluster, Config, EventKind, NodeId, Role};

fn main() {
    let args = args::Cli::new(
        "membership",
        "Membership changes one server at a time (dissertation ch. 4): 3 -> 5 nodes while \
         clients write, the leader removed, back to 3.",
    )
    .seed(21)
    .parse();
    raftsim::logging::init();
    let cluster: Cluster<KvStore> = Cluster::with_config(3, args.config(Config::default()));
    let leader = cluster
        .wait_for_leader(Duration::from_secs(5))
        .expect("a leader");
    println!("Three nodes; n{leader} leads. Two clients start appending to \"log\".");

    let acked = AtomicUsize::new(0);
    let append = |client: &mut Client, w: usize, i: usize| {
        if client.append("log", &format!("<{w}.{i}>")).is_ok() {
            acked.fetch_add(1, Ordering::Relaxed);
        }
    };
    if cluster.is_simulated() {
        // One thread runs the simulation: the clients take turns with the changes, a
        // few appends each before every change (threads would interleave differently
        // on every run, and a seed would no longer replay it).
        println!("(simulated runtime: the clients write between the changes, taking turns)");
        let mut clients = [cluster.client(), cluster.client()];
        let mut i = 0;
        change_membership(&cluster, &mut || {
            for _ in 0..5 {
                for (w, client) in clients.iter_mut().enumerate() {
                    append(client, w, i);
                }
                i += 1;
            }
        });
    } else {
        let stop = AtomicBool::new(false);
        std::thread::scope(|s| {
            for w in 0..2 {
                let (cluster, stop, append) = (&cluster, &stop, &append);
                s.spawn(move || {
                    let mut client = cluster.client();
                    let mut i = 0;
                    while !stop.load(Ordering::Relaxed) {
                        append(&mut client, w, i);
                        i += 1;
                    }
                });
            }
            change_membership(&cluster, &mut || {});
            stop.store(true, Ordering::Relaxed);
        });
    }

    let value = cluster
        .client()
        .get("log")
        .expect("read")
        .unwrap_or_default();
    let tokens: Vec<&str> = value.split_inclusive('>').collect();
    let mut unique = tokens.clone();
    unique.sort_unstable();
    unique.dedup();
    println!(
        "\nThe clients' {} acknowledged appends are all in \"log\" ({} tokens, {} distinct): none lost, none doubled.",
        acked.load(Ordering::Relaxed),
        tokens.len(),
        unique.len()
    );
    assert_eq!(tokens.len(), unique.len(), "an append was applied twice");
    assert!(tokens.len() >= acked.load(Ordering::Relaxed));

    println!("(The harness stops a removed node once its removal commits: the trace lists it as crashed.)");
    println!(
        "\nWhat the trace recorded:\n{}",
        summary::summarize(&cluster.trace())
    );
    raftsim::scenarios::maybe_write_timeline(&cluster.trace(), "Membership changes", "");
    cluster.assert_safe();
    println!("All safety properties held.");
}

/// Grows the cluster by two nodes, removes the leader, then a follower, printing each
/// step; `between` runs before each change (the clients' turn on the simulated runtime).
fn change_membership(cluster: &Cluster<KvStore>, between: &mut dyn FnMut()) {
    // Times are on the cluster's clock, the one the trace below uses.
    let start = Duration::ZERO;
    let ms = |since: Duration| (cluster.now() - since).as_secs_f64() * 1000.0;
    for _ in 0..2 {
        between();
        let t = cluster.now();
        let id = cluster.add_node().expect("add a node");
        println!(
            "  {:>5.0} ms  n{id} joined as a learner, caught up, was promoted: voters {:?} ({:.0} ms)",
            ms(start),
            voters(cluster),
            ms(t)
        );
    }

    between();
    let old = cluster
        .wait_for_leader(Duration::from_secs(5))
        .expect("a leader");
    let old_term = cluster.status(old).term;
    let t = cluster.now();
    cluster.remove_node(old).expect("remove the leader");
    let new = cluster
        .wait_for_leader(Duration::from_secs(5))
        .expect("a new leader");
    println!(
        "  {:>5.0} ms  removed the leader n{old}: it replicated its own removal, stepped down when it \
         committed, and n{new} won term {} ({:.0} ms); voters {:?}",
        ms(start),
        cluster.status(new).term,
        ms(t),
        voters(cluster)
    );
    for e in cluster.trace() {
        if e.node == Some(old) && e.term == old_term {
            if let EventKind::Raft(raft::Event::RoleChanged {
                from: Role::Leader, ..
            }) = e.kind
            {
                println!("             n{old}: {}", e.kind);
            }
        }
    }

    between();
    let victim = *voters(cluster)
        .iter()
        .find(|&&n| n != new)
        .expect("a follower");
    cluster.remove_node(victim).expect("remove a follower");
    println!(
        "  {:>5.0} ms  removed n{victim}: back to three voters {:?}",
        ms(start),
        voters(cluster)
    );
    between();
}

/// The voters of the current leader's configuration.
fn voters(cluster: &Cluster<KvStore>) -> Vec<NodeId> {
    let l = cluster
        .wait_for_leader(Duration::from_secs(5))
        .expect("a leader");
    cluster.status(l).members
}
