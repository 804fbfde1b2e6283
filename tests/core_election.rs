//! Leader election (§5.2), terms (§5.1), PreVote and CheckQuorum (dissertation §9.6,
//! §6.2, §4.2.3) and leadership transfer (§3.10), on the pure Raft core, stepped by hand
//! with the testkit. The stories a script tells as well (a single-node cluster, a split
//! vote, a stale leader, PreVote with and without, CheckQuorum) are scripts in
//! tests/scripts/, asserted with `expect` and by their recorded output.

use std::time::Duration;

use raftsim::log::Snapshot;
use raftsim::membership::Membership;
use raftsim::message::{Envelope, Message};
use raftsim::raft::{self, VoteRefusal};
use raftsim::raft::{HardState, RaftConfig};
use raftsim::testkit::{is_vote, CoreNet};
use raftsim::{NodeId, NotLeader, Role, Term};

fn refusals(net: &CoreNet, voter: NodeId) -> Vec<(NodeId, Term, VoteRefusal)> {
    net.events(voter)
        .into_iter()
        .filter_map(|e| match e {
            raft::Event::VoteRefused {
                candidate,
                term,
                reason,
                ..
            } => Some((candidate, term, reason)),
            _ => None,
        })
        .collect()
}

fn grants(net: &CoreNet, voter: NodeId) -> Vec<(NodeId, Term)> {
    net.events(voter)
        .into_iter()
        .filter_map(|e| match e {
            raft::Event::VoteGranted {
                candidate,
                term,
                pre_vote: false,
            } => Some((candidate, term)),
            _ => None,
        })
        .collect()
}

/// Figure 2 ("updated on stable storage before responding to RPCs"): the Ready that
/// carries a granted vote also carries the hard state with that vote, which the runtime
/// persists before sending anything.
#[test]
fn a_vote_is_persisted_in_the_same_ready_as_its_reply() {
    let mut net: CoreNet = CoreNet::new(3);
    net.tick_election(0);
    assert_eq!(net.deliver_one(), Some(true)); // 0's RequestVote reaches node 1
    let ready = net.last_ready(1).unwrap();
    let reply: Vec<&Envelope<u64, ()>> = ready.messages.iter().collect();
    assert!(matches!(
        reply[..],
        [Envelope {
            to: 0,
            msg: Message::RequestVoteReply {
                term: 1,
                vote_granted: true,
                ..
            },
            ..
        }]
    ));
    let granted = HardState {
        current_term: 1,
        voted_for: Some(0),
    };
    assert_eq!(ready.hard_state, Some(granted));
    assert_eq!(net.persisted(1).hard_state, granted);
}

/// §5.2: "each server will vote for at most one candidate in a given term, on a
/// first-come-first-served basis"; the vote survives a crash (it was persisted).
#[test]
fn one_vote_per_term_first_come_first_served_even_across_a_restart() {
    let mut net: CoreNet = CoreNet::new(3);
    net.tick_election(0);
    net.tick_election(1);
    let to_2 = net.take_matching(|e| e.to == 2);
    let (from_0, from_1) = (to_2[0].clone(), to_2[1].clone());
    assert_eq!((from_0.from, from_1.from), (0, 1));
    for env in [from_0.clone(), from_1.clone(), from_0] {
        net.inject(env);
        net.deliver_matching(|e| e.to == 2);
    }
    // Node 0 asked first and asking again is answered the same.
    assert_eq!(grants(&net, 2), vec![(0, 1), (0, 1)]);
    assert_eq!(
        refusals(&net, 2),
        vec![(1, 1, VoteRefusal::AlreadyVoted { voted_for: 0 })]
    );
    net.restart(2);
    assert_eq!(net.node(2).voted_for(), Some(0));
    net.inject(from_1);
    net.deliver_matching(|e| e.to == 2);
    assert_eq!(refusals(&net, 2).len(), 2);
    assert_eq!(
        refusals(&net, 2)[1],
        (1, 1, VoteRefusal::AlreadyVoted { voted_for: 0 })
    );
}

/// §5.1: "If a candidate or leader discovers that its term is out of date, it
/// immediately reverts to follower state" — whichever message carries the newer term.
#[test]
fn a_higher_term_in_any_message_turns_a_leader_into_a_follower() {
    let snapshot = Snapshot {
        last_index: 0,
        last_term: 0,
        membership: Membership::new(0..3),
        data: (),
    };
    let messages: Vec<Message<u64, ()>> = vec![
        Message::RequestVote {
            term: 5,
            candidate_id: 1,
            last_log_index: 0,
            last_log_term: 0,
            pre_vote: false,
            transfer: false,
        },
        Message::RequestVoteReply {
            term: 5,
            vote_granted: false,
            pre_vote: false,
        },
        Message::AppendEntries {
            term: 5,
            leader_id: 1,
            prev_log_index: 0,
            prev_log_term: 0,
            entries: Default::default(),
            leader_commit: 0,
            read_seq: 0,
        },
        Message::AppendEntriesReply {
            term: 5,
            success: false,
            match_index: 0,
            prev_log_index: 1,
            hint: None,
            read_seq: 0,
        },
        Message::InstallSnapshot {
            term: 5,
            leader_id: 1,
            snapshot,
        },
        Message::InstallSnapshotReply {
            term: 5,
            last_index: 0,
        },
    ];
    for msg in messages {
        let mut net: CoreNet = CoreNet::new(3);
        net.elect(0);
        let kind = msg.kind();
        net.inject(Envelope {
            from: 1,
            to: 0,
            msg,
        });
        net.deliver_one();
        let r = net.node(0);
        assert_eq!((r.role(), r.term()), (Role::Follower, 5), "after a {kind}");
        assert!(net.events(0).contains(&raft::Event::TermChanged {
            from: 1,
            to: 5,
            seen_from: 1
        }));
    }
}

