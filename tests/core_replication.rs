//! Log replication (§5.3) and the commit rule (§5.4.2), on the pure Raft core, stepped by
//! hand with the testkit. Log compaction (§7) is in `core_snapshot.rs`.

use raftsim::log::Payload;
use raftsim::message::Message;
use raftsim::raft;
use raftsim::raft::RaftConfig;
use raftsim::testkit::{is_append, CoreNet};
use raftsim::{Index, NodeId, Term};

/// A `Truncated` event: first and last index removed, their terms.
type Truncation = (Index, Index, Vec<Term>);

fn truncations(net: &CoreNet<impl Clone, impl Clone>, id: NodeId) -> Vec<Truncation> {
    net.events(id)
        .into_iter()
        .filter_map(|e| match e {
            raft::Event::Truncated {
                from, to, terms, ..
            } => Some((from, to, terms)),
            _ => None,
        })
        .collect()
}

/// Dissertation §6.4 (and §8 of the paper): a new leader appends an empty entry of its
/// own term, so entries of earlier terms can commit (§5.4.2). It occupies a log index but
/// is never handed to the state machine as a command.
#[test]
fn a_new_leader_appends_a_noop_that_is_never_applied_as_a_command() {
    let mut net: CoreNet = CoreNet::new(3);
    net.elect(0);
    let first = net.node(0).log().get(1).expect("the no-op").clone();
    assert_eq!(
        (first.index, first.term, first.payload),
        (1, 1, Payload::Noop)
    );
    assert_eq!(
        net.node(0).commit_index(),
        1,
        "the no-op commits like any entry"
    );
    assert!(net.applied_commands(0).is_empty());

    assert_eq!(net.propose(0, 42), Ok((2, 1)));
    net.deliver_all();
    net.tick_heartbeat(0); // carries the new commit index to the followers (§5.3)
    net.deliver_all();
    for id in 0..3 {
        let indexes: Vec<Index> = net.applied(id).iter().map(|e| e.index).collect();
        assert_eq!(indexes, vec![1, 2], "n{id} applied both entries");
        assert_eq!(
            net.applied_commands(id),
            vec![42],
            "n{id}: only the command"
        );
    }
}

/// §5.3: an entry commits once the leader has stored it on a majority, not before; the
/// followers learn the commit index from the next AppendEntries (leaderCommit, rule 5).
#[test]
fn an_entry_commits_once_a_majority_stores_it() {
    let mut net: CoreNet = CoreNet::new(5);
    net.elect(0);
    net.isolate(2);
    net.isolate(3);
    net.isolate(4);
    net.propose(0, 7).unwrap();
    net.deliver_all();
    assert_eq!(net.node(0).commit_index(), 1, "2 of 5 is no majority");

    net.recover();
    net.isolate(3);
    net.isolate(4);
    // Node 2 gets the entry once the leader re-sends what it lost in flight: after a
    // heartbeat interval with no acknowledgement (see the retransmission test below).
    net.tick_heartbeat(0);
    net.deliver_all();
    assert_eq!(net.node(0).commit_index(), 1);
    net.tick_heartbeat(0);
    net.deliver_all();
    assert_eq!(net.node(0).commit_index(), 2, "3 of 5 is");
    assert_eq!(net.node(1).commit_index(), 1, "a follower learns it later");
    net.tick_heartbeat(0);
    net.deliver_all();
    assert_eq!(net.node(1).commit_index(), 2);
    assert_eq!(net.node(2).commit_index(), 2);
    assert_eq!(net.node(3).commit_index(), 0, "isolated all along");
}

