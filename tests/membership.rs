//! Membership changes one server at a time (dissertation ch. 4) with the key/value
//! store: growing 3 -> 5 and shrinking back while clients write, removing the leader,
//! the refusals (last member, unknown node), a removed server that keeps running
//! (§4.2.3, stepped by hand on the pure core), and churn under faults.

mod harness;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use harness::{check_ledgers, write_until, KvCluster, StopOnDrop};
use raftsim::event::EventKind;
use raftsim::membership::Membership;
use raftsim::message::Envelope;
use raftsim::raft;
use raftsim::raft::{ConfigChange, Persisted, Raft, RaftConfig};
use raftsim::{Config, Error, NetConfig, NodeId, Role};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

/// The voters of the configuration the current leader uses.
fn voters(kv: &KvCluster) -> Vec<NodeId> {
    let l = kv.leader_now().0;
    kv.status(l).members
}

/// Three nodes grow to five while two clients append, then shrink back to three by
/// removing two of the original nodes. Every change returns once committed; the
/// configuration every member ends with is the expected one, every member holds the same
/// data, and each acknowledged append is there exactly once.
#[test]
fn grow_three_to_five_while_clients_write_then_shrink_back() {
    let kv = KvCluster::new(3, Config::fast(), 0x5_1001);
    kv.leader_now();
    let stop = AtomicBool::new(false);
    let (ledgers, added) = std::thread::scope(|s| {
        let _stop = StopOnDrop(&stop);
        let writers: Vec<_> = (0..2)
            .map(|w| {
                let (kv, stop) = (&kv, &stop);
                s.spawn(move || write_until(kv, w, &format!("key{w}"), stop, 20))
            })
            .collect();
        let mut added = Vec::new();
        for _ in 0..2 {
            let id = kv
                .add_node()
                .unwrap_or_else(|e| kv.fail(format!("add_node: {e}")));
            eprintln!("added n{id}; voters now {:?}", voters(&kv));
            added.push(id);
        }
        assert_eq!(voters(&kv), vec![0, 1, 2, added[0], added[1]]);
        for id in [0, 1] {
            kv.remove_node(id)
                .unwrap_or_else(|e| kv.fail(format!("remove_node({id}): {e}")));
            eprintln!("removed n{id}; voters now {:?}", voters(&kv));
        }
        stop.store(true, Ordering::Relaxed);
        let ledgers: Vec<_> = writers
            .into_iter()
            .map(|w| w.join().expect("writer"))
            .collect();
        (ledgers, added)
    });
    let (members, data) = kv.converged();
    assert_eq!(members, vec![2, added[0], added[1]]);
    assert_eq!(kv.ids(), members, "removed nodes are still listed");
    for &id in &members {
        let st = kv.status(id);
        assert_eq!(
            st.members, members,
            "n{id} uses another configuration: {st}"
        );
        assert!(
            st.learners.is_empty(),
            "n{id} still lists learners {:?}",
            st.learners
        );
    }
    let acked = check_ledgers(&data, &ledgers).unwrap_or_else(|e| kv.fail(e));
    kv.assert_linearizable();
    eprintln!("{acked} appends acknowledged across the changes");
    kv.assert_safe();
}

/// Removing the leader: it keeps leading until the change commits (without counting
/// itself), then steps down; the other two elect a new leader and writes continue.
#[test]
fn removing_the_leader_makes_it_step_down_and_the_rest_elect_a_new_one() {
    let kv = KvCluster::new(3, Config::fast(), 0x5_1002);
    let mut client = kv.client();
    client
        .put("a", "1")
        .unwrap_or_else(|e| kv.fail(format!("put a: {e}")));
    let (old, old_term) = kv.leader_now();
    let from = kv.trace_log().now_us();
    kv.remove_node(old)
        .unwrap_or_else(|e| kv.fail(format!("remove_node({old}) (the leader): {e}")));
    let events = kv.events_since(from);
    let stepped_down = events.iter().find(|e| {
        e.node == Some(old)
            && matches!(&e.kind, EventKind::Raft(raft::Event::RoleChanged { from: Role::Leader, to: Role::Follower, reason, .. })
                if reason.to_string().contains("no longer includes me"))
    });
    match stepped_down {
        Some(e) => eprintln!("the removed leader: {e}"),
        None => kv.fail(format!("n{old} did not step down because it was removed")),
    }
    client
        .put("b", "2")
        .unwrap_or_else(|e| kv.fail(format!("put b after the removal: {e}")));
    let (new, new_term) = kv.leader_now();
    assert_ne!(new, old);
    assert!(
        new_term > old_term,
        "n{new} leads t{new_term}, not above t{old_term}"
    );
    let (members, data) = kv.converged();
    assert_eq!(members.len(), 2);
    assert!(!members.contains(&old) && !kv.ids().contains(&old));
    assert_eq!(data.get("a").map(String::as_str), Some("1"));
    assert_eq!(data.get("b").map(String::as_str), Some("2"));
    eprintln!("n{new} leads t{new_term} of {members:?}");
    kv.assert_safe();
}

