//! Client sessions on a running cluster (dissertation §6.3): a client registers through
//! the log, sessions expire by the same rule on every replica (the least recently
//! active beyond `Config::max_client_sessions`), and a write whose session expired is
//! never applied — not even a retry or a duplicate of a write applied before — and
//! reaches its caller as `Error::SessionExpired`.
//!
//! The session limit is 2 here, so two other clients are enough to evict one.
//!
//! Seeds: each test has a default; `RAFTSIM_SEED=<n>` replays another (thread timing
//! still varies between runs).

mod harness;

use std::sync::Arc;
use std::time::{Duration, Instant};

use harness::{KvCluster, WAIT};
use raftsim::check::{check, CheckResult, KvHistory, KvModel};
use raftsim::kv::{Command, KvStore, Op, Request};
use raftsim::{Config, Error, NodeId};

/// Two sessions at most: a third registration evicts the least recently active.
fn config() -> Config {
    Config {
        max_client_sessions: 2,
        ..Config::default()
    }
}

/// Fails the test unless the recorded history is linearizable (an inconclusive check
/// fails too: a history nobody checked proves nothing).
#[track_caller]
fn assert_linearizable(kv: &KvCluster, history: &KvHistory) {
    let ops = history.operations();
    let verdict = check(&KvModel, &ops, Duration::from_secs(20));
    if verdict != CheckResult::Ok {
        kv.fail(format!("{} operations: {verdict}", ops.len()));
    }
}

/// Which of `clients` node `id`'s store holds a session for (None while it is crashed).
fn sessions_on(kv: &KvCluster, id: NodeId, clients: &[u64]) -> Option<Vec<bool>> {
    let clients = clients.to_vec();
    kv.inspect(id, move |s: &KvStore| {
        clients.iter().map(|&c| s.has_session(c)).collect()
    })
}

