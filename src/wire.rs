//! What travels through the network: Raft messages between nodes, and client requests
//! and replies between clients and nodes.

use crate::error::NotLeader;
use crate::log::Payload;
use crate::message::Message;
use crate::net::Routable;
use crate::state_machine::StateMachine;
use crate::types::Term;

/// Everything that travels through the router: Raft messages between nodes, and client
/// requests and replies between clients and nodes.
pub enum Wire<S: StateMachine> {
    /// A Raft message.
    Raft(Message<S::Command, S::Snapshot>),
    /// A client asks the node to run a command.
    ClientRequest {
        /// The client's id for this attempt, echoed in the reply.
        id: u64,
        /// The command.
        command: S::Command,
        /// Answer from the state machine with `StateMachine::query` after a ReadIndex
        /// round (dissertation §6.4) instead of appending the command to the log.
        read_only: bool,
    },
    /// The node's answer: the command's output once applied, or a redirect.
    ClientReply {
        /// The request's id.
        id: u64,
        /// The output, or NotLeader with a hint.
        result: Result<S::Output, NotLeader>,
    },
}

impl<S: StateMachine> Clone for Wire<S> {
    fn clone(&self) -> Self {
        match self {
            Wire::Raft(m) => Wire::Raft(m.clone()),
            Wire::ClientRequest {
                id,
                command,
                read_only,
            } => Wire::ClientRequest {
                id: *id,
                command: command.clone(),
                read_only: *read_only,
            },
            Wire::ClientReply { id, result } => Wire::ClientReply {
                id: *id,
                result: result.clone(),
            },
        }
    }
}

impl<S: StateMachine> std::fmt::Debug for Wire<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Wire::Raft(m) => write!(f, "{m:?}"),
            Wire::ClientRequest { id, command, .. } => write!(f, "ClientRequest#{id} {command:?}"),
            Wire::ClientReply { id, result } => write!(f, "ClientReply#{id} {result:?}"),
        }
    }
}

impl<S: StateMachine> Routable for Wire<S> {
    fn kind(&self) -> &'static str {
        match self {
            Wire::Raft(m) => m.kind(),
            Wire::ClientRequest { .. } => "ClientRequest",
            Wire::ClientReply { .. } => "ClientReply",
        }
    }
    fn term(&self) -> Term {
        match self {
            Wire::Raft(m) => m.term(),
            _ => 0,
        }
    }
    fn entries(&self) -> usize {
        match self {
            Wire::Raft(m) => m.entry_count(),
            _ => 0,
        }
    }
}

impl<S: StateMachine> Wire<S> {
    /// An estimate of the message's size on a wire, in bytes: a fixed header, plus per
    /// entry its index, term and command.
    pub fn size(&self) -> usize {
        const HEADER: usize = 48;
        const ENTRY: usize = 24;
        match self {
            Wire::Raft(Message::AppendEntries { entries, .. }) => {
                HEADER
                    + entries
                        .iter()
                        .map(|e| {
                            ENTRY
                                + match &e.payload {
                                    Payload::Command(c) => S::command_size(c),
                                    Payload::Config(m) => 8 * (m.voters.len() + m.learners.len()),
                                    Payload::Noop => 0,
                                }
                        })
                        .sum::<usize>()
            }
            Wire::Raft(Message::InstallSnapshot { snapshot, .. }) => {
                HEADER + std::mem::size_of_val(&snapshot.data)
            }
            Wire::Raft(_) => HEADER,
            Wire::ClientRequest { command, .. } => HEADER + S::command_size(command),
            Wire::ClientReply { result, .. } => HEADER + std::mem::size_of_val(result),
        }
    }
}