/// Removing the last member is refused with `Rejected`, and an unknown id with
/// `UnknownNode`; a refused change leaves the cluster working.
#[test]
fn removing_the_last_member_or_an_unknown_node_is_an_error() {
    let kv = KvCluster::new(2, Config::fast(), 0x5_1003);
    kv.leader_now();
    assert_eq!(kv.remove_node(99), Err(Error::UnknownNode(99)));
    let (leader, _) = kv.leader_now();
    let other = 1 - leader;
    kv.remove_node(other)
        .unwrap_or_else(|e| kv.fail(format!("remove_node({other}): {e}")));
    assert_eq!(kv.remove_node(other), Err(Error::UnknownNode(other)));
    match kv.remove_node(leader) {
        Err(Error::Rejected(why)) => eprintln!("removing the last member: {why}"),
        other => kv.fail(format!("removing the last member answered {other:?}")),
    }
    let mut client = kv.client();
    client
        .put("still", "here")
        .unwrap_or_else(|e| kv.fail(format!("put: {e}")));
    assert_eq!(kv.ids(), vec![leader]);
    assert_eq!(client.get("still"), Ok(Some("here".to_string())));
    kv.assert_safe();
}

/// §4.2.3: a server removed while it was cut off never learns it was removed, so it
/// keeps running, times out (nobody sends it heartbeats any more) and campaigns with
/// the old configuration. Stepped by hand on the pure core: with PreVote and the leader
/// lease its campaigns do not move anyone's term, and the leader keeps leading; in the
/// paper's plain algorithm the same campaign deposes the leader.
#[test]
fn a_removed_server_that_keeps_running_does_not_disrupt_the_cluster() {
    let protected = RaftConfig {
        pre_vote: true,
        check_quorum: true,
        ..RaftConfig::figure2()
    };
    let (leader_kept, terms) = removed_server_campaigns(protected);
    assert!(
        leader_kept,
        "with PreVote and CheckQuorum the removed server deposed the leader"
    );
    assert_eq!(terms, (1, 1, 1), "terms (n0, n1, n2) moved");

    let (leader_kept, terms) = removed_server_campaigns(RaftConfig::figure2());
    assert!(
        !leader_kept,
        "without PreVote and CheckQuorum the removed server should depose the leader"
    );
    assert!(terms.0 > 1, "the leader's term did not move: {terms:?}");
}

/// A few pure Raft cores and the messages between them, stepped by hand: after every
/// input the core's Ready is taken, its messages queued and its events kept. (No stable
/// storage: nobody crashes here.)
struct Cores {
    nodes: Vec<Raft<u64, ()>>,
    queue: VecDeque<Envelope<u64, ()>>,
    isolated: Option<NodeId>,
    events: Vec<(NodeId, raft::Event)>,
}

impl Cores {
    fn new(n: usize, cfg: RaftConfig) -> Self {
        let nodes = (0..n)
            .map(|id| Raft::new(id, Membership::new(0..n), cfg.clone(), Persisted::default()))
            .collect();
        Cores {
            nodes,
            queue: VecDeque::new(),
            isolated: None,
            events: Vec::new(),
        }
    }

