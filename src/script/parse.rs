//! Reading a script: each line is a comment (`#`), a blank, a command, or part of a
//! recorded output block (`----` up to the next blank line), which is skipped so that a
//! golden file can be run again as it stands.

use std::time::Duration;

use crate::config::{Config, NetConfig};
use crate::sim::MessageFilter;
use crate::types::{Index, NodeId, Term};

use super::ScriptError;

/// Every command, for the error that lists them and for `docs/scripts.md`.
pub const COMMANDS: &[&str] = &[
    "cluster",
    "disk",
    "propose",
    "put",
    "get",
    "append",
    "run",
    "timeout",
    "heartbeat",
    "timers",
    "hold",
    "unhold",
    "deliver",
    "drop",
    "held",
    "crash",
    "restart",
    "disconnect",
    "connect",
    "partition",
    "heal",
    "net",
    "add_node",
    "remove_node",
    "transfer",
    "snapshot",
    "status",
    "log",
    "trace",
    "show",
    "expect",
];

/// One line of a script.
#[derive(Debug, Clone)]
pub(crate) enum Line {
    /// A comment or a blank line, kept as it is.
    Verbatim(String),
    /// A command, with its text as written.
    Command {
        /// 1-based line number in the file.
        number: usize,
        /// The line as written (a trailing comment included).
        text: String,
        /// What it says.
        cmd: Cmd,
    },
}

/// What the trace printed after each command shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Show {
    /// Nothing.
    None,
    /// The story: events at `info` level and above (as the logs tell it).
    Story,
    /// Every event but the network's fate of each message.
    All,
    /// Every event, message fates included.
    Messages,
}

/// A condition `run until` waits for.
#[derive(Debug, Clone)]
pub(crate) enum Cond {
    /// A leader followed by a majority (any node, or this one).
    Leader(Option<NodeId>),
    /// Each node's commit index is at least this.
    Committed(Index, Vec<NodeId>),
    /// Each node applied at least this index.
    Applied(Index, Vec<NodeId>),
}

/// What an `expect` asserts.
#[derive(Debug, Clone)]
pub(crate) enum Expect {
    /// The node leads, followed by a majority.
    Leader(NodeId),
    /// No node leads with a majority behind it.
    NoLeader,
    /// Each node's commit index is exactly this.
    Committed(Index, Vec<NodeId>),
    /// Each node applied exactly this index.
    Applied(Index, Vec<NodeId>),
    /// The node's stored log is exactly these `index@term` entries.
    Log(NodeId, Vec<(Index, Term)>),
    /// The node's current term.
    Term(NodeId, Term),
    /// The node's role (as `Role`'s Display names it), or `crashed`.
    Role(NodeId, String),
    /// The safety checker found a violation of this property (its name without spaces).
    Violation(String),
    /// The safety checker found nothing.
    Safe,
    /// The key/value history of the script's client operations is linearizable.
    Linearizable,
    /// It is not (with an unsafe switch on).
    NotLinearizable,
    /// This many messages are held.
    Held(usize),
}

/// One change `net` makes to the network's settings.
#[derive(Debug, Clone)]
pub(crate) enum NetSet {
    /// `reliable` or `unreliable`: every setting at once.
    Preset(NetConfig),
    /// `drop=P`.
    Drop(f64),
    /// `dup=P`.
    Dup(f64),
    /// `delay=A..B` or `delay=D`.
    Delay(Duration, Duration),
    /// `reorder=on|off`.
    Reorder(bool),
}

/// A member of a partition group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Member {
    /// A node.
    Node(NodeId),
    /// A script's named client.
    Client(String),
}

/// Whether a word names a client: `c0`, `c1`, ...
fn is_client_name(w: &str) -> bool {
    w.len() > 1 && w.starts_with('c') && w[1..].bytes().all(|b| b.is_ascii_digit())
}

