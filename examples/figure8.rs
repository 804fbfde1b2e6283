//! The paper's Figure 8 (§5.4.2): why a leader does not commit an entry of an earlier
//! term by counting replicas. The sequence (a)..(d) runs twice: with the rule (nothing
//! committed is lost) and with `unsafe_commit_previous_term_entries` (a committed entry
//! is overwritten, and the live safety checker says so); then (e), the safe way.
//!
//!     cargo run --example figure8
//!     cargo run --example figure8 -- --timeline /tmp/figure8.html
//!
//! Runs on the pure Raft core, one message at a time, so (c) can deliver index 2 to S3
//! and S4 and lose index 3 sent right after it on the same links. That makes every run
//! exact already: `--sim` is accepted and changes nothing, and there is no randomness
//! for `--seed` to seed.

#[path = "common/args.rs"]
mod args;

use raftsim::scenarios::figure8::{self, Ending, Opts};
use raftsim::scenarios::maybe_write_timeline;

fn show(out: &figure8::Outcome) {
    for st in &out.stages {
        println!("  {} {}", st.label, st.what);
        for (i, log) in st.logs.iter().enumerate() {
            println!("        S{} {:?}", i + 1, log);
        }
    }
}

fn main() {
    args::Cli::new(
        "figure8",
        "The paper's Figure 8 (§5.4.2): why a leader does not commit an earlier term's entry \
         by counting replicas.",
    )
    .seed(0)
    .seed_note("unused")
    .sim(args::Sim::AlreadyExact(
        "figure8 steps the pure Raft core by hand, one message at a time, so every run is \
         the same already",
    ))
    .parse();
    raftsim::logging::init();
    println!("Five servers S1..S5; each log is shown as the terms of its entries.");
    println!("(Every new leader first appends a no-op of its own term: S1's term-2 entry at");
    println!("index 2 is that no-op, and so is S1's term-4 entry at index 3.)\n");

    println!("1. With the rule of §5.4.2 (only entries of the leader's current term commit by counting):");
    let safe = figure8::run(&Opts {
        unsafe_commit: false,
        ending: Ending::D,
    })
    .expect("figure 8, safe");
    show(&safe);
    println!(
        "  At (c) index 2 sits on S1, S2, S3 and S4, and S1 knows of three copies (S1, S3, S4): a majority."
    );
    println!(
        "  Yet S1's commit index stays {}: the entry's term is 2, not S1's current term 4. (S1 restarted, so",
        safe.s1_commit_at_c
    );
    println!("  it does not even know index 1 committed: that too waits for an entry of term 4.)");
    println!("  So when S5 overwrites index 2 in (d), nothing committed is lost.");
    println!(
        "  committed entries lost: {:?}; safety violations: {}\n",
        safe.lost_committed,
        safe.violations.len()
    );
    maybe_write_timeline(
        &safe.events,
        "Figure 8 (a)-(d), with the commit rule",
        "-safe",
    );

    println!("2. The same sequence with unsafe_commit_previous_term_entries:");
    let bad = figure8::run(&Opts {
        unsafe_commit: true,
        ending: Ending::D,
    })
    .expect("figure 8, unsafe");
    show(&bad);
    println!(
        "  At (c) S1 counted replicas of the term-2 entry and committed it (commit index {}), and applied it: {}.",
        bad.s1_commit_at_c, bad.s1_applied_term2_entry
    );
    for (node, from, to, terms) in &bad.truncations {
        println!(
            "  S{} deleted entries {from}..={to} (terms {terms:?}) to follow S5",
            node + 1
        );
    }
    println!(
        "  committed entries lost (index, term): {:?}",
        bad.lost_committed
    );
    println!("  The live safety checker reports (it names S1..S5 by node id, n0..n4):");
    for v in &bad.violations {
        println!(
            "    {} (seen at S{}): {}",
            v.property,
            v.node + 1,
            v.description
        );
    }
    println!();
    maybe_write_timeline(&bad.events, "Figure 8 (a)-(d), UNSAFE commit", "-unsafe");

    println!("3. (e): the safe way to commit index 2 is to commit an entry of the current term after it:");
    let e = figure8::run(&Opts {
        unsafe_commit: false,
        ending: Ending::E,
    })
    .expect("figure 8 (e)");
    show(&e);
    println!(
        "  S1's term-4 entry reached S2 and S3: indexes 2 and 3 committed together. S5 then lost three elections \
         (leader of term 5: {:?}): S2 and S3 end their logs in term 4, ahead of S5's term 3. Violations: {}.",
        e.leader_of_term5,
        e.violations.len()
    );
    maybe_write_timeline(&e.events, "Figure 8 (e)", "-e");
}
