//! The live safety checker (`raftsim::safety`), fed hand-made core states and steps that
//! break each property of the paper's Figure 3 on purpose, plus steps of real cores on
//! the testkit: a leadership won and lost inside one batch, snapshots, and the memory
//! the checker keeps over a long run with compaction.
//!
//! The unsafe teaching switches are caught on whole scenarios in `tests/scenarios.rs`
//! (Figure 8: Leader Completeness and State Machine Safety; a double vote: Election
//! Safety); here each property is broken alone.

use std::collections::BTreeMap;
use std::sync::Arc;

use raftsim::log::{Entry, Payload, RaftLog, Snapshot};
use raftsim::membership::Membership;
use raftsim::message::{Envelope, Message};
use raftsim::raft::{self, Emitted, HardState, Persisted, Raft, RaftConfig, Ready};
use raftsim::safety::{Property, SafetyChecker, StepOutput};
use raftsim::testkit::{is_vote, log_from_terms, CoreNet};
use raftsim::trace::Trace;
use raftsim::{Index, NodeId, Role, Term};

type Core = Raft<u64, ()>;

fn checker() -> SafetyChecker<u64> {
    SafetyChecker::new(Arc::new(Trace::new(true, false, 1000)))
}

fn properties(c: &SafetyChecker<u64>) -> Vec<Property> {
    c.violations().iter().map(|v| v.property).collect()
}

fn descriptions(c: &SafetyChecker<u64>) -> String {
    let d: Vec<String> = c.violations().iter().map(|v| v.to_string()).collect();
    d.join("\n")
}

/// A step that said nothing, wrote nothing and applied nothing.
/// A core event as a step's output carries it (the checker reads the event, not the
/// role and term it was emitted in).
fn emitted(event: raft::Event) -> Emitted {
    Emitted {
        role: Role::Follower,
        term: 0,
        event,
    }
}

fn quiet() -> StepOutput<'static, u64> {
    StepOutput {
        events: &[],
        log_dirty_from: None,
        committed: &[],
    }
}

/// Node `id`, a follower in `term` holding `log` (and the snapshot its log starts
/// after, if any), alone in its configuration so that it wins any election it starts.
fn core(id: NodeId, term: Term, log: RaftLog<u64>) -> Core {
    let snapshot = (log.snapshot_index() > 0).then(|| Snapshot {
        last_index: log.snapshot_index(),
        last_term: log.snapshot_term(),
        membership: Membership::new([id]),
        data: (),
    });
    let persisted = Persisted {
        hard_state: HardState {
            current_term: term,
            voted_for: None,
        },
        log,
        snapshot,
    };
    Raft::new(id, Membership::new([id]), RaftConfig::figure2(), persisted)
}

/// Node `id`, a follower in `term` holding `log`, in a configuration of nodes 0..5 (its
/// snapshot's too, if its log starts after one).
fn follower(id: NodeId, term: Term, log: RaftLog<u64>) -> Core {
    let all = Membership::new(0..5);
    let snapshot = (log.snapshot_index() > 0).then(|| Snapshot {
        last_index: log.snapshot_index(),
        last_term: log.snapshot_term(),
        membership: all.clone(),
        data: (),
    });
    let persisted = Persisted {
        hard_state: HardState {
            current_term: term,
            voted_for: None,
        },
        log,
        snapshot,
    };
    Raft::new(id, all, RaftConfig::figure2(), persisted)
}

/// `core(id, term, log)` after its election timer fired: the leader of `term + 1`, with
/// its no-op appended, and the Ready of that step.
fn lone_leader(id: NodeId, term: Term, log: RaftLog<u64>) -> (Core, Ready<u64, ()>) {
    let mut c = core(id, term, log);
    c.tick_election();
    let mut ready = c.take_ready();
    assert_eq!((c.role(), c.term()), (Role::Leader, term + 1));
    // As a runtime would: the write of its no-op is durable, so the lone leader counts
    // itself and commits; the step's output is both halves.
    if let Some((index, term)) = ready.persist_to {
        c.on_persist_entries(index, term);
        let after = c.take_ready();
        ready.committed.extend(after.committed);
        ready.events.extend(after.events);
    }
    (c, ready)
}

fn cmd(term: Term, index: Index, c: u64) -> Entry<u64> {
    Entry::command(term, index, c)
}