/// One command.
#[derive(Debug, Clone)]
pub(crate) enum Cmd {
    /// A node's stable storage before the cluster starts.
    Disk {
        node: NodeId,
        term: Term,
        vote: Option<NodeId>,
        log: Vec<Term>,
    },
    /// Start the cluster.
    Cluster {
        nodes: usize,
        config: Box<Config>,
        seed: Option<u64>,
    },
    Propose(NodeId, String),
    /// A key/value operation by the named client (`c0` unless named).
    Put(String, String, String),
    Get(String, String),
    Append(String, String, String),
    RunFor(Duration),
    RunUntil(Cond, Duration),
    Timeout(Vec<NodeId>),
    Heartbeat(Vec<NodeId>),
    Timers(bool),
    Hold(MessageFilter),
    Unhold,
    Deliver(MessageFilter, usize),
    Drop(MessageFilter),
    Held,
    Crash(Vec<NodeId>),
    Restart(Vec<NodeId>),
    Disconnect(Vec<NodeId>),
    Connect(Vec<NodeId>),
    /// Groups of nodes and of named clients (whose addresses confine them to a side).
    Partition(Vec<Vec<Member>>),
    Heal,
    Net(Vec<NetSet>),
    AddNode,
    RemoveNode(NodeId),
    Transfer(NodeId),
    Snapshot(Vec<NodeId>),
    Status(Vec<NodeId>),
    Log(Vec<NodeId>),
    Trace,
    Show(Show),
    Expect(Expect),
}

impl Cmd {
    /// Whether the command needs the simulated runtime's exact stepping.
    pub(crate) fn needs_simulation(&self) -> bool {
        matches!(
            self,
            Cmd::Timers(_)
                | Cmd::Hold(_)
                | Cmd::Unhold
                | Cmd::Deliver(..)
                | Cmd::Drop(_)
                | Cmd::Held
                | Cmd::Expect(Expect::Held(_))
        )
    }
}

/// Splits a script into lines and parses every command.
pub(crate) fn parse_lines(file: &str, text: &str) -> Result<Vec<Line>, ScriptError> {
    let mut out = Vec::new();
    let mut lines = text.lines().enumerate().peekable();
    while let Some((i, raw)) = lines.next() {
        let line = raw.trim_end();
        if line.trim() == "----" {
            // A recorded output block: up to and including the next blank line.
            for (_, l) in lines.by_ref() {
                if l.trim().is_empty() {
                    break;
                }
            }
            continue;
        }
        let code = line.split('#').next().unwrap_or("").trim();
        if code.is_empty() {
            out.push(Line::Verbatim(line.to_string()));
            continue;
        }
        let cmd = parse_command(code).map_err(|message| ScriptError {
            file: file.to_string(),
            line: i + 1,
            command: code.to_string(),
            message,
        })?;
        out.push(Line::Command {
            number: i + 1,
            text: line.to_string(),
            cmd,
        });
    }
    Ok(out)
}

type R<T> = Result<T, String>;

