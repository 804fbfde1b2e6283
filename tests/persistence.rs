//! Crash and restart with the real router (6.824 lab 2C): what a node persisted (term,
//! vote, log) is all it needs to rejoin; committed commands survive crashes of every
//! node; and a Figure 8 style run of hundreds of leader crashes loses nothing committed.

mod harness;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use harness::{distinct, LogCluster};
use raftsim::{Config, Index};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// 6.824 TestPersist12C: restart every node at once, then the leader, then a crashed
/// leader and a crashed follower rejoin and catch up.
#[test]
fn crash_and_restart_single_nodes_and_all_nodes() {
    let sim = LogCluster::new(3, Config::default(), 0x2C01);
    sim.one(11, 3);

    // Every node at once: crash all, then restart all.
    for i in sim.all() {
        sim.crash(i);
    }
    for i in sim.all() {
        assert!(
            sim.inspect(i, |_| ()).is_none(),
            "n{i} answers while crashed"
        );
        sim.restart(i);
    }
    sim.one(12, 3);

    // The leader.
    let (leader1, _) = sim.one_leader();
    sim.restart(leader1);
    sim.one(13, 3);

    // A crashed leader: the others go on, then it catches up.
    let (leader2, _) = sim.one_leader();
    sim.crash(leader2);
    sim.one(14, 2);
    sim.restart(leader2);
    sim.converged(&sim.all());

    // A crashed follower.
    let (leader3, _) = sim.one_leader();
    let follower = (leader3 + 1) % 3;
    sim.crash(follower);
    sim.one(15, 2);
    sim.restart(follower);
    sim.one(16, 3);
    let history = sim.converged(&sim.all());
    assert_eq!(distinct(&history), vec![11, 12, 13, 14, 15, 16]);
    sim.assert_safe();
}

/// 6.824 TestPersist22C: five rounds on five nodes of cutting and restarting nodes so
/// that only one of the restarted majority holds the newest committed entry; it must be
/// the one elected (the election restriction works on persisted logs).
#[test]
fn repeated_restarts_with_lagging_majorities() {
    let sim = LogCluster::new(5, Config::fast(), 0x2C02);
    let n = sim.n();
    let mut cmd = 10;
    for round in 0..5 {
        cmd += 1;
        sim.one(cmd, 5);
        let (l, _) = sim.one_leader();
        sim.disconnect((l + 1) % n);
        sim.disconnect((l + 2) % n);
        cmd += 1;
        sim.one(cmd, 3);

        sim.disconnect(l);
        sim.disconnect((l + 3) % n);
        sim.disconnect((l + 4) % n);
        sim.restart((l + 1) % n);
        sim.restart((l + 2) % n);
        sim.connect((l + 1) % n);
        sim.connect((l + 2) % n);
        sim.restart((l + 3) % n);
        sim.connect((l + 3) % n);
        // Only it holds the last commit, so only it can win (§5.4.1).
        let (l2, _) = sim.one_leader();
        assert_eq!(
            l2,
            (l + 3) % n,
            "round {round}: a node missing a committed entry won"
        );
        cmd += 1;
        let index = sim.one(cmd, 3);
        sim.connect((l + 4) % n);
        sim.connect(l);
        eprintln!(
            "round {round}: n{} led the restarted majority, {cmd}@{index}",
            sim.one_leader().0
        );
    }
    cmd += 1;
    sim.one(cmd, 5);
    let history = sim.converged(&sim.all());
    assert_eq!(distinct(&history), (11..=cmd).collect::<Vec<_>>());
    sim.assert_safe();
}

/// 6.824 TestPersist32C: a partitioned leader and one follower crash; the leader
/// restarts with the third node, which had been cut off, and they go on.
#[test]
fn partitioned_leader_and_follower_crash_then_leader_restarts() {
    let sim = LogCluster::new(3, Config::default(), 0x2C03);
    sim.one(101, 3);
    let (l, _) = sim.one_leader();
    sim.disconnect((l + 2) % 3);
    sim.one(102, 2);
    sim.crash(l);
    sim.crash((l + 1) % 3);
    sim.connect((l + 2) % 3);
    sim.restart(l);
    sim.one(103, 2);
    sim.restart((l + 1) % 3);
    sim.one(104, 3);
    let history = sim.converged(&sim.all());
    assert_eq!(distinct(&history), vec![101, 102, 103, 104]);
    sim.assert_safe();
}

