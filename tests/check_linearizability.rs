//! The linearizability checker on known histories: porcupine's classic register
//! examples, pending operations, concurrent appends, stale reads, partitions by key,
//! the time budget, randomly generated linearizable histories (and the same with one
//! read corrupted), and the HTML picture.

use std::sync::Arc;
use std::time::Duration;

use raftsim::check::{
    check, render_html, CheckResult, History, KvModel, Model, Operation, Partition, PENDING,
};
use raftsim::kv::{Op, Reply};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

type KvOp = Operation<Op, Reply>;

const BUDGET: Duration = Duration::from_secs(10);

fn put(client: u64, key: &str, v: &str, call: u64, ret: u64) -> KvOp {
    op(
        client,
        Op::Put {
            key: key.into(),
            value: v.into(),
        },
        Some(Reply::Done),
        call,
        ret,
    )
}

fn append(client: u64, key: &str, v: &str, call: u64, ret: u64) -> KvOp {
    op(
        client,
        Op::Append {
            key: key.into(),
            value: v.into(),
        },
        Some(Reply::Done),
        call,
        ret,
    )
}

fn get(client: u64, key: &str, v: Option<&str>, call: u64, ret: u64) -> KvOp {
    let out = Reply::Value(v.map(str::to_string));
    op(client, Op::Get { key: key.into() }, Some(out), call, ret)
}

/// `op` with no response: returns at infinity, output unknown.
fn pending(mut o: KvOp) -> KvOp {
    o.output = None;
    o.ret = PENDING;
    o
}

fn op(client: u64, input: Op, output: Option<Reply>, call: u64, ret: u64) -> KvOp {
    Operation {
        client,
        input,
        output,
        call,
        ret,
    }
}

fn verdict(ops: &[KvOp]) -> CheckResult {
    check(&KvModel, ops, BUDGET)
}

/// porcupine's TestRegisterModel (first history): a read of the initial value and a
/// read of the new value, both concurrent with the write.
#[test]
fn porcupine_register_linearizable() {
    let ops = vec![
        put(0, "x", "100", 0, 100),
        get(1, "x", Some("100"), 25, 75),
        get(2, "x", None, 30, 60),
    ];
    assert_eq!(verdict(&ops), CheckResult::Ok);
}

/// porcupine's TestRegisterModel (second history): once a read saw the new value, a
/// later read cannot see the old one.
#[test]
fn porcupine_register_not_linearizable() {
    let ops = vec![
        put(0, "x", "200", 0, 100),
        get(1, "x", Some("200"), 10, 30),
        get(2, "x", None, 40, 90),
    ];
    let r = verdict(&ops);
    let CheckResult::Illegal(v) = &r else {
        panic!("expected a violation, got {r}")
    };
    assert_eq!(v.partition, "key \"x\"");
    assert!(v.candidates.contains(&2), "the stale read is named: {v}");
    assert!(r.to_string().contains("NOT linearizable"), "{r}");
}

/// A read that starts after a write completed must see it (the stale read a partitioned
/// old leader would serve without ReadIndex).
#[test]
fn stale_read_is_caught() {
    let ops = vec![
        put(0, "k", "1", 0, 10),
        put(0, "k", "2", 20, 30),
        get(1, "k", Some("1"), 40, 50),
    ];
    let r = verdict(&ops);
    let CheckResult::Illegal(v) = &r else {
        panic!("expected a violation, got {r}")
    };
    assert_eq!(v.stuck, 2, "{v}");
    assert_eq!(v.prefix, vec![0, 1], "{v}");
    assert!(v.explanation.contains("get(k) -> \"1\""), "{v}");
    // Overlapping the second write instead, the same read is fine.
    let ok = vec![
        put(0, "k", "1", 0, 10),
        put(0, "k", "2", 20, 45),
        get(1, "k", Some("1"), 40, 50),
    ];
    assert_eq!(verdict(&ok), CheckResult::Ok);
}

/// Operations that touch (one returns when the other is called) count as concurrent.
#[test]
fn touching_operations_are_concurrent() {
    let ops = vec![put(0, "k", "new", 0, 10), get(1, "k", None, 10, 20)];
    assert_eq!(verdict(&ops), CheckResult::Ok);
}