fn parse_command(code: &str) -> R<Cmd> {
    let mut words: Vec<&str> = code.split_whitespace().collect();
    // `c1 put k v`: a key/value operation by a named client.
    let client = match words.as_slice() {
        [c, op, ..] if is_client_name(c) && ["put", "get", "append"].contains(op) => {
            words.remove(0).to_string()
        }
        _ => "c0".to_string(),
    };
    let (name, args) = (words[0], &words[1..]);
    let none = |c: Cmd| -> R<Cmd> {
        if args.is_empty() {
            Ok(c)
        } else {
            Err(format!("`{name}` takes no arguments"))
        }
    };
    match name {
        "cluster" => parse_cluster(args),
        "disk" => parse_disk(args),
        "propose" => match args {
            [n] => Ok(Cmd::Propose(node(n)?, "x".into())),
            [n, label] => Ok(Cmd::Propose(node(n)?, label.to_string())),
            _ => Err("usage: propose NODE [LABEL]".into()),
        },
        "put" | "append" => match args {
            [k, v] if name == "put" => Ok(Cmd::Put(client, k.to_string(), v.to_string())),
            [k, v] => Ok(Cmd::Append(client, k.to_string(), v.to_string())),
            _ => Err(format!("usage: [CLIENT] {name} KEY VALUE")),
        },
        "get" => match args {
            [k] => Ok(Cmd::Get(client, k.to_string())),
            _ => Err("usage: [CLIENT] get KEY".into()),
        },
        "run" => parse_run(args),
        "timeout" => Ok(Cmd::Timeout(nodes(args, 1)?)),
        "heartbeat" => Ok(Cmd::Heartbeat(nodes(args, 1)?)),
        "timers" => match args {
            ["on"] => Ok(Cmd::Timers(true)),
            ["off"] => Ok(Cmd::Timers(false)),
            _ => Err("usage: timers on|off".into()),
        },
        "hold" => Ok(Cmd::Hold(filter(args)?)),
        "unhold" => none(Cmd::Unhold),
        "deliver" => {
            let (count, rest) = match args.last().map(|a| a.parse::<usize>()) {
                Some(Ok(0)) => return Err("deliver at least one message".into()),
                Some(Ok(n)) => (n, &args[..args.len() - 1]),
                _ => (usize::MAX, args),
            };
            Ok(Cmd::Deliver(filter(rest)?, count))
        }
        "drop" => Ok(Cmd::Drop(filter(args)?)),
        "held" => none(Cmd::Held),
        "crash" => Ok(Cmd::Crash(nodes(args, 1)?)),
        "restart" => Ok(Cmd::Restart(nodes(args, 1)?)),
        "disconnect" => Ok(Cmd::Disconnect(nodes(args, 1)?)),
        "connect" => Ok(Cmd::Connect(nodes(args, 1)?)),
        "partition" => {
            let member = |w: &&str| {
                if is_client_name(w) {
                    Ok(Member::Client(w.to_string()))
                } else {
                    node(w).map(Member::Node)
                }
            };
            let groups: Vec<Vec<Member>> = args
                .split(|a| *a == "|")
                .map(|g| {
                    if g.is_empty() {
                        return Err("a group is empty".to_string());
                    }
                    g.iter().map(member).collect::<R<Vec<_>>>()
                })
                .collect::<R<_>>()
                .map_err(|e| format!("{e} (usage: partition n0 n1 c1 | n2 n3 n4)"))?;
            if groups.len() < 2 {
                return Err(
                    "a partition needs at least two groups: partition n0 n1 | n2 n3 n4".into(),
                );
            }
            Ok(Cmd::Partition(groups))
        }
        "heal" => none(Cmd::Heal),
        "net" => {
            let kv = pairs(
                args,
                &["drop", "dup", "delay", "reorder"],
                &["reliable", "unreliable"],
            )?;
            if kv.is_empty() {
                return Err(
                    "usage: net reliable|unreliable|drop=P dup=P delay=A..B reorder=on|off".into(),
                );
            }
            let sets = kv
                .iter()
                .map(|(k, v)| {
                    Ok(match k.as_str() {
                        "reliable" | "unreliable" => NetSet::Preset(net_preset(k)?),
                        "drop" => NetSet::Drop(rate(v)?),
                        "dup" => NetSet::Dup(rate(v)?),
                        "delay" => match range(v) {
                            Ok((lo, hi)) => NetSet::Delay(lo, hi),
                            Err(_) => {
                                let d = duration(v)?;
                                NetSet::Delay(d, d)
                            }
                        },
                        _ => NetSet::Reorder(switch(v)?),
                    })
                })
                .collect::<R<Vec<_>>>()?;
            Ok(Cmd::Net(sets))
        }
        "add_node" => none(Cmd::AddNode),
        "remove_node" => match args {
            [n] => Ok(Cmd::RemoveNode(node(n)?)),
            _ => Err("usage: remove_node NODE".into()),
        },
        "transfer" => match args {
            [n] => Ok(Cmd::Transfer(node(n)?)),
            _ => Err("usage: transfer NODE (the node to hand leadership to)".into()),
        },
        "snapshot" => Ok(Cmd::Snapshot(nodes(args, 1)?)),
        "status" => Ok(Cmd::Status(nodes(args, 0)?)),
        "log" => Ok(Cmd::Log(nodes(args, 0)?)),
        "trace" => none(Cmd::Trace),
        "show" => match args {
            ["none"] => Ok(Cmd::Show(Show::None)),
            ["story"] => Ok(Cmd::Show(Show::Story)),
            ["all"] => Ok(Cmd::Show(Show::All)),
            ["messages"] => Ok(Cmd::Show(Show::Messages)),
            _ => Err("usage: show none|story|all|messages".into()),
        },
        "expect" => parse_expect(args).map(Cmd::Expect),
        _ => Err(format!(
            "unknown command `{name}`; the commands are: {}",
            COMMANDS.join(", ")
        )),
    }
}

