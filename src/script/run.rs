//! Carrying out a script's commands on a cluster, writing each command's output.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::check::kv_model::KvModel;
use crate::check::{linearizability, KvHistory};
use crate::config::Config;
use crate::error::Error;
use crate::event::{Event, EventKind};
use crate::kv::{self, KvStore};
use crate::log::{Entry, RaftLog};
use crate::raft::{HardState, Persisted};
use crate::sim::MessageFilter;
use crate::state_machine::StateMachine;
use crate::status::Status;
use crate::types::{NodeId, Role};
use crate::Cluster;

use super::parse::{Cmd, Cond, Expect, Line, Member, NetSet, Show};
use super::{Outcome, RunOptions, Script, ScriptError};

type Disk = Persisted<kv::Command, <KvStore as StateMachine>::Snapshot>;

/// The interpreter's state while a script runs.
pub(crate) struct Runner<'a> {
    script: &'a Script,
    options: &'a RunOptions,
    cluster: Option<Cluster<KvStore>>,
    disks: BTreeMap<NodeId, Disk>,
    clients: BTreeMap<String, kv::Client>,
    history: Arc<KvHistory>,
    show: Show,
    /// Trace events already printed after a command, and by `trace`.
    shown: usize,
    traced: usize,
    violation_expected: bool,
    net: crate::NetConfig,
}

/// A command's failure, before the runner names the line.
type R<T = ()> = Result<T, String>;

impl<'a> Runner<'a> {
    pub(crate) fn new(script: &'a Script, options: &'a RunOptions) -> Self {
        Runner {
            script,
            options,
            cluster: None,
            disks: BTreeMap::new(),
            clients: BTreeMap::new(),
            history: Arc::new(KvHistory::new()),
            show: Show::Story,
            shown: 0,
            traced: 0,
            violation_expected: false,
            net: crate::NetConfig::reliable(),
        }
    }

    pub(crate) fn run(mut self) -> Outcome {
        let lines = &self.script.lines;
        let mut transcript: Vec<String> = Vec::new();
        let mut failed = None;
        let mut last_command = None;
        for (i, line) in lines.iter().enumerate() {
            let (number, text, cmd) = match line {
                Line::Verbatim(t) => {
                    transcript.push(t.clone());
                    continue;
                }
                Line::Command { number, text, cmd } => (*number, text, cmd),
            };
            last_command = Some((number, text.clone()));
            transcript.push(text.clone());
            let mut out = Vec::new();
            let result = self.command(cmd, &mut out);
            let mut block = self.new_events();
            block.append(&mut out);
            if !block.is_empty() {
                transcript.push("----".into());
                // A blank line would end the block when the file is read back.
                transcript.extend(block.into_iter().map(|l| {
                    if l.trim().is_empty() {
                        "(blank)".to_string()
                    } else {
                        l
                    }
                }));
                // A blank line ends the block, unless the script has one there already.
                let next_blank = match lines.get(i + 1) {
                    None => true,
                    Some(Line::Verbatim(t)) => t.trim().is_empty(),
                    Some(Line::Command { .. }) => false,
                };
                if !next_blank {
                    transcript.push(String::new());
                }
            }
            if let Err(message) = result {
                failed = Some(self.error(number, text, message));
                break;
            }
        }
        if failed.is_none() {
            if let Some(c) = &self.cluster {
                let v = c.violations();
                if !v.is_empty() && !self.violation_expected {
                    let (number, text) = last_command.unwrap_or((0, String::new()));
                    let first = v[0].to_string();
                    let first = first.lines().next().unwrap_or_default();
                    failed = Some(self.error(
                        number,
                        &text,
                        format!(
                            "the safety checker found {} violation(s) the script did not \
                             expect (`expect violation PROPERTY`): {first}",
                            v.len()
                        ),
                    ));
                }
            }
        }
        let mut output = transcript.join("\n");
        output.push('\n');
        Outcome {
            output,
            trace: self.cluster.as_ref().map(|c| c.trace()).unwrap_or_default(),
            seed: self.cluster.as_ref().map(|c| c.seed()),
            failed,
        }
    }

    fn error(&self, line: usize, text: &str, message: String) -> ScriptError {
        ScriptError {
            file: self.script.file.clone(),
            line,
            command: text.split('#').next().unwrap_or("").trim().to_string(),
            message,
        }
    }

