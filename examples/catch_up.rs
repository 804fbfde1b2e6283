//! Repairing a follower far behind (§5.3): the leader looks for the last index where
//! the follower's log agrees with its own. One entry per rejection (Figure 2 as
//! written) versus fast backtracking with the follower's conflict hint, side by side.
//!
//!     cargo run --example catch_up
//!     cargo run --example catch_up -- --timeline /tmp/catchup.html   # both runs
//!     cargo run --example catch_up -- --sim                          # simulated runtime

#[path = "common/args.rs"]
mod args;

use raftsim::scenarios::catch_up::{self, Opts, LAGGARD, REPAIRER};
use raftsim::scenarios::maybe_write_timeline;

fn main() {
    let args = args::Cli::new(
        "catch_up",
        "Repairing a follower far behind (§5.3): one entry per rejection vs fast backtracking.",
    )
    .seed(Opts::default().seed)
    .seed_note("the same for both runs")
    .parse();
    raftsim::logging::init();
    let base = Opts {
        seed: args.seed(),
        ..Opts::default()
    };
    println!(
        "n{LAGGARD} led term 1, was cut off and accepted {} commands nobody else saw. Meanwhile the others",
        base.stale
    );
    println!(
        "committed {} commands in term 2, and n{REPAIRER} became leader of term 3 (it knows nothing of n{LAGGARD}'s log).",
        base.behind
    );
    println!("Then n{LAGGARD} is reconnected.\n");
    let fast = catch_up::run_on(
        &Opts {
            fast_backtracking: true,
            ..base
        },
        args.runtime(),
    )
    .expect("fast");
    let slow = catch_up::run_on(
        &Opts {
            fast_backtracking: false,
            ..base
        },
        args.runtime(),
    )
    .expect("slow");
    println!(
        "n{LAGGARD}'s log ends at index {}; the leader's at {}. They agree only up to index 2.\n",
        fast.laggard_last_index, fast.leader_last_index
    );
    println!(
        "{:<44} {:>16} {:>16}",
        "", "one at a time", "fast backtracking"
    );
    let row = |what: &str, a: String, b: String| println!("{what:<44} {a:>16} {b:>16}");
    row(
        "rejected AppendEntries",
        slow.rejections.to_string(),
        fast.rejections.to_string(),
    );
    row(
        "AppendEntries sent to n0 (incl. heartbeats)",
        slow.appends.to_string(),
        fast.appends.to_string(),
    );
    row(
        "replies from n0",
        slow.replies.to_string(),
        fast.replies.to_string(),
    );
    row(
        "log entries carried",
        slow.entries_sent.to_string(),
        fast.entries_sent.to_string(),
    );
    row(
        "time to repair (ms)",
        format!("{:.1}", slow.repair_ms),
        format!("{:.1}", fast.repair_ms),
    );
    let trunc = |o: &catch_up::Outcome| {
        o.truncated
            .map_or("-".into(), |(a, b)| format!("{a}..={b}"))
    };
    row("n0's stale entries deleted", trunc(&slow), trunc(&fast));
    println!();
    println!(
        "One at a time: each rejection moves nextIndex back by one, so the leader walks back from"
    );
    println!("its own end to index 2, one round trip per step.");
    println!("Fast: the first rejection says \"my log ends at 12\"; the next says \"I hold term 1 there, from");
    println!("index 1 on\"; the leader has term 1 only up to index 2, so it jumps straight there.");
    for o in [&fast, &slow] {
        assert!(o.violations.is_empty(), "{:?}", o.violations);
    }
    maybe_write_timeline(&slow.events, "Catch-up, one entry at a time", "-slow");
    maybe_write_timeline(&fast.events, "Catch-up, fast backtracking", "-fast");
}