/// The leader copies a batch of new entries out of its log once, and every follower's
/// AppendEntries holds a window on that one copy; a follower that needs an earlier
/// start gets a batch of its own, and every follower ends with the same log.
#[test]
fn followers_at_the_same_point_share_one_copy_of_the_entries() {
    let mut net: CoreNet = CoreNet::new(5);
    net.elect(0);
    net.isolate(4);
    for c in 10..13 {
        net.propose(0, c).unwrap();
    }
    let appends = net.take_matching(is_append);
    let entries: Vec<_> = appends
        .iter()
        .filter_map(|e| match &e.msg {
            Message::AppendEntries { entries, .. } if !entries.is_empty() => Some(entries),
            _ => None,
        })
        .collect();
    // Each proposal went out at once (pipelined): one AppendEntries per reachable
    // follower per proposal, the three of a round sharing one copy.
    assert_eq!(entries.len(), 9);
    for round in entries.chunks(3) {
        for e in round {
            assert_eq!(e.len(), 1);
            assert_eq!(e[0].index, round[0][0].index);
            assert!(
                e.shares_batch_with(round[0]),
                "one copy, not one per follower"
            );
        }
    }
    assert!(!entries[0].shares_batch_with(entries[3]));
    let first_round = entries[0].clone();
    for env in appends {
        net.inject(env);
    }
    net.deliver_all();
    assert_eq!(net.node(0).commit_index(), 4);
    // Node 4 comes back behind: its repair needs what three rounds carried, in a batch
    // of its own.
    net.recover();
    for _ in 0..3 {
        net.tick_heartbeat(0);
        net.deliver_all();
    }
    assert_eq!(net.log_terms(4), net.log_terms(0));
    assert_eq!(net.node(4).commit_index(), 4);
    let repairs: Vec<_> = net
        .delivered
        .iter()
        .filter_map(|e| match &e.msg {
            Message::AppendEntries { entries, .. } if e.to == 4 && !entries.is_empty() => {
                Some(entries)
            }
            _ => None,
        })
        .collect();
    assert!(!repairs.is_empty());
    assert!(repairs.iter().all(|r| !r.shares_batch_with(&first_round)));
    // It missed all three rounds: one batch of its own carries 2..=4.
    let last = repairs.last().unwrap();
    assert_eq!(
        last.iter().map(|e| e.index).collect::<Vec<_>>(),
        vec![2, 3, 4]
    );
}

/// Figure 2 ("updated on stable storage before responding to RPCs"): the Ready that
/// carries a follower's acknowledgement also says which entries to persist, and the
/// runtime (here the testkit, through `Storage::persist`) writes them before sending.
#[test]
fn an_entry_is_persisted_in_the_same_ready_as_its_acknowledgement() {
    let mut net: CoreNet = CoreNet::new(3);
    net.elect(0);
    net.propose(0, 8).unwrap();
    net.deliver_matching(|e| e.to == 1);
    let ready = net.last_ready(1).unwrap();
    assert_eq!(ready.log_dirty_from, Some(2));
    assert!(matches!(
        ready.messages[..],
        [raftsim::message::Envelope {
            to: 0,
            msg: Message::AppendEntriesReply {
                success: true,
                match_index: 2,
                ..
            },
            ..
        }]
    ));
    let persisted: Vec<Term> = net
        .persisted(1)
        .log
        .entries()
        .iter()
        .map(|e| e.term)
        .collect();
    assert_eq!(persisted, vec![1, 1]);
}

/// §5.3: an entry commits once it is stored on a majority, and "stored" means durable on
/// the leader too. The leader's disk is slow here: its write of entry 2 is not yet
/// acknowledged when follower 1 acknowledges, so only one of three copies is known durable
/// and nothing commits, until the leader's write is acknowledged. Then the same with the
/// other follower's copy instead of the leader's.
#[test]
fn a_leader_counts_its_own_entry_only_once_its_write_is_acknowledged() {
    let mut net: CoreNet = CoreNet::new(3);
    net.elect(0);
    net.isolate(2);
    net.hold_writes(0);
    net.propose(0, 7).unwrap();
    net.deliver_all();
    assert_eq!(net.node(0).progress()[&1].match_index, 2);
    assert_eq!(
        net.node(0).commit_index(),
        1,
        "n1's copy and an unacknowledged write are no majority"
    );
    assert_eq!(net.node(0).persisted_index(), 1);
    assert_eq!(net.ack_writes(0), 1);
    assert_eq!(net.node(0).persisted_index(), 2);
    assert_eq!(
        net.node(0).commit_index(),
        2,
        "the leader's own write counts now"
    );

    // Entry 3: the leader's write stays unacknowledged, and n2 comes back instead.
    net.propose(0, 8).unwrap();
    net.deliver_all();
    assert_eq!(net.node(0).commit_index(), 2);
    net.recover();
    for _ in 0..2 {
        net.tick_heartbeat(0); // n2 lost 2..=3: re-sent after a silent interval
        net.deliver_all();
    }
    assert_eq!(net.node(0).progress()[&2].match_index, 3);
    assert_eq!(net.node(0).persisted_index(), 2, "still unacknowledged");
    assert_eq!(net.node(0).commit_index(), 3, "n1 and n2 are a majority");
    net.release_writes(0);
    assert_eq!(net.node(0).persisted_index(), 3);
}