    /// The events since the last command, as `show` selects them.
    fn new_events(&mut self) -> Vec<String> {
        let Some(c) = &self.cluster else {
            return Vec::new();
        };
        let events = c.trace();
        let new = &events[self.shown.min(events.len())..];
        self.shown = events.len();
        let show = self.show;
        new.iter()
            .filter(|e| match show {
                Show::None => false,
                Show::Story => e.kind.level() <= log::Level::Info,
                Show::All => !matches!(e.kind, EventKind::Message { .. }),
                Show::Messages => true,
            })
            .map(line_of)
            .collect()
    }

    fn cluster(&self) -> R<&Cluster<KvStore>> {
        self.cluster
            .as_ref()
            .ok_or_else(|| "no cluster yet: start one with `cluster N`".to_string())
    }

    /// Checks that `id` names a node of the cluster.
    fn known(&self, id: NodeId) -> R<NodeId> {
        let c = self.cluster()?;
        let ids = c.ids();
        if ids.contains(&id) {
            return Ok(id);
        }
        Err(format!("no such node; the cluster has {}", names(&ids)))
    }

    fn all_known(&self, ids: &[NodeId]) -> R<Vec<NodeId>> {
        ids.iter().map(|&i| self.known(i)).collect()
    }

    /// The listed nodes, or all of them when none is listed.
    fn or_all(&self, ids: &[NodeId]) -> R<Vec<NodeId>> {
        if ids.is_empty() {
            Ok(self.cluster()?.ids())
        } else {
            self.all_known(ids)
        }
    }

    /// Checks that the cluster runs on the simulated runtime, for the commands that step
    /// messages or timers by hand.
    fn simulated(&self) -> R {
        if self.cluster()?.is_simulated() {
            return Ok(());
        }
        Err(
            "this command steps messages or timers by hand, which only the simulated \
             runtime can do (run the script without --threads)"
                .to_string(),
        )
    }

