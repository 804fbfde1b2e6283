//! Leadership transfer (§3.10), PreVote (§9.6) and CheckQuorum (§6.2) with the real
//! router and the paper's default timing (election timeout 150-300 ms, heartbeat 50 ms):
//! a planned handoff costs a round trip or two, not an election timeout, also to a node
//! that must be caught up first; a node returning from a partition does not unseat a
//! healthy leader with PreVote, and does without it; an isolated leader steps down
//! within about two election timeouts with CheckQuorum, and leads a minority forever
//! without it.

mod harness;

use std::time::Duration;

use harness::{first_after, is_role_change, wait_trace, KvCluster, WAIT};
use raftsim::event::EventKind;
use raftsim::raft;
use raftsim::{Config, NodeId, Role, Term};

fn us(d: Duration) -> u64 {
    d.as_micros() as u64
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

/// Asks leader `from` to hand over to `to` and returns the downtime: from the request to
/// the first commit of `to` as leader (the old leader stops taking writes at the
/// request, §3.10). Fails unless `to` wins the next term.
#[track_caller]
fn transfer(kv: &KvCluster, from: NodeId, to: NodeId, old_term: Term) -> Duration {
    let t0 = kv.trace_log().now_us();
    kv.transfer_leader_from(from, to)
        .unwrap_or_else(|e| kv.fail(format!("transfer n{from} -> n{to}: {e}")));
    let mut first_commit = None;
    wait_trace(
        kv,
        &format!("n{to} to win and commit as leader"),
        WAIT,
        |events| {
            first_commit = first_after(events, t0, |e| {
                e.node == Some(to)
                    && e.role == Some(Role::Leader)
                    && matches!(e.kind, EventKind::Raft(raft::Event::Committed { .. }))
            });
            first_commit.is_some()
        },
    );
    let e = first_commit.expect("found");
    if e.term != old_term + 1 {
        kv.fail(format!(
            "n{to} first committed as leader of t{}, not t{}: {e}",
            e.term,
            old_term + 1
        ));
    }
    Duration::from_micros(e.at_us - t0)
}

/// Three planned handoffs between up-to-date nodes: each new leader commits less than a
/// minimum election timeout after the request (it takes a TimeoutNow, one vote round
/// trip and one AppendEntries round trip; a crash failover first waits out an election
/// timeout). Writes continue afterwards.
#[test]
fn transfer_to_an_up_to_date_node_costs_far_less_than_an_election_timeout() {
    let kv = KvCluster::new(3, Config::default(), 0x5_2001);
    let mut client = kv.client();
    client
        .put("k", "0")
        .unwrap_or_else(|e| kv.fail(format!("put: {e}")));
    let bound = kv.config().election_timeout_min;
    for hop in 1..=3 {
        kv.settle();
        let (leader, term) = kv.leader_now();
        let to = (leader + 1) % 3;
        let downtime = transfer(&kv, leader, to, term);
        eprintln!("hop {hop}: n{leader} -> n{to}, downtime {downtime:?} (bound {bound:?})");
        if downtime >= bound {
            kv.fail(format!(
                "handoff n{leader} -> n{to} took {downtime:?}, not under an election timeout ({bound:?})"
            ));
        }
        client
            .put("k", &hop.to_string())
            .unwrap_or_else(|e| kv.fail(format!("put after hop {hop}: {e}")));
    }
    let (_, data) = kv.converged();
    assert_eq!(data.get("k").map(String::as_str), Some("3"));
    kv.assert_safe();
}

/// The target was disconnected while 100 writes committed. The transfer is requested
/// while it still lags; the leader first brings its log up to date (§3.10: TimeoutNow
/// goes out only once the target's log matches), then the target wins and holds every
/// write.
#[test]
fn transfer_to_a_lagging_node_catches_it_up_first() {
    lagging_transfer(None, 0x5_2002);
}

/// As above, but the leader compacted its log meanwhile (snapshot threshold 10): the
/// target is caught up by InstallSnapshot and then the entries after it, and only then
/// gets TimeoutNow.
#[test]
fn transfer_to_a_node_behind_the_leaders_snapshot_installs_it_first() {
    lagging_transfer(Some(10), 0x5_2007);
}

fn lagging_transfer(snapshot_threshold: Option<u64>, seed: u64) {
    let config = Config {
        snapshot_threshold,
        ..Config::default()
    };
    let kv = KvCluster::new(3, config, seed);
    let (leader, term) = kv.leader_now();
    let to = (leader + 1) % 3;
    kv.disconnect(to);
    let mut client = kv.client();
    for i in 0..100 {
        client
            .put(&format!("k{i:03}"), "v")
            .unwrap_or_else(|e| kv.fail(format!("put k{i:03}: {e}")));
    }
    let (lag_last, leader_last) = (
        kv.status(to).last_log_index,
        kv.status(leader).last_log_index,
    );
    assert!(
        lag_last + 100 <= leader_last,
        "n{to} is not lagging: {lag_last} vs {leader_last}"
    );
    let t0 = kv.trace_log().now_us();
    kv.transfer_leader_from(leader, to)
        .unwrap_or_else(|e| kv.fail(format!("transfer n{leader} -> n{to}: {e}")));
    kv.connect(to);
    let mut won = None;
    wait_trace(
        &kv,
        &format!("n{to} to win after catching up"),
        WAIT,
        |events| {
            won = first_after(events, t0, |e| {
                is_role_change(e, to, Role::Candidate, Role::Leader)
            });
            won.is_some()
        },
    );
    let won = won.expect("found");
    let events = kv.events_since(t0);
    let campaign = events
        .iter()
        .find(|e| e.node == Some(to) && matches!(&e.kind, EventKind::Raft(raft::Event::ElectionStarted { reason, .. }) if matches!(reason, raft::Reason::TimeoutNow { .. })))
        .unwrap_or_else(|| kv.fail(format!("n{to} won without a TimeoutNow")));
    // Everything the leader held at the request reached the target before it campaigned.
    let caught_up = events.iter().find(|e| {
        e.node == Some(to)
            && e.at_us <= campaign.at_us
            && matches!(e.kind, EventKind::Raft(raft::Event::AppendAccepted { match_index, .. }) if match_index >= leader_last)
    });
    match caught_up {
        Some(e) => eprintln!(
            "n{to} lagged at {lag_last} of {leader_last}; caught up {:.1} ms after the request ({e}), \
             campaigned at {:.1} ms, won t{} at {:.1} ms",
            ms(e.at_us - t0),
            ms(campaign.at_us - t0),
            won.term,
            ms(won.at_us - t0)
        ),
        None => kv.fail(format!("n{to} campaigned before its log reached {leader_last}: {campaign}")),
    }
    if snapshot_threshold.is_some() {
        let installed = events.iter().find(|e| {
            e.node == Some(to)
                && e.at_us <= campaign.at_us
                && matches!(
                    e.kind,
                    EventKind::Raft(raft::Event::SnapshotInstalled { .. })
                )
        });
        match installed {
            Some(e) => eprintln!("  by way of {e}"),
            None => kv.fail(format!("n{to} was caught up without the leader's snapshot")),
        }
    }
    assert_eq!(won.term, term + 1, "the handoff took more than one term");
    client
        .put("after", "transfer")
        .unwrap_or_else(|e| kv.fail(format!("put: {e}")));
    let (_, data) = kv.converged();
    assert_eq!(data.len(), 101);
    kv.assert_safe();
}

/// The partition-and-rejoin scenario behind PreVote, with PreVote (and CheckQuorum) on:
/// the isolated follower's pre-votes go nowhere, so its term stays put however many
/// times it times out; when it rejoins, its pre-votes are refused (a leader is alive),
/// it hears the leader and follows, and the leader keeps its term.
#[test]
fn prevote_keeps_the_leader_when_a_partitioned_node_rejoins() {
    let kv = KvCluster::new(3, Config::default(), 0x5_2003);
    let (leader, term) = kv.leader_now();
    kv.settle();
    let away = (leader + 1) % 3;
    let t0 = kv.trace_log().now_us();
    kv.disconnect(away);
    let mut client = kv.client();
    client
        .put("while", "away")
        .unwrap_or_else(|e| kv.fail(format!("put: {e}")));
    wait_trace(
        &kv,
        &format!("n{away} to time out 3 times"),
        WAIT,
        |events| {
            events
                .iter()
                .filter(|e| e.at_us >= t0 && e.node == Some(away))
                .filter(|e| matches!(e.kind, EventKind::Raft(raft::Event::ElectionStarted { .. })))
                .count()
                >= 3
        },
    );
    let isolated = kv.status(away);
    eprintln!("isolated: {isolated}");
    if isolated.term != term {
        kv.fail(format!(
            "n{away}'s term climbed to {} while isolated (was {term})",
            isolated.term
        ));
    }
    let t1 = kv.trace_log().now_us();
    kv.connect(away);
    kv.wait(&format!("n{away} to follow n{leader} again"), WAIT, |st| {
        st[away].leader == Some(leader)
            && st[away].term == term
            && st[away].last_applied >= st[leader].commit_index
    });
    kv.converged();
    let st = kv.status(leader);
    eprintln!("after the rejoin: {st}");
    if st.role != Role::Leader || st.term != term {
        kv.fail(format!(
            "n{leader} lost the lead of t{term} after n{away} rejoined: {st}"
        ));
    }
    let events = kv.events_since(t0);
    if let Some(e) = events
        .iter()
        .find(|e| matches!(e.kind, EventKind::Raft(raft::Event::TermChanged { seen_from, .. }) if seen_from == away))
    {
        kv.fail(format!("n{away} moved someone's term: {e}"));
    }
    let real_campaigns = events
        .iter()
        .filter(|e| {
            e.node == Some(away)
                && matches!(
                    e.kind,
                    EventKind::Raft(raft::Event::ElectionStarted {
                        pre_vote: false,
                        ..
                    })
                )
        })
        .count();
    assert_eq!(real_campaigns, 0, "n{away} ran a real election");
    let refused = kv
        .events_since(t1)
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Raft(raft::Event::VoteRefused { candidate, pre_vote: true, .. }) if candidate == away))
        .count();
    eprintln!("after rejoining, n{away}'s pre-votes were refused {refused} time(s)");
    kv.assert_safe();
}