/// An acknowledgement arriving after the entry it covers was overwritten does not make
/// the new entry durable: n0 leads term 1 with a slow disk and appends entry 2, is cut
/// off, and n1's term-2 entries replace it. The old write's acknowledgement counts only
/// below the replaced entry; the new write's covers the rest.
#[test]
fn a_write_acknowledged_after_its_entry_was_overwritten_does_not_count() {
    let mut net: CoreNet = CoreNet::new(3);
    net.elect(0);
    net.hold_writes(0);
    net.isolate(0);
    net.propose(0, 1).unwrap(); // t1@2, on n0 only
    net.elect(1);
    net.propose(1, 2).unwrap();
    net.deliver_all();
    net.recover();
    net.tick_heartbeat(1);
    net.deliver_all();
    assert_eq!(net.log_terms(0), vec![1, 2, 2], "t1@2 replaced");
    assert_eq!(net.node(0).persisted_index(), 1);
    assert_eq!(net.ack_write(0), Some((2, 1)), "the old write, late");
    assert_eq!(net.node(0).persisted_index(), 1, "t1@2 is not t2@2");
    net.ack_writes(0);
    assert_eq!(net.node(0).persisted_index(), 3);
}

/// §5.3, AppendEntries rule 3: a follower deletes entries only on a real conflict (same
/// index, different term). AppendEntries that arrive late, twice or out of order hold
/// entries the follower already has, and must never truncate the entries after them.
#[test]
fn delayed_duplicated_or_reordered_appends_never_truncate_matching_entries() {
    let mut net: CoreNet = CoreNet::new(3);
    net.elect(0);
    // The leader hears nothing back, so nothing new commits and node 1 keeps commit
    // index 1: the check below is not hidden by "skip what is already committed".
    net.isolate(2);
    net.block(|e| (e.from, e.to) == (1, 0));
    net.propose(0, 10).unwrap(); // index 2, in AppendEntries #1 (prev 1)
    net.propose(0, 11).unwrap(); // index 3, in AppendEntries #2 (prev 2), pipelined
    let held = net.take_matching(|e| e.to == 1 && is_append(e));
    assert_eq!(held.len(), 2);
    let (first, second) = (held[0].clone(), held[1].clone());
    let deliver_to_1 = |net: &mut CoreNet, env| {
        net.inject(env);
        net.deliver_matching(|e| e.to == 1);
    };

    // Reordered: #2 first (rejected: node 1 lacks index 2), then #1, then #2 again.
    deliver_to_1(&mut net, second.clone());
    assert_eq!(net.log_terms(1), vec![1]);
    deliver_to_1(&mut net, first.clone());
    deliver_to_1(&mut net, second.clone());
    assert_eq!(net.log_terms(1), vec![1, 1, 1]);
    assert_eq!(net.node(1).commit_index(), 1);

    // #1 again, late, after #2: it holds index 2 only, and index 3 must survive. Then
    // both once more, duplicated. Nothing is deleted or even rewritten.
    for env in [first.clone(), second, first] {
        deliver_to_1(&mut net, env);
        assert_eq!(net.log_terms(1), vec![1, 1, 1]);
        assert_eq!(
            net.last_ready(1).unwrap().log_dirty_from,
            None,
            "nothing rewritten"
        );
    }
    assert!(truncations(&net, 1).is_empty());
    assert_eq!(net.node(1).commit_index(), 1);

    // The leader learns it all once the lost acknowledgements make it re-send (two
    // heartbeat intervals: see the retransmission test).
    net.recover();
    for _ in 0..2 {
        net.tick_heartbeat(0);
        net.deliver_all();
    }
    assert_eq!(net.node(0).progress()[&1].match_index, 3);
    assert_eq!(net.node(0).commit_index(), 3);
}

