//! Can a client read stale data (dissertation §6.4)? A client writes k=1; the leader is
//! cut off with one follower and that client; the majority elects a new leader and
//! another client writes k=2 there; then the confined client reads k from the old
//! leader, which still believes it leads. Run twice: with the teaching switch
//! `unsafe_stale_reads` (reads answered from the local state machine), then with
//! ReadIndex, Raft's rule.
//!
//!     cargo run --example stale_read
//!     RUST_LOG=info cargo run --example stale_read       # the run as it happens
//!     cargo run --example stale_read -- --timeline /tmp/stale-read.html   # + the histories
//!     cargo run --example stale_read -- --sim --seed 3   # simulated runtime: replays exactly

#[path = "common/args.rs"]
mod args;

use std::path::PathBuf;

use raftsim::check::{write_html, KvModel};
use raftsim::scenarios::{maybe_write_timeline, stale_read, timeline_path};

/// Writes the history picture next to the timeline, if one was asked for.
fn maybe_write_history(out: &stale_read::Outcome, suffix: &str) {
    let Some(path) = timeline_path() else { return };
    let stem = path
        .file_stem()
        .map_or("timeline".into(), |s| s.to_string_lossy().into_owned());
    let path: PathBuf = path.with_file_name(format!("{stem}{suffix}-history.html"));
    match write_html(&path, &KvModel, &out.history, &out.check) {
        Ok(()) => println!("(history picture written to {})", path.display()),
        Err(e) => eprintln!("could not write the history to {}: {e}", path.display()),
    }
}

fn main() {
    let args = args::Cli::new(
        "stale_read",
        "A read from a deposed leader (dissertation §6.4), with the unsafe_stale_reads \
         teaching switch and with ReadIndex.",
    )
    .seed(5)
    .seed_note("the same for both runs")
    .parse();
    raftsim::logging::init();

    println!("== 1. unsafe_stale_reads: any node answers reads from its own state machine ==");
    let opts = stale_read::Opts {
        stale_reads: true,
        seed: args.seed(),
    };
    let out = stale_read::run_on(&opts, args.runtime()).expect("stale read, switch on");
    let (old, friend, new) = (out.old_leader, out.friend, out.new_leader);
    println!(
        "Client A wrote k=1 through n{old}, leader of term {}. Then n{old}, n{friend} and client A were cut off.",
        out.old_term
    );
    println!(
        "  The other three elected n{new} in term {}, and client B wrote k=2 there: committed, 3 of 5.",
        out.new_term
    );
    println!(
        "  Client A then read k from n{old}, which still believes it leads: it got {:?}.",
        out.read
    );
    assert!(
        out.read_stale(),
        "the switch is on, the read should be stale: {:?}",
        out.read
    );
    println!(
        "  Stale: k=2 had completed before the read began. The checker: {}",
        out.check
    );
    assert!(out.check.is_illegal());
    maybe_write_timeline(&out.events, "Stale read, unsafe_stale_reads on", "-unsafe");
    maybe_write_history(&out, "-unsafe");

    println!("\n== 2. ReadIndex (§6.4): the leader confirms it still leads before answering ==");
    let opts = stale_read::Opts {
        stale_reads: false,
        seed: args.seed(),
    };
    let safe = stale_read::run_on(&opts, args.runtime()).expect("stale read, switch off");
    println!(
        "The same story. Client A's read of k from n{}: {:?}.",
        safe.old_leader, safe.read
    );
    match &safe.read {
        Err(e) => println!(
            "  No answer within {:?} ({e}): n{} asked for a round of heartbeats answered by a majority\n  \
             and got only n{}'s. The client learns nothing rather than something false.",
            stale_read::READ_TIMEOUT,
            safe.old_leader,
            safe.friend
        ),
        Ok(v) => println!("  The answer {v:?} is the current value."),
    }
    assert!(!safe.read_stale());
    println!("  The checker: {}", safe.check);
    assert!(safe.check.is_ok());
    maybe_write_timeline(&safe.events, "Stale read, ReadIndex", "-safe");
    maybe_write_history(&safe, "-safe");

    println!(
        "\nThe answer: a committed entry is not yet applied everywhere, and a leader may have been\n\
         deposed without knowing it, so a node's state machine alone can be stale. Raft's reads do not\n\
         trust it: under ReadIndex (src/raft/read.rs, `Raft::read_index`) only a leader answers, after\n\
         (1) committing an entry of its own term, (2) noting its commit index, (3) hearing from a majority\n\
         that it still leads, and (4) applying up to that index. A deposed leader fails step (3); a\n\
         follower redirects to the leader. So a read never returns data older than a write that\n\
         completed before it began."
    );
}
