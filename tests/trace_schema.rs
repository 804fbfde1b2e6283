//! The JSON trace schema (docs/trace.md): every line of a real trace, threaded and
//! simulated, is one JSON object with no repeated key, and reads back into an equal
//! `Event`.

use std::collections::{BTreeSet, HashSet};
use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use raftsim::kv::KvStore;
use raftsim::{Cluster, Config, Event, NetConfig, Role};

/// Any JSON value, refused if an object in it repeats a key (serde_json itself keeps the
/// last value and says nothing).
struct NoRepeatedKeys;

impl<'de> Deserialize<'de> for NoRepeatedKeys {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NoRepeatedKeysVisitor)
    }
}

struct NoRepeatedKeysVisitor;

impl<'de> Visitor<'de> for NoRepeatedKeysVisitor {
    type Value = NoRepeatedKeys;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<NoRepeatedKeys, E> {
        Ok(NoRepeatedKeys)
    }
    fn visit_i64<E>(self, _: i64) -> Result<NoRepeatedKeys, E> {
        Ok(NoRepeatedKeys)
    }
    fn visit_u64<E>(self, _: u64) -> Result<NoRepeatedKeys, E> {
        Ok(NoRepeatedKeys)
    }
    fn visit_f64<E>(self, _: f64) -> Result<NoRepeatedKeys, E> {
        Ok(NoRepeatedKeys)
    }
    fn visit_str<E>(self, _: &str) -> Result<NoRepeatedKeys, E> {
        Ok(NoRepeatedKeys)
    }
    fn visit_unit<E>(self) -> Result<NoRepeatedKeys, E> {
        Ok(NoRepeatedKeys)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<NoRepeatedKeys, A::Error> {
        while seq.next_element::<NoRepeatedKeys>()?.is_some() {}
        Ok(NoRepeatedKeys)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<NoRepeatedKeys, A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                return Err(de::Error::custom(format!("the key {key:?} appears twice")));
            }
            map.next_value::<NoRepeatedKeys>()?;
        }
        Ok(NoRepeatedKeys)
    }
}

/// Checks every event of `trace` round-trips through one JSON line with no repeated key,
/// and returns the kinds seen (the `event` key).
fn check_lines(trace: &[Event]) -> BTreeSet<String> {
    let mut kinds = BTreeSet::new();
    for e in trace {
        let line = e.to_json();
        assert!(!line.contains('\n'), "one line per event: {line}");
        if let Err(err) = serde_json::from_str::<NoRepeatedKeys>(&line) {
            panic!("{err}: {line}");
        }
        let back = Event::from_json(&line).unwrap_or_else(|err| panic!("{err}: {line}"));
        assert_eq!(&back, e, "{line}");
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert!(
            !v.as_object().unwrap().values().any(|x| x.is_null()),
            "no null fields: {line}"
        );
        kinds.insert(v["event"].as_str().expect("an event tag").to_string());
    }
    kinds
}

/// A run that shows most kinds of event: elections, writes, a snapshot sent to a
/// follower that fell behind, crashes and restarts, a partition, a lossy network, a
/// disconnected node, a membership change and a leadership transfer.
fn eventful_run(config: Config) -> Vec<Event> {
    let cluster: Cluster<KvStore> = Cluster::with_config(3, config);
    let wait = Duration::from_secs(10);
    let leader = cluster.wait_for_leader(wait).expect("a leader");
    let follower = (leader + 1) % 3;
    let mut client = cluster.client();
    client.put("a", "1").expect("put");
    cluster.crash(follower);
    for i in 0..12 {
        client.append("a", &i.to_string()).expect("append");
    }
    cluster.restart(follower);
    cluster
        .wait_for("the restarted follower to catch up", wait, |st| {
            st[follower].alive && st[follower].last_applied >= st[leader].commit_index
        })
        .expect("catch up");
    cluster.disconnect(follower);
    client.put("b", "2").expect("put while a follower is away");
    cluster.connect(follower);
    let others: Vec<usize> = (0..3).filter(|&n| n != leader).collect();
    cluster.partition(&[&[leader], &others]);
    cluster
        .wait_for("a leader in the majority", wait, |st| {
            others.iter().any(|&n| st[n].role == Role::Leader)
        })
        .expect("a new leader");
    cluster.heal();
    cluster.set_net(NetConfig::unreliable()).expect("set_net");
    client.put("c", "3").expect("put over a lossy network");
    cluster.set_net(NetConfig::reliable()).expect("set_net");
    let added = cluster.add_node().expect("add a node");
    client.put("d", "4").expect("put with four nodes");
    cluster.remove_node(added).expect("remove it again");
    let leader = cluster.wait_for_leader(wait).expect("a leader");
    cluster
        .transfer_leader((leader + 1) % 3)
        .expect("a leadership transfer");
    client.put("e", "5").expect("put after the transfer");
    cluster.assert_safe();
    cluster.trace()
}