fn parse_cluster(args: &[&str]) -> R<Cmd> {
    let usage = "usage: cluster N [seed=N] [election=150..300ms] [heartbeat=50ms] \
                 [prevote=on|off] [check_quorum=on|off] [snapshot=N|off] [storage=0ms] \
                 [fast_backtracking=on|off] [max_entries=N] [inflight=N] [sessions=N] \
                 [net=reliable|unreliable] [unsafe=commit_previous_term,skip_election_restriction,forget_vote,stale_reads]";
    let Some((n, rest)) = args.split_first() else {
        return Err(usage.into());
    };
    let nodes: usize = n
        .parse()
        .ok()
        .filter(|&n| (1..=MAX_NODES).contains(&n))
        .ok_or_else(|| format!("`{n}` is not a number of nodes (1 to {MAX_NODES}); {usage}"))?;
    let keys = [
        "seed",
        "election",
        "heartbeat",
        "prevote",
        "check_quorum",
        "snapshot",
        "storage",
        "fast_backtracking",
        "max_entries",
        "inflight",
        "sessions",
        "net",
        "unsafe",
    ];
    let mut config = Config::default().simulated();
    let mut seed = None;
    for (k, v) in pairs(rest, &keys, &[])? {
        match k.as_str() {
            "seed" => seed = Some(number(&v)?),
            "election" => {
                let (lo, hi) = range(&v)?;
                config.election_timeout_min = lo;
                config.election_timeout_max = hi;
            }
            "heartbeat" => config.heartbeat_interval = duration(&v)?,
            "prevote" => config.pre_vote = switch(&v)?,
            "check_quorum" => config.check_quorum = switch(&v)?,
            "snapshot" => {
                config.snapshot_threshold = if v == "off" { None } else { Some(number(&v)?) }
            }
            "storage" => config.storage_latency = duration(&v)?,
            "fast_backtracking" => config.fast_backtracking = switch(&v)?,
            "max_entries" => config.max_entries_per_append = number(&v)? as usize,
            "inflight" => config.max_inflight_appends = number(&v)? as usize,
            "sessions" => config.max_client_sessions = number(&v)? as usize,
            "net" => config.net = net_preset(&v)?,
            "unsafe" => {
                for s in v.split(',') {
                    match s {
                        "commit_previous_term" => config.unsafe_commit_previous_term_entries = true,
                        "skip_election_restriction" => {
                            config.unsafe_skip_election_restriction = true
                        }
                        "forget_vote" => config.unsafe_forget_vote_on_restart = true,
                        "stale_reads" => config.unsafe_stale_reads = true,
                        _ => {
                            return Err(format!(
                                "unknown unsafe switch `{s}`; the switches are \
                                 commit_previous_term, skip_election_restriction, \
                                 forget_vote, stale_reads"
                            ))
                        }
                    }
                }
            }
            _ => unreachable!("pairs() accepts only the listed keys"),
        }
    }
    config.validate().map_err(|e| e.to_string())?;
    Ok(Cmd::Cluster {
        nodes,
        config: Box::new(config),
        seed,
    })
}

fn parse_disk(args: &[&str]) -> R<Cmd> {
    let usage =
        "usage: disk NODE term=T [vote=NODE] log=T T T ... (the terms of entries 1, 2, 3, ...)";
    let Some((n, rest)) = args.split_first() else {
        return Err(usage.into());
    };
    let node = node(n)?;
    let (mut term, mut vote, mut log) = (None, None, None);
    let mut i = 0;
    while i < rest.len() {
        let (k, v) = rest[i]
            .split_once('=')
            .ok_or_else(|| format!("`{}` is not key=value; {usage}", rest[i]))?;
        match k {
            "term" => term = Some(number(v)?),
            "vote" => vote = Some(self::node(v)?),
            "log" => {
                // The log's terms run to the end of the line.
                let mut terms = Vec::new();
                for t in std::iter::once(v).chain(rest[i + 1..].iter().copied()) {
                    if !t.is_empty() {
                        terms.push(number(t)?);
                    }
                }
                if terms.windows(2).any(|w| w[0] > w[1]) {
                    return Err("a log's terms never decrease".into());
                }
                log = Some(terms);
                i = rest.len();
                continue;
            }
            _ => return Err(format!("unknown key `{k}`; {usage}")),
        }
        i += 1;
    }
    let log = log.unwrap_or_default();
    let term = term.unwrap_or_else(|| log.last().copied().unwrap_or(0));
    if log.last().is_some_and(|&t| t > term) {
        return Err(format!("term={term} is below the log's last term"));
    }
    Ok(Cmd::Disk {
        node,
        term,
        vote,
        log,
    })
}

