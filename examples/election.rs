//! Leader election (§5.2): five nodes elect a leader, the leader crashes, the others
//! notice its silence and elect a new one; the old leader comes back as a follower.
//!
//!     cargo run --example election
//!     RUST_LOG=info cargo run --example election    # every node's side of the story
//!     cargo run --example election -- --sim --seed 3  # simulated runtime: replays exactly

#[path = "common/args.rs"]
mod args;

use std::time::Duration;

use raftsim::raft;
use raftsim::state_machine::Recorder;
use raftsim::{summary, Cluster, Config, EventKind, Role};

fn main() {
    let args = args::Cli::new(
        "election",
        "Leader election (§5.2): five nodes elect a leader, it crashes, another is elected.",
    )
    .seed(7)
    .parse();
    raftsim::logging::init();
    let config = args.config(Config::default());
    let cluster: Cluster<Recorder<String>> = Cluster::with_config(5, config);
    println!("Five nodes start as followers with randomized election timeouts of 150-300 ms.");

    let leader = cluster
        .wait_for_leader(Duration::from_secs(5))
        .expect("a leader within 5 s");
    let st = cluster.status(leader);
    println!(
        "n{leader} timed out first, asked for votes and won term {} (a majority of 5 is 3).",
        st.term
    );
    explain_votes(&cluster, st.term);

    cluster
        .propose_and_wait("x=1".to_string(), 5, Duration::from_secs(5))
        .expect("commit");
    println!("It replicated a command to all five nodes.");

    println!("\nNow n{leader} crashes. The others stop hearing heartbeats...");
    let crashed_at = cluster.now();
    cluster.crash(leader);
    let new_leader = cluster
        .wait_for_leader(Duration::from_secs(5))
        .expect("a new leader");
    let st = cluster.status(new_leader);
    println!(
        "...and {:.0} ms later n{new_leader} has won term {}.",
        (cluster.now() - crashed_at).as_secs_f64() * 1000.0,
        st.term
    );
    explain_votes(&cluster, st.term);

    println!("\nn{leader} restarts from its persisted term, vote and log.");
    cluster.restart(leader);
    cluster
        .propose_and_wait("x=2".to_string(), 5, Duration::from_secs(5))
        .expect("commit");
    let back = cluster.status(leader);
    println!(
        "It learns of term {} from n{new_leader}'s first AppendEntries and follows: role {:?}, log up to {}.",
        back.term, back.role, back.last_log_index
    );
    assert_eq!(back.role, Role::Follower);

    println!(
        "\nWhat the trace recorded:\n{}",
        summary::summarize(&cluster.trace())
    );
    raftsim::scenarios::maybe_write_timeline(&cluster.trace(), "Leader election", "");
    cluster.assert_safe();
    println!("All safety properties held.");
}

/// Prints who voted for whom in `term`, and who refused and why.
fn explain_votes(cluster: &Cluster<Recorder<String>>, term: u64) {
    for e in cluster.trace() {
        match &e.kind {
            EventKind::Raft(raft::Event::VoteGranted {
                candidate,
                term: t,
                pre_vote,
            }) if *t == term && !pre_vote => {
                println!("  n{} voted for n{candidate}", e.node.unwrap_or_default())
            }
            EventKind::Raft(raft::Event::VoteRefused {
                candidate,
                term: t,
                pre_vote,
                reason,
            }) if *t == term && !pre_vote => println!(
                "  n{} refused n{candidate}: {reason}",
                e.node.unwrap_or_default()
            ),
            _ => {}
        }
    }
}
