//! The leader dies before its entry commits (§5.3, §5.4): entry "x" reached only one
//! follower when the leader crashed. Kept or lost? It depends on who wins the next
//! election; either way, never half-applied. Both outcomes are run.
//!
//!     cargo run --example leader_dies_before_commit
//!     cargo run --example leader_dies_before_commit -- --timeline /tmp/dies.html
//!     cargo run --example leader_dies_before_commit -- --sim   # simulated runtime

#[path = "common/args.rs"]
mod args;

use raftsim::scenarios::leader_dies::{self, Opts, Winner, HOLDER, OLD_LEADER, OTHER};
use raftsim::scenarios::{maybe_write_timeline, names};

fn main() {
    let args = args::Cli::new(
        "leader_dies_before_commit",
        "The leader dies before its entry commits (§5.3, §5.4): kept or lost depending on \
         who wins, never half-applied.",
    )
    .seed(2)
    .seed_note("the same for both cases")
    .parse();
    raftsim::logging::init();
    println!("Five nodes. n{OLD_LEADER} leads term 1 and has committed \"a\" everywhere.");
    println!("A client sends \"x\" to n{OLD_LEADER}; it reaches only n{HOLDER} (2 of 5, not a majority),");
    println!("and n{OLD_LEADER} crashes. \"x\" is not committed: nobody has applied it.\n");
    for (title, winner, suffix) in [
        (
            format!("Case 1: n{HOLDER}, which holds \"x\", times out first"),
            Winner::HasEntry,
            "-kept",
        ),
        (
            format!("Case 2: n{OTHER}, which lacks \"x\", times out first"),
            Winner::LacksEntry,
            "-lost",
        ),
    ] {
        let opts = Opts {
            winner,
            seed: args.seed(),
        };
        let out = leader_dies::run_on(&opts, args.runtime()).expect("scenario");
        println!("{title}");
        println!(
            "  (\"x\" sat at index {}; n{OLD_LEADER}'s commit index was {} when it crashed)",
            out.x_index, out.old_leader_commit
        );
        for b in &out.ballots {
            match &b.refused {
                None => println!("  n{} votes for n{}", b.voter, b.candidate),
                Some(why) => println!("  n{} refuses n{}: {why}", b.voter, b.candidate),
            }
        }
        println!("  n{} wins.", out.new_leader);
        if out.x_kept {
            println!(
                "  \"x\" is in the new leader's log. It commits with the new leader's first entry of its own term\n  \
                 (§5.4.2), and every node applies it: {}.",
                names(&out.applied_x)
            );
        } else {
            for (n, from, to) in &out.truncated {
                println!(
                    "  n{n} deletes entries {from}..={to} (\"x\") to match the new leader's log"
                );
            }
            println!(
                "  \"x\" is gone. Nobody ever applied it (applied by: {}), because it never committed.",
                names(&out.applied_x)
            );
        }
        println!(
            "  Every node (the old leader too, after restarting) applied {:?}.",
            out.applied[0]
        );
        assert!(out.applied.iter().all(|a| *a == out.applied[0]));
        assert!(out.violations.is_empty(), "{:?}", out.violations);
        maybe_write_timeline(&out.events, &title, suffix);
        println!();
    }
    println!("Either way the client that sent \"x\" never got an answer from n{OLD_LEADER}: it must retry,");
    println!(
        "and only a state machine that remembers client requests can make that retry exactly-once."
    );
}