    fn command(&mut self, cmd: &Cmd, out: &mut Vec<String>) -> R {
        if cmd.needs_simulation() {
            self.simulated()?;
        }
        match cmd {
            Cmd::Disk {
                node,
                term,
                vote,
                log,
            } => {
                let entries = log
                    .iter()
                    .zip(1..)
                    .map(|(&t, i)| Entry::command(t, i, label(&format!("t{t}@{i}"))))
                    .collect();
                self.disks.insert(
                    *node,
                    Persisted {
                        hard_state: HardState {
                            current_term: *term,
                            voted_for: *vote,
                        },
                        log: RaftLog::from_parts(0, 0, entries),
                        snapshot: None,
                    },
                );
            }
            Cmd::Cluster {
                nodes,
                config,
                seed,
            } => {
                // A new cluster replaces the last one (a script may compare several
                // starting points, as Figure 7 asks for each of its servers).
                if let Some(old) = self.cluster.take() {
                    let v = old.violations();
                    if !v.is_empty() && !self.violation_expected {
                        self.cluster = Some(old);
                        return Err(format!(
                            "the last cluster had {} safety violation(s) the script did not expect",
                            v.len()
                        ));
                    }
                    self.clients.clear();
                    self.history = Arc::new(KvHistory::new());
                    (self.shown, self.traced, self.violation_expected) = (0, 0, false);
                }
                if let Some((&id, _)) = self.disks.range(nodes..).next() {
                    return Err(format!(
                        "`disk n{id}` names a node beyond the cluster's n0..n{}",
                        nodes - 1
                    ));
                }
                let config = Config {
                    seed: Some(self.options.seed.or(*seed).unwrap_or(1)),
                    runtime: self.options.runtime,
                    ..(**config).clone()
                };
                self.net = config.net.clone();
                let disks = (0..*nodes)
                    .map(|i| self.disks.remove(&i).unwrap_or_default())
                    .collect();
                let c = Cluster::try_with_state(config, disks).map_err(|e| e.to_string())?;
                self.cluster = Some(c);
            }
            Cmd::Propose(id, what) => {
                let id = self.known(*id)?;
                match self.cluster()?.propose(id, label(what)) {
                    Ok((index, term)) => out.push(format!("n{id}: index {index}, term {term}")),
                    Err(e) => out.push(format!("n{id}: {e}")),
                }
            }
            Cmd::Put(c, k, v) => {
                let r = self.client(c)?.put(k, v);
                out.push(match r {
                    Ok(()) => "ok".into(),
                    Err(e) => format!("error: {e}"),
                });
            }
            Cmd::Append(c, k, v) => {
                let r = self.client(c)?.append(k, v);
                out.push(match r {
                    Ok(()) => "ok".into(),
                    Err(e) => format!("error: {e}"),
                });
            }
            Cmd::Get(c, k) => {
                let r = self.client(c)?.get(k);
                out.push(match r {
                    Ok(Some(v)) => format!("{k} = {v}"),
                    Ok(None) => format!("{k} is absent"),
                    Err(e) => format!("error: {e}"),
                });
            }
            Cmd::RunFor(d) => self.cluster()?.sleep(*d),
            Cmd::RunUntil(cond, within) => self.run_until(cond, *within)?,
            Cmd::Timeout(ids) => {
                for id in self.all_known(ids)? {
                    let c = self.cluster()?;
                    if !c.status(id).alive {
                        return Err(format!("n{id} is crashed"));
                    }
                    c.fire_election_timeout(id);
                }
            }
            Cmd::Heartbeat(ids) => {
                for id in self.all_known(ids)? {
                    self.cluster()?.fire_heartbeat(id).map_err(|e| match e {
                        Error::NotLeader(_) => {
                            format!("n{id} does not lead; only a leader sends heartbeats")
                        }
                        e => e.to_string(),
                    })?;
                }
            }
            Cmd::Timers(on) => self.cluster()?.freeze_timers(!on).map_err(text)?,
            Cmd::Hold(f) => {
                self.check_filter(f)?;
                self.cluster()?.hold_messages(f.clone()).map_err(text)?;
            }
            Cmd::Unhold => self.cluster()?.stop_holding().map_err(text)?,
            Cmd::Deliver(f, max) => {
                self.check_filter(f)?;
                let n = self.cluster()?.deliver_held(f, *max).map_err(text)?;
                if n == 0 {
                    return Err(format!("no held message matches; {}", self.held_list()?));
                }
                out.push(format!("delivered {n}"));
            }
            Cmd::Drop(f) => {
                self.check_filter(f)?;
                let n = self.cluster()?.drop_held(f).map_err(text)?;
                if n == 0 {
                    return Err(format!("no held message matches; {}", self.held_list()?));
                }
                out.push(format!("dropped {n}"));
            }
            Cmd::Held => out.extend(self.held_lines()?),
            Cmd::Crash(ids) => {
                for id in self.all_known(ids)? {
                    self.cluster()?.crash(id);
                }
            }
            Cmd::Restart(ids) => {
                for id in self.all_known(ids)? {
                    self.cluster()?.restart(id);
                }
            }
            Cmd::Disconnect(ids) => {
                for id in self.all_known(ids)? {
                    self.cluster()?.disconnect(id);
                }
            }
            Cmd::Connect(ids) => {
                for id in self.all_known(ids)? {
                    self.cluster()?.connect(id);
                }
            }
            Cmd::Partition(groups) => {
                let mut ids: Vec<Vec<NodeId>> = Vec::new();
                for g in groups {
                    let mut group = Vec::new();
                    for m in g {
                        group.push(match m {
                            Member::Node(id) => self.known(*id)?,
                            Member::Client(name) => self.client(name)?.address(),
                        });
                    }
                    ids.push(group);
                }
                let groups: Vec<&[NodeId]> = ids.iter().map(|g| g.as_slice()).collect();
                self.cluster()?.partition(&groups);
            }
            Cmd::Heal => self.cluster()?.heal(),
            Cmd::Net(sets) => {
                let mut net = self.net.clone();
                for set in sets {
                    match set {
                        NetSet::Preset(preset) => net = preset.clone(),
                        NetSet::Drop(p) => net.drop_rate = *p,
                        NetSet::Dup(p) => net.duplicate_rate = *p,
                        NetSet::Delay(lo, hi) => (net.delay_min, net.delay_max) = (*lo, *hi),
                        NetSet::Reorder(on) => net.long_reordering = *on,
                    }
                }
                self.cluster()?
                    .set_net(net.clone())
                    .map_err(|e| e.to_string())?;
                self.net = net;
            }
            Cmd::AddNode => {
                let id = self.cluster()?.add_node().map_err(|e| e.to_string())?;
                out.push(format!("added n{id}"));
            }
            Cmd::RemoveNode(id) => {
                let id = self.known(*id)?;
                self.cluster()?.remove_node(id).map_err(|e| e.to_string())?;
                out.push(format!("removed n{id}"));
            }
            Cmd::Transfer(to) => {
                let to = self.known(*to)?;
                self.cluster()?
                    .transfer_leader(to)
                    .map_err(|e| e.to_string())?;
            }
            Cmd::Snapshot(ids) => {
                for id in self.all_known(ids)? {
                    self.cluster()?.compact(id).map_err(|e| e.to_string())?;
                }
            }
            Cmd::Status(ids) => {
                for id in self.or_all(ids)? {
                    out.push(self.cluster()?.status(id).to_string());
                }
            }
            Cmd::Log(ids) => {
                for id in self.or_all(ids)? {
                    out.push(format!("n{id}: {}", self.log_text(id)?));
                }
            }
            Cmd::Trace => {
                let events = self.cluster()?.trace();
                let new = &events[self.traced.min(events.len())..];
                self.traced = events.len();
                out.extend(new.iter().map(line_of));
            }
            Cmd::Show(s) => self.show = *s,
            Cmd::Expect(e) => self.expect(e)?,
        }
        Ok(())
    }

