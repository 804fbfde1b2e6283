//! Leader election with the real router (6.824 lab 2A): the first election, a stable
//! term without faults, re-election after the leader is cut off, no leader without a
//! majority, and many rounds of random disconnects.

mod harness;

use std::time::Duration;

use harness::{LogCluster, WAIT};
use raftsim::{Config, Role};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;

/// 6.824 TestInitialElection2A: a leader is elected, every node agrees on its term, and
/// without faults the term stays put (no elections for several election timeouts).
#[test]
fn initial_election_and_stable_term() {
    let sim = LogCluster::new(3, Config::default(), 0x2A01);
    let (leader, term) = sim.one_leader();
    assert!(term >= 1, "a leader of term 0");
    sim.wait("every node in the leader's term", WAIT, |st| {
        st.iter()
            .all(|s| s.term == term && s.leader == Some(leader))
    });
    // 1 s is over three maximal election timeouts and twenty heartbeat intervals.
    let (leader2, term2) = sim.assert_stable_term(Duration::from_secs(1));
    eprintln!("n{leader} led t{term}; after a quiet window n{leader2} leads t{term2}");
    sim.assert_safe();
}

/// 6.824 TestReElection2A: the leader is disconnected and another is elected; when it
/// comes back it does not disturb the new leader (PreVote and CheckQuorum keep its stale
/// term from unseating anyone); with two of three gone there is no leader, and one
/// coming back makes a majority again.
#[test]
fn re_election_after_leader_disconnects() {
    let sim = LogCluster::new(3, Config::default(), 0x2A02);
    let mut leader2 = None;
    for attempt in 1..=3 {
        let (leader1, _) = sim.one_leader();
        sim.disconnect(leader1);
        let (new, term2) = sim.one_leader();
        assert_ne!(
            leader1, new,
            "the disconnected leader still leads the others"
        );

        // The old leader rejoins: it must learn the new term and follow, while the new
        // leader keeps its term and role.
        let from = sim.trace_log().now_us();
        sim.connect(leader1);
        sim.wait("the old leader to follow the new one", WAIT, |st| {
            let s = &st[leader1];
            s.role == Role::Follower && s.term == term2 && s.leader == Some(new)
        });
        let disturbed = sim.disturbances_since(from, new);
        if disturbed.is_empty() {
            assert_eq!(sim.one_leader(), (new, term2));
            leader2 = Some(new);
            break;
        }
        // Only a stall of this machine may excuse it; then try the scenario again.
        sim.excuse_or_fail(&disturbed, &format!("rejoin attempt {attempt}"));
    }
    let Some(leader2) = leader2 else {
        sim.fail("every attempt was disturbed by a stall: this machine is too loaded")
    };

    // Two of three gone: no leader.
    let other = (leader2 + 1) % 3;
    sim.disconnect(leader2);
    sim.disconnect(other);
    let alone = sim.connected();
    sim.wait("every leader without a majority to step down", WAIT, |st| {
        st.iter().all(|s| s.role != Role::Leader)
    });
    sim.assert_no_leader_elected_for(Duration::from_millis(700));
    eprintln!("{alone:?} alone elected nobody");

    // A majority again.
    sim.connect(other);
    sim.one_leader();
    sim.connect(leader2);
    sim.one_leader();
    sim.assert_safe();
}

/// No leader without a majority: with three of five disconnected nobody leads (a leader
/// that loses its majority steps down through CheckQuorum), and reconnecting one of them
/// brings a leader back.
#[test]
fn no_leader_without_a_majority() {
    let sim = LogCluster::new(5, Config::default(), 0x2A03);
    let (leader, _) = sim.one_leader();
    let cut = [leader, (leader + 1) % 5, (leader + 2) % 5];
    for &i in &cut {
        sim.disconnect(i);
    }
    sim.wait("every leader without a majority to step down", WAIT, |st| {
        st.iter().all(|s| s.role != Role::Leader)
    });
    // Over two maximal election timeouts, nobody wins anywhere.
    sim.assert_no_leader_elected_for(Duration::from_millis(700));

    sim.connect(cut[1]);
    let (l, _) = sim.one_leader();
    assert!(sim.connected().contains(&l), "n{l} leads from the minority");
    for &i in &cut {
        sim.connect(i);
    }
    sim.one_leader();
    sim.assert_safe();
}

/// 6.824 TestManyElections2A: rounds of cutting 3 random nodes of 7; the other 4 (a
/// majority) always end up with one leader.
#[test]
fn many_elections_with_random_disconnects() {
    let sim = LogCluster::new(7, Config::fast(), 0x2A04);
    let mut rng = StdRng::seed_from_u64(sim.seed());
    sim.one_leader();
    for round in 0..20 {
        let mut ids = sim.all();
        ids.shuffle(&mut rng);
        let cut = &ids[..3];
        for &i in cut {
            sim.disconnect(i);
        }
        let (l, t) = sim.one_leader();
        assert!(!cut.contains(&l), "round {round}: disconnected n{l} leads");
        eprintln!("round {round}: cut {cut:?}, n{l} leads t{t}");
        for &i in cut {
            sim.connect(i);
        }
    }
    sim.one_leader();
    sim.assert_safe();
}