/// §5.3: a follower's uncommitted entries that conflict with the leader's are deleted,
/// with everything after them, and replaced; what it persisted follows suit.
#[test]
fn a_real_conflict_truncates_the_uncommitted_suffix() {
    let mut net: CoreNet = CoreNet::new(3);
    net.elect(0);
    net.isolate(0);
    net.propose(0, 1).unwrap();
    net.propose(0, 2).unwrap();
    net.elect(1);
    net.propose(1, 3).unwrap();
    net.deliver_all();
    net.recover();
    net.tick_heartbeat(1);
    net.deliver_all();
    assert_eq!(truncations(&net, 0), vec![(2, 3, vec![1])]);
    for id in 0..3 {
        assert_eq!(net.log_terms(id), vec![1, 2, 2], "n{id}");
        let persisted: Vec<Term> = net
            .persisted(id)
            .log
            .entries()
            .iter()
            .map(|e| e.term)
            .collect();
        assert_eq!(persisted, net.log_terms(id), "n{id}'s stable storage");
    }
}

/// §5.3's optimization (the follower's conflict term and its first index, as in the
/// 6.824 labs): a follower whose last 60 entries conflict, or who lacks 60 entries, is
/// repaired in two AppendEntries (one rejection, one fix), not sixty.
#[test]
fn fast_backtracking_repairs_a_follower_60_entries_off_in_two_appends() {
    let t = |term: Term, n: usize| vec![term; n];
    let leader: Vec<Term> = [vec![1], t(3, 60)].concat();
    let mixed: Vec<Term> = [vec![1], t(2, 10), t(3, 50)].concat();
    let no_truncation: Vec<Truncation> = vec![];
    let cases = [
        // The follower's conflicting term (2) is absent from the leader's log: skip it.
        (
            "60 conflicting",
            leader.clone(),
            [vec![1], t(2, 60)].concat(),
            vec![(2, 61, vec![2])],
        ),
        // The follower's log is too short: retry after its last entry.
        ("60 missing", leader.clone(), vec![1], no_truncation),
        // The leader holds the conflicting term too: retry after its last entry of it.
        (
            "mixed",
            mixed.clone(),
            [vec![1], t(2, 60)].concat(),
            vec![(12, 61, vec![2])],
        ),
    ];
    for (name, leader_log, follower_log, truncated) in cases {
        let mut net: CoreNet = CoreNet::with_logs(&[&leader_log, &leader_log, &follower_log]);
        net.elect(0);
        let mut want = leader_log.clone();
        want.push(4); // the new leader's no-op
        assert_eq!(net.log_terms(2), want, "{name}");
        assert_eq!(truncations(&net, 2), truncated, "{name}");
        let appends = net.count_delivered(|e| e.from == 0 && e.to == 2 && is_append(e));
        assert_eq!(appends, 2, "{name}: AppendEntries to repair the follower");
    }
}

/// Retransmission: an AppendEntries lost while the leader streams to a follower
/// (Replicate) is sent again once a heartbeat interval passes in which the follower
/// acknowledged nothing new. Heartbeat replies that merely confirm the old match index
/// must not count as progress, or the entry is never re-sent to that follower.
#[test]
fn a_lost_append_is_resent_after_a_heartbeat_interval_without_progress() {
    let mut net: CoreNet = CoreNet::new(3);
    net.elect(0);
    net.propose(0, 5).unwrap();
    assert_eq!(net.drop_matching(|e| e.to == 2 && is_append(e)), 1);
    net.deliver_all();
    assert_eq!(net.node(0).commit_index(), 2);
    assert_eq!(net.log_terms(2), vec![1]);
    // The interval in which the entry was sent saw the no-op acknowledged; the next one
    // sees only a heartbeat answered, so the entry goes out again.
    net.tick_heartbeat(0);
    net.deliver_all();
    net.tick_heartbeat(0);
    net.deliver_all();
    assert_eq!(net.log_terms(2), vec![1, 1], "{}", net.describe());
    assert_eq!(net.node(0).progress()[&2].match_index, 2);
}