/// §5.2: two nodes lead one term.
#[test]
fn election_safety_two_leaders_of_one_term_are_reported() {
    let mut c = checker();
    let (a, ready) = lone_leader(0, 0, RaftLog::default());
    c.observe_step(0, 1, &a, StepOutput::of(&ready));
    assert!(c.violations().is_empty(), "{}", descriptions(&c));
    let (b, ready) = lone_leader(1, 0, RaftLog::default());
    c.observe_step(1, 1, &b, StepOutput::of(&ready));
    assert_eq!(properties(&c), vec![Property::ElectionSafety]);
    assert!(c.violations()[0]
        .description
        .contains("n0 and n1 are both leaders of term 1"));
}

/// A node wins term 1 and, in the same batch of inputs, sees term 2 and has its no-op
/// overwritten by the new leader: at the end of the batch it is a follower of term 2.
/// The checker still saw it lead term 1, so a second leader of term 1 is caught; and
/// the overwritten log raises no false alarm.
#[test]
fn a_leadership_won_and_lost_inside_one_batch_is_seen() {
    let mut net: CoreNet = CoreNet::new(3);
    net.tick_election(0);
    net.deliver_matching(|e| matches!(e.msg, Message::RequestVote { .. }));
    let replies: Vec<Envelope<u64, ()>> = net.take_matching(is_vote);
    assert_eq!(replies.len(), 2, "both peers answered");
    let newer = Message::AppendEntries {
        term: 2,
        leader_id: 1,
        prev_log_index: 0,
        prev_log_term: 0,
        entries: vec![Entry {
            term: 2,
            index: 1,
            payload: Payload::Noop,
        }]
        .into(),
        leader_commit: 0,
        read_seq: 0,
    };
    // One batch: the vote replies, then the new leader's AppendEntries.
    net.update(0, |r| {
        for env in replies {
            r.step(env.from, env.msg);
        }
        r.step(1, newer);
    });
    let n0 = net.node(0);
    assert_eq!((n0.role(), n0.term()), (Role::Follower, 2));
    let ready = net.last_ready(0).expect("a Ready");
    assert!(ready.events.iter().any(|e| matches!(
        e.event,
        raft::Event::RoleChanged {
            to: Role::Leader,
            term: 1,
            ..
        }
    )));
    assert!(ready
        .events
        .iter()
        .any(|e| matches!(e.event, raft::Event::Truncated { from: 1, .. })));

    let mut c = checker();
    c.observe_step(0, 1, n0, StepOutput::of(ready));
    assert!(c.violations().is_empty(), "{}", descriptions(&c));
    let (other, ready) = lone_leader(1, 0, RaftLog::default());
    c.observe_step(1, 1, &other, StepOutput::of(&ready));
    assert_eq!(
        properties(&c),
        vec![Property::ElectionSafety],
        "{}",
        descriptions(&c)
    );
}

/// n0 of three has just won term 1 (its no-op appended, not yet sent, nothing
/// committed).
fn elected_among_three() -> CoreNet {
    let mut net: CoreNet = CoreNet::new(3);
    net.tick_election(0);
    net.deliver_matching(|e| matches!(e.msg, Message::RequestVote { .. }));
    net.deliver_matching(|e| matches!(e.msg, Message::RequestVoteReply { .. }));
    assert_eq!(net.node(0).role(), Role::Leader);
    net
}

/// §5.3: a leader that, still leading the same term, no longer holds an entry it held;
/// and one that truncates its own log.
#[test]
fn leader_append_only_a_leader_losing_an_entry_is_reported() {
    let mut c = checker();
    let mut net = elected_among_three();
    c.observe_step(
        0,
        1,
        net.node(0),
        StepOutput::of(net.last_ready(0).expect("won")),
    );
    net.propose(0, 7).expect("the leader accepts");
    c.observe_step(
        0,
        1,
        net.node(0),
        StepOutput::of(net.last_ready(0).expect("proposed")),
    );
    assert_eq!(net.node(0).log().last_index(), 2);
    assert!(c.violations().is_empty(), "{}", descriptions(&c));

    // The same node, same run, same term, its proposal gone without a word.
    let net = elected_among_three();
    let shorter = net.node(0);
    c.observe_step(0, 1, shorter, quiet());
    assert_eq!(properties(&c), vec![Property::LeaderAppendOnly]);
    assert!(c.violations()[0]
        .description
        .contains("leader n0 of term 1 lost or changed its entry 2"));

    // A leader saying it deleted entries.
    let truncated = [emitted(raft::Event::Truncated {
        from: 2,
        to: 2,
        terms: vec![1],
        leader: 0,
    })];
    let out = StepOutput {
        events: &truncated,
        ..quiet()
    };
    c.observe_step(0, 1, shorter, out);
    assert_eq!(
        properties(&c),
        vec![Property::LeaderAppendOnly, Property::LeaderAppendOnly]
    );
    assert!(c.violations()[1]
        .description
        .contains("deleted its entries 2..=2"));
}

