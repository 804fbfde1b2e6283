//! Lossy networks, churn and bad input with the real router (6.824 lab 2C's unreliable
//! and churn tests): agreement through drops, duplicates and reordering; commands that
//! clients saw committed survive nodes crashing, restarting and disconnecting under them;
//! and every misuse of the API is an error value, never a panic.

mod harness;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use harness::{LogCluster, WAIT};
use parking_lot::Mutex;
use raftsim::state_machine::Recorder;
use raftsim::{Cluster, Config, Error, Index, NetConfig, NotLeader};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// 6.824 TestUnreliableAgree2C: with 10% drops, duplicates and 2..30 ms delays, rounds
/// of concurrent proposals all commit; after the network heals every node agrees.
#[test]
fn agreement_on_an_unreliable_network() {
    let config = Config {
        net: NetConfig::unreliable(),
        ..Config::default()
    };
    let sim = LogCluster::new(5, config, 0x2C11);
    let committed = Mutex::new(Vec::new());
    for round in 1..=15u64 {
        std::thread::scope(|s| {
            for k in 0..4 {
                let (sim, committed) = (&sim, &committed);
                s.spawn(move || {
                    let cmd = 100 * round + k;
                    let index = sim.one(cmd, 1);
                    committed.lock().push((index, cmd));
                });
            }
            let index = sim.one(round, 1);
            committed.lock().push((index, round));
        });
    }
    sim.set_net(NetConfig::reliable()).expect("a valid network");
    sim.one(10_000, 5);
    let history = sim.converged(&sim.all());
    sim.assert_contains(&history, &committed.lock());
    sim.assert_check_quorum_waits_a_full_timeout();
    sim.assert_safe();
}

/// 6.824 TestFigure8Unreliable2C, with long reordering: some messages arrive hundreds of
/// ms late, long after their term ended, while the leader is repeatedly cut off. Stale
/// AppendEntries and votes must change nothing; at the end every node agrees.
#[test]
fn agreement_with_long_reordering_and_leader_disconnects() {
    let config = Config {
        net: NetConfig {
            long_reordering: true,
            ..NetConfig::unreliable()
        },
        ..Config::default()
    };
    let sim = LogCluster::new(5, config, 0x2C12);
    let mut rng = StdRng::seed_from_u64(sim.seed());
    let mut committed = vec![(sim.one(1, 1), 1)];
    let start = Instant::now();
    let mut cmd = 1;
    let mut cuts = 0;
    while start.elapsed() < Duration::from_secs(4) {
        sim.check_threads();
        let mut leader = None;
        for i in sim.all() {
            cmd += 1;
            if sim.propose(i, cmd).is_ok() {
                leader = Some(i);
            }
        }
        std::thread::sleep(Duration::from_millis(rng.gen_range(0..30)));
        if let Some(l) = leader {
            if rng.gen_ratio(1, 2) && sim.connected().len() > 3 {
                sim.disconnect(l);
                cuts += 1;
            }
        }
        if sim.connected().len() < 4 || rng.gen_ratio(1, 8) {
            let back: Vec<_> = sim
                .all()
                .into_iter()
                .filter(|i| !sim.connected().contains(i))
                .collect();
            if !back.is_empty() {
                sim.connect(back[rng.gen_range(0..back.len())]);
            }
        }
        if rng.gen_ratio(1, 10) {
            cmd += 1;
            if let Ok(index) = sim.propose_and_wait(cmd, 1, Duration::from_secs(3)) {
                committed.push((index, cmd));
            }
        }
    }
    sim.heal();
    cmd += 1;
    committed.push((sim.one(cmd, 5), cmd));
    let history = sim.converged(&sim.all());
    sim.assert_contains(&history, &committed);
    sim.assert_check_quorum_waits_a_full_timeout();
    eprintln!(
        "{cuts} leader disconnects, {} commands committed",
        history.len()
    );
    sim.assert_safe();
}