fn parse_run(args: &[&str]) -> R<Cmd> {
    let usage = "usage: run DURATION | run until leader [NODE] | run until committed|applied \
                 INDEX on NODE... ; add `within DURATION` to change the 10s deadline";
    match args {
        [d] => Ok(Cmd::RunFor(duration(d)?)),
        ["until", rest @ ..] => {
            let (cond, within) = match rest.iter().position(|a| *a == "within") {
                Some(p) => match &rest[p + 1..] {
                    [d] => (&rest[..p], duration(d)?),
                    _ => return Err(usage.into()),
                },
                None => (rest, Duration::from_secs(10)),
            };
            let cond = match cond {
                ["leader"] => Cond::Leader(None),
                ["leader", n] => Cond::Leader(Some(node(n)?)),
                [what @ ("committed" | "applied"), i, "on", ns @ ..] => {
                    let (i, ns) = (number(i)?, nodes(ns, 1)?);
                    if *what == "committed" {
                        Cond::Committed(i, ns)
                    } else {
                        Cond::Applied(i, ns)
                    }
                }
                _ => return Err(usage.into()),
            };
            Ok(Cmd::RunUntil(cond, within))
        }
        _ => Err(usage.into()),
    }
}

fn parse_expect(args: &[&str]) -> R<Expect> {
    let usage = "usage: expect leader NODE | expect no leader | expect committed|applied INDEX \
                 on NODE... | expect log NODE = 1@1 2@1 ... | expect term NODE = T | \
                 expect role NODE ROLE | expect violation PROPERTY | expect safe | \
                 expect [not] linearizable | expect held N";
    Ok(match args {
        ["leader", n] => Expect::Leader(node(n)?),
        ["no", "leader"] => Expect::NoLeader,
        [what @ ("committed" | "applied"), i, "on", ns @ ..] => {
            let (i, ns) = (number(i)?, nodes(ns, 1)?);
            if *what == "committed" {
                Expect::Committed(i, ns)
            } else {
                Expect::Applied(i, ns)
            }
        }
        ["log", n, "=", entries @ ..] => {
            let entries = entries
                .iter()
                .map(|e| {
                    let (i, t) = e
                        .split_once('@')
                        .ok_or_else(|| format!("`{e}` is not INDEX@TERM"))?;
                    Ok((number(i)?, number(t)?))
                })
                .collect::<R<_>>()?;
            Expect::Log(node(n)?, entries)
        }
        ["term", n, "=", t] => Expect::Term(node(n)?, number(t)?),
        ["role", n, r] => Expect::Role(node(n)?, r.to_string()),
        ["violation", p] => Expect::Violation(property(p)?),
        ["safe"] => Expect::Safe,
        ["linearizable"] => Expect::Linearizable,
        ["not", "linearizable"] => Expect::NotLinearizable,
        ["held", n] => Expect::Held(number(n)? as usize),
        _ => return Err(usage.into()),
    })
}

/// A safety property by its name without spaces (`LeaderCompleteness`; case, spaces,
/// `-` and `_` do not matter), as the checker names it.
fn property(word: &str) -> R<String> {
    let squash = |s: &str| s.replace([' ', '-', '_'], "").to_lowercase();
    let names: Vec<String> = crate::safety::Property::ALL
        .iter()
        .map(|p| p.to_string().replace([' ', '-'], ""))
        .collect();
    match names.iter().find(|n| squash(n) == squash(word)) {
        Some(n) => Ok(n.clone()),
        None => Err(format!(
            "no property called `{word}`; the checker's properties are {}",
            names.join(", ")
        )),
    }
}

/// `n3` → 3.
pub(crate) fn node(word: &str) -> R<NodeId> {
    word.strip_prefix('n')
        .and_then(|d| d.parse().ok())
        .ok_or_else(|| format!("`{word}` is not a node (write n0, n1, ...)"))
}

