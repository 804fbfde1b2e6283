//! A network partition (§5.3, §5.4): the leader is cut off with one follower. The
//! majority side elects a new leader and keeps committing; the old leader keeps
//! accepting commands it can never commit. When the partition heals, it steps down and
//! its uncommitted entries are discarded.
//!
//!     cargo run --example partition
//!     RUST_LOG=info cargo run --example partition
//!     cargo run --example partition -- --sim --seed 4   # simulated runtime: replays exactly

#[path = "common/args.rs"]
mod args;

use std::time::Duration;

use raftsim::raft;
use raftsim::state_machine::Recorder;
use raftsim::{summary, Cluster, Config, EventKind, Role};

fn main() {
    let args = args::Cli::new(
        "partition",
        "A partition (§5.3, §5.4): a leader cut off with a minority keeps accepting commands \
         it can never commit; after healing they are discarded.",
    )
    .seed(11)
    .parse();
    raftsim::logging::init();
    let config = args.config(Config {
        // Show the paper's plain algorithm: without CheckQuorum the old leader keeps
        // believing it leads for as long as the partition lasts.
        check_quorum: false,
        ..Config::default()
    });
    let cluster: Cluster<Recorder<String>> = Cluster::with_config(5, config);
    let old = cluster
        .wait_for_leader(Duration::from_secs(5))
        .expect("leader");
    cluster
        .propose_and_wait("a".into(), 5, Duration::from_secs(5))
        .expect("commit a");
    let friend = (old + 1) % 5;
    let majority: Vec<usize> = (0..5).filter(|&n| n != old && n != friend).collect();
    println!(
        "n{old} leads term {} and committed \"a\" on all five.",
        cluster.status(old).term
    );

    println!("\nPartition: [n{old}, n{friend}] | {majority:?}");
    cluster.partition(&[&[old, friend], &majority]);
    for cmd in ["lost-1", "lost-2"] {
        let (index, term) = cluster
            .propose(old, cmd.into())
            .expect("old leader accepts");
        println!("  n{old} (still sure it leads) accepts {cmd:?} at index {index} in term {term}");
    }
    cluster
        .wait_for("a leader in the majority", Duration::from_secs(5), |st| {
            st.iter()
                .any(|s| majority.contains(&s.id) && s.role == Role::Leader)
        })
        .expect("majority elects");
    let new = cluster
        .statuses()
        .into_iter()
        .filter(|s| majority.contains(&s.id) && s.role == Role::Leader)
        .max_by_key(|s| s.term)
        .expect("leader")
        .id;
    println!(
        "  the majority elects n{new} in term {}",
        cluster.status(new).term
    );
    for cmd in ["b", "c"] {
        let (index, _) = cluster
            .propose(new, cmd.into())
            .expect("new leader accepts");
        cluster
            .wait_for("commit", Duration::from_secs(5), |st| {
                st[new].commit_index >= index
            })
            .expect("majority commits");
        println!("  n{new} commits {cmd:?} at index {index} with 3 of 5 nodes");
    }
    let o = cluster.status(old);
    println!(
        "  meanwhile n{old} is still {:?} of term {} with commit index {} and log up to {}: it cannot commit without a majority",
        o.role, o.term, o.commit_index, o.last_log_index
    );

    println!("\nHeal the partition.");
    cluster.heal();
    cluster
        .propose_and_wait("d".into(), 5, Duration::from_secs(5))
        .expect("commit d everywhere");
    let o = cluster.status(old);
    println!("  n{old} saw term {} and is now a {:?}", o.term, o.role);
    for e in cluster.trace() {
        if let EventKind::Raft(raft::Event::Truncated { .. }) = e.kind {
            println!("  n{}: {}", e.node.unwrap_or_default(), e.kind);
        }
    }
    let logs: Vec<Vec<String>> = (0..5)
        .map(|n| {
            cluster
                .inspect(n, |sm: &Recorder<String>| {
                    sm.applied.iter().map(|(_, c)| c.clone()).collect()
                })
                .expect("alive")
        })
        .collect();
    println!("  every node applied {:?}", logs[0]);
    assert!(
        logs.iter().all(|l| l == &logs[0]),
        "state machines diverged"
    );
    assert!(!logs[0].iter().any(|c| c.starts_with("lost")));

    println!(
        "\nWhat the trace recorded:\n{}",
        summary::summarize(&cluster.trace())
    );
    raftsim::scenarios::maybe_write_timeline(&cluster.trace(), "A partitioned leader", "");
    cluster.assert_safe();
    println!("All safety properties held.");
}
