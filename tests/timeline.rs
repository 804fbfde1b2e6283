//! The timeline picture (`raftsim::timeline`): a real run renders one lane per node, role
//! bands, arrows, the crash and the partition; a hand-built trace pins the details
//! (dropped ✕, delayed deliveries paired with their delay, thinning, escaping, idle
//! stretches squeezed into breaks, the zoom bar). The history picture of a key/value run
//! shades the run's fault windows and plots latency over time.

use std::sync::Arc;
use std::time::Duration;

use raftsim::check::history_html::{render_html_with, Extras};
use raftsim::check::{check, render_html, KvHistory, KvModel};
use raftsim::event::Fate;
use raftsim::kv::KvStore;
use raftsim::raft;
use raftsim::raft::VoteRefusal;
use raftsim::state_machine::Recorder;
use raftsim::timeline::{fault_windows, Fault, FaultWindow, Options};
use raftsim::{timeline, Cluster, Config, Event, EventKind, Role};

/// A leader's commit rule, for hand-built events.
fn majority(replicated_on: &[usize], voters: usize) -> raft::CommitRule {
    raft::CommitRule::Majority {
        replicated_on: replicated_on.to_vec(),
        voters,
    }
}

const WAIT: Duration = Duration::from_secs(10);

/// Every `<` in the page (outside its one script) opens one of the tags the renderer
/// writes: text that reached the page (titles, reasons, tooltips) was escaped.
fn assert_only_known_tags(html: &str) {
    const TAGS: &[&str] = &[
        "!DOCTYPE", "html", "head", "meta", "title", "style", "body", "h1", "h2", "p", "b", "i",
        "input", "label", "div", "span", "pre", "svg", "defs", "pattern", "marker", "g", "rect",
        "line", "path", "circle", "text", "tspan", "button", "script",
    ];
    let html = match (html.find("<script>"), html.find("</script>")) {
        (Some(a), Some(b)) => format!("{}{}", &html[..a + 8], &html[b..]),
        _ => html.to_string(),
    };
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
                rule: majority(&[0, 1], 3),
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
            rule: majority(&[0], 1),
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

/// A heartbeat round 0 -> 1 -> 0 at `at_ms`: quiet events only.
fn heartbeat_round(at_ms: u64) -> [Event; 2] {
    let mut reply = message(at_ms, 1, 0, "AppendEntriesReply", Fate::Delivered);
    reply.at_us += 200;
    [message(at_ms, 0, 1, "Heartbeat", Fate::Delivered), reply]
}

/// 400 ms of followers waiting, a 2 ms election, 300 ms of heartbeats, a crash.
fn idle_then_election() -> Vec<Event> {
    let (f, c, l) = (
        Some(Role::Follower),
        Some(Role::Candidate),
        Some(Role::Leader),
    );
    let started = EventKind::Raft(raft::Event::ElectionStarted {
        term: 1,
        pre_vote: false,
        reason: raft::Reason::NoLeader,
    });
    let granted = EventKind::Raft(raft::Event::VoteGranted {
        candidate: 0,
        term: 1,
        pre_vote: false,
    });
    let won = EventKind::Raft(raft::Event::RoleChanged {
        from: Role::Candidate,
        to: Role::Leader,
        term: 1,
        reason: raft::Reason::WonElection {
            term: 1,
            votes: vec![0, 1],
            voters: 2,
        },
    });
    let mut events = vec![
        event(
            0,
            Some(1),
            0,
            f,
            EventKind::Raft(raft::Event::Committed {
                from: 0,
                to: 0,
                rule: majority(&[0], 1),
            }),
        ),
        event(400, Some(0), 1, c, started),
        message(400, 0, 1, "RequestVote", Fate::Delivered),
        event(401, Some(1), 1, f, granted),
        message(401, 1, 0, "RequestVoteReply", Fate::Delivered),
        event(402, Some(0), 1, l, won),
    ];
    for k in 0..6 {
        events.extend(heartbeat_round(410 + 50 * k));
    }
    events.push(event(700, Some(1), 1, None, EventKind::Crashed));
    events
}

#[test]
fn idle_stretches_are_squeezed_into_marked_breaks_and_keep_every_event() {
    let events = idle_then_election();
    let squeezed = timeline::render_html(&events, "squeezed");
    let options = Options {
        compress_idle: false,
    };
    let linear = timeline::render_html_with(&events, "linear", &options);
    // Two breaks: the wait before the election, the heartbeats after it.
    assert_eq!(squeezed.matches("<g class='brk'>").count(), 2, "{squeezed}");
    assert!(squeezed.contains("squeezed into 2 marked breaks"));
    assert!(
        squeezed.contains(">392 ms</text>"),
        "the wait's real length"
    );
    assert_eq!(linear.matches("<g class='brk'>").count(), 0);
    // Every event is drawn in both: each arrow and mark has its tooltip.
    for html in [&squeezed, &linear] {
        assert_eq!(html.matches("<g class='m c-").count(), 14, "{html}");
        assert_eq!(html.matches("<g class='mk'>").count(), 4, "{html}");
        for e in &events {
            let role_change = matches!(e.kind, EventKind::Raft(raft::Event::RoleChanged { .. }));
            if e.node.is_some() && !role_change {
                let text = e.to_string();
                assert!(
                    html.contains(&raftsim::svg::esc(text.trim_start())),
                    "{text}"
                );
            }
        }
        assert_only_known_tags(html);
    }
    // ... in less room, with the election wider than drawn linearly.
    let width = |html: &str| -> f64 {
        let at = html.find("<svg class='main'").unwrap();
        let w = &html[at..].split("width='").nth(1).unwrap();
        w[..w.find('\'').unwrap()].parse().unwrap()
    };
    assert!(width(&squeezed) < width(&linear), "squeezed is narrower");
    let x_of = |html: &str, tip: &str| -> f64 {
        let at = html.find(tip).unwrap_or_else(|| panic!("{tip}"));
        let x = &html[at..].split("x1='").nth(1).unwrap();
        x[..x.find('\'').unwrap()].parse().unwrap()
    };
    let election =
        |html: &str| x_of(html, "n1 → n0 RequestVoteReply") - x_of(html, "n0 → n1 RequestVote t1");
    assert!(election(&squeezed) > 2.0 * election(&linear));
}

#[test]
fn the_zoom_bar_is_there_for_scripts_and_hidden_without_them() {
    let html = timeline::render_html(&idle_then_election(), "zoom");
    assert!(html.contains("<div id='zoomctl' class='zoomctl' hidden>"));
    for z in ["data-z='2'", "data-z='0.5'", "data-z='fit'", "data-z='1'"] {
        assert!(html.contains(z), "a zoom button {z}");
    }
    assert_eq!(html.matches("<script>").count(), 1);
    // The script reads the axis's pieces: three linear, two squeezed.
    let axis = html.split("data-axis='").nth(1).unwrap();
    let axis = &axis[..axis.find('\'').unwrap()];
    assert!(
        axis.starts_with("[[0.000,") && axis.ends_with("]]"),
        "{axis}"
    );
    assert_eq!(axis.matches(",1]").count(), 2, "{axis}");
    assert_eq!(axis.matches(",0]").count(), 3, "{axis}");
    // Nothing fetched from elsewhere.
    assert!(!html.contains("src=") && !html.contains("href="));
}

#[test]
fn the_timeline_tints_fault_windows_from_the_trace() {
    let mut events = idle_then_election();
    let groups = vec![vec![0], vec![1, 2]];
    events.push(event(705, None, 0, None, EventKind::Partitioned { groups }));
    events.push(event(
        720,
        None,
        0,
        None,
        EventKind::Disconnected { node: 2 },
    ));
    events.push(event(750, None, 0, None, EventKind::Healed));
    let html = timeline::render_html(&events, "faults");
    assert!(html.contains("<title>partition [0] | [1, 2] from 705 ms</title>"));
    assert!(html.contains("<g class='disc'><title>n2 disconnected</title>"));
    assert!(html.contains("class='hatch'"), "the crash is hatched");
}

#[test]
fn fault_windows_pair_each_fault_with_its_end() {
    let h = |at, kind| event(at, None, 0, None, kind);
    let n = |at, node, kind| event(at, Some(node), 1, None, kind);
    let events = vec![
        h(
            10,
            EventKind::Partitioned {
                groups: vec![vec![0, 1], vec![2]],
            },
        ),
        n(20, 2, EventKind::Crashed),
        // The same node crashed again: one window.
        n(25, 2, EventKind::Crashed),
        h(
            30,
            EventKind::Partitioned {
                groups: vec![vec![0], vec![1, 2]],
            },
        ),
        h(40, EventKind::Disconnected { node: 1 }),
        h(50, EventKind::Healed),
        n(60, 2, EventKind::Restarted { last_log_index: 3 }),
        h(70, EventKind::Disconnected { node: 0 }),
    ];
    let w = |from: u64, to: Option<u64>, fault| FaultWindow {
        from_us: from * 1000,
        to_us: to.map(|t| t * 1000),
        fault,
    };
    assert_eq!(
        fault_windows(&events),
        [
            w(
                10,
                Some(30),
                Fault::Partition {
                    groups: vec![vec![0, 1], vec![2]]
                }
            ),
            w(20, Some(60), Fault::Crash { node: 2 }),
            w(
                30,
                Some(50),
                Fault::Partition {
                    groups: vec![vec![0], vec![1, 2]]
                }
            ),
            w(40, Some(50), Fault::Disconnect { node: 1 }),
            w(70, None, Fault::Disconnect { node: 0 }),
        ]
    );
    assert_eq!(fault_windows(&events)[0].label(), "partition [0, 1] | [2]");
}

/// A real key/value run with a partition and a crash: its history picture shades both
/// on the time axes, names them, and plots every answered operation's latency.
#[test]
fn a_kv_history_shades_the_runs_partition_and_crash_and_plots_latency() {
    let config = Config {
        seed: Some(3),
        trace_messages: false,
        ..Config::default()
    };
    let cluster: Cluster<KvStore> = Cluster::with_config(3, config);
    let history = Arc::new(KvHistory::new());
    let mut client = cluster.client_recorded(&history);
    client.set_timeout(Duration::from_secs(5));
    let ok = |r: Result<(), raftsim::Error>, what: &str| {
        if let Err(e) = r {
            panic!("{what}: {e}\n{}", cluster.dump(40));
        }
    };
    ok(client.put("k", "a;"), "the first put");
    let leader = cluster
        .leader()
        .unwrap_or_else(|| panic!("{}", cluster.dump(40)));
    let others: Vec<usize> = (0..3).filter(|&n| n != leader).collect();
    cluster.partition(&[&[leader], &others]);
    // The majority side elects a leader and serves the client.
    ok(client.append("k", "b;"), "an append during the partition");
    cluster.heal();
    cluster.crash(others[0]);
    ok(client.append("k", "c;"), "an append with one node down");
    cluster.restart(others[0]);
    assert!(client.get("k").expect("a read").is_some());
    let ops = history.operations();
    let verdict = check(&KvModel, &ops, Duration::from_secs(10));
    assert!(verdict.is_ok(), "{verdict}");

    let extras = Extras::from_trace(&cluster.trace());
    let partition = format!("partition [{leader}] | {others:?}");
    assert!(
        extras.faults.iter().any(|f| f.label() == partition),
        "{:?}",
        extras.faults
    );
    let html = render_html_with(&KvModel, &ops, &verdict, &extras);
    assert!(html.contains("<b>Fault windows:</b>"), "a legend");
    assert!(
        html.contains("<g class=\"fault f-part\"><title>partition"),
        "shaded on the key's axis"
    );
    assert!(html.contains("<g class=\"fault f-crash\"><title>n"));
    assert!(html.contains("class='sh f-part'") && html.contains("class='sh f-crash'"));
    assert!(html.contains("<h3>Latency over time</h3>"));
    assert_eq!(
        html.matches("<circle class='ok'").count(),
        ops.iter().filter(|o| !o.is_pending()).count(),
        "a dot per answered operation"
    );
    for kind in ["put", "append", "get"] {
        assert!(
            html.contains(&format!("{kind}</span>")),
            "{kind} in the legend"
        );
    }
    // Without extras the page is the plain history.
    let plain = render_html(&KvModel, &ops, &verdict);
    assert!(!plain.contains("fault") && !plain.contains("Latency"));
    cluster.assert_safe();
}
