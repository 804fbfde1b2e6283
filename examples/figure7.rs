//! The paper's Figure 7 (§5.4.1): seven servers with the figure's logs, the leader (top
//! row) crashed. For each of (a), (d) and (f): let it time out first, run the election on
//! real node threads, and report whether it wins and who voted for it, with each
//! refusal's reason from the trace.
//!
//!     cargo run --example figure7
//!     cargo run --example figure7 -- --timeline /tmp/figure7.html   # one file per run
//!     RUST_LOG=info cargo run --example figure7                     # every node's side
//!     cargo run --example figure7 -- --sim                          # simulated runtime

#[path = "common/args.rs"]
mod args;

use raftsim::scenarios::figure7::{self, label_of, LOGS};
use raftsim::scenarios::{maybe_write_timeline, names};

fn main() {
    let args = args::Cli::new(
        "figure7",
        "The paper's Figure 7 (§5.4.1): which of (a), (d), (f) can be elected, and why.",
    )
    .seed(7)
    .seed_note("the same for the three runs")
    .parse();
    raftsim::logging::init();
    println!("Figure 7: the leader of term 8 (n0) has crashed. The logs, by term of each entry:");
    for (id, log) in LOGS.iter().enumerate() {
        println!("  n{id} {:<15} {log:?}", label_of(id));
    }
    println!("A majority of 7 is 4 votes, and a candidate votes for itself.\n");

    for label in ['a', 'd', 'f'] {
        let opts = figure7::Opts {
            candidate: label,
            seed: args.seed(),
        };
        let out = figure7::run_on(&opts, args.runtime())
            .unwrap_or_else(|e| panic!("figure 7 ({label}): {e}"));
        let id = out.candidate;
        let log = LOGS[id];
        println!(
            "({label}) = n{id}, last entry term {} at index {}, times out first and asks for votes in term {}.",
            log.last().unwrap(),
            log.len(),
            out.term
        );
        let voters: Vec<String> = out
            .granted
            .iter()
            .map(|&v| format!("{} n{v}", label_of(v)))
            .collect();
        println!(
            "  votes for it: itself{}{}  ({} of 7)",
            if voters.is_empty() { "" } else { ", " },
            voters.join(", "),
            1 + out.granted.len()
        );
        for (v, why) in &out.refused {
            println!("  {} n{v} refuses: {why}", label_of(*v));
        }
        if out.won {
            println!("  => ({label}) CAN be elected: it won term {}.", out.term);
        } else {
            println!(
                "  => ({label}) can NOT be elected: every live server holds a log more up to date than its own, \
                 so the election restriction (§5.4.1) makes each refuse. It goes back to waiting as a follower."
            );
        }
        assert!(out.violations.is_empty(), "{:?}", out.violations);
        maybe_write_timeline(
            &out.events,
            &format!("Figure 7: ({label}) campaigns"),
            &format!("-{label}"),
        );
        println!();
    }
    println!(
        "In words: a voter compares last entries (§5.4.1): a later term wins; with equal terms, the longer log.\n\
         (a)'s t6@9 beats (b) t4@4, (e) t4@7 and (f) t3@11, but not (c) t6@11 or (d) t7@12: {} vote, it wins.\n\
         (d)'s t7@12 is the most up-to-date log of all: everyone votes for it.\n\
         (f)'s t3@11 is behind everyone's last term: it gets {} and cannot win.",
        names(&[2, 5, 6]),
        names(&[])
    );
}