/// Concurrent appends may take effect in either order, but in one order for everyone.
#[test]
fn concurrent_appends() {
    let base = vec![append(0, "k", "x", 0, 10), append(1, "k", "y", 0, 10)];
    for (seen, ok) in [
        ("xy", true),
        ("yx", true),
        ("x", false),
        ("xx", false),
        ("xyz", false),
    ] {
        let mut ops = base.clone();
        ops.push(get(2, "k", Some(seen), 20, 30));
        assert_eq!(verdict(&ops).is_ok(), ok, "read {seen:?}");
    }
    // Two readers during the appends disagreeing on the order: not linearizable.
    let mut ops = base.clone();
    ops.push(get(2, "k", Some("xy"), 5, 30));
    ops.push(get(3, "k", Some("y"), 5, 30));
    assert!(verdict(&ops).is_illegal());
    // ... but a reader of a prefix of the order is fine.
    let mut ops = base;
    ops.push(get(2, "k", Some("xy"), 5, 30));
    ops.push(get(3, "k", Some("x"), 5, 30));
    assert_eq!(verdict(&ops), CheckResult::Ok);
}

/// A pending write may or may not have taken effect, at any time after its call; but
/// once a read saw it, it has.
#[test]
fn pending_operations() {
    let w = pending(append(0, "k", "a", 0, 0));
    for (reads, ok) in [
        (vec![Some("a")], true),
        (vec![None], true),
        (vec![None, Some("a")], true),
        (vec![Some("a"), None], false),
        (vec![Some("a"), Some("a")], true),
        (vec![Some("aa")], false),
    ] {
        let mut ops = vec![w.clone()];
        for (k, r) in reads.iter().enumerate() {
            let t = 100 * (k as u64 + 1);
            ops.push(get(1, "k", *r, t, t + 10));
        }
        assert_eq!(verdict(&ops).is_ok(), ok, "reads {reads:?}");
    }
    // A pending read constrains nothing.
    let ops = vec![
        put(0, "k", "v", 0, 10),
        pending(get(1, "k", Some("zzz"), 20, 0)),
    ];
    assert_eq!(verdict(&ops), CheckResult::Ok);
}

/// Keys are checked separately; the violation names the bad key.
#[test]
fn partitions_by_key() {
    let ops = vec![
        put(0, "a", "1", 0, 10),
        get(1, "a", Some("1"), 20, 30),
        put(0, "b", "1", 0, 10),
        get(1, "b", Some("2"), 20, 30),
        get(2, "c", None, 0, 5),
    ];
    let r = verdict(&ops);
    let CheckResult::Illegal(v) = &r else {
        panic!("expected a violation, got {r}")
    };
    assert_eq!(v.partition, "key \"b\"");
    assert_eq!(v.stuck, 3);
}

/// A history whose search explodes ends in Unknown after the budget, saying so.
#[test]
fn time_budget_gives_unknown() {
    // 60 concurrent appends of distinct values, a Put concurrent with them and a read
    // after them of the Put's value extended by what no append wrote: the read may
    // follow the Put, so the lookahead cannot rule it out before the Put is placed, and
    // every append must come before the Put; the search tries every order of them
    // before it can say "illegal".
    let mut ops: Vec<KvOp> = (0..60)
        .map(|c| append(c, "k", &format!("<{c}>"), 0, 1_000))
        .collect();
    ops.push(put(98, "k", "imp", 0, 1_000));
    ops.push(get(99, "k", Some("impossible"), 2_000, 3_000));
    let r = check(&KvModel, &ops, Duration::from_millis(200));
    let CheckResult::Unknown { reason } = &r else {
        panic!("expected unknown, got {r}")
    };
    assert!(reason.contains("time budget"), "{reason}");
    assert!(r.to_string().starts_with("unknown"), "{r}");
}

/// Generates a linearizable history: `clients` clients run operations on a few keys,
/// each taking effect atomically at a random point inside its interval; some writes
/// never answer (pending), in which case they may or may not take effect.
fn random_history(seed: u64, clients: u64, ops_per_client: usize) -> Vec<KvOp> {
    random_history_on(seed, clients, ops_per_client, 3)
}