/// 6.824 TestReliableChurn2C / TestUnreliableChurn2C: client threads propose while a
/// fault thread crashes, restarts, disconnects and reconnects random nodes. Afterwards
/// (network healed, every node restarted) each command a client saw committed
/// (`propose_and_wait` returned Ok) is on every node, at the index it was reported at.
fn churn(net: NetConfig, default_seed: u64) {
    let config = Config {
        net,
        ..Config::fast()
    };
    let sim = LogCluster::new(5, config, default_seed);
    let stop = AtomicBool::new(false);
    let next_cmd = AtomicU64::new(1);
    let committed: Mutex<Vec<(Index, u64)>> = Mutex::new(Vec::new());
    let attempts = AtomicU64::new(0);
    let (mut faults, mut rounds) = (0, 0);
    std::thread::scope(|s| {
        for _ in 0..3 {
            s.spawn(|| {
                while !stop.load(Ordering::Relaxed) {
                    let cmd = next_cmd.fetch_add(1, Ordering::Relaxed);
                    attempts.fetch_add(1, Ordering::Relaxed);
                    if let Ok(index) = sim.propose_and_wait(cmd, 1, Duration::from_secs(1)) {
                        committed.lock().push((index, cmd));
                    }
                }
            });
        }
        // Stop the clients however this thread leaves the scope, a failure included
        // (else the scope would wait for them forever).
        let _stop_clients = SetOnDrop(&stop);
        // The fault thread (this one): 40 rounds of random faults as in 6.824, and more
        // while the clients have seen fewer than 20 commits (a loaded machine slows the
        // elections down), for 20 s at most.
        let mut rng = StdRng::seed_from_u64(sim.seed());
        let start = Instant::now();
        while rounds < 40
            || (committed.lock().len() < 20 && start.elapsed() < Duration::from_secs(20))
        {
            rounds += 1;
            let n = sim.n();
            if rng.gen_ratio(3, 10) {
                sim.disconnect(rng.gen_range(0..n));
                faults += 1;
            }
            if rng.gen_ratio(5, 10) {
                let i = rng.gen_range(0..n);
                if !sim.status(i).alive {
                    sim.restart(i);
                }
                sim.connect(i);
            }
            if rng.gen_ratio(3, 10) {
                sim.crash(rng.gen_range(0..n));
                faults += 1;
            }
            sim.check_threads();
            // One or two election timeouts between rounds, so that a majority is
            // sometimes up and connected long enough to elect and commit.
            std::thread::sleep(Duration::from_millis(rng.gen_range(30..150)));
        }
    });

    sim.set_net(NetConfig::reliable()).expect("a valid network");
    sim.heal();
    for i in sim.all() {
        if !sim.status(i).alive {
            sim.restart(i);
        }
    }
    sim.one(u64::MAX, 5);
    let history = sim.converged(&sim.all());
    let committed = committed.into_inner();
    if committed.is_empty() {
        sim.fail(format!(
            "none of {} client commands committed in {rounds} rounds of churn",
            attempts.load(Ordering::Relaxed)
        ));
    }
    sim.assert_contains(&history, &committed);
    sim.assert_check_quorum_waits_a_full_timeout();
    eprintln!(
        "{rounds} rounds, {faults} faults, {} terms: {} of {} client commands committed; {} applied everywhere",
        sim.statuses().iter().map(|s| s.term).max().unwrap_or(0),
        committed.len(),
        attempts.load(Ordering::Relaxed),
        history.len()
    );
    sim.assert_safe();
}

/// Sets its flag when dropped, unwinding included.
struct SetOnDrop<'a>(&'a AtomicBool);

impl Drop for SetOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

#[test]
fn churn_on_a_reliable_network() {
    churn(NetConfig::reliable(), 0x2C13);
}

#[test]
fn churn_on_an_unreliable_network() {
    churn(NetConfig::unreliable(), 0x2C14);
}

