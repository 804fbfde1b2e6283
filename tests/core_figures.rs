//! The paper's Figure 7, built exactly on the pure Raft core and stepped by hand with the
//! testkit: no threads, no clock, every message delivered on purpose. Figure 8 and the
//! three Figure 7 cases of the caption are scripts (tests/scripts/figure7.txt,
//! figure8_commit_rule.txt, figure8_e.txt, figure8_unsafe_commit.txt), whose recorded
//! output shows every vote and entry.

use raftsim::message::Envelope;
use raftsim::raft::RaftConfig;
use raftsim::raft::{self, VoteRefusal};
use raftsim::testkit::{is_append, is_vote, CoreNet};
use raftsim::{NodeId, Role, Term};

// ---- Figure 7 ----------------------------------------------------------------------

/// Figure 7's servers: the leader of term 8 and followers (a)..(f).
const LEADER: NodeId = 0;
const A: NodeId = 1;
const B: NodeId = 2;
const C: NodeId = 3;
const D: NodeId = 4;
const E: NodeId = 5;
const F: NodeId = 6;

/// Figure 7: the log terms of the leader (node 0) and of followers (a)..(f) (nodes 1..6),
/// the same logs the `figure7` scenario starts its threads from.
use raftsim::scenarios::figure7::LOGS as FIGURE_7;

/// Figure 7 as it stands when the leader of term 8 has just come to power: every server
/// in term 8. Each scenario gets a fresh copy, so its election runs in term 9, a term in
/// which nobody has voted yet: only the logs decide (§5.4.1).
fn figure7() -> CoreNet {
    CoreNet::with_logs_at(RaftConfig::figure2(), 8, &FIGURE_7)
}

/// Who granted and who refused `candidate`'s vote in `term`, from the voters' events.
/// Every refusal must be `LogBehind`: nothing but the logs may decide here.
fn ballots(net: &CoreNet, candidate: NodeId, term: Term) -> (Vec<NodeId>, Vec<NodeId>) {
    let (mut granted, mut refused) = (Vec::new(), Vec::new());
    for (voter, ev) in net.all_events() {
        match ev {
            raft::Event::VoteGranted {
                candidate: c,
                term: t,
                pre_vote: false,
            } if *c == candidate && *t == term => granted.push(*voter),
            raft::Event::VoteRefused {
                candidate: c,
                term: t,
                reason,
                ..
            } if *c == candidate && *t == term => {
                let own = &FIGURE_7[*voter];
                let expected = VoteRefusal::LogBehind {
                    candidate_last_term: *FIGURE_7[candidate].last().unwrap(),
                    candidate_last_index: FIGURE_7[candidate].len() as u64,
                    own_last_term: *own.last().unwrap(),
                    own_last_index: own.len() as u64,
                };
                assert_eq!(
                    *reason, expected,
                    "n{voter} refused n{candidate} for another reason"
                );
                refused.push(*voter);
            }
            _ => {}
        }
    }
    granted.sort();
    refused.sort();
    (granted, refused)
}

/// The vote request the crashed leader missed, handed to it after a restart: would it
/// have granted it?
fn ask_the_crashed_leader(net: &mut CoreNet, candidate: NodeId) {
    let missed: Vec<Envelope<u64, ()>> = net
        .dropped
        .iter()
        .filter(|e| e.to == LEADER && e.from == candidate && is_vote(e))
        .cloned()
        .collect();
    assert_eq!(missed.len(), 1, "the crashed leader missed one RequestVote");
    net.restart(LEADER);
    net.inject(missed[0].clone());
    net.deliver_matching(|e| e.to == LEADER && is_vote(e));
}