/// [`random_history`] on `keys` keys.
fn random_history_on(seed: u64, clients: u64, ops_per_client: usize, keys: u64) -> Vec<KvOp> {
    let mut rng = StdRng::seed_from_u64(seed);
    // Each client's next call time; operations of one client do not overlap.
    let mut events: Vec<(u64, u64, u64, u64, Op, bool)> = Vec::new(); // (point, call, ret, client, op, pending)
    for c in 0..clients {
        let mut t = rng.gen_range(0..50);
        for i in 0..ops_per_client {
            let len = rng.gen_range(1..100);
            let point = t + rng.gen_range(0..=len);
            let key = format!("k{}", rng.gen_range(0..keys));
            let input = match rng.gen_range(0..10) {
                0..=3 => Op::Get { key },
                4 => Op::Put {
                    key,
                    value: format!("p{c}.{i}"),
                },
                _ => Op::Append {
                    key,
                    value: format!("<{c}.{i}>"),
                },
            };
            let is_pending = !matches!(input, Op::Get { .. }) && rng.gen_bool(0.05);
            events.push((point, t, t + len, c, input, is_pending));
            t += len + rng.gen_range(1..30);
        }
    }
    // Apply in linearization-point order (ties broken arbitrarily but consistently).
    events.sort_by_key(|e| (e.0, e.3));
    let mut store: std::collections::BTreeMap<String, String> = Default::default();
    let mut ops = Vec::new();
    for (_, call, ret, client, input, is_pending) in events {
        let takes_effect = !is_pending || rng.gen_bool(0.5);
        let output = match &input {
            Op::Get { key } => Reply::Value(store.get(key).cloned()),
            Op::Put { key, value } => {
                if takes_effect {
                    store.insert(key.clone(), value.clone());
                }
                Reply::Done
            }
            Op::Append { key, value } => {
                if takes_effect {
                    store.entry(key.clone()).or_default().push_str(value);
                }
                Reply::Done
            }
        };
        let o = op(client, input, Some(output), call, ret);
        ops.push(if is_pending { pending(o) } else { o });
    }
    ops
}

/// Randomly generated linearizable histories pass; corrupting one read makes them fail.
#[test]
fn random_histories() {
    for seed in 0..20 {
        let mut ops = random_history(seed, 6, 60);
        let r = verdict(&ops);
        assert_eq!(r, CheckResult::Ok, "seed {seed}");
        // Corrupt the last completed read that saw a value.
        let Some(i) = ops
            .iter()
            .rposition(|o| matches!(o.output, Some(Reply::Value(Some(_)))))
        else {
            continue;
        };
        ops[i].output = Some(Reply::Value(Some("never written".into())));
        let r = verdict(&ops);
        let CheckResult::Illegal(v) = &r else {
            panic!("seed {seed}: expected a violation, got {r}")
        };
        assert!(v.candidates.contains(&i), "seed {seed}: {v}");
    }
}

/// The recorder: concurrent threads, one monotonic clock, pending operations kept.
#[test]
fn history_recorder() {
    let h: Arc<History<Op, Reply>> = Arc::new(History::new());
    std::thread::scope(|s| {
        for c in 0..4u64 {
            let h = h.clone();
            s.spawn(move || {
                for i in 0..50 {
                    let key = format!("k{c}");
                    let handle = h.invoke(
                        c,
                        Op::Append {
                            key,
                            value: format!("{i},"),
                        },
                    );
                    if i != 49 {
                        h.complete(handle, Reply::Done);
                    }
                }
            });
        }
    });
    let ops = h.operations();
    assert_eq!(ops.len(), 200);
    assert_eq!(h.pending(), 4);
    assert!(ops.iter().all(|o| o.is_pending() || o.call <= o.ret));
    assert_eq!(verdict(&ops), CheckResult::Ok);
}

/// The picture names the verdict, draws every operation and marks the conflict.
#[test]
fn html_picture() {
    let ops = vec![
        put(0, "x", "200", 0, 100),
        get(1, "x", Some("200"), 10, 30),
        get(2, "x", None, 40, 90),
        pending(append(3, "y", "a", 5, 0)),
    ];
    let r = verdict(&ops);
    let html = render_html(&KvModel, &ops, &r);
    assert!(html.contains("NOT linearizable"));
    assert!(html.contains("client 2"));
    assert!(html.contains("stroke=\"#b00020\""), "the conflict is red");
    assert!(
        html.contains("stroke-dasharray"),
        "the pending append is dashed"
    );
    assert_eq!(
        html.matches("<title>").count(),
        5,
        "page title + one per operation"
    );
    let path = std::env::temp_dir().join("raftsim-check-picture.html");
    raftsim::check::write_html(&path, &KvModel, &ops, &r).unwrap();
    assert!(std::fs::metadata(&path).unwrap().len() > 500);
}