/// A follower that crashes keeps exactly what it persisted (term, vote, log) and loses
/// the rest (commit index, applied state), which the leader's next heartbeat restores.
#[test]
fn a_restarted_follower_comes_back_with_its_persisted_state() {
    let mut net: CoreNet = CoreNet::new(3);
    net.elect(0);
    net.propose(0, 1).unwrap();
    net.deliver_all();
    net.tick_heartbeat(0);
    net.deliver_all();
    let before = (
        net.node(1).term(),
        net.node(1).voted_for(),
        net.log_terms(1),
    );
    assert_eq!(net.node(1).commit_index(), 2);
    net.crash(1);
    net.restart(1);
    assert_eq!(
        (
            net.node(1).term(),
            net.node(1).voted_for(),
            net.log_terms(1)
        ),
        before
    );
    assert_eq!(net.node(1).commit_index(), 0, "volatile");
    assert!(net.applied(1).is_empty());
    net.tick_heartbeat(0);
    net.deliver_all();
    assert_eq!(net.node(1).commit_index(), 2);
    assert_eq!(net.applied_commands(1), vec![1], "re-applied from the log");
}

// ---- seeded chaos ----------------------------------------------------------------------

/// Checks Log Matching (§5.3) between every two live nodes: where two logs hold an entry
/// with the same index and term, they agree on every entry before it.
fn assert_log_matching(net: &CoreNet<u64, Vec<u64>>, seed: u64) {
    let ids: Vec<NodeId> = net.nodes.keys().copied().collect();
    for (k, &a) in ids.iter().enumerate() {
        for &b in &ids[k + 1..] {
            let (la, lb) = (net.node(a).log(), net.node(b).log());
            let lo = la.snapshot_index().max(lb.snapshot_index());
            let hi = la.last_index().min(lb.last_index());
            if let Some(i) = (lo + 1..=hi)
                .rev()
                .find(|&i| la.term_at(i) == lb.term_at(i))
            {
                for j in lo + 1..=i {
                    assert_eq!(
                        la.term_at(j),
                        lb.term_at(j),
                        "seed {seed}: Log Matching broken between n{a} and n{b} at {j}\n{}",
                        net.describe()
                    );
                }
            }
        }
    }
}

/// One seeded run: random deliveries (reordered), drops, duplicates, timer ticks,
/// proposals, crashes and restarts, compactions, isolations, leadership transfers, clock
/// moves and slow disks; then everything heals and the cluster must converge. The testkit checks
/// Election Safety and State Machine Safety on every step, the core its own invariants.
fn chaos_run(seed: u64, n: usize, cfg: RaftConfig, steps: usize) {
    use rand::{rngs::SmallRng, Rng, SeedableRng};
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut net: CoreNet<u64, Vec<u64>> = CoreNet::with_config(n, cfg);
    let mut now = std::time::Duration::ZERO;
    for step in 0..steps as u64 {
        let id = rng.gen_range(0..n);
        let live = !net.is_crashed(id);
        let in_flight = net.queue.len();
        match rng.gen_range(0..100) {
            0..=49 if in_flight > 0 => {
                // Deliver one of the oldest few: messages overtake each other.
                let env = net
                    .queue
                    .remove(rng.gen_range(0..in_flight.min(4)))
                    .unwrap();
                net.queue.push_front(env);
                net.deliver_one();
            }
            50..=52 if in_flight > 0 => {
                net.queue.remove(rng.gen_range(0..in_flight));
            }
            53..=55 if in_flight > 0 => {
                let env = net.queue[rng.gen_range(0..in_flight)].clone();
                net.inject(env);
            }
            56..=58 if live => net.tick_election(id),
            59..=70 if live => net.tick_heartbeat(id),
            71..=85 if live => {
                let _ = net.propose(id, step);
            }
            86 => net.crash(id),
            87..=89 if !live => net.restart(id),
            90..=92 if live => {
                let applied = net.node(id).handed_out();
                if applied > net.node(id).log().snapshot_index() + 2 {
                    net.compact(id, applied - 1, vec![]);
                }
            }
            93 => net.isolate(id),
            94 | 95 => net.recover(),
            96 if live => {
                let _ = net.transfer_leadership(id, rng.gen_range(0..n));
            }
            97 if live => net.restart(id),
            98 => {
                now += std::time::Duration::from_millis(rng.gen_range(10..100));
                net.set_now(now);
            }
            // A slow disk: writes acknowledged late, in bursts, or at once again.
            99 if live => match rng.gen_range(0..3) {
                0 => net.hold_writes(id),
                1 => {
                    net.ack_writes(id);
                }
                _ => net.release_writes(id),
            },
            _ => {}
        }
        assert_log_matching(&net, seed);
    }
    // Heal: every node up and connected, every lease long expired. Then time out nodes
    // in turn until a leader commits a fresh entry everywhere.
    net.recover();
    for id in 0..n {
        if net.is_crashed(id) {
            net.restart(id);
        }
        net.release_writes(id);
    }
    net.set_now(now + std::time::Duration::from_secs(10));
    net.deliver_all();
    for round in 0..40u64 {
        let Some(l) = net.leader() else {
            net.tick_election(round as usize % n);
            net.deliver_all();
            continue;
        };
        let _ = net.propose(l, u64::MAX - round);
        net.deliver_all();
        for _ in 0..3 {
            net.tick_heartbeat(l);
            net.deliver_all();
        }
        let want = (net.node(l).log().last_index(), net.node(l).term());
        if (0..n).all(|id| (net.node(id).commit_index(), net.node(id).term()) == want) {
            return;
        }
    }
    panic!(
        "seed {seed}: the healed cluster did not converge\n{}",
        net.describe()
    );
}

