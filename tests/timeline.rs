//! The timeline picture (`raftsim::timeline`): a real run renders one lane per node, role
//! bands, arrows, the crash and the partition; a hand-built trace pins the details
//! (dropped ✕, delayed deliveries paired with their delay, thinning, escaping).

use std::time::Duration;

use raftsim::event::Fate;
use raftsim::raft;
use raftsim::raft::VoteRefusal;
use raftsim::state_machine::Recorder;
use raftsim::{timeline, Cluster, Config, Event, EventKind, Role};

const WAIT: Duration = Duration::from_secs(10);

/// Every `<` in the page opens one of the tags the renderer writes: text that reached
/// the page (titles, reasons, tooltips) was escaped.
fn assert_only_known_tags(html: &str) {
    const TAGS: &[&str] = &[
        "!DOCTYPE", "html", "head", "meta", "title", "style", "body", "h1", "h2", "p", "b", "i",
        "input", "label", "div", "span", "pre", "svg", "defs", "pattern", "marker", "g", "rect",
        "line", "path", "circle", "text", "tspan",
    ];
    for (at, _) in html.match_indices('<') {
        let rest = html[at + 1..].trim_start_matches('/');
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '!')
            .collect();
        assert!(
            TAGS.contains(&name.as_str()),
            "unescaped '<' at byte {at}: {:?}",
            &html[at..(at + 60).min(html.len())]
        );
    }
}

fn event(at_ms: u64, node: Option<usize>, term: u64, role: Option<Role>, kind: EventKind) -> Event {
    Event {
        at_us: at_ms * 1000,
        node,
        term,
        role,
        kind,
    }
}

fn message(at_ms: u64, from: usize, to: usize, kind: &'static str, fate: Fate) -> Event {
    let kind = EventKind::Message {
        from,
        to,
        kind,
        msg_term: 1,
        entries: 0,
        fate,
    };
    event(at_ms, None, 0, None, kind)
}

#[test]
fn a_real_run_shows_lanes_roles_arrows_the_crash_and_the_partition() {
    let config = Config {
        seed: Some(1),
        ..Config::default()
    };
    let cluster: Cluster<Recorder<u32>> = Cluster::with_config(3, config);
    let fail = |what: &str| -> ! { panic!("{what}\n{}", cluster.dump(40)) };
    for i in 0..3 {
        if cluster.propose_and_wait(i, 3, WAIT).is_err() {
            fail("commit on all three");
        }
    }
    let old = cluster.leader().unwrap_or_else(|| fail("a leader"));
    cluster.crash(old);
    let new_leader = |st: &[raftsim::Status]| {
        st.iter()
            .any(|s| s.alive && s.id != old && s.role == Role::Leader)
    };
    if cluster.wait_for("a new leader", WAIT, new_leader).is_err() {
        fail("a new leader after the crash");
    }
    if cluster.propose_and_wait(10, 2, WAIT).is_err() {
        fail("commit with two of three");
    }
    cluster.restart(old);
    let others: Vec<usize> = (0..3).filter(|&n| n != old).collect();
    cluster.partition(&[&[old], &others]);
    std::thread::sleep(Duration::from_millis(300));
    cluster.heal();
    if cluster.propose_and_wait(11, 3, WAIT).is_err() {
        fail("commit on all three after the heal");
    }
    let events = cluster.trace();
    let html = timeline::render_html(&events, "3 nodes: <crash> & partition");

    assert_eq!(html.matches("class='lane'").count(), 3, "one lane per node");
    for n in 0..3 {
        assert!(html.contains(&format!(">n{n}</text>")), "a lane for n{n}");
    }
    assert!(html.contains("class='seg lead'"), "a Leader band");
    assert!(
        html.contains("Leader t"),
        "the term written on a Leader band"
    );
    let arrows = html.matches("<g class='m c-").count();
    assert!(arrows > 20, "arrows for the messages: {arrows}");
    for class in ["c-hb", "c-ae", "c-aer", "c-pv"] {
        assert!(html.contains(class), "an arrow of class {class}");
    }
    assert!(
        html.contains("class='hatch'"),
        "the crashed period is hatched"
    );
    assert!(
        html.contains(&format!("n{old} crashed")),
        "the crash is named"
    );
    assert!(html.contains("<g class='part'>"), "the partition is shaded");
    assert!(
        html.contains(&format!("partition [{old}] | {others:?}")),
        "the partition's sides are named"
    );
    assert!(html.contains("class='commit'"), "commits are marked");
    assert!(html.contains("3 nodes: &lt;crash&gt; &amp; partition"));
    assert!(!html.contains("<crash>"));
    assert_only_known_tags(&html);

    let path = std::env::temp_dir().join(format!("raftsim-timeline-{}.html", std::process::id()));
    timeline::write_html(&path, &events, "written").expect("write the page");
    let written = std::fs::read_to_string(&path).expect("read it back");
    let _ = std::fs::remove_file(&path);
    assert!(written.starts_with("<!DOCTYPE html>") && written.contains("<h1>written</h1>"));
    cluster.assert_safe();
}