/// The same scenario without PreVote and CheckQuorum: the isolated follower bumps its
/// term at every timeout, and when it rejoins, its higher term deposes the healthy
/// leader (the term jumps), although it cannot win with its stale log. This is the
/// disruption PreVote exists to prevent.
#[test]
fn without_prevote_a_rejoining_node_unseats_the_leader() {
    let config = Config {
        pre_vote: false,
        check_quorum: false,
        ..Config::default()
    };
    let kv = KvCluster::new(3, config, 0x5_2004);
    let (leader, term) = kv.leader_now();
    kv.settle();
    let away = (leader + 1) % 3;
    kv.disconnect(away);
    let mut client = kv.client();
    client
        .put("while", "away")
        .unwrap_or_else(|e| kv.fail(format!("put: {e}")));
    kv.wait(&format!("n{away}'s term to climb"), WAIT, |st| {
        st[away].term >= term + 2
    });
    let away_term = kv.status(away).term;
    eprintln!("isolated n{away} reached t{away_term} (the leader is in t{term})");
    let t1 = kv.trace_log().now_us();
    kv.connect(away);
    kv.wait(&format!("n{leader} to be deposed"), WAIT, |st| {
        st[leader].term > term
    });
    let deposed = first_after(&kv.trace(), t1, |e| {
        is_role_change(e, leader, Role::Leader, Role::Follower)
    })
    .unwrap_or_else(|| kv.fail(format!("n{leader} left t{term} without stepping down")));
    eprintln!("the leader: {deposed}");
    let (new, new_term) = kv.leader_now();
    assert!(
        new_term > away_term.max(term),
        "new term t{new_term} is not above the rejoining node's t{away_term}"
    );
    assert_ne!(new, away, "n{away} won with a stale log");
    let (_, data) = kv.converged();
    assert_eq!(data.get("while").map(String::as_str), Some("away"));
    eprintln!("n{new} leads t{new_term}: the term jumped from t{term}");
    kv.assert_safe();
}

