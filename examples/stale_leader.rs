//! A stale leader (§5.1, §5.3; dissertation §6.2): the leader is cut off with one
//! follower. It keeps believing it leads and accepts commands, but cannot commit them;
//! the majority elects a new leader; on healing the old leader steps down and its
//! uncommitted entries are discarded. Run twice: CheckQuorum off (the paper's plain
//! algorithm), then on.
//!
//!     cargo run --example stale_leader
//!     RUST_LOG=info cargo run --example stale_leader     # the run as it happens
//!     cargo run --example stale_leader -- --timeline /tmp/stale.html
//!     cargo run --example stale_leader -- --sim --seed 3   # simulated runtime: replays exactly

#[path = "common/args.rs"]
mod args;

use raftsim::scenarios::{maybe_write_timeline, stale_leader};
use raftsim::{summary, Role};

fn main() {
    let args = args::Cli::new(
        "stale_leader",
        "A stale leader (§5.1, §5.3; dissertation §6.2) cut off by a partition, with \
         CheckQuorum off and on.",
    )
    .seed(11)
    .seed_note("the same for both runs")
    .parse();
    raftsim::logging::init();
    println!("== 1. CheckQuorum off: the paper's plain algorithm ==");
    let opts = stale_leader::Opts {
        check_quorum: false,
        seed: args.seed(),
    };
    let out = stale_leader::run_on(&opts, args.runtime()).expect("stale leader");
    let (old, friend, new) = (out.old_leader, out.friend, out.new_leader);
    println!(
        "n{old} led term {} and committed \"a\" on all five. Then the network split: n{old} and n{friend} on one side.",
        out.old_term
    );
    for (cmd, index) in &out.accepted_while_cut_off {
        println!("  n{old} still believes it leads: it accepted {cmd:?} at index {index}.");
    }
    let (role, term, commit) = out.before_heal;
    println!(
        "  But it cannot commit: only n{friend} stores its entries, 2 of 5. Before healing it was still {role} of term {term}, commit index {commit}."
    );
    println!(
        "  The other three elected n{new} in term {} and committed {:?}: 3 of 5 is a majority.",
        out.new_term, out.committed_by_majority
    );
    println!(
        "On healing, n{old} stepped down: \"{}\". A term is a logical clock: term {} beats {}.",
        out.step_down_reason, out.new_term, out.old_term
    );
    for (n, from, to) in &out.truncated {
        println!("  n{n} deleted its uncommitted entries {from}..={to} and took n{new}'s instead.");
    }
    println!(
        "  Every node applied {:?}: no split brain, and no \"lost-*\" anywhere.",
        out.applied[0]
    );
    println!(
        "  With CheckQuorum on, n{old} would not have waited for the healing: it would have stepped down\n  \
         by itself after an election timeout without hearing from a majority. See part 2."
    );
    assert!(out.violations.is_empty(), "{:?}", out.violations);
    maybe_write_timeline(&out.events, "Stale leader, CheckQuorum off", "");
    println!(
        "\nWhat the trace of part 1 recorded:\n{}",
        summary::summarize(&out.events)
    );

    println!("\n== 2. CheckQuorum on (dissertation §6.2), real randomized timers ==");
    let opts = stale_leader::Opts {
        check_quorum: true,
        seed: args.seed(),
    };
    let cq = stale_leader::run_on(&opts, args.runtime()).expect("stale leader with CheckQuorum");
    let (old, friend) = (cq.old_leader, cq.friend);
    println!(
        "n{old} led term {} and was cut off with n{friend}.",
        cq.old_term
    );
    for (cmd, index) in &cq.accepted_while_cut_off {
        println!("  Right after the split it still accepted {cmd:?} at index {index} (it could not know yet).");
    }
    println!(
        "  Within an election timeout it stepped down by itself, still cut off: \"{}\".",
        cq.step_down_reason
    );
    for cmd in &cq.refused_while_cut_off {
        println!(
            "  Afterwards it refused {cmd:?}: it is no longer leader, so clients go elsewhere."
        );
    }
    let (role, term, _) = cq.before_heal;
    assert_ne!(role, Role::Leader);
    println!(
        "  Before healing it was a {role} in term {term}; n{} led term {} on the majority side.",
        cq.new_leader, cq.new_term
    );
    println!("  After healing every node applied {:?}.", cq.applied[0]);
    assert!(cq.violations.is_empty(), "{:?}", cq.violations);
    maybe_write_timeline(&cq.events, "Stale leader, CheckQuorum on", "-checkquorum");
}