/// §5.3: two entries with the same index and term but different commands; then two
/// equal entries whose predecessors differ.
#[test]
fn log_matching_different_entries_under_one_index_and_term_are_reported() {
    let mut c = checker();
    let wrote = StepOutput {
        log_dirty_from: Some(1),
        ..quiet()
    };
    let a = core(0, 1, RaftLog::from_parts(0, 0, vec![cmd(1, 1, 10)]));
    let b = core(1, 1, RaftLog::from_parts(0, 0, vec![cmd(1, 1, 20)]));
    c.observe_step(0, 1, &a, wrote);
    c.observe_step(1, 1, &b, wrote);
    assert_eq!(properties(&c), vec![Property::LogMatching]);
    assert!(c.violations()[0]
        .description
        .contains("two different entries at index 1 with term 1"));

    // Index 2, term 5, the same command on both; but t3 before it on one, t4 on the
    // other.
    let x = core(2, 5, log_from_terms(&[3, 5]));
    let y = core(3, 5, log_from_terms(&[4, 5]));
    c.observe_step(2, 1, &x, wrote);
    c.observe_step(3, 1, &y, wrote);
    assert_eq!(
        properties(&c),
        vec![Property::LogMatching, Property::LogMatching]
    );
    assert!(c.violations()[1]
        .description
        .contains("entries t5@2 agree but their predecessors' terms differ"));
}

/// §5.4: an entry committed (known from a commit index, never applied) and a node
/// without it winning a later term. A node whose snapshot covers it may win.
#[test]
fn leader_completeness_a_leader_without_a_committed_entry_is_reported() {
    let mut net: CoreNet = CoreNet::new(3);
    net.elect(0);
    net.propose(0, 5).expect("n0 leads");
    net.deliver_all();
    let n0 = net.node(0);
    assert_eq!((n0.term(), n0.commit_index()), (1, 2));
    let mut c = checker();
    // n0's log and commit index, shown without the entries applied: committed is
    // committed, applied or not.
    let wrote = StepOutput {
        log_dirty_from: Some(1),
        ..quiet()
    };
    c.observe_step(0, 1, n0, wrote);

    // A node holding a snapshot through t1@2 wins term 2: it holds everything committed.
    let (covered, ready) = lone_leader(3, 1, RaftLog::from_parts(2, 1, Vec::new()));
    c.observe_step(3, 1, &covered, StepOutput::of(&ready));
    assert!(c.violations().is_empty(), "{}", descriptions(&c));

    // A node holding only the no-op wins term 3: index 2 holds its own no-op instead.
    let stale = RaftLog::from_parts(0, 0, vec![n0.log().get(1).expect("no-op").clone()]);
    let (missing, ready) = lone_leader(4, 2, stale);
    c.observe_step(4, 1, &missing, StepOutput::of(&ready));
    // Alone in its configuration, it also commits and applies its no-op at index 2 at
    // once: State Machine Safety breaks with it.
    assert_eq!(
        properties(&c),
        vec![Property::LeaderCompleteness, Property::StateMachineSafety]
    );
    assert!(
        c.violations()[0].description.contains(
            "n4 won term 3 without committed entry t1@2 (its log has a term-3 entry there)"
        ),
        "{}",
        descriptions(&c)
    );
}

/// §5.4.3: two nodes apply different entries at one index.
#[test]
fn state_machine_safety_different_entries_applied_at_one_index_are_reported() {
    let mut c = checker();
    let a = core(0, 1, RaftLog::default());
    let b = core(1, 2, RaftLog::default());
    let first = [cmd(1, 1, 10)];
    let second = [cmd(2, 1, 20)];
    c.observe_step(
        0,
        1,
        &a,
        StepOutput {
            committed: &first,
            ..quiet()
        },
    );
    c.observe_step(
        1,
        1,
        &b,
        StepOutput {
            committed: &second,
            ..quiet()
        },
    );
    assert_eq!(properties(&c), vec![Property::StateMachineSafety]);
    assert!(c.violations()[0]
        .description
        .contains("n1 applied t2@1 Command(20), but t1@1 Command(10) was applied there before"));
}