/// §5.4.1, Figure 7: the leader of term 8 crashes and each of (a)..(f) in turn times out
/// first. A voter grants only a candidate whose log is at least as up-to-date as its own
/// (later last term, or same last term and at least as long), so exactly these win:
/// (a) with itself, (b), (e), (f); (c) with all but (d); (d) with everyone. (b), (e) and
/// (f) cannot reach the majority of 4.
#[test]
fn figure7_election_restriction_decides_exactly_who_can_win() {
    // (candidate, voters that grant besides itself, the crashed leader among them?, wins)
    let table: [(NodeId, &[NodeId], bool, bool); 6] = [
        (A, &[B, E, F], false, true),
        (B, &[F], false, false),
        (C, &[A, B, E, F], true, true),
        (D, &[A, B, C, E, F], true, true),
        (E, &[B, F], false, false),
        (F, &[], false, false),
    ];
    for (candidate, grant, leader_grants, wins) in table {
        let mut net = figure7();
        net.crash(LEADER);
        net.tick_election(candidate);
        assert_eq!(net.node(candidate).term(), 9, "a fresh term");
        net.deliver_matching(is_vote);
        assert_eq!(
            net.node(candidate).role() == Role::Leader,
            wins,
            "candidate n{candidate}:\n{}",
            net.describe()
        );
        assert_eq!(net.leader_of(9), wins.then_some(candidate));

        ask_the_crashed_leader(&mut net, candidate);
        let (granted, refused) = ballots(&net, candidate, 9);
        let mut want: Vec<NodeId> = grant.to_vec();
        if leader_grants {
            want.insert(0, LEADER);
        }
        assert_eq!(granted, want, "who grants n{candidate}");
        let others: Vec<NodeId> = (0..7)
            .filter(|v| *v != candidate && !want.contains(v))
            .collect();
        assert_eq!(refused, others, "who refuses n{candidate} (LogBehind)");
        // Itself plus the grants: a majority of 7 is 4.
        assert_eq!(1 + granted.len() >= 4, wins);
    }
}

/// §5.3, Figure 7: the leader of term 8 forces every follower's log to match its own:
/// missing entries are added ((a), (b)), extraneous uncommitted ones deleted ((c), (d)),
/// and both at once ((e), (f)). With the conflict hints each follower needs at most three
/// AppendEntries, however far back it diverges.
#[test]
fn figure7_leader_of_term_8_brings_every_follower_in_line() {
    // The moment before the figure: every server in term 7, the leader not yet elected.
    let mut net: CoreNet = CoreNet::with_logs_at(RaftConfig::figure2(), 7, &FIGURE_7);
    net.tick_election(LEADER);
    net.deliver_matching(is_vote);
    assert_eq!(net.node(LEADER).role(), Role::Leader);
    assert_eq!(net.node(LEADER).term(), 8);
    // (c) and (d) hold more up-to-date logs and refused; the other four elected it.
    let (granted, refused) = ballots(&net, LEADER, 8);
    assert_eq!((granted, refused), (vec![A, B, E, F], vec![C, D]));

    net.deliver_all();
    let want: Vec<Term> = vec![1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 8];
    for id in 0..7 {
        assert_eq!(net.log_terms(id), want, "n{id}'s log");
    }
    assert_eq!(net.node(LEADER).commit_index(), 11);
    // Exactly the conflicting suffixes were deleted, and nothing else.
    let truncated = |id| -> Vec<(u64, u64, Vec<Term>)> {
        net.events(id)
            .into_iter()
            .filter_map(|e| match e {
                raft::Event::Truncated {
                    from, to, terms, ..
                } => Some((from, to, terms)),
                _ => None,
            })
            .collect()
    };
    assert_eq!(truncated(A), vec![]);
    assert_eq!(truncated(B), vec![]);
    assert_eq!(truncated(C), vec![(11, 11, vec![6])]);
    assert_eq!(truncated(D), vec![(11, 12, vec![7])]);
    assert_eq!(truncated(E), vec![(6, 7, vec![4])]);
    assert_eq!(truncated(F), vec![(4, 11, vec![2, 3])]);
    let appends = |to| net.count_delivered(|e| e.from == LEADER && e.to == to && is_append(e));
    let counts: Vec<usize> = (1..7).map(appends).collect();
    assert_eq!(
        counts,
        vec![2, 2, 1, 1, 3, 3],
        "AppendEntries per follower (a)..(f)"
    );
}
