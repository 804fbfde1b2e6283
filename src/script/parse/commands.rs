//! The arguments of the commands that take more than a word or two.

use std::time::Duration;

use crate::config::Config;

use super::words::{
    duration, filter, net_preset, node, nodes, number, pairs, range, rate, switch, term,
};
use super::{is_client_name, Cmd, Cond, Expect, Member, NetSet, R};

/// The most nodes a script's cluster may have.
pub(crate) const MAX_NODES: usize = 99;

pub(super) fn parse_cluster(args: &[&str]) -> R<Cmd> {
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

pub(super) fn parse_disk(args: &[&str]) -> R<Cmd> {
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
        if (k == "term" && term.is_some()) || (k == "vote" && vote.is_some()) {
            return Err(format!("`{k}=` is given twice; {usage}"));
        }
        match k {
            "term" => term = Some(self::term(v)?),
            "vote" => vote = Some(self::node(v)?),
            "log" => {
                // The log's terms run to the end of the line.
                let mut terms = Vec::new();
                for t in std::iter::once(v).chain(rest[i + 1..].iter().copied()) {
                    if t.is_empty() {
                        continue;
                    }
                    let t = self::term(t)?;
                    if t == 0 {
                        return Err(format!(
                            "entry {} has term 0: every entry is made in a term of 1 or more \
                             (term 0 is the one before any election)",
                            terms.len() + 1
                        ));
                    }
                    terms.push(t);
                }
                if let Some(i) = terms.windows(2).position(|w| w[0] > w[1]) {
                    return Err(format!(
                        "a log's terms never decrease, but entry {} has term {} after term {}",
                        i + 2,
                        terms[i + 1],
                        terms[i]
                    ));
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

/// `[CLIENT] put|append KEY VALUE` or `[CLIENT] get KEY`, by `client`.
pub(super) fn parse_request(name: &str, client: String, args: &[&str]) -> R<Cmd> {
    match name {
        "put" | "append" => match args {
            [k, v] if name == "put" => Ok(Cmd::Put(client, k.to_string(), v.to_string())),
            [k, v] => Ok(Cmd::Append(client, k.to_string(), v.to_string())),
            _ => Err(format!("usage: [CLIENT] {name} KEY VALUE")),
        },
        _ => match args {
            [k] => Ok(Cmd::Get(client, k.to_string())),
            _ => Err("usage: [CLIENT] get KEY".into()),
        },
    }
}

pub(super) fn parse_run(args: &[&str]) -> R<Cmd> {
    let usage = "usage: run DURATION | run until leader [NODE] | run until committed|applied \
                 INDEX on NODE... ; add `within DURATION` to change the 10s deadline";
    match args {
        ["until"] => Err(format!("run until what? {usage}")),
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
        [d] => Ok(Cmd::RunFor(duration(d)?)),
        _ => Err(usage.into()),
    }
}

/// `deliver [FILTER] [COUNT]`: every matching held message unless counted.
pub(super) fn parse_deliver(args: &[&str]) -> R<Cmd> {
    let (count, rest) = match args.last().map(|a| a.parse::<usize>()) {
        Some(Ok(0)) => return Err("deliver at least one message".into()),
        Some(Ok(n)) => (n, &args[..args.len() - 1]),
        _ => (usize::MAX, args),
    };
    Ok(Cmd::Deliver(filter(rest)?, count))
}

/// `partition n0 n1 c1 | n2 n3 n4`: groups of nodes and named clients.
pub(super) fn parse_partition(args: &[&str]) -> R<Cmd> {
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
        return Err("a partition needs at least two groups: partition n0 n1 | n2 n3 n4".into());
    }
    let all: Vec<&Member> = groups.iter().flatten().collect();
    for (k, m) in all.iter().enumerate() {
        if all[..k].contains(m) {
            let name = match m {
                Member::Node(id) => format!("n{id}"),
                Member::Client(c) => c.clone(),
            };
            return Err(format!(
                "{name} is named twice: each node or client belongs to one group at most"
            ));
        }
    }
    Ok(Cmd::Partition(groups))
}

/// `net reliable|unreliable|drop=P dup=P delay=A..B reorder=on|off`.
pub(super) fn parse_net(args: &[&str]) -> R<Cmd> {
    let kv = pairs(
        args,
        &["drop", "dup", "delay", "reorder"],
        &["reliable", "unreliable"],
    )?;
    if kv.is_empty() {
        return Err("usage: net reliable|unreliable|drop=P dup=P delay=A..B reorder=on|off".into());
    }
    let sets = kv
        .iter()
        .map(|(k, v)| {
            Ok(match k.as_str() {
                "reliable" | "unreliable" => NetSet::Preset(net_preset(k)?),
                "drop" => NetSet::Drop(rate(v)?),
                "dup" => NetSet::Dup(rate(v)?),
                "delay" if v.contains("..") => {
                    let (lo, hi) = range(v)?;
                    NetSet::Delay(lo, hi)
                }
                "delay" => {
                    let d = duration(v)?;
                    NetSet::Delay(d, d)
                }
                _ => NetSet::Reorder(switch(v)?),
            })
        })
        .collect::<R<Vec<_>>>()?;
    Ok(Cmd::Net(sets))
}

pub(super) fn parse_expect(args: &[&str]) -> R<Expect> {
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
                    let bad = || format!("`{e}` is not INDEX@TERM (e.g. 3@2)");
                    let (i, t) = e.split_once('@').ok_or_else(bad)?;
                    match (i.parse(), t.parse()) {
                        (Ok(i), Ok(t)) => Ok((i, t)),
                        _ => Err(bad()),
                    }
                })
                .collect::<R<_>>()?;
            Expect::Log(node(n)?, entries)
        }
        ["term", n, "=", t] => Expect::Term(node(n)?, number(t)?),
        ["role", n, r] => Expect::Role(node(n)?, role(r)?),
        ["violation", p] => Expect::Violation(property(p)?),
        ["safe"] => Expect::Safe,
        ["linearizable"] => Expect::Linearizable,
        ["not", "linearizable"] => Expect::NotLinearizable,
        ["held", n] => Expect::Held(number(n)? as usize),
        _ => return Err(usage.into()),
    })
}

/// The roles `expect role` knows: as the status line names them, or `crashed`.
const ROLES: [&str; 5] = ["Follower", "PreCandidate", "Candidate", "Leader", "crashed"];

/// A role as `expect role` names it (any case), spelled as the status line has it.
fn role(word: &str) -> R<String> {
    ROLES
        .iter()
        .find(|r| r.eq_ignore_ascii_case(word))
        .map(|r| r.to_string())
        .ok_or_else(|| format!("`{word}` is not a role ({})", ROLES.join(", ")))
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