/// A follower restarted after missing 100 commands catches up from its persisted log.
#[test]
fn restarted_follower_catches_up() {
    let sim = LogCluster::new(3, Config::default(), 0x2C04);
    sim.one(1, 3);
    let (l, _) = sim.one_leader();
    let f = (l + 1) % 3;
    sim.crash(f);
    let persisted = sim.status(f).last_log_index;
    // The leader alone applying each is enough here (the follower learns each commit
    // only with the next heartbeat); the last one waits for both.
    for cmd in 2..=100 {
        sim.one(cmd, 1);
    }
    sim.one(101, 2);
    sim.restart(f);
    let history = sim.converged(&sim.all());
    assert_eq!(distinct(&history), (1..=101).collect::<Vec<_>>());
    eprintln!(
        "n{f} restarted with {persisted} entries and caught up to {}",
        history.len()
    );
    sim.assert_safe();
}

/// Committed commands survive the restart of all nodes: after every node crashed and
/// came back (with no volatile state: commit index and state machine start empty), each
/// re-applies exactly the committed history, and the cluster goes on.
#[test]
fn committed_commands_survive_restart_of_all_nodes() {
    let sim = LogCluster::new(5, Config::default(), 0x2C05);
    for cmd in 1..=20 {
        sim.one(cmd, 5);
    }
    let before = sim.converged(&sim.all());
    for round in 0..2 {
        for i in sim.all() {
            sim.crash(i);
        }
        for i in sim.all() {
            sim.restart(i);
        }
        sim.one(100 + round, 5);
        let after = sim.converged(&sim.all());
        assert_eq!(
            &after[..before.len()],
            &before[..],
            "round {round}: the committed prefix changed"
        );
    }
    sim.assert_safe();
}

/// 6.824 TestFigure82C, with Config::fast(): hundreds of leader crashes with proposals to
/// every live node in between, so logs fill with entries of many terms that may or may
/// not commit (the paper's Figure 8). Whatever a leader had applied before it crashed
/// was committed; at the end it must be on every node, at the same index.
#[test]
fn figure_8_hundreds_of_leader_crashes() {
    let sim = LogCluster::new(5, Config::fast(), 0x2C06);
    let mut rng = StdRng::seed_from_u64(sim.seed());
    sim.one(rng.gen(), 1);
    let mut up = sim.n();
    let mut seen: BTreeMap<Index, u64> = BTreeMap::new();
    let mut crashes = 0;
    let start = Instant::now();
    while crashes < 200 {
        if start.elapsed() > Duration::from_secs(60) {
            sim.fail(format!(
                "only {crashes} leader crashes in 60 s: elections stall"
            ));
        }
        sim.check_threads();
        let mut leader = None;
        for i in sim.all() {
            if sim.propose(i, rng.gen()).is_ok() {
                leader = Some(i);
            }
        }
        // Let the leader replicate for a random while (sometimes long enough to commit).
        let pause = if rng.gen_ratio(1, 10) {
            rng.gen_range(0..40)
        } else {
            rng.gen_range(0..13)
        };
        std::thread::sleep(Duration::from_millis(pause));
        if let Some(l) = leader {
            // What it applied is committed: remember it, then crash it.
            if let Some(applied) = sim.applied(l) {
                for (i, c) in applied {
                    if let Some(&prev) = seen.get(&i) {
                        if prev != c {
                            sim.fail(format!("index {i} applied as {prev} and later as {c}"));
                        }
                    }
                    seen.insert(i, c);
                }
            }
            sim.crash(l);
            crashes += 1;
            up -= 1;
        }
        if up < 3 {
            let i = rng.gen_range(0..sim.n());
            if !sim.status(i).alive {
                sim.restart(i);
                up += 1;
            }
        }
    }
    for i in sim.all() {
        if !sim.status(i).alive {
            sim.restart(i);
        }
    }
    sim.one(rng.gen(), 5);
    let history = sim.converged(&sim.all());
    let seen: Vec<_> = seen.into_iter().collect();
    sim.assert_contains(&history, &seen);
    eprintln!(
        "{crashes} leader crashes in {:?}; {} commands committed, {} seen at crashed leaders",
        start.elapsed(),
        history.len(),
        seen.len()
    );
    sim.assert_safe();
}