    /// Gives node `id` an input, then carries out its Ready: a write is durable at once,
    /// and its acknowledgement may make a leader commit, which is carried out too.
    fn input<R>(&mut self, id: NodeId, f: impl FnOnce(&mut Raft<u64, ()>) -> R) -> R {
        let out = f(&mut self.nodes[id]);
        loop {
            self.nodes[id].broadcast_batched();
            let ready = self.nodes[id].take_ready();
            self.queue.extend(ready.messages);
            self.events
                .extend(ready.events.into_iter().map(|e| (id, e.event)));
            if let Some((index, term)) = ready.persist_to {
                self.nodes[id].on_persist_entries(index, term);
            }
            if !self.nodes[id].has_ready() {
                return out;
            }
        }
    }

    /// Delivers every message in flight, and those sent in response, oldest first;
    /// messages to or from the isolated node are lost.
    fn deliver_all(&mut self) {
        let mut delivered = 0;
        while let Some(Envelope { from, to, msg }) = self.queue.pop_front() {
            if self.isolated == Some(from) || self.isolated == Some(to) {
                continue;
            }
            self.input(to, |r| r.step(from, msg));
            delivered += 1;
            assert!(delivered < 10_000, "livelock");
        }
    }

    fn set_now(&mut self, now: Duration) {
        for n in &mut self.nodes {
            n.set_now(now);
        }
    }

    fn describe(&self) -> String {
        let lines: Vec<String> = self
            .nodes
            .iter()
            .map(|r| {
                format!(
                    "n{} {:?} t{} commit {} last {} voters {:?}",
                    r.id(),
                    r.role(),
                    r.term(),
                    r.commit_index(),
                    r.log().last_index(),
                    r.membership().voters
                )
            })
            .collect();
        lines.join("\n")
    }
}

/// Three cores; n0 leads term 1; n2 is cut off, removed, and reconnected; then for two
/// seconds of simulated time the leader sends heartbeats and ticks its CheckQuorum
/// timer, n1 (which stays a member) hears the leader, and n2's election timer fires
/// every 200 ms. Returns whether n0 led term 1 throughout, and the final terms.
fn removed_server_campaigns(cfg: RaftConfig) -> (bool, (u64, u64, u64)) {
    let plain = !cfg.pre_vote;
    let mut net = Cores::new(3, cfg);
    let ms = Duration::from_millis;
    net.set_now(ms(0));
    net.input(0, |r| r.tick_election());
    net.deliver_all();
    assert!(
        net.nodes[0].role() == Role::Leader && net.nodes[0].term() == 1,
        "n0 did not win term 1:\n{}",
        net.describe()
    );
    net.input(0, |r| r.propose(7)).expect("n0 leads");
    net.deliver_all();
    net.isolated = Some(2);
    let (index, _) = net
        .input(0, |r| r.propose_config(ConfigChange::Remove(2)))
        .expect("n0 can change the configuration");
    net.deliver_all();
    net.input(0, |r| r.tick_heartbeat());
    net.deliver_all();
    assert!(
        net.nodes[0].commit_index() >= index && net.nodes[1].commit_index() >= index,
        "the removal did not commit:\n{}",
        net.describe()
    );
    assert!(
        net.nodes[2].membership().is_voter(2),
        "n2 learned of its removal"
    );
    net.isolated = None;
    net.events.clear();

    let mut leader_kept = true;
    for round in 1..=40 {
        net.set_now(ms(50 * round));
        net.input(0, |r| r.tick_heartbeat());
        if round % 4 == 0 {
            net.input(2, |r| r.tick_election());
            net.input(0, |r| r.tick_election());
        }
        net.deliver_all();
        leader_kept &= net.nodes[0].role() == Role::Leader && net.nodes[0].term() == 1;
        if plain && !leader_kept {
            break;
        }
    }
    let refused = net
        .events
        .iter()
        .filter(|(id, e)| *id == 1 && matches!(e, raft::Event::VoteRefused { candidate: 2, .. }))
        .count();
    eprintln!(
        "pre_vote {}: n1 refused n2 {refused} times; leader kept: {leader_kept}\n{}",
        !plain,
        net.describe()
    );
    let t = |id: NodeId| net.nodes[id].term();
    (leader_kept, (t(0), t(1), t(2)))
}