/// §5.4.3 and §7: a snapshot counts as applying everything it covers. Installed or
/// restarted from, its last (index, term) must be what was applied there; and the log
/// that (index, term) names must hold the committed entries below it.
#[test]
fn state_machine_safety_covers_snapshots_installed_and_restored() {
    let mut c = checker();
    // n0 wrote and applied t1@1, t1@2.
    let a = follower(0, 1, log_from_terms(&[1, 1]));
    let applied = a.log().entries().to_vec();
    c.observe_step(
        0,
        1,
        &a,
        StepOutput {
            log_dirty_from: Some(1),
            committed: &applied,
            ..quiet()
        },
    );
    assert!(c.violations().is_empty(), "{}", descriptions(&c));

    // n1 installs a snapshot through t2@2.
    let b = follower(1, 2, RaftLog::from_parts(2, 2, Vec::new()));
    let installed = [emitted(raft::Event::SnapshotInstalled {
        leader: 3,
        last_index: 2,
        last_term: 2,
    })];
    c.observe_step(
        1,
        1,
        &b,
        StepOutput {
            events: &installed,
            ..quiet()
        },
    );
    assert_eq!(properties(&c), vec![Property::StateMachineSafety]);
    assert!(
        c.violations()[0].description.contains(
            "n1 installed a snapshot through t2@2, but t1@2 Command(2) was applied there before"
        ),
        "{}",
        descriptions(&c)
    );

    // n2 restarts from the same snapshot (found on stable storage, no event).
    let d = follower(2, 2, RaftLog::from_parts(2, 2, Vec::new()));
    c.observe_step(2, 3, &d, quiet());
    assert_eq!(c.violations().len(), 2, "{}", descriptions(&c));
    assert!(c.violations()[1]
        .description
        .contains("n2 restarted from a snapshot through t2@2"));

    // n3 wrote t2@2, t2@3 (a log that diverged at 2), then installs a snapshot through
    // t2@3: its last entry was never applied anywhere, but the log it names holds t2 at
    // index 2, where t1@2 is committed.
    let e = follower(3, 2, log_from_terms(&[1, 2, 2]));
    c.observe_step(
        3,
        1,
        &e,
        StepOutput {
            log_dirty_from: Some(1),
            ..quiet()
        },
    );
    assert_eq!(
        c.violations().len(),
        2,
        "a divergent uncommitted log is fine"
    );
    let f = follower(3, 2, RaftLog::from_parts(3, 2, Vec::new()));
    let installed = [emitted(raft::Event::SnapshotInstalled {
        leader: 4,
        last_index: 3,
        last_term: 2,
    })];
    c.observe_step(
        3,
        1,
        &f,
        StepOutput {
            events: &installed,
            ..quiet()
        },
    );
    assert_eq!(c.violations().len(), 3, "{}", descriptions(&c));
    assert!(
        c.violations()[2].description.contains(
            "n3 installed a snapshot through t2@3, whose log holds t2 at 2, but t1@2 is committed"
        ),
        "{}",
        descriptions(&c)
    );
}

/// A `CoreNet` whose every step the checker sees, as the node runtime shows it.
struct Checked {
    net: CoreNet,
    checker: SafetyChecker<u64>,
    incarnation: BTreeMap<NodeId, u64>,
}

impl Checked {
    fn new(n: usize) -> Self {
        Checked {
            net: CoreNet::new(n),
            checker: checker(),
            incarnation: (0..n).map(|id| (id, 1)).collect(),
        }
    }

    fn observe(&mut self, id: NodeId) {
        let (Some(core), Some(ready)) = (self.net.nodes.get(&id), self.net.last_ready(id)) else {
            return;
        };
        let inc = self.incarnation[&id];
        self.checker
            .observe_step(id, inc, core, StepOutput::of(ready));
    }

    fn deliver_all(&mut self) {
        while let Some(to) = self.net.queue.front().map(|e| e.to) {
            if self.net.deliver_one() == Some(true) {
                self.observe(to);
            }
        }
    }