#[test]
fn a_dropped_message_ends_in_a_cross_and_a_delayed_one_arrives_later() {
    let leader = Some(Role::Leader);
    let won = EventKind::Raft(raft::Event::RoleChanged {
        from: Role::Candidate,
        to: Role::Leader,
        term: 1,
        reason: raft::Reason::WonElection {
            term: 1,
            votes: vec![0, 1],
            voters: 3,
        },
    });
    let refused = EventKind::Raft(raft::Event::VoteRefused {
        candidate: 2,
        term: 1,
        pre_vote: false,
        reason: VoteRefusal::AlreadyVoted { voted_for: 0 },
    });
    let delayed = Fate::Delayed { delay_us: 12_000 };
    let events = vec![
        event(10, Some(0), 1, leader, won),
        event(11, Some(1), 1, Some(Role::Follower), refused),
        message(20, 0, 1, "Heartbeat", Fate::Dropped),
        message(30, 0, 2, "AppendEntries", delayed),
        message(42, 0, 2, "AppendEntries", Fate::Delivered),
        message(50, 1, 0, "AppendEntriesReply", Fate::BlockedByPartition),
        event(
            60,
            Some(0),
            1,
            leader,
            EventKind::Raft(raft::Event::Committed {
                from: 0,
                to: 1,
                rule: raft::CommitRule::Majority {
                    replicated_on: vec![0, 1],
                    voters: 3,
                },
            }),
        ),
    ];
    let html = timeline::render_html(&events, "hand-built");

    // Three messages: the delayed AppendEntries and its delivery are one arrow.
    assert_eq!(html.matches("<g class='m c-").count(), 3, "{html}");
    assert_eq!(
        html.matches("class='xm'").count(),
        2,
        "✕ for the drop and the block"
    );
    assert!(html.contains("n0 → n1 Heartbeat t1, sent 20.0 ms, ✕ dropped"));
    assert!(html.contains("✕ blocked by the partition"));
    assert!(html.contains("n0 → n2 AppendEntries t1, sent 30.0 ms, delivered 42.0 ms"));
    assert!(
        html.contains("marker-end='url(#ah-ae)'"),
        "the delivered one has a head"
    );
    assert!(
        html.contains("Candidate -&gt; Leader: won the election for term 1 with 2 of 3 votes"),
        "reasons are escaped"
    );
    assert!(
        html.contains("already voted for n0"),
        "the refusal's reason in its tooltip"
    );
    assert!(html.contains("class='vr'"), "a refused-vote marker");
    assert!(html.contains(">c1</text>"), "the commit index on the lane");
    assert_only_known_tags(&html);
}

#[test]
fn heartbeats_in_one_pixel_column_are_thinned_and_counted() {
    let mut events = vec![event(
        0,
        Some(0),
        1,
        Some(Role::Leader),
        EventKind::Raft(raft::Event::Committed {
            from: 0,
            to: 0,
            rule: raft::CommitRule::Majority {
                replicated_on: vec![0],
                voters: 1,
            },
        }),
    )];
    // Ten heartbeats 0 -> 1 within 100 µs, far below a pixel at any scale; then one at 5 s
    // so the run is long enough to be scaled down.
    for i in 0..10 {
        let mut e = message(1000, 0, 1, "Heartbeat", Fate::Delivered);
        e.at_us += i * 10;
        events.push(e);
    }
    events.push(message(5000, 0, 1, "Heartbeat", Fate::Delivered));
    let html = timeline::render_html(&events, "thinning");
    assert_eq!(html.matches("<g class='m c-hb").count(), 2, "{html}");
    assert!(html.contains("(+9 like it within 3 px, not drawn)"));
}

#[test]
fn an_empty_trace_still_renders_a_page() {
    let html = timeline::render_html(&[], "nothing happened");
    assert!(html.contains("No node events"));
    assert_only_known_tags(&html);
}
