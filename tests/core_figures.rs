//! The paper's Figure 7 and Figure 8, built exactly on the pure Raft core and stepped by
//! hand with the testkit: no threads, no clock, every message delivered on purpose.

use raftsim::message::Envelope;
use raftsim::raft;
use raftsim::raft::testkit::{carries_index, is_append, is_vote, CoreNet};
use raftsim::raft::RaftConfig;
use raftsim::raft::VoteRefusal;
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

/// The three cases the figure's caption singles out, spelled out: (a) wins with votes
/// from itself, (b), (e), (f) and the crashed leader would refuse it; (d) wins with votes
/// from everyone; (f) gets only its own.
#[test]
fn figure7_a_wins_with_b_e_f_d_wins_with_everyone_f_cannot_win() {
    let mut net = figure7();
    net.crash(LEADER);
    net.tick_election(A);
    net.deliver_matching(is_vote);
    assert_eq!(net.node(A).role(), Role::Leader);
    ask_the_crashed_leader(&mut net, A);
    assert_eq!(ballots(&net, A, 9), (vec![B, E, F], vec![LEADER, C, D]));

    let mut net = figure7();
    net.crash(LEADER);
    net.tick_election(D);
    net.deliver_matching(is_vote);
    assert_eq!(net.node(D).role(), Role::Leader);
    ask_the_crashed_leader(&mut net, D);
    assert_eq!(ballots(&net, D, 9), (vec![LEADER, A, B, C, E, F], vec![]));

    let mut net = figure7();
    net.crash(LEADER);
    net.tick_election(F);
    net.deliver_matching(is_vote);
    assert_ne!(net.node(F).role(), Role::Leader);
    ask_the_crashed_leader(&mut net, F);
    assert_eq!(ballots(&net, F, 9), (vec![], vec![LEADER, A, B, C, D, E]));
    assert_eq!(net.leader_of(9), None);
    // (f) stops campaigning once a majority refused (§5.2) and waits as a follower.
    assert_eq!(net.node(F).role(), Role::Follower);
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

// ---- Figure 8 ----------------------------------------------------------------------

const S1: NodeId = 0;
const S2: NodeId = 1;
const S3: NodeId = 2;
const S4: NodeId = 3;
const S5: NodeId = 4;

fn figure8_config(unsafe_commit: bool) -> RaftConfig {
    RaftConfig {
        // One entry per AppendEntries, so a leader can hand a follower the entry at
        // index 2 without the one at index 3.
        max_entries_per_append: 1,
        unsafe_commit_previous_term_entries: unsafe_commit,
        ..RaftConfig::figure2()
    }
}

fn logs(net: &CoreNet) -> Vec<Vec<Term>> {
    (0..5).map(|id| net.log_terms(id)).collect()
}

fn commits(net: &CoreNet, id: NodeId) -> Vec<(u64, u64)> {
    net.events(id)
        .into_iter()
        .filter_map(|e| match e {
            raft::Event::Committed { from, to, .. } => Some((from, to)),
            _ => None,
        })
        .collect()
}

/// Plays Figure 8 (a), (b) and (c) and returns the network in state (c): S1 leads term 4
/// and holds the term-2 entry at index 2 on a majority, with its own term-4 entry (the
/// no-op it appended on election) at index 3 on itself only.
fn figure8_up_to_c(cfg: RaftConfig) -> CoreNet {
    let mut net = CoreNet::with_config(5, cfg);
    // Before (a): S1 leads term 1; its no-op (index 1) reaches everyone and commits.
    net.elect(S1);
    assert_eq!(net.node(S1).commit_index(), 1);

    // (a) S1 restarts and leads term 2; its term-2 entry at index 2 reaches only S2.
    net.restart(S1);
    net.tick_election(S1);
    net.deliver_matching(is_vote);
    assert_eq!(net.node(S1).role(), Role::Leader);
    assert_eq!(net.node(S1).term(), 2);
    net.deliver_matching(|e| e.to == S2 || e.from == S2);
    net.drop_matching(|_| true);
    assert_eq!(
        logs(&net),
        [vec![1, 2], vec![1, 2], vec![1], vec![1], vec![1]]
    );

    // (b) S1 crashes; S5 is elected for term 3 with votes from S3, S4 and itself (S2's
    // log is more up-to-date: LogBehind), and accepts a different entry at index 2.
    net.crash(S1);
    net.tick_election(S5);
    net.deliver_matching(is_vote);
    assert_eq!(net.leader_of(3), Some(S5));
    assert!(matches!(
        net.events(S2).last(),
        Some(raft::Event::VoteRefused {
            reason: VoteRefusal::LogBehind { .. },
            ..
        })
    ));
    net.drop_matching(|_| true);
    assert_eq!(net.log_terms(S5), vec![1, 3]);

    // (c) S5 crashes; S1 restarts. Its first try, term 3, fails (S3 and S4 already voted
    // for S5); in term 4 S2, S3 and S4 elect it.
    net.crash(S5);
    net.restart(S1);
    net.tick_election(S1);
    net.deliver_matching(is_vote);
    assert_eq!(net.leader_of(3), Some(S5), "still only S5 led term 3");
    net.tick_election(S1);
    net.deliver_matching(is_vote);
    assert_eq!(net.leader_of(4), Some(S1));
    // S1 continues replication. S2 hears nothing from it: its AppendEntries would carry
    // index 3. S3 and S4 reject the first probe (they lack index 2), receive the term-2
    // entry at index 2 and acknowledge it; the term-4 entry sent next is lost in flight.
    net.block(|e| e.to == S2);
    net.deliver_round(); // probes reach S3, S4: rejected
    net.deliver_round(); // the rejections reach S1, which backs up to index 2
    net.deliver_round(); // index 2 reaches S3, S4
    net.deliver_round(); // their acknowledgements reach S1, which sends index 3
    assert_eq!(net.drop_matching(|e| carries_index(e, 3)), 2);
    assert!(net.queue.is_empty());
    net.recover();
    // The figure shows S4 without index 2. Here S4 holds it too: with the no-op of term 4
    // already at index 3, S1 can *learn* that index 2 is on a majority only from S3's and
    // S4's acknowledgements (S2 would have to take index 3 to answer).
    let c: [Vec<Term>; 5] = [
        vec![1, 2, 4],
        vec![1, 2],
        vec![1, 2],
        vec![1, 2],
        vec![1, 3],
    ];
    assert_eq!(logs(&net), c);
    assert_eq!(net.node(S1).progress()[&S3].match_index, 2);
    assert_eq!(net.node(S1).progress()[&S4].match_index, 2);
    net
}

/// S5 times out twice (term 4 is taken) and wins term 5 with S2, S3 and S4's votes: its
/// last entry (term 3) beats their term-2 entries (§5.4.1). Then it replicates its log.
fn figure8_d(net: &mut CoreNet) {
    net.crash(S1);
    net.restart(S5);
    net.tick_election(S5);
    net.deliver_matching(is_vote);
    assert_eq!(
        net.leader_of(4),
        Some(S1),
        "S2, S3, S4 voted for S1 in term 4"
    );
    net.clear_events();
    net.tick_election(S5);
    net.deliver_matching(is_vote);
    assert_eq!(net.leader_of(5), Some(S5));
    let voters: Vec<NodeId> = net
        .all_events()
        .iter()
        .filter(|(_, e)| matches!(e, raft::Event::VoteGranted { candidate: S5, .. }))
        .map(|(v, _)| *v)
        .collect();
    assert_eq!(voters, vec![S2, S3, S4]);
    net.deliver_all();
}

/// §5.4.2, Figure 8 (c)->(d): the term-2 entry is stored on a majority, yet S1 (leader of
/// term 4) does not commit it by counting replicas. So when S1 crashes and S5 wins term 5
/// and overwrites index 2 everywhere, nothing committed is lost.
#[test]
fn figure8_entry_of_an_earlier_term_is_not_committed_by_counting_replicas() {
    let mut net = figure8_up_to_c(figure8_config(false));
    // Stored on S1, S2, S3, S4 and known by S1 to be on S1, S3, S4: a majority. Still
    // not committed: its term is 2, not S1's current term 4. (S1 restarted, so it does
    // not even know index 1 is committed: that too waits for an entry of term 4.)
    assert_eq!(net.node(S1).commit_index(), 0);
    assert!(net.applied(S1).is_empty());

    // (d) S1 crashes; S5 wins term 5 and overwrites index 2 on S2, S3, S4.
    figure8_d(&mut net);
    assert_eq!(net.node(S5).commit_index(), 3);
    for id in [S2, S3, S4, S5] {
        assert_eq!(net.log_terms(id), vec![1, 3, 5], "n{id}");
    }
    for id in [S2, S3, S4] {
        let t = net.events(id).into_iter().find_map(|e| match e {
            raft::Event::Truncated { from, terms, .. } => Some((from, terms)),
            _ => None,
        });
        assert_eq!(
            t,
            Some((2, vec![2])),
            "n{id} deleted the uncommitted term-2 entry"
        );
    }
    // S1 comes back and is brought in line too; its term-2 and term-4 entries were never
    // committed.
    net.restart(S1);
    net.tick_heartbeat(S5);
    net.deliver_all();
    assert_eq!(net.log_terms(S1), vec![1, 3, 5]);
    // Nothing that was committed anywhere was lost: every applied entry is still in
    // every log, and the kit saw no State Machine Safety violation.
    assert_eq!(net.committed(), vec![(1, 1), (2, 3), (3, 5)]);
    for id in 0..5 {
        for (index, term) in net.committed() {
            assert_eq!(
                net.node(id).log().term_at(index),
                Some(term),
                "n{id} @{index}"
            );
        }
    }
    assert!(net.violations().is_empty());
}

/// Figure 8 (e): if S1 replicates an entry of its own term 4 on a majority before it
/// crashes, that entry commits, and index 2 with it (Log Matching); S5 can then never win,
/// since S2 and S3 hold a later last term than S5.
#[test]
fn figure8_e_an_entry_of_the_current_term_commits_the_earlier_ones_and_s5_cannot_win() {
    let mut net = figure8_up_to_c(figure8_config(false));
    // The term-4 entry now reaches S2 and S3 (S4 stays unreachable). S2 was never
    // answered, so the next heartbeat re-sends it; S3's copy was lost in Replicate, and is
    // re-sent once a heartbeat interval passes without an acknowledgement.
    net.cut(S1, S4);
    net.tick_heartbeat(S1);
    net.deliver_all();
    net.tick_heartbeat(S1);
    net.deliver_all();
    assert_eq!(
        logs(&net),
        [
            vec![1, 2, 4],
            vec![1, 2, 4],
            vec![1, 2, 4],
            vec![1, 2],
            vec![1, 3]
        ]
    );
    // Indexes 2 and 3 commit together, by the term-4 entry's count.
    assert_eq!(commits(&net, S1).last(), Some(&(0, 3)));
    assert_eq!(net.node(S1).commit_index(), 3);

    net.crash(S1);
    net.recover();
    net.restart(S5);
    for _ in 0..3 {
        net.tick_election(S5);
        net.deliver_matching(is_vote);
        assert_ne!(net.node(S5).role(), Role::Leader, "{}", net.describe());
    }
    // S2 and S3 refuse because their logs end in term 4 (§5.4.1).
    for id in [S2, S3] {
        assert!(net.events(id).iter().any(|e| matches!(
            e,
            raft::Event::VoteRefused {
                candidate: S5,
                reason: VoteRefusal::LogBehind {
                    own_last_term: 4,
                    candidate_last_term: 3,
                    ..
                },
                ..
            }
        )));
    }
    assert!((5..=7).all(|t| net.leader_of(t).is_none()));
}

/// The same run with `unsafe_commit_previous_term_entries`: S1 commits the term-2 entry
/// by counting replicas in term 4, applies it, and then S5 (elected exactly as before)
/// overwrites it: a committed entry is lost, which is why §5.4.2's rule exists.
#[test]
fn figure8_unsafe_commit_by_counting_replicas_loses_a_committed_entry() {
    let mut net = figure8_up_to_c(figure8_config(true));
    assert_eq!(
        net.node(S1).commit_index(),
        2,
        "committed by counting replicas"
    );
    let applied: Vec<(u64, Term)> = net.applied(S1).iter().map(|e| (e.index, e.term)).collect();
    assert_eq!(applied, vec![(1, 1), (2, 2)], "S1 applied the term-2 entry");

    figure8_d(&mut net);
    for id in [S2, S3, S4, S5] {
        assert_eq!(net.log_terms(id), vec![1, 3, 5], "n{id}");
    }
    let applied: Vec<(u64, Term)> = net.applied(S5).iter().map(|e| (e.index, e.term)).collect();
    assert_eq!(
        applied,
        vec![(1, 1), (2, 3), (3, 5)],
        "S5 applied another entry at 2"
    );
    assert!(
        net.violations()
            .iter()
            .any(|v| v.starts_with("State Machine Safety") && v.contains("t2@2")),
        "{:?}",
        net.violations()
    );
}
