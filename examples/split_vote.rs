//! Split votes (§5.2): two candidates time out together, the votes split, nobody wins;
//! randomized election timeouts end it.
//!
//!     cargo run --example split_vote
//!     cargo run --example split_vote -- --timeline /tmp/split.html
//!     RUST_LOG=info cargo run --example split_vote
//!     cargo run --example split_vote -- --sim --seed 9   # simulated runtime: replays exactly

#[path = "common/args.rs"]
mod args;

use raftsim::scenarios::{maybe_write_timeline, split_vote};

fn main() {
    let args = args::Cli::new(
        "split_vote",
        "Split votes (§5.2): two candidates at once split the votes; randomized timeouts end it.",
    )
    .seed(5)
    .parse();
    raftsim::logging::init();
    let opts = split_vote::Opts { seed: args.seed() };
    let out = split_vote::run_on(&opts, args.runtime()).expect("split vote");
    println!("Four nodes; a majority is 3 votes. n0 and n1 time out at the same moment and both");
    println!("start an election for term 1, each voting for itself.");
    println!("(For this first round only, n2 hears only n0 and n3 only n1, so the tie happens in");
    println!("every run; in a real cluster it happens when requests cross like this by chance.)");
    for b in &out.first_round {
        match &b.refused {
            None => println!("  n{} votes for n{}", b.voter, b.candidate),
            Some(why) => println!("  n{} refuses n{}: {why}", b.voter, b.candidate),
        }
    }
    println!(
        "  => two votes each: {}. Each candidate waits for its election timer to fire again.",
        if out.term1_split {
            "nobody wins term 1"
        } else {
            "(unexpectedly, someone won)"
        }
    );
    let (lo, hi) = split_vote::TIMEOUT_RANGE;
    println!(
        "\nThe network is whole again. Every node's timer is a fresh random draw from {}-{} ms:",
        lo.as_millis(),
        hi.as_millis()
    );
    for r in &out.rounds {
        let who: Vec<String> = r
            .candidates
            .iter()
            .map(|(n, at)| format!("n{n} at {at:.0} ms"))
            .collect();
        let result = match r.leader {
            Some(l) => format!("n{l} wins"),
            None => "no winner (split again)".into(),
        };
        println!(
            "  term {}: timed out first: {} -> {result}",
            r.term,
            who.join(", ")
        );
    }
    println!(
        "  => n{} leads term {}, {:.0} ms after the split. It asked before anyone else's timer fired,",
        out.winner, out.winner_term, out.resolved_after_ms
    );
    println!("     so every other node still had its vote for the new term and gave it.");
    assert!(out.violations.is_empty(), "{:?}", out.violations);
    maybe_write_timeline(&out.events, "Split vote", "");
}