/// §5.2: a candidate that hears AppendEntries from a leader of its own term recognizes it
/// and returns to follower, keeping its term.
#[test]
fn a_candidate_steps_down_for_a_leader_of_its_term() {
    let mut net: CoreNet = CoreNet::new(3);
    net.tick_election(0);
    net.tick_election(1);
    // Node 2 votes for 0 and never hears from 1; 0 and 1 refuse each other. One refusal
    // of three is no lost election: node 1 waits as a candidate.
    net.drop_matching(|e| (e.from, e.to) == (1, 2));
    net.deliver_matching(is_vote);
    assert_eq!(net.node(0).role(), Role::Leader);
    assert_eq!(net.node(1).role(), Role::Candidate);
    net.deliver_all();
    let r = net.node(1);
    assert_eq!(
        (r.role(), r.term(), r.leader_id()),
        (Role::Follower, 1, Some(0))
    );
}

/// §4.2.3 (with CheckQuorum): a server that heard from a live leader less than the
/// minimum election timeout ago ignores RequestVote, so a disruptive candidate neither
/// wins votes nor bumps anyone's term. Once the lease runs out, votes flow again.
#[test]
fn the_leader_lease_refuses_a_disruptive_candidate_while_the_leader_is_alive() {
    let cfg = RaftConfig {
        check_quorum: true,
        ..RaftConfig::figure2()
    };
    let min = cfg.election_timeout_min;
    let mut net: CoreNet = CoreNet::with_config(3, cfg);
    net.set_now(Duration::ZERO);
    net.elect(0);
    net.isolate(2);
    net.tick_election(2); // term 2, heard by nobody
    net.recover();

    net.set_now(min / 2);
    net.tick_election(2); // term 3
    net.deliver_matching(is_vote);
    for id in [0, 1] {
        assert_eq!(
            refusals(&net, id),
            vec![(2, 3, VoteRefusal::LeaderAlive { leader: 0 })]
        );
    }
    assert_eq!((net.node(0).role(), net.node(0).term()), (Role::Leader, 1));
    assert_eq!(net.node(1).term(), 1);

    // No heartbeat for longer than the minimum election timeout: node 1's lease is over.
    net.set_now(min * 3);
    net.tick_election(2); // term 4
    net.deliver_matching(is_vote);
    assert_eq!(grants(&net, 1), vec![(0, 1), (2, 4)]);
    assert_eq!(net.leader_of(4), Some(2));
    net.deliver_all();
    assert_eq!(net.leader(), Some(2));
    assert_eq!(net.node(0).role(), Role::Follower);
}

/// §3.10: the leader brings the target's log up to date, sends it TimeoutNow, and the
/// target wins the next term at once; proposals are refused meanwhile.
#[test]
fn leadership_transfer_through_timeout_now_elects_the_target() {
    let mut net: CoreNet = CoreNet::new(3);
    net.elect(0);
    net.propose(0, 1).unwrap();
    net.deliver_all();
    net.transfer_leadership(0, 2).unwrap();
    assert!(matches!(
        net.queue.back(),
        Some(Envelope {
            to: 2,
            msg: Message::TimeoutNow { term: 1 },
            ..
        })
    ));
    assert_eq!(net.propose(0, 2), Err(NotLeader { leader: Some(2) }));
    net.deliver_all();
    assert_eq!(net.leader_of(2), Some(2));
    assert_eq!(net.leader(), Some(2));
    assert!(net.events(2).iter().any(|e| matches!(
        e,
        raft::Event::ElectionStarted { term: 2, pre_vote: false, reason } if matches!(reason, raft::Reason::TimeoutNow { .. })
    )));
    assert!(
        !net.events(0)
            .iter()
            .any(|e| matches!(e, raft::Event::TransferAborted { .. })),
        "the transfer succeeded: {:?}",
        net.events(0)
    );
}

/// §3.10 with a lagging target and PreVote and CheckQuorum on: the leader first sends the
/// missing entries, and only then TimeoutNow; the target's election skips PreVote and
/// is granted despite the leader lease.
#[test]
fn leadership_transfer_to_a_lagging_target_catches_it_up_first() {
    let cfg = RaftConfig {
        pre_vote: true,
        check_quorum: true,
        ..RaftConfig::figure2()
    };
    let mut net: CoreNet = CoreNet::with_config(3, cfg);
    net.elect(0);
    net.isolate(2);
    for c in 0..5 {
        net.propose(0, c).unwrap();
    }
    net.deliver_all();
    net.recover();
    net.transfer_leadership(0, 2).unwrap();
    assert!(!net
        .queue
        .iter()
        .any(|e| matches!(e.msg, Message::TimeoutNow { .. })));
    // The entries sent while node 2 was away were lost: the second heartbeat interval
    // without an acknowledgement re-sends them, and TimeoutNow follows.
    net.tick_heartbeat(0);
    net.deliver_all();
    assert_eq!(net.leader(), Some(0));
    net.tick_heartbeat(0);
    net.deliver_all();
    assert_eq!(net.leader(), Some(2));
    assert_eq!(net.node(2).term(), 2);
    assert_eq!(net.log_terms(2), vec![1, 1, 1, 1, 1, 1, 2]);
    let timeout_now_at = net
        .delivered
        .iter()
        .position(|e| matches!(e.msg, Message::TimeoutNow { .. }))
        .expect("TimeoutNow was sent");
    let caught_up_at = net
        .delivered
        .iter()
        .position(|e| e.to == 2 && e.msg.entry_count() > 0)
        .expect("the entries were sent");
    assert!(caught_up_at < timeout_now_at);
}