fn nodes(words: &[&str], at_least: usize) -> R<Vec<NodeId>> {
    if words.len() < at_least {
        return Err("name at least one node (n0, n1, ...)".into());
    }
    words.iter().map(|w| node(w)).collect()
}

/// `FROM->TO [KIND]`, `all`, or nothing (all).
fn filter(words: &[&str]) -> R<MessageFilter> {
    let usage = "write FROM->TO [KIND], e.g. n0->n1 AppendEntries, n0->* or *->n2; or `all`";
    let mut f = MessageFilter::default();
    match words {
        [] | ["all"] => {}
        [link] | [link, _] => {
            let (a, b) = link
                .split_once("->")
                .ok_or_else(|| format!("`{link}` is not a link; {usage}"))?;
            let end = |s: &str| {
                if s == "*" {
                    Ok(None)
                } else {
                    node(s).map(Some)
                }
            };
            f.from = end(a)?;
            f.to = end(b)?;
            if let [_, kind] = words {
                f.kind = Some(kind.to_string());
            }
        }
        _ => return Err(usage.into()),
    }
    Ok(f)
}

fn pairs(words: &[&str], keys: &[&str], flags: &[&str]) -> R<Vec<(String, String)>> {
    words
        .iter()
        .map(|w| {
            if flags.contains(w) {
                return Ok((w.to_string(), String::new()));
            }
            let (k, v) = w.split_once('=').ok_or_else(|| {
                format!("`{w}` is not key=value; the keys are {}", keys.join(", "))
            })?;
            if !keys.contains(&k) {
                return Err(format!(
                    "unknown key `{k}`; the keys are {}",
                    keys.join(", ")
                ));
            }
            Ok((k.to_string(), v.to_string()))
        })
        .collect()
}

pub(crate) fn number(s: &str) -> R<u64> {
    s.parse().map_err(|_| format!("`{s}` is not a number"))
}

pub(crate) fn rate(s: &str) -> R<f64> {
    s.parse::<f64>()
        .ok()
        .filter(|r| (0.0..=1.0).contains(r))
        .ok_or_else(|| format!("`{s}` is not a probability in 0..=1"))
}

pub(crate) fn switch(s: &str) -> R<bool> {
    match s {
        "on" | "true" => Ok(true),
        "off" | "false" => Ok(false),
        _ => Err(format!("`{s}` is not on or off")),
    }
}

pub(crate) fn net_preset(s: &str) -> R<NetConfig> {
    match s {
        "reliable" => Ok(NetConfig::reliable()),
        "unreliable" => Ok(NetConfig::unreliable()),
        _ => Err(format!("`{s}` is not reliable or unreliable")),
    }
}

/// The most nodes a script's cluster may have.
const MAX_NODES: usize = 99;

/// The longest duration a script may name: an hour of virtual time is millions of
/// events already.
const MAX_DURATION_SECS: f64 = 3600.0;

/// `300ms`, `2s`, `1.5s`, `500us`.
pub(crate) fn duration(s: &str) -> R<Duration> {
    let bad = || format!("`{s}` is not a duration (write 300ms, 2s, 1.5s or 500us; at most 1h)");
    let (num, unit) = if let Some(n) = s.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = s.strip_suffix("us") {
        (n, 1e-6)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1.0)
    } else {
        return Err(bad());
    };
    let v: f64 = num.parse().map_err(|_| bad())?;
    if !(0.0..=MAX_DURATION_SECS).contains(&(v * unit)) {
        return Err(bad());
    }
    Ok(Duration::from_secs_f64(v * unit))
}

/// `150..300ms` or `150ms..300ms`.
pub(crate) fn range(s: &str) -> R<(Duration, Duration)> {
    let (a, b) = s
        .split_once("..")
        .ok_or_else(|| format!("`{s}` is not a range (write 150..300ms)"))?;
    let hi = duration(b)?;
    let unit = b.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.');
    let lo = if a.ends_with('s') {
        duration(a)?
    } else {
        duration(&format!("{a}{unit}"))?
    };
    if lo > hi {
        return Err(format!("`{s}`: the range runs backwards"));
    }
    Ok((lo, hi))
}