fn config() -> Config {
    Config {
        snapshot_threshold: Some(5),
        trace_messages: true,
        seed: Some(13),
        ..Config::default()
    }
}

/// The kinds every eventful run shows, whatever the timing.
const EXPECTED: [&str; 21] = [
    "Message",
    "ElectionStarted",
    "VoteGranted",
    "VoteReceived",
    "RoleChanged",
    "Proposed",
    "AppendAccepted",
    "Committed",
    "Applied",
    "SnapshotTaken",
    "SnapshotInstalled",
    "SnapshotSent",
    "MembershipChanged",
    "Crashed",
    "Restarted",
    "Disconnected",
    "Connected",
    "Partitioned",
    "Healed",
    "NetChanged",
    "TransferStarted",
];

fn assert_kinds(kinds: &BTreeSet<String>) {
    let missing: Vec<_> = EXPECTED.iter().filter(|k| !kinds.contains(**k)).collect();
    assert!(missing.is_empty(), "missing {missing:?}; saw {kinds:?}");
}

#[test]
fn every_line_of_a_simulated_trace_reads_back_into_its_event() {
    let kinds = check_lines(&eventful_run(config().simulated()));
    assert_kinds(&kinds);
}

#[test]
fn every_line_of_a_threaded_trace_reads_back_into_its_event() {
    let kinds = check_lines(&eventful_run(config()));
    assert_kinds(&kinds);
}

#[test]
fn a_repeated_key_is_caught() {
    let err = serde_json::from_str::<NoRepeatedKeys>(r#"{"term":1,"x":{"a":1},"term":2}"#);
    assert!(err.is_err(), "the checker must see a repeated key");
    assert!(serde_json::from_str::<NoRepeatedKeys>(r#"{"a":{"a":1}}"#).is_ok());
}

#[test]
fn clients_are_named_as_clients() {
    let trace = eventful_run(config().simulated());
    let line = trace
        .iter()
        .map(Event::to_json)
        .find(|l| l.contains("ClientRequest"))
        .expect("a client request in the trace");
    assert!(line.contains(r#""from":{"client":"#), "{line}");
    assert!(line.contains(r#""to":{"node":"#), "{line}");
    let router = trace
        .iter()
        .map(Event::to_json)
        .find(|l| l.contains(r#""event":"Message""#))
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&router).unwrap();
    assert!(v.get("node").is_none(), "no node for the router: {router}");
    assert!(v.get("term").is_none(), "no term for the router: {router}");
}

#[test]
fn the_schema_document_examples_read_back() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/trace.md"))
        .expect("docs/trace.md");
    let lines: Vec<&str> = doc
        .split("```json\n")
        .skip(1)
        .map(|block| block.split("\n```").next().unwrap())
        .collect();
    assert!(lines.len() >= 25, "one example per kind: {}", lines.len());
    for line in lines {
        serde_json::from_str::<NoRepeatedKeys>(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        let e = Event::from_json(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert_eq!(e.to_json(), line, "the example is what the event writes");
    }
}