/// CheckQuorum: an isolated leader notices it has heard from no majority and steps down
/// within about two election timeouts (its check runs once per election timeout, and the
/// first one after the cut may still count replies from before it).
#[test]
fn check_quorum_makes_an_isolated_leader_step_down() {
    let kv = KvCluster::new(3, Config::default(), 0x5_2005);
    let (leader, _) = kv.leader_now();
    kv.settle();
    let t0 = kv.trace_log().now_us();
    kv.disconnect(leader);
    let mut stepped = None;
    wait_trace(&kv, &format!("n{leader} to step down"), WAIT, |events| {
        stepped = first_after(events, t0, |e| {
            is_role_change(e, leader, Role::Leader, Role::Follower)
        });
        stepped.is_some()
    });
    let e = stepped.expect("found");
    let took = Duration::from_micros(e.at_us - t0);
    let max = kv.config().election_timeout_max;
    eprintln!("isolated leader stepped down after {took:?}: {e}");
    assert!(
        matches!(&e.kind, EventKind::Raft(raft::Event::RoleChanged { reason, .. }) if matches!(reason, raft::Reason::CheckQuorum { .. })),
        "stepped down for another reason: {e}"
    );
    // Two checks at most `max` apart; a quarter timeout on top for this loaded machine.
    let bound = 2 * max + max / 4;
    if took > bound {
        kv.fail(format!(
            "the isolated leader stepped down after {took:?}, beyond {bound:?}"
        ));
    }
    kv.connect(leader);
    kv.converged();
    kv.assert_safe();
}