/// Waits until every node in `nodes` has exactly `expected` sessions among `clients`,
/// or fails the test.
#[track_caller]
fn wait_for_sessions(kv: &KvCluster, nodes: &[NodeId], clients: &[u64], expected: &[bool]) {
    let deadline = Instant::now() + WAIT;
    loop {
        let views: Vec<_> = nodes
            .iter()
            .map(|&id| (id, sessions_on(kv, id, clients)))
            .collect();
        if views.iter().all(|(_, v)| v.as_deref() == Some(expected)) {
            return;
        }
        if Instant::now() >= deadline {
            kv.fail(format!(
                "sessions of clients {clients:?} should be {expected:?} on {nodes:?}; \
                 after {WAIT:?} they are {views:?}"
            ));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The scenario on a cluster: `Append(k, "a")` applied, its client's session
/// evicted by two other clients, then a duplicate of that very request reaches the log
/// (as a late network duplicate or a retry after a lost reply would). Every replica
/// must refuse it — `k` stays "a", never "aa" — including one restarted from a
/// snapshot taken after the eviction. The client's next write gets `SessionExpired`
/// and is not applied; later writes fail without being sent until it registers again;
/// reads work throughout.
#[test]
fn a_duplicate_of_an_expired_sessions_write_is_not_applied_twice() {
    let kv = KvCluster::new(
        3,
        Config {
            // Compact after every entry, so a node's snapshot holds all it applied.
            snapshot_threshold: Some(1),
            ..config()
        },
        0x5e55_0001,
    );
    let history = Arc::new(KvHistory::new());
    let mut a = kv.client_recorded(&history);
    assert_eq!(a.session(), None, "a client registers lazily");
    a.append("k", "a").expect("an append on a healthy cluster");
    let me = a.session().expect("the first write registered a session");
    let (nodes, _) = kv.converged();
    wait_for_sessions(&kv, &nodes, &[me], &[true]);

    // Two other clients register and write: the third session evicts a's, the least
    // recently active, on every replica.
    let mut others = Vec::new();
    for name in ["b", "c"] {
        let mut c = kv.client_recorded(&history);
        c.append(name, "x").expect("an append on a healthy cluster");
        others.push(c.session().expect("registered"));
    }
    kv.converged();
    wait_for_sessions(
        &kv,
        &nodes,
        &[me, others[0], others[1]],
        &[false, true, true],
    );

    // A follower restarts from its snapshot, which was taken after the eviction (at
    // c's registration, whose index is c's id).
    let (leader, _) = kv.leader_now();
    let follower = *nodes.iter().find(|&&n| n != leader).expect("3 nodes");
    kv.crash(follower);
    kv.restart(follower);
    let snapshot_index = kv.status(follower).snapshot_index;
    assert!(
        snapshot_index >= others[1],
        "n{follower} restarted from a snapshot at {snapshot_index}, before the eviction"
    );

    // The duplicate of a's applied request reaches the log and is applied everywhere.
    let duplicate = Command::Request(Request {
        client: me,
        seq: 1,
        op: Op::Append {
            key: "k".into(),
            value: "a".into(),
        },
    });
    if let Err(e) = kv.propose_and_wait(duplicate, 3, WAIT) {
        kv.fail(format!("the duplicate did not commit on all 3 nodes: {e}"));
    }
    let (_, data) = kv.converged();
    assert_eq!(data["k"], "a", "the duplicate was applied a second time");

    // The client's own next write: refused by the store, reported, not applied.
    assert_eq!(a.append("k", "b"), Err(Error::SessionExpired));
    assert_eq!(a.session(), None);
    let (_, data) = kv.converged();
    assert_eq!(data["k"], "a", "a write of an expired session was applied");

    // Until the caller registers again, writes fail at once, without being sent: the
    // log does not grow (had it been sent, the call would have waited for its entry to
    // apply, so the entry would be there now).
    let before = kv.status(kv.leader_now().0).last_log_index;
    let recorded = history.len();
    assert_eq!(a.put("k", "z"), Err(Error::SessionExpired));
    assert_eq!(kv.status(kv.leader_now().0).last_log_index, before);
    assert_eq!(
        history.len(),
        recorded,
        "a write never sent is not recorded"
    );

    // Reads need no session.
    assert_eq!(a.get("k"), Ok(Some("a".into())));

    // A new session: a fresh id (a log index, never reused), and writes work again. It
    // evicts the least recently active of the others on every node, the restarted one
    // included (which kept the configured limit across its restore).
    let renewed = a.register().expect("a registration on a healthy cluster");
    assert!(
        renewed > me,
        "session ids are log indexes: {renewed} after {me}"
    );
    a.append("k", "d").expect("an append in the new session");
    let (_, data) = kv.converged();
    assert_eq!(data["k"], "ad");
    wait_for_sessions(
        &kv,
        &nodes,
        &[me, others[0], others[1], renewed],
        &[false, false, true, true],
    );

    // The expired write stays pending in the history (its outcome was unknown to the
    // client); the checker accepts the history.
    assert_eq!(history.pending(), 1, "the expired write is pending");
    assert_linearizable(&kv, &history);
    kv.assert_safe();
}

/// The client library's own retry: a write gets stuck in a minority (the old leader
/// accepts it but cannot commit it) while, in the majority, two other clients evict its
/// session. After healing, the client retries it to the new leader, which refuses it:
/// the call returns `SessionExpired` and the value never shows it.
#[test]
fn a_write_retried_after_its_session_expired_gets_session_expired() {
    let kv = KvCluster::new(5, config(), 0x5e55_0002);
    let history = Arc::new(KvHistory::new());
    let mut stuck_client = kv.client_recorded(&history);
    stuck_client.set_timeout(Duration::from_secs(30));
    stuck_client
        .put("k", "")
        .expect("a put on a healthy cluster");
    let me = stuck_client.session().expect("registered");

    let (old, _) = kv.leader_now();
    let mut minority: Vec<NodeId> = vec![old];
    minority.push((0..5).find(|&i| i != old).expect("five nodes"));
    let majority: Vec<NodeId> = (0..5).filter(|i| !minority.contains(i)).collect();
    let mut minority_side = minority.clone();
    minority_side.push(stuck_client.address());
    kv.partition(&[&minority_side, &majority]);

    std::thread::scope(|s| {
        let stuck = s.spawn(move || stuck_client.append("k", "<stuck>"));

        // Two clients of the majority register and write: the stuck client's session
        // is the least recently active of three, so it is evicted.
        let mut others = Vec::new();
        for name in ["b", "c"] {
            let mut c = kv.client_recorded(&history);
            c.append(name, "x").expect("the majority serves clients");
            others.push(c.session().expect("registered"));
        }
        wait_for_sessions(
            &kv,
            &majority,
            &[me, others[0], others[1]],
            &[false, true, true],
        );
        assert!(
            !stuck.is_finished(),
            "the confined client's request completed in the minority"
        );

        kv.heal();
        let result = stuck.join().expect("the confined client");
        assert_eq!(result, Err(Error::SessionExpired));
    });
    let (_, data) = kv.converged();
    assert_eq!(data["k"], "", "a write of an expired session was applied");
    assert_eq!(history.pending(), 1, "the expired write is pending");
    assert_linearizable(&kv, &history);
    kv.assert_safe();
}

/// `max_client_sessions` of zero could never let a client write: rejected up front.
#[test]
fn zero_sessions_is_an_invalid_config() {
    let r = raftsim::Cluster::<KvStore>::try_with_config(
        3,
        Config {
            max_client_sessions: 0,
            ..Config::default()
        },
    );
    assert!(matches!(r, Err(Error::InvalidConfig(s)) if s.contains("max_client_sessions")));
}