/// Proposals to anyone but the leader: a follower redirects to the leader, a crashed
/// node and an unknown id know no leader.
#[test]
fn proposals_to_non_leaders_are_redirected() {
    let sim = LogCluster::new(3, Config::default(), 0x2C15);
    let (leader, term) = sim.one_leader();
    let follower = (leader + 1) % 3;
    let crashed = (leader + 2) % 3;
    sim.wait("the follower to know the leader", WAIT, |st| {
        st[follower].term == term && st[follower].leader == Some(leader)
    });
    match sim.propose(follower, 1) {
        Err(NotLeader { leader: Some(l) }) if l == leader => {}
        other => sim.fail(format!("proposal to follower n{follower}: {other:?}")),
    }
    sim.crash(crashed);
    assert_eq!(sim.propose(crashed, 2), Err(NotLeader { leader: None }));
    assert_eq!(sim.propose(99, 3), Err(NotLeader { leader: None }));
    assert!(
        sim.inspect(crashed, |_| ()).is_none(),
        "a crashed node answered inspect"
    );
    assert!(
        sim.inspect(99, |_| ()).is_none(),
        "an unknown node answered inspect"
    );
    sim.assert_safe();
}

/// Every invalid setting is an `InvalidConfig` error from `try_with_config` and
/// `set_net`, never a panic; a rejected `set_net` leaves the network as it was.
#[test]
fn invalid_settings_are_errors() {
    let net = |f: fn(&mut NetConfig)| {
        let mut n = NetConfig::reliable();
        f(&mut n);
        n
    };
    let bad_nets = [
        net(|n| n.drop_rate = 1.5),
        net(|n| n.drop_rate = -0.1),
        net(|n| n.drop_rate = f64::NAN),
        net(|n| n.duplicate_rate = f64::NAN),
        net(|n| n.duplicate_rate = 2.0),
        net(|n| {
            n.delay_min = Duration::from_millis(5);
            n.delay_max = Duration::from_millis(1);
        }),
    ];
    let start =
        |nodes: usize, config: Config| Cluster::<Recorder<u64>>::try_with_config(nodes, config);
    for n in &bad_nets {
        let config = Config {
            net: n.clone(),
            ..Config::default()
        };
        assert!(
            matches!(start(3, config), Err(Error::InvalidConfig(_))),
            "accepted {n:?}"
        );
    }
    let d = Config::default();
    let bad_configs = [
        Config {
            heartbeat_interval: d.election_timeout_min,
            ..Config::default()
        },
        Config {
            heartbeat_interval: d.election_timeout_max * 2,
            ..Config::default()
        },
        Config {
            election_timeout_min: d.election_timeout_max * 2,
            ..Config::default()
        },
    ];
    for c in bad_configs {
        let text = format!("{c:?}");
        assert!(
            matches!(start(3, c), Err(Error::InvalidConfig(_))),
            "accepted {text}"
        );
    }
    assert!(matches!(
        start(0, Config::default()),
        Err(Error::InvalidConfig(_))
    ));

    let sim = LogCluster::new(3, Config::default(), 0x2C16);
    sim.one(1, 3);
    for n in &bad_nets {
        assert!(
            matches!(sim.set_net(n.clone()), Err(Error::InvalidConfig(_))),
            "set_net accepted {n:?}"
        );
    }
    // Still the reliable network: commands commit on all three.
    sim.one(2, 3);
    sim.assert_safe();
}

/// Faults aimed at an unknown id do nothing (and do not panic); restarting a running
/// node crashes and restarts it, and it rejoins.
#[test]
fn faults_on_unknown_ids_are_ignored_and_restart_of_a_running_node_works() {
    let sim = LogCluster::new(3, Config::default(), 0x2C17);
    sim.one(1, 3);
    sim.crash(99);
    sim.restart(99);
    sim.c.disconnect(99);
    sim.c.connect(99);
    let s = sim.status(99);
    assert!(!s.alive && s.term == 0, "an unknown id has a status: {s:?}");
    assert!(sim.try_status(99).is_err());
    assert_eq!(sim.ids(), vec![0, 1, 2]);

    let (leader, _) = sim.one_leader();
    sim.restart(leader);
    let restarted = sim.status(leader);
    assert!(
        restarted.alive,
        "n{leader} is down after restart: {restarted}"
    );
    let follower = (leader + 1) % 3;
    sim.restart(follower);
    sim.one(2, 3);
    let history = sim.converged(&sim.all());
    assert_eq!(harness::distinct(&history), vec![1, 2]);
    sim.assert_safe();
}
