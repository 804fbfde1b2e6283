//! Carrying out a script's commands on a cluster, writing each command's output.

mod expect;
mod faults;
mod print;
mod requests;
mod setup;
mod stepping;

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::check::KvHistory;
use crate::error::Error;
use crate::event::{Event, EventKind};
use crate::kv::{self, KvStore};
use crate::raft::Persisted;
use crate::state_machine::StateMachine;
use crate::types::NodeId;
use crate::Cluster;

use super::parse::{Cmd, Line, Show};
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

    /// Checks that `id` names a node of the cluster that is running.
    fn running(&self, id: NodeId) -> R<NodeId> {
        let id = self.known(id)?;
        if !self.cluster()?.status(id).alive {
            return Err(format!("n{id} is crashed (`restart n{id}` brings it back)"));
        }
        Ok(id)
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

    /// Carries out one command, each concept in its own module.
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
            } => self.disk(*node, *term, *vote, log),
            Cmd::Cluster {
                nodes,
                config,
                seed,
            } => self.start_cluster(*nodes, config, *seed)?,
            Cmd::Propose(id, what) => self.propose(*id, what, out)?,
            Cmd::Put(c, k, v) => self.put(c, k, v, out)?,
            Cmd::Append(c, k, v) => self.append(c, k, v, out)?,
            Cmd::Get(c, k) => self.get(c, k, out)?,
            Cmd::RunFor(d) => self.cluster()?.sleep(*d),
            Cmd::RunUntil(cond, within) => self.run_until(cond, *within)?,
            Cmd::Timeout(ids) => self.timeout(ids)?,
            Cmd::Heartbeat(ids) => self.heartbeat(ids)?,
            Cmd::Timers(on) => self.cluster()?.freeze_timers(!on).map_err(text)?,
            Cmd::Hold(f) => self.hold(f)?,
            Cmd::Unhold => self.cluster()?.stop_holding().map_err(text)?,
            Cmd::Deliver(f, max) => self.deliver(f, *max, out)?,
            Cmd::Drop(f) => self.drop_held(f, out)?,
            Cmd::Held => out.extend(self.held_lines()?),
            Cmd::Crash(ids) => self.crash(ids)?,
            Cmd::Restart(ids) => self.restart(ids)?,
            Cmd::Disconnect(ids) => self.each(ids, |c, id| c.disconnect(id))?,
            Cmd::Connect(ids) => self.each(ids, |c, id| c.connect(id))?,
            Cmd::Partition(groups) => self.partition(groups, out)?,
            Cmd::Heal => self.cluster()?.heal(),
            Cmd::Net(sets) => self.set_net(sets)?,
            Cmd::AddNode => self.add_node(out)?,
            Cmd::RemoveNode(id) => self.remove_node(*id, out)?,
            Cmd::Transfer(to) => self.transfer(*to)?,
            Cmd::Snapshot(ids) => self.snapshot(ids)?,
            Cmd::Status(ids) => self.status(ids, out)?,
            Cmd::Log(ids) => self.log(ids, out)?,
            Cmd::Trace => self.trace(out)?,
            Cmd::Show(s) => self.show = *s,
            Cmd::Expect(e) => self.expect(e)?,
        }
        Ok(())
    }

    /// The named client, made (and recorded into the history) on first use.
    fn client(&mut self, name: &str) -> R<&mut kv::Client> {
        if !self.clients.contains_key(name) {
            let c = self.cluster()?.client_recorded(&self.history);
            self.clients.insert(name.to_string(), c);
        }
        Ok(self.clients.get_mut(name).expect("just added"))
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
        .filter(|l| l.followed_by_majority(&st))
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
