//! Reading a script: each line is a comment (`#`), a blank, a command, or part of a
//! recorded output block (`----` up to the next blank line), which is skipped so that a
//! golden file can be run again as it stands.

mod commands;
mod words;

use std::time::Duration;

use crate::config::{Config, NetConfig};
use crate::sim::MessageFilter;
use crate::types::{Index, NodeId, Term};

use super::ScriptError;
pub(crate) use commands::MAX_NODES;
use commands::{
    parse_cluster, parse_deliver, parse_disk, parse_expect, parse_net, parse_partition,
    parse_request, parse_run,
};
use words::{filter, node, nodes};

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
    let err = |line: usize, command: &str, message: String| ScriptError {
        file: file.to_string(),
        line,
        command: command.to_string(),
        message,
    };
    // A file saved with a byte order mark: the mark is not part of the first command.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Vec::new();
    let mut lines = text.lines().enumerate().peekable();
    while let Some((i, raw)) = lines.next() {
        let line = raw.trim_end();
        if line.trim() == "----" {
            // A recorded output block: up to and including the next blank line. Output
            // lines never look like a command, a comment or a second `----`: one that
            // does means the blank line that ends the block is missing, and the block
            // would swallow the commands after it (and `--update` would delete them).
            for (j, l) in lines.by_ref() {
                if l.trim().is_empty() {
                    break;
                }
                if let Some(what) = swallowed(l) {
                    return Err(err(
                        j + 1,
                        l.split('#').next().unwrap_or("").trim(),
                        format!(
                            "this {what} is inside the recorded output block that starts at \
                             line {} (`----` runs to the next blank line): put a blank line \
                             after the block's last output line",
                            i + 1
                        ),
                    ));
                }
            }
            continue;
        }
        let code = line.split('#').next().unwrap_or("").trim();
        if code.is_empty() {
            out.push(Line::Verbatim(line.to_string()));
            continue;
        }
        let cmd = parse_command(code).map_err(|message| err(i + 1, code, message))?;
        out.push(Line::Command {
            number: i + 1,
            text: line.to_string(),
            cmd,
        });
    }
    check_disks(&out).map_err(|(line, command, message)| err(line, &command, message))?;
    Ok(out)
}

/// What a line inside an output block is, if it is not output: a command, a comment or
/// another block's `----`.
fn swallowed(line: &str) -> Option<&'static str> {
    if line.starts_with(char::is_whitespace) {
        // Events are printed indented.
        return None;
    }
    let t = line.trim();
    if t == "----" {
        Some("`----`")
    } else if t.starts_with('#') {
        Some("comment")
    } else if parse_command(t.split('#').next().unwrap_or("").trim()).is_ok() {
        Some("command")
    } else {
        None
    }
}

/// Each `disk` line must be used by a later `cluster` that has its node (and the node
/// it voted for), and name each node once before that `cluster`.
fn check_disks(lines: &[Line]) -> Result<(), (usize, String, String)> {
    let commands: Vec<(usize, &str, &Cmd)> = lines
        .iter()
        .filter_map(|l| match l {
            Line::Command { number, text, cmd } => Some((*number, text.as_str(), cmd)),
            Line::Verbatim(_) => None,
        })
        .collect();
    let code = |text: &str| text.split('#').next().unwrap_or("").trim().to_string();
    for (k, &(number, text, cmd)) in commands.iter().enumerate() {
        let Cmd::Disk { node, vote, .. } = cmd else {
            continue;
        };
        let fail = |message: String| Err((number, code(text), message));
        let mut cluster = None;
        for &(n, t, c) in &commands[k + 1..] {
            match c {
                Cmd::Cluster { nodes, .. } => {
                    cluster = Some((n, *nodes));
                    break;
                }
                Cmd::Disk { node: other, .. } if other == node => {
                    return fail(format!(
                        "line {n} (`{}`) gives n{node} another disk before a `cluster` \
                         uses this one",
                        code(t)
                    ));
                }
                _ => {}
            }
        }
        let Some((at, nodes)) = cluster else {
            return fail(
                "no `cluster` line follows, so this disk would be ignored: a disk is the \
                 stable storage the next `cluster` starts its node from"
                    .into(),
            );
        };
        let last = nodes - 1;
        if *node >= nodes {
            return fail(format!(
                "the `cluster` on line {at} has n0..n{last}, not n{node}"
            ));
        }
        if let Some(v) = vote.filter(|&v| v >= nodes) {
            return fail(format!(
                "vote=n{v}: the `cluster` on line {at} has n0..n{last}, not n{v}"
            ));
        }
    }
    Ok(())
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
        "put" | "append" | "get" => parse_request(name, client, args),
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
        "deliver" => parse_deliver(args),
        "drop" => Ok(Cmd::Drop(filter(args)?)),
        "held" => none(Cmd::Held),
        "crash" => Ok(Cmd::Crash(nodes(args, 1)?)),
        "restart" => Ok(Cmd::Restart(nodes(args, 1)?)),
        "disconnect" => Ok(Cmd::Disconnect(nodes(args, 1)?)),
        "connect" => Ok(Cmd::Connect(nodes(args, 1)?)),
        "partition" => parse_partition(args),
        "heal" => none(Cmd::Heal),
        "net" => parse_net(args),
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