    fn client(&mut self, name: &str) -> R<&mut kv::Client> {
        if !self.clients.contains_key(name) {
            let c = self.cluster()?.client_recorded(&self.history);
            self.clients.insert(name.to_string(), c);
        }
        Ok(self.clients.get_mut(name).expect("just added"))
    }

    fn check_filter(&self, f: &MessageFilter) -> R {
        for id in [f.from, f.to].into_iter().flatten() {
            self.known(id)?;
        }
        Ok(())
    }

    fn held_lines(&self) -> R<Vec<String>> {
        self.cluster()?.held_messages().map_err(text)
    }

    fn held_list(&self) -> R<String> {
        let held = self.held_lines()?;
        Ok(if held.is_empty() {
            "none is held".into()
        } else {
            format!("held: {}", held.join(", "))
        })
    }

    fn log_text(&self, id: NodeId) -> R<String> {
        let view = self.cluster()?.log_view(id).map_err(|e| e.to_string())?;
        let mut parts = Vec::new();
        if view.snapshot.0 > 0 {
            parts.push(format!(
                "[snapshot {}@{}]",
                view.snapshot.0, view.snapshot.1
            ));
        }
        parts.extend(view.entries.iter().map(|(i, t)| format!("{i}@{t}")));
        Ok(if parts.is_empty() {
            "(empty)".into()
        } else {
            parts.join(" ")
        })
    }

    fn run_until(&mut self, cond: &Cond, within: Duration) -> R {
        let c = self.cluster()?;
        match cond {
            Cond::Leader(None) => {
                c.wait_for_leader(within)
                    .map_err(|_| format!("no leader within {within:?}; {}", summary(c)))?;
            }
            Cond::Leader(Some(id)) => {
                let id = self.known(*id)?;
                c.wait_for("a leader", within, |st| {
                    st.iter()
                        .any(|s| s.id == id && s.alive && s.role == Role::Leader)
                })
                .map_err(|_| format!("n{id} did not lead within {within:?}; {}", summary(c)))?;
            }
            Cond::Committed(index, ids) | Cond::Applied(index, ids) => {
                let ids = self.all_known(ids)?;
                let applied = matches!(cond, Cond::Applied(..));
                let of = |s: &Status| {
                    if applied {
                        s.last_applied
                    } else {
                        s.commit_index
                    }
                };
                c.wait_for("the commit index", within, |st| {
                    ids.iter()
                        .all(|&i| st.iter().any(|s| s.id == i && of(s) >= *index))
                })
                .map_err(|_| {
                    let what = if applied { "applied" } else { "committed" };
                    let seen: Vec<String> = ids
                        .iter()
                        .map(|&i| format!("n{i} {what} {}", of(&c.status(i))))
                        .collect();
                    format!("not within {within:?}: {}", seen.join(", "))
                })?;
            }
        }
        Ok(())
    }

