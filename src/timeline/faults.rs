//! Fault windows: the stretches of a run when the harness had the network partitioned,
//! a node crashed or a node disconnected, read from the harness's events in the trace.
//! The timeline tints them on its lanes; the history picture shades them on its time
//! axis, as Jepsen shades its nemesis's activity, so that slow or failed operations can
//! be read against the fault that caused them.

use crate::event::{Event, EventKind};
use crate::types::NodeId;

/// One kind of fault and what it hit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// The network was split into these groups; only nodes of one group could talk.
    Partition {
        /// The groups.
        groups: Vec<Vec<NodeId>>,
    },
    /// The node was crashed.
    Crash {
        /// The node.
        node: NodeId,
    },
    /// Every link of the node was cut.
    Disconnect {
        /// The node.
        node: NodeId,
    },
}

/// A fault and when it lasted, in microseconds since the cluster started (the trace's
/// clock); `to_us` is `None` when it lasted to the end of the trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultWindow {
    /// When the fault began.
    pub from_us: u64,
    /// When it ended, if it did within the trace.
    pub to_us: Option<u64>,
    /// What it was.
    pub fault: Fault,
}

impl FaultWindow {
    /// The fault in a few words: `partition [0, 1] | [2, 3, 4]`, `n2 crashed`.
    pub fn label(&self) -> String {
        match &self.fault {
            Fault::Partition { groups } => {
                let sides: Vec<String> = groups.iter().map(|g| format!("{g:?}")).collect();
                format!("partition {}", sides.join(" | "))
            }
            Fault::Crash { node } => format!("n{node} crashed"),
            Fault::Disconnect { node } => format!("n{node} disconnected"),
        }
    }

    /// The CSS class of its kind in the pictures (`f-part`, `f-crash`, `f-disc`).
    pub(crate) fn class(&self) -> &'static str {
        match self.fault {
            Fault::Partition { .. } => "f-part",
            Fault::Crash { .. } => "f-crash",
            Fault::Disconnect { .. } => "f-disc",
        }
    }
}

/// A change of the harness's faults, as the pictures need it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Edge<'a> {
    Partition(&'a [Vec<NodeId>]),
    /// Every partition removed and every node reconnected (the router's heal does both).
    Heal,
    Crash(NodeId),
    Restart(NodeId),
    Disconnect(NodeId),
    Connect(NodeId),
    /// The network's fault settings, in the words `set_net` recorded.
    Net(&'a str),
}

/// The fault change `e` records, if it records one: the one place the pictures read the
/// harness's event kinds.
pub(crate) fn edge(e: &Event) -> Option<Edge<'_>> {
    Some(match &e.kind {
        EventKind::Partitioned { groups } => Edge::Partition(groups),
        EventKind::Healed => Edge::Heal,
        EventKind::Crashed => Edge::Crash(e.node?),
        EventKind::Restarted { .. } => Edge::Restart(e.node?),
        EventKind::Disconnected { node } => Edge::Disconnect(*node),
        EventKind::Connected { node } => Edge::Connect(*node),
        EventKind::NetChanged { net } => Edge::Net(net),
        _ => return None,
    })
}

/// Every partition, crash and disconnection in `events` (oldest first), in the order
/// they began. A repeated crash of a crashed node (or disconnection of a disconnected
/// one) continues the window already open.
pub fn fault_windows(events: &[Event]) -> Vec<FaultWindow> {
    let mut out: Vec<FaultWindow> = Vec::new();
    let open = |out: &mut Vec<FaultWindow>, at: u64, fault: Fault| {
        if !out.iter().any(|w| w.to_us.is_none() && w.fault == fault) {
            let to_us = None;
            out.push(FaultWindow {
                from_us: at,
                to_us,
                fault,
            });
        }
    };
    let close = |out: &mut Vec<FaultWindow>, at: u64, which: &dyn Fn(&Fault) -> bool| {
        for w in out
            .iter_mut()
            .filter(|w| w.to_us.is_none() && which(&w.fault))
        {
            w.to_us = Some(at);
        }
    };
    for e in events {
        let at = e.at_us;
        let is_partition = |f: &Fault| matches!(f, Fault::Partition { .. });
        match edge(e) {
            Some(Edge::Partition(groups)) => {
                close(&mut out, at, &is_partition);
                let groups = groups.to_vec();
                open(&mut out, at, Fault::Partition { groups });
            }
            Some(Edge::Heal) => close(&mut out, at, &|f| {
                matches!(f, Fault::Partition { .. } | Fault::Disconnect { .. })
            }),
            Some(Edge::Crash(node)) => open(&mut out, at, Fault::Crash { node }),
            Some(Edge::Restart(node)) => close(&mut out, at, &|f| *f == Fault::Crash { node }),
            Some(Edge::Disconnect(node)) => open(&mut out, at, Fault::Disconnect { node }),
            Some(Edge::Connect(node)) => close(&mut out, at, &|f| *f == Fault::Disconnect { node }),
            Some(Edge::Net(_)) | None => {}
        }
    }
    out
}