/// Writes that timed out and whose effect no read ever shows cost the search nothing:
/// 40 of them under 200 reads that all see a value without them.
#[test]
fn unobserved_pending_writes_are_cheap() {
    let mut ops = vec![put(0, "k", "base", 0, 10)];
    for c in 1..=40 {
        ops.push(pending(append(c, "k", &format!("<{c}>"), 20 + c, 0)));
    }
    for i in 0..200 {
        let t = 100 + 10 * i;
        ops.push(get(99, "k", Some("base"), t, t + 5));
    }
    let started = std::time::Instant::now();
    assert_eq!(
        check(&KvModel, &ops, Duration::from_secs(5)),
        CheckResult::Ok
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
}

/// `KvModel` without its lookahead: the plain search, to compare verdicts and times.
struct Plain;

impl Model for Plain {
    type State = <KvModel as Model>::State;
    type Input = Op;
    type Output = Reply;

    fn partition(&self, ops: &[KvOp]) -> Vec<Partition> {
        KvModel.partition(ops)
    }

    fn init(&self) -> Self::State {
        KvModel.init()
    }

    fn step(&self, state: &Self::State, input: &Op, output: Option<&Reply>) -> Option<Self::State> {
        KvModel.step(state, input, output)
    }
}

/// Rounds of `clients` appends to one key, all concurrent, each round followed by a
/// read of the whole value in which the round's appends show in the reverse order of
/// their calls (the order the search tries last), plus, inside each round, a read
/// that saw the round's first append (in that order) only. Append-only, linearizable.
fn append_rounds(rounds: u64, clients: u64) -> Vec<KvOp> {
    let mut ops = Vec::new();
    let mut value = String::new();
    for r in 0..rounds {
        let t = 1_000 * r;
        let pieces: Vec<String> = (0..clients).map(|c| format!("<{r}.{c}>")).collect();
        for (c, v) in pieces.iter().enumerate() {
            ops.push(append(c as u64, "k", v, t + c as u64, t + 500));
        }
        let before = value.clone();
        for v in pieces.iter().rev() {
            value.push_str(v);
        }
        let first = format!("{before}{}", pieces.last().expect("clients > 0"));
        ops.push(get(100, "k", Some(&first), t + 100, t + 400));
        ops.push(get(101, "k", Some(&value), t + 600, t + 700));
    }
    ops
}

/// Many concurrent appends to one key: a wrong early order shows only at the next
/// read's response, and the plain search tries every order in between; the lookahead
/// (every read not yet placed must extend the current value) cuts each wrong choice at
/// once.
#[test]
fn concurrent_appends_to_one_key_are_decided_quickly() {
    let ops = append_rounds(20, 15);
    let budget = Duration::from_millis(300);
    let plain = check(&Plain, &ops, budget);
    assert!(
        matches!(plain, CheckResult::Unknown { .. }),
        "the plain search was expected to run out of time: {plain}"
    );
    let started = std::time::Instant::now();
    assert_eq!(check(&KvModel, &ops, budget), CheckResult::Ok);
    assert!(
        started.elapsed() < Duration::from_millis(200),
        "took {:?}",
        started.elapsed()
    );
}

/// The same history with one read showing two appends of a round in the order opposite
/// to the read after the round: not linearizable, and found so quickly.
#[test]
fn concurrent_appends_disagreeing_reads_are_illegal() {
    let mut ops = append_rounds(20, 15);
    // Round 10's inner read saw its first two appends (calls 14, 13) the other way.
    let base: String = (0..10)
        .flat_map(|r| (0..15).rev().map(move |c| format!("<{r}.{c}>")))
        .collect();
    let inner = ops
        .iter()
        .position(|o| o.client == 100 && o.call == 10_100)
        .expect("round 10's inner read");
    ops[inner] = get(
        100,
        "k",
        Some(&format!("{base}<10.13><10.14>")),
        10_100,
        10_400,
    );
    let started = std::time::Instant::now();
    let r = check(&KvModel, &ops, Duration::from_secs(5));
    let CheckResult::Illegal(v) = &r else {
        panic!("expected a violation, got {r}")
    };
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "took {:?}",
        started.elapsed()
    );
    assert!(v.candidates.contains(&inner), "{v}");
    // An absent read after an append completed: illegal too.
    let mut ops = append_rounds(3, 15);
    ops.push(get(102, "k", None, 1_600, 1_650));
    assert!(check(&KvModel, &ops, Duration::from_secs(5)).is_illegal());
}