/// Churn: twelve nodes are added or removed (keeping three to five voters) while two
/// clients append, nodes crash and restart, single nodes are partitioned off, and the
/// network drops and delays messages. Every change must commit; at the end every member
/// holds the same data, and each acknowledged append is there exactly once.
#[test]
fn membership_churn_under_faults() {
    let config = Config {
        snapshot_threshold: Some(50),
        ..Config::fast()
    };
    let kv = KvCluster::new(3, config, 0x5_1004);
    kv.leader_now();
    kv.set_net(NetConfig::unreliable()).expect("valid net");
    let stop = AtomicBool::new(false);
    let stop_faults = AtomicBool::new(false);
    let seed = kv.seed();
    let started = Instant::now();
    let ledgers = std::thread::scope(|s| {
        let _stop = (StopOnDrop(&stop), StopOnDrop(&stop_faults));
        let writers: Vec<_> = (0..2)
            .map(|w| {
                let (kv, stop) = (&kv, &stop);
                s.spawn(move || write_until(kv, w, &format!("key{w}"), stop, 20))
            })
            .collect();
        let faults = s.spawn(|| {
            let mut rng = StdRng::seed_from_u64(seed);
            let mut n = 0;
            while !stop_faults.load(Ordering::Relaxed) {
                let ids = kv.ids();
                let Some(&victim) = ids.choose(&mut rng) else {
                    continue;
                };
                if rng.gen_bool(0.5) {
                    kv.crash(victim);
                    std::thread::sleep(Duration::from_millis(rng.gen_range(50..200)));
                    kv.restart(victim);
                } else {
                    let rest: Vec<NodeId> = ids.iter().copied().filter(|&i| i != victim).collect();
                    kv.partition(&[&[victim], &rest]);
                    std::thread::sleep(Duration::from_millis(rng.gen_range(50..200)));
                    kv.heal();
                }
                n += 1;
                std::thread::sleep(Duration::from_millis(rng.gen_range(50..150)));
            }
            n
        });
        let mut rng = StdRng::seed_from_u64(seed ^ 0xC0FFEE);
        for _ in 0..12 {
            let members = kv.ids();
            let grow = match members.len() {
                0..=3 => true,
                5.. => false,
                _ => rng.gen_bool(0.5),
            };
            let at = || started.elapsed().as_millis();
            if grow {
                let id = kv
                    .add_node()
                    .unwrap_or_else(|e| kv.fail(format!("add_node: {e}")));
                eprintln!("{:>5} ms added n{id}", at());
            } else {
                let &id = members.choose(&mut rng).expect("members");
                kv.remove_node(id)
                    .unwrap_or_else(|e| kv.fail(format!("remove_node({id}): {e}")));
                eprintln!("{:>5} ms removed n{id}", at());
            }
        }
        stop_faults.store(true, Ordering::Relaxed);
        let faults = faults.join().expect("fault thread");
        kv.heal();
        kv.set_net(NetConfig::reliable()).expect("valid net");
        stop.store(true, Ordering::Relaxed);
        eprintln!("{faults} faults injected");
        writers
            .into_iter()
            .map(|w| w.join().expect("writer"))
            .collect::<Vec<_>>()
    });
    let (members, data) = kv.converged();
    assert_eq!(
        kv.ids(),
        members,
        "the harness and the configuration disagree"
    );
    let acked = check_ledgers(&data, &ledgers).unwrap_or_else(|e| kv.fail(e));
    kv.assert_linearizable();
    eprintln!(
        "members {members:?}; {acked} appends acknowledged in {:?}",
        started.elapsed()
    );
    kv.assert_safe();
}

/// The harness is shared by threads: a node that one thread removes while another keeps
/// crashing and restarting it is removed cleanly (no panic in the harness, no thread
/// left running), and the cluster goes on.
#[test]
fn removing_a_node_while_another_thread_restarts_it() {
    let kv = KvCluster::new(3, Config::fast(), 0x5_1005);
    kv.leader_now();
    let victim = (kv.leader_now().0 + 1) % 3;
    let stop = AtomicBool::new(false);
    let restarts = std::thread::scope(|s| {
        let _stop = StopOnDrop(&stop);
        let restarter = s.spawn(|| {
            let mut n = 0;
            while kv.ids().contains(&victim) && !stop.load(Ordering::Relaxed) {
                kv.restart(victim);
                n += 1;
            }
            n
        });
        kv.remove_node(victim)
            .unwrap_or_else(|e| kv.fail(format!("remove_node({victim}): {e}")));
        restarter.join().expect("the restarting thread panicked")
    });
    eprintln!("n{victim} was restarted {restarts} times while being removed");
    assert!(!kv.ids().contains(&victim));
    kv.restart(victim); // a removed node cannot come back
    assert!(!kv.ids().contains(&victim));
    let mut client = kv.client();
    client
        .put("after", "removal")
        .unwrap_or_else(|e| kv.fail(format!("put: {e}")));
    let (members, _) = kv.converged();
    assert_eq!(members.len(), 2);
    kv.assert_safe();
}

