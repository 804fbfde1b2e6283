//! Why PreVote exists (dissertation §9.6). A follower is cut off from the others; it
//! hears no heartbeats, so its election timer keeps firing. When it comes back:
//!
//! - without PreVote (and without CheckQuorum's leader lease), every timeout bumped its
//!   term, and its higher term deposes the healthy leader, although its stale log cannot
//!   win: an election for nothing;
//! - with PreVote, it first asks "would you vote for me?" without changing its term;
//!   nobody answers while it is cut off, and after it rejoins the others refuse (they
//!   hear from a live leader), so its term never moves and the leader stays.
//!
//! Both runs use the same seed, side by side:
//!
//!     cargo run --example prevote
//!     RUST_LOG=info cargo run --example prevote
//!     cargo run --example prevote -- --sim --seed 4   # simulated runtime: replays exactly

#[path = "common/args.rs"]
mod args;

use std::time::Duration;

use raftsim::kv::KvStore;
use raftsim::raft;
use raftsim::{summary, Cluster, Config, EventKind, NodeId, Role, Term};

/// What one run showed.
struct Outcome {
    leader_before: (NodeId, Term),
    away: NodeId,
    away_term_when_back: Term,
    leader_after: (NodeId, Term),
}

fn main() {
    let args = args::Cli::new(
        "prevote",
        "PreVote (dissertation §9.6): a node rejoining from a partition, with and without it.",
    )
    .seed(9)
    .seed_note("the same for both runs")
    .parse();
    raftsim::logging::init();
    println!("== Without PreVote (pre_vote: false, check_quorum: false) ==");
    let plain = run(args.config(Config {
        pre_vote: false,
        check_quorum: false,
        ..Config::default()
    }));
    println!("\n== With PreVote (the default: pre_vote and check_quorum on) ==");
    let pre = run(args.config(Config::default()));

    println!("\nSide by side:");
    println!(
        "  {:<34} {:>16} {:>16}",
        "", "without PreVote", "with PreVote"
    );
    let row = |what: &str, f: &dyn Fn(&Outcome) -> String| {
        println!("  {what:<34} {:>16} {:>16}", f(&plain), f(&pre));
    };
    row("leader before (term)", &|o| {
        format!("n{} (t{})", o.leader_before.0, o.leader_before.1)
    });
    row("cut-off node's term when it rejoined", &|o| {
        format!("n{}: t{}", o.away, o.away_term_when_back)
    });
    row("leader after (term)", &|o| {
        format!("n{} (t{})", o.leader_after.0, o.leader_after.1)
    });
    row("leader disrupted?", &|o| {
        if o.leader_after == o.leader_before {
            "no".into()
        } else {
            "yes".into()
        }
    });
    assert!(
        plain.leader_after.1 > plain.leader_before.1,
        "without PreVote the term should jump"
    );
    assert_eq!(
        pre.leader_after, pre.leader_before,
        "with PreVote the leader should stay"
    );
}

fn run(config: Config) -> Outcome {
    let config_pre_vote = config.pre_vote;
    let cluster: Cluster<KvStore> = Cluster::with_config(3, config);
    let leader = cluster
        .wait_for_leader(Duration::from_secs(5))
        .expect("a leader");
    let term = cluster.status(leader).term;
    let away = (leader + 1) % 3;
    println!("n{leader} leads term {term}. n{away} is cut off.");
    cluster.disconnect(away);
    let mut client = cluster.client();
    client
        .put("x", &format!("written while n{away} was away"))
        .expect("the majority commits");

    // Let the cut-off node's election timer fire three times.
    let cut = cluster.trace_log().now_us();
    let give_up = cluster.now() + Duration::from_secs(10);
    while elections(&cluster, away, cut) < 3 && cluster.now() < give_up {
        cluster.sleep(Duration::from_millis(20));
    }
    let back = cluster.status(away);
    println!(
        "n{away} timed out {} times while cut off; it is a {:?} in term {} now.",
        elections(&cluster, away, cut),
        back.role,
        back.term
    );

    let rejoin = cluster.trace_log().now_us();
    cluster.connect(away);
    println!("n{away} rejoins.");
    cluster
        .wait_for(
            "everyone to follow one leader",
            Duration::from_secs(10),
            |st| {
                let Some(l) = st.iter().find(|s| s.role == Role::Leader) else {
                    return false;
                };
                st.iter()
                    .all(|s| s.term == l.term && s.leader == Some(l.id))
                    && st.iter().all(|s| s.last_applied == l.last_log_index)
            },
        )
        .expect("a settled cluster");
    for e in cluster.trace().iter().filter(|e| e.at_us >= rejoin) {
        let show = match &e.kind {
            EventKind::Raft(raft::Event::TermChanged { .. })
            | EventKind::Raft(raft::Event::RoleChanged { .. }) => true,
            EventKind::Raft(raft::Event::VoteRefused { candidate, .. }) => *candidate == away,
            EventKind::Raft(raft::Event::ElectionStarted { .. }) => e.node == Some(away),
            _ => false,
        };
        if show {
            println!("  {e}");
        }
    }
    let now = cluster
        .wait_for_leader(Duration::from_secs(5))
        .expect("a leader");
    let now_term = cluster.status(now).term;
    if now == leader && now_term == term {
        println!("n{leader} still leads term {term}: the rejoining node changed nothing.");
    } else {
        println!("n{now} now leads term {now_term}: the rejoining node forced an election.");
    }
    println!(
        "\nWhat the trace recorded:\n{}",
        summary::summarize(&cluster.trace())
    );
    let suffix = if config_pre_vote {
        "-prevote"
    } else {
        "-no-prevote"
    };
    raftsim::scenarios::maybe_write_timeline(&cluster.trace(), "A node rejoins", suffix);
    cluster.assert_safe();
    println!("All safety properties held.");
    Outcome {
        leader_before: (leader, term),
        away,
        away_term_when_back: back.term,
        leader_after: (now, now_term),
    }
}

/// How many elections (or pre-votes) `id` started since `from_us`.
fn elections(cluster: &Cluster<KvStore>, id: NodeId, from_us: u64) -> usize {
    cluster
        .trace()
        .iter()
        .filter(|e| e.at_us >= from_us && e.node == Some(id))
        .filter(|e| matches!(e.kind, EventKind::Raft(raft::Event::ElectionStarted { .. })))
        .count()
}