/// Puts break the growth of the value: a read may follow a Put not yet placed, which
/// the lookahead allows for. Small cases with a Put concurrent with appends, then the
/// random histories (with Puts and pending writes), as they are and with reads
/// corrupted or swapped: the verdicts are those of the plain search.
#[test]
fn lookahead_keeps_verdicts_with_puts() {
    let base = vec![
        append(0, "k", "a", 0, 10),
        append(1, "k", "b", 0, 10),
        put(2, "k", "p", 0, 10),
    ];
    for (seen, ok) in [
        ("p", true),
        ("pb", true),
        ("pab", true),
        ("pba", true),
        ("ap", false),
        ("abp", false),
        ("b", false),
    ] {
        let mut ops = base.clone();
        ops.push(get(3, "k", Some(seen), 20, 30));
        assert_eq!(verdict(&ops).is_ok(), ok, "read {seen:?}");
        assert_eq!(check(&Plain, &ops, BUDGET).is_ok(), ok, "read {seen:?}");
    }
    // A read during the round of what an append made before the Put reset it.
    let mut ops = base.clone();
    ops.push(get(3, "k", Some("a"), 0, 10));
    ops.push(get(4, "k", Some("pb"), 20, 30));
    assert!(verdict(&ops).is_ok());
    ops.push(get(5, "k", Some("ab"), 20, 30));
    assert!(verdict(&ops).is_illegal());
    for seed in 0..60 {
        // Half on one key: more concurrency there, as in the kv example's worst case.
        let ops = if seed % 2 == 0 {
            random_history(seed, 6, 60)
        } else {
            random_history_on(seed, 6, 20, 1)
        };
        let reads: Vec<usize> = (0..ops.len())
            .filter(|&i| matches!(ops[i].output, Some(Reply::Value(_))))
            .collect();
        let mut variants = vec![ops.clone()];
        let mut rng = StdRng::seed_from_u64(seed);
        for _ in 0..5 {
            let mut v = ops.clone();
            let (i, j) = (
                reads[rng.gen_range(0..reads.len())],
                reads[rng.gen_range(0..reads.len())],
            );
            let (oi, oj) = (v[i].output.clone(), v[j].output.clone());
            v[i].output = oj;
            v[j].output = oi;
            variants.push(v);
        }
        for v in variants {
            let (with, without) = (verdict(&v), check(&Plain, &v, BUDGET));
            assert!(
                !matches!(without, CheckResult::Unknown { .. }),
                "seed {seed}"
            );
            assert_eq!(
                with.is_ok(),
                without.is_ok(),
                "seed {seed}: {with} / {without}"
            );
            assert_eq!(with.is_illegal(), without.is_illegal(), "seed {seed}");
        }
    }
}

/// Rounds in which a Put is concurrent with `clients` appends to the same key: the
/// reads after the round show the Put followed by the appends called before it, in the
/// reverse order of their calls; the ones called after it took effect before it and
/// were erased. The plain search tries every order of the erased appends (each a
/// different value) whenever a later choice fails; the lookahead sees that no read can
/// show those values, so the order they were built in does not matter (it still tries
/// every *set* of appends before the Put: 2^k for k concurrent appends, which is why
/// this uses 8 and not 15).
fn put_rounds(rounds: u64, clients: u64) -> Vec<KvOp> {
    let mut ops = Vec::new();
    for r in 0..rounds {
        let t = 1_000 * r;
        let half = clients / 2;
        let mut value = format!("P{r};");
        ops.push(put(clients, "k", &value, t + half, t + 500));
        for c in 0..clients {
            ops.push(append(c, "k", &format!("<{r}.{c}>"), t + c, t + 500));
        }
        for c in (0..half).rev() {
            value.push_str(&format!("<{r}.{c}>"));
        }
        ops.push(get(100, "k", Some(&value), t + 600, t + 700));
    }
    ops
}

#[test]
fn concurrent_appends_around_puts_are_decided_quickly() {
    let ops = put_rounds(20, 8);
    let plain = check(&Plain, &ops, Duration::from_millis(300));
    assert!(
        matches!(plain, CheckResult::Unknown { .. }),
        "the plain search was expected to run out of time: {plain}"
    );
    let started = std::time::Instant::now();
    assert_eq!(
        check(&KvModel, &ops, Duration::from_secs(5)),
        CheckResult::Ok
    );
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "took {:?}",
        started.elapsed()
    );
    // The last read showing after the Put an append that ended before it: illegal.
    let mut bad = ops.clone();
    let last = bad.len() - 1;
    bad[last] = get(100, "k", Some("P19;<18.0>"), 19_600, 19_700);
    assert!(check(&KvModel, &bad, Duration::from_secs(5)).is_illegal());
}