    /// The leader takes `n` commands, replicates and commits them, and every live node
    /// hears of the commit and compacts its log through what it applied.
    fn round(&mut self, n: u64) {
        for k in 0..n {
            self.net.propose(0, k).expect("n0 leads");
            self.observe(0);
        }
        self.deliver_all();
        self.net.tick_heartbeat(0);
        self.observe(0);
        self.deliver_all();
        let live: Vec<NodeId> = self.net.nodes.keys().copied().collect();
        for id in live {
            let applied = self.net.node(id).handed_out();
            // Like the runtime, which shows the checker a compaction with the next step.
            self.net.compact(id, applied, ());
        }
    }
}

/// Over a long run with compaction, the checker keeps records only above what every
/// node compacted. A crashed node holds that floor down (it restarts from its snapshot
/// and may apply what follows it); once it is back and has compacted, the floor rises.
#[test]
fn the_checker_forgets_what_every_node_compacted() {
    let mut k = Checked::new(3);
    k.net.tick_election(0);
    k.observe(0);
    k.deliver_all();
    for _ in 0..50 {
        k.round(20);
    }
    assert!(
        k.checker.violations().is_empty(),
        "{}",
        descriptions(&k.checker)
    );
    let last = k.net.node(0).log().last_index();
    assert!(last > 1000);
    assert!(
        k.checker.retained_indexes() <= 60,
        "kept {} indexes of {last}",
        k.checker.retained_indexes()
    );
    assert!(k.checker.forgotten_through() >= last - 60);

    k.net.crash(2);
    let held = k.checker.forgotten_through();
    for _ in 0..20 {
        k.round(20);
    }
    assert_eq!(
        k.checker.forgotten_through(),
        held,
        "the crashed node holds the floor"
    );
    assert!(k.checker.retained_indexes() >= 400);

    k.net.restart(2);
    *k.incarnation.get_mut(&2).expect("n2") += 1;
    for _ in 0..3 {
        k.round(5);
    }
    assert!(
        k.net.node(2).log().snapshot_index() > held,
        "n2 caught up through a snapshot"
    );
    assert!(
        k.checker.violations().is_empty(),
        "{}",
        descriptions(&k.checker)
    );
    assert!(k.checker.forgotten_through() > held + 400);
    assert!(k.checker.retained_indexes() <= 60);
}

/// Only the members of the latest configuration known committed hold the floor down: a
/// removed node does not, and a node seen later (new, catching up through the leader's
/// snapshot) does not lower it.
#[test]
fn removed_and_new_nodes_do_not_hold_the_floor_down() {
    let mut c = checker();
    let with = |id: NodeId, log: RaftLog<u64>, members: &[NodeId]| {
        let snapshot = (log.snapshot_index() > 0).then(|| Snapshot {
            last_index: log.snapshot_index(),
            last_term: log.snapshot_term(),
            membership: Membership::new(members.iter().copied()),
            data: (),
        });
        let persisted = Persisted {
            hard_state: HardState {
                current_term: 1,
                voted_for: None,
            },
            log,
            snapshot,
        };
        Raft::<u64, ()>::new(
            id,
            Membership::new(members.iter().copied()),
            RaftConfig::figure2(),
            persisted,
        )
    };
    // n2 holds nothing; n0 a snapshot through 4 made under {0, 1, 2}.
    c.observe_step(2, 1, &with(2, RaftLog::default(), &[0, 1, 2]), quiet());
    c.observe_step(
        0,
        1,
        &with(0, RaftLog::from_parts(4, 1, vec![]), &[0, 1, 2]),
        quiet(),
    );
    assert_eq!(c.forgotten_through(), 0);
    // n1's snapshot through 6 holds a configuration without n2: n2 was removed.
    c.observe_step(
        1,
        1,
        &with(1, RaftLog::from_parts(6, 1, vec![]), &[0, 1]),
        quiet(),
    );
    assert_eq!(c.forgotten_through(), 4);
    // A new node with an empty log does not bring the floor back down.
    c.observe_step(5, 1, &with(5, RaftLog::default(), &[0, 1, 5]), quiet());
    assert_eq!(c.forgotten_through(), 4);
    assert!(c.violations().is_empty(), "{}", descriptions(&c));
}