/// Without CheckQuorum the isolated leader keeps leading its old term, alone, for as long
/// as it is cut off (here: until the others elected a new leader and four maximal
/// election timeouts passed, twice what CheckQuorum needs), while the majority has moved
/// on. Reconnected, it learns the new term and follows.
#[test]
fn without_check_quorum_an_isolated_leader_keeps_leading() {
    let config = Config {
        check_quorum: false,
        ..Config::default()
    };
    let kv = KvCluster::new(3, config, 0x5_2006);
    let (leader, term) = kv.leader_now();
    kv.settle();
    let t0 = kv.trace_log().now_us();
    kv.disconnect(leader);
    let window = us(4 * kv.config().election_timeout_max);
    let mut new_leader = None;
    kv.wait(
        "a new leader among the others and a window of 4 election timeouts",
        WAIT,
        |st| {
            new_leader = st
                .iter()
                .find(|s| s.id != leader && s.role == Role::Leader && s.term > term)
                .map(|s| (s.id, s.term));
            new_leader.is_some() && kv.trace_log().now_us() >= t0 + window
        },
    );
    let (new, new_term) = new_leader.expect("found");
    let st = kv.status(leader);
    eprintln!(
        "{:.0} ms after the cut: n{new} leads t{new_term}; the old one: {st}",
        ms(kv.trace_log().now_us() - t0)
    );
    if st.role != Role::Leader || st.term != term {
        kv.fail(format!(
            "without CheckQuorum the isolated leader gave up: {st}"
        ));
    }
    if let Some(e) = first_after(&kv.trace(), t0, |e| {
        is_role_change(e, leader, Role::Leader, Role::Follower)
    }) {
        kv.fail(format!("the isolated leader stepped down: {e}"));
    }
    kv.connect(leader);
    kv.wait(&format!("n{leader} to follow n{new}"), WAIT, |st| {
        st[leader].role == Role::Follower && st[leader].term >= new_term
    });
    kv.converged();
    kv.assert_safe();
}