/// §4.2.1: a learner that cannot catch up is not promoted. Here it is cut off before it
/// joins (its id is the next fresh one), so it never receives an entry; `add_node` must
/// fail, remove it, and leave three voters, so one more failure does not stop writes.
/// (Before, it was promoted after its rounds ran out: four voters, one of them absent.)
#[test]
fn a_learner_that_never_catches_up_is_removed_not_promoted() {
    let config = raftsim::Config {
        seed: Some(5),
        ..raftsim::Config::default().simulated()
    };
    let c: raftsim::Cluster<raftsim::state_machine::Recorder<u64>> =
        raftsim::Cluster::with_config(3, config);
    c.wait_for_leader(std::time::Duration::from_secs(5))
        .unwrap();
    c.disconnect(3); // the id add_node will give
    let err = c.add_node().expect_err("a learner cut off cannot catch up");
    assert!(err.to_string().contains("did not catch up"), "{err}");
    assert_eq!(c.ids(), vec![0, 1, 2]);
    let leader = c
        .wait_for_leader(std::time::Duration::from_secs(5))
        .unwrap();
    assert_eq!(c.status(leader).members, vec![0, 1, 2]);
    // One more failure: two of three voters still commit.
    let follower = (0..3).find(|&n| n != leader).unwrap();
    c.crash(follower);
    c.propose_and_wait(1, 2, std::time::Duration::from_secs(5))
        .expect("a majority of the three voters still commits");
    c.assert_safe();
}

/// Dissertation §4.2.2: "a server that is not part of its own latest configuration should
/// still start new elections, as it might still be needed until the Cnew entry is
/// committed". Two voters; n0 leads and appends C_new = {n1} (its own removal), which n1
/// never receives; n0 restarts. n1 cannot win: n0's log is longer, so n0 refuses it. If
/// n0 kept quiet because C_new leaves it out, nobody could ever lead (the seed explorer
/// found this deadlock after a long run of membership changes). n0 must campaign, win
/// with n1's vote alone (it does not count its own), commit C_new and step down; n1 then
/// leads alone. With the paper's plain algorithm and with PreVote and CheckQuorum.
#[test]
fn a_server_its_uncommitted_configuration_removes_still_campaigns() {
    use raftsim::testkit::CoreNet;
    for cfg in [RaftConfig::figure2(), RaftConfig::default()] {
        let mut net: CoreNet = CoreNet::with_config(2, cfg.clone());
        net.elect(0);
        net.isolate(1);
        let (index, _) = net
            .update(0, |r| r.propose_config(ConfigChange::Remove(0)))
            .expect("n0 leads and has committed an entry of its term");
        net.deliver_all();
        assert!(!net.node(0).membership().is_voter(0), "C_new leaves n0 out");
        net.crash(0);
        net.restart(0);
        net.recover();
        for round in 1..=5 {
            // Far apart, so no leader lease holds back a (pre-)vote.
            net.set_now(Duration::from_secs(round));
            net.tick_election(1);
            net.deliver_all();
            if net.leader() == Some(1) {
                assert!(
                    net.node(1).log().last_index() >= index,
                    "n1 won without C_new"
                );
            }
            net.tick_election(0);
            net.deliver_all();
            net.tick_heartbeat(0);
            net.deliver_all();
        }
        net.set_now(Duration::from_secs(10));
        net.tick_election(1);
        net.deliver_all();
        assert!(
            net.node(1).commit_index() >= index,
            "{cfg:?}: C_new never committed: {}",
            net.describe()
        );
        assert_eq!(net.leader(), Some(1), "{cfg:?}: {}", net.describe());
        assert_eq!(net.node(1).membership(), &Membership::new([1]));
        assert!(net.violations().is_empty(), "{:?}", net.violations());
    }
}