    fn expect(&mut self, e: &Expect) -> R {
        if let Expect::Violation(_) = e {
            self.violation_expected = true;
        }
        let c = self.cluster()?;
        match e {
            Expect::Leader(id) => {
                let id = self.known(*id)?;
                match leader(c) {
                    Some(l) if l == id => {}
                    Some(l) => {
                        return Err(format!(
                            "n{id} does not lead; n{l} does (term {})",
                            c.status(l).term
                        ))
                    }
                    None => return Err(format!("no node leads; {}", summary(c))),
                }
            }
            Expect::NoLeader => {
                if let Some(l) = leader(c) {
                    return Err(format!("n{l} leads (term {})", c.status(l).term));
                }
            }
            Expect::Committed(index, ids) | Expect::Applied(index, ids) => {
                let applied = matches!(e, Expect::Applied(..));
                let what = if applied { "applied" } else { "committed" };
                let mut wrong = Vec::new();
                for id in self.all_known(ids)? {
                    let s = c.status(id);
                    let got = if applied {
                        s.last_applied
                    } else {
                        s.commit_index
                    };
                    if got != *index {
                        wrong.push(format!("n{id} {what} {got}"));
                    }
                }
                if !wrong.is_empty() {
                    return Err(format!("expected {index}, got {}", wrong.join(", ")));
                }
            }
            Expect::Log(id, entries) => {
                let id = self.known(*id)?;
                let want: Vec<String> = entries.iter().map(|(i, t)| format!("{i}@{t}")).collect();
                let want = if want.is_empty() {
                    "(empty)".into()
                } else {
                    want.join(" ")
                };
                let got = self.log_text(id)?;
                if got != want {
                    return Err(format!("the log of n{id} is {got}"));
                }
            }
            Expect::Term(id, term) => {
                let id = self.known(*id)?;
                let got = c.status(id).term;
                if got != *term {
                    return Err(format!("n{id} is in term {got}"));
                }
            }
            Expect::Role(id, role) => {
                let id = self.known(*id)?;
                let s = c.status(id);
                let got = if s.alive {
                    s.role.to_string()
                } else {
                    "crashed".into()
                };
                if !got.eq_ignore_ascii_case(role) {
                    return Err(format!("n{id} is {got}"));
                }
            }
            Expect::Violation(p) => {
                let v = c.violations();
                let squash = |s: &str| s.replace([' ', '-', '_'], "").to_lowercase();
                let names: Vec<String> = v.iter().map(|v| v.property.to_string()).collect();
                if !names.iter().any(|n| squash(n) == squash(p)) {
                    let seen = if names.is_empty() {
                        "none".into()
                    } else {
                        names.join(", ")
                    };
                    return Err(format!("no {p} violation; the checker found: {seen}"));
                }
            }
            Expect::Safe => {
                let v = c.violations();
                if let Some(first) = v.first() {
                    let text = first.to_string();
                    return Err(format!(
                        "{} violation(s): {}",
                        v.len(),
                        text.lines().next().unwrap_or_default()
                    ));
                }
            }
            Expect::Linearizable => {
                let ops = self.history.operations();
                let result = linearizability::check(&KvModel, &ops, Duration::from_secs(10));
                if !result.is_ok() {
                    return Err(format!(
                        "the history of {} operations is {result}",
                        ops.len()
                    ));
                }
            }
            Expect::NotLinearizable => {
                let ops = self.history.operations();
                let result = linearizability::check(&KvModel, &ops, Duration::from_secs(10));
                if !result.is_illegal() {
                    return Err(format!(
                        "the history of {} operations is {result}",
                        ops.len()
                    ));
                }
            }
            Expect::Held(n) => {
                let got = self.held_lines()?.len();
                if got != *n {
                    return Err(format!("{got} held; {}", self.held_list()?));
                }
            }
        }
        Ok(())
    }
}

/// A command that changes nothing when applied: a Get through the log, with the label
/// as its key, so the log shows which entry is which.
fn label(what: &str) -> kv::Command {
    kv::Command::Request(kv::Request {
        client: 0,
        seq: 0,
        op: kv::Op::Get {
            key: what.to_string(),
        },
    })
}

/// An error's words.
fn text(e: Error) -> String {
    e.to_string()
}

/// The live node leading the highest term with a majority behind it.
fn leader(c: &Cluster<KvStore>) -> Option<NodeId> {
    let st = c.statuses();
    st.iter()
        .filter(|l| l.alive && l.role == Role::Leader)
        .filter(|l| {
            let following = l
                .members
                .iter()
                .filter(|&&m| {
                    st.iter().any(|s| {
                        s.id == m
                            && s.alive
                            && s.term == l.term
                            && (s.id == l.id || s.leader == Some(l.id))
                    })
                })
                .count();
            following * 2 > l.members.len()
        })
        .max_by_key(|l| l.term)
        .map(|l| l.id)
}

/// Each node's role and term, for a failed wait.
fn summary(c: &Cluster<KvStore>) -> String {
    let parts: Vec<String> = c
        .statuses()
        .iter()
        .map(|s| {
            let role = if s.alive {
                s.role.to_string()
            } else {
                "crashed".into()
            };
            format!("n{} {role} t{}", s.id, s.term)
        })
        .collect();
    parts.join(", ")
}

/// `n0..n4`, or `n0, n2, n5` when the ids are not consecutive.
fn names(ids: &[NodeId]) -> String {
    match (ids.first(), ids.last()) {
        (Some(&a), Some(&b)) if b - a + 1 == ids.len() && ids.len() > 2 => format!("n{a}..n{b}"),
        _ => ids
            .iter()
            .map(|i| format!("n{i}"))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// An event as the logs print it, without trailing blanks.
fn line_of(e: &Event) -> String {
    e.to_string().trim_end().to_string()
}