/// Seeded chaos over the plain algorithm, PreVote, CheckQuorum, and both with tiny
/// batches and pipelines. Deterministic: a failure names its seed, which replays it.
#[test]
fn seeded_chaos_runs_keep_raft_safe_and_converge_once_healed() {
    let configs = [
        RaftConfig::figure2(),
        RaftConfig {
            pre_vote: true,
            ..RaftConfig::figure2()
        },
        RaftConfig {
            check_quorum: true,
            ..RaftConfig::figure2()
        },
        RaftConfig {
            pre_vote: true,
            check_quorum: true,
            max_entries_per_append: 2,
            max_inflight_appends: 2,
            ..RaftConfig::figure2()
        },
    ];
    for seed in 0..60u64 {
        for (k, cfg) in configs.iter().enumerate() {
            let n = if seed % 2 == 0 { 3 } else { 5 };
            chaos_run(seed * 10 + k as u64, n, cfg.clone(), 1000);
        }
    }
}

/// AppendEntries rule 2 holds for a follower even below its commit index. Entries up to
/// the commit index are skipped as already held, but the consistency check at
/// `prevLogIndex` still compares the leader's `prevLogTerm`, not the follower's own term
/// at that index. Only an unsafe switch can bring a leader whose log disagrees with a
/// committed entry; the follower must then refuse it (and a heartbeat from it) rather
/// than accept and break Log Matching.
#[test]
fn a_follower_checks_prev_log_term_below_its_commit_index() {
    let mut cfg = RaftConfig::figure2();
    cfg.unsafe_skip_election_restriction = true;
    let mut net: CoreNet = CoreNet::with_logs_at(cfg, 1, &[&[1, 1], &[1, 1], &[]]);
    // n1 leads term 1 and tells n0 that both entries are committed.
    let append = |term: Term, leader: NodeId, prev: (Index, Term), entries, commit| {
        raftsim::message::Envelope {
            from: leader,
            to: 0,
            msg: Message::AppendEntries {
                term,
                leader_id: leader,
                prev_log_index: prev.0,
                prev_log_term: prev.1,
                entries,
                leader_commit: commit,
                read_seq: 0,
            },
        }
    };
    net.inject(append(1, 1, (2, 1), Vec::new().into(), 2));
    net.deliver_all();
    assert_eq!(net.node(0).commit_index(), 2);

    // A leader of term 3 claims entry 1 has term 2 (n0's is term 1): refuse, both a
    // heartbeat and an append that would overwrite committed entry 2.
    let replies = |net: &mut CoreNet| -> Vec<bool> {
        net.take_matching(|e| e.to == 2)
            .into_iter()
            .filter_map(|e| match e.msg {
                Message::AppendEntriesReply { success, .. } => Some(success),
                _ => None,
            })
            .collect()
    };
    net.inject(append(3, 2, (1, 2), Vec::new().into(), 0));
    net.deliver_one();
    assert_eq!(
        replies(&mut net),
        vec![false],
        "heartbeat with a wrong prevLogTerm"
    );
    let entry = raftsim::log::Entry::command(3, 2, 99);
    net.inject(append(3, 2, (1, 2), vec![entry].into(), 0));
    net.deliver_one();
    assert_eq!(
        replies(&mut net),
        vec![false],
        "append with a wrong prevLogTerm"
    );
    assert_eq!(net.log_terms(0), vec![1, 1], "n0's committed entries stay");
    assert!(truncations(&net, 0).is_empty());
}
