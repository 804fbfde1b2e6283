//! What the timeline draws, derived from the events: lanes, role segments, message
//! arrows (a delayed message's fates paired into one arrow), fault periods, the axis.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::axis::{self, Axis};
use super::faults::{self, Edge, Fault, FaultWindow};
use super::style::class_of;
use super::{LANE_H, TOP};
use crate::config::NetConfig;
use crate::event::{Event, EventKind, Fate};
use crate::router::CLIENT_ADDR_BASE;
use crate::svg::ms;
use crate::types::{NodeId, Role, Term};

/// Slack when matching a delivery to the delay the router announced for it.
const DELIVERY_SLACK_US: u64 = 25_000;

/// A lane: every client shares one, above the nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) enum LaneId {
    Clients,
    Node(NodeId),
}

pub(super) fn lane_id(addr: NodeId) -> LaneId {
    match addr >= CLIENT_ADDR_BASE {
        true => LaneId::Clients,
        false => LaneId::Node(addr),
    }
}

pub(super) fn addr_name(addr: NodeId) -> String {
    match addr >= CLIENT_ADDR_BASE {
        true => format!("client {}", addr - CLIENT_ADDR_BASE),
        false => format!("n{addr}"),
    }
}

/// A stretch of a node's lane in one role and term; `None` while crashed.
pub(super) struct Segment {
    pub from: u64,
    pub to: u64,
    pub state: Option<(Role, Term)>,
    /// The event that began it, in words.
    pub why: String,
}

impl Segment {
    fn starting(from: u64, state: Option<(Role, Term)>, why: String) -> Segment {
        let to = from;
        Segment {
            from,
            to,
            state,
            why,
        }
    }
}

/// How a message ended.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum End {
    Delivered,
    /// Still queued in the router when the trace ends.
    InFlight,
    Dropped,
    Blocked(Fate),
}

/// What identifies a message between its fates: from, to, kind, term, entries carried.
pub(super) type MsgKey = (NodeId, NodeId, &'static str, Term, usize);

/// One message, from its first fate to its last.
pub(super) struct Arrow {
    pub key: MsgKey,
    pub sent: u64,
    /// When it arrived (or was blocked); `sent` for an instant delivery or a drop.
    pub arrive: u64,
    pub dup: bool,
    pub class: &'static str,
    pub end: End,
}

impl Arrow {
    /// Announced as `Delayed` by the router.
    pub(super) fn delayed(&self) -> bool {
        self.arrive > self.sent
    }

    /// Dropped or blocked.
    pub(super) fn failed(&self) -> bool {
        matches!(self.end, End::Dropped | End::Blocked(_))
    }
}

/// A fault that lasts a while; `to` is `None` while it lasts to the end of the trace.
pub(super) struct Period<T> {
    pub from: u64,
    pub to: Option<u64>,
    pub what: T,
}

pub(super) fn open<T>(periods: &mut Vec<Period<T>>, at: u64, what: T) {
    periods.push(Period {
        from: at,
        to: None,
        what,
    });
}

pub(super) fn close<T>(periods: &mut [Period<T>], at: u64) {
    for p in periods.iter_mut().filter(|p| p.to.is_none()) {
        p.to = Some(at);
    }
}

/// Everything the picture needs, derived from the events.
pub(super) struct Model {
    pub t0: u64,
    pub t_end: u64,
    pub axis: Axis,
    pub lanes: Vec<LaneId>,
    pub segments: BTreeMap<NodeId, Vec<Segment>>,
    pub arrows: Vec<Arrow>,
    /// Partitions and disconnections (crashes are drawn as segments).
    pub faults: Vec<FaultWindow>,
    pub nets: Vec<Period<String>>,
}

/// Pairs the router's fates into arrows.
#[derive(Default)]
pub(super) struct Wires {
    /// Delayed messages not yet delivered or blocked: indexes into `Model::arrows`.
    pending: HashMap<MsgKey, Vec<usize>>,
    /// Copies still to come of a duplicated message.
    dups: HashMap<MsgKey, u8>,
    /// The kind last sent on each link, to tell heartbeat replies from others.
    last_sent: HashMap<(NodeId, NodeId), &'static str>,
}

impl Model {
    /// The model of `events`; `compress_idle` squeezes idle stretches of the axis.
    pub(super) fn build(events: &[Event], compress_idle: bool) -> Model {
        let first = events.iter().map(|e| e.at_us).min().unwrap_or(0);
        // A whole trace starts near 0; one cut by `trace_capacity` starts on a second.
        let t0 = first / 1_000_000 * 1_000_000;
        let mut m = Model {
            t0,
            t_end: t0 + 1_000,
            axis: Axis::new(t0, t0 + 1_000, &[], false),
            lanes: Vec::new(),
            segments: BTreeMap::new(),
            arrows: Vec::new(),
            faults: faults::fault_windows(events),
            nets: Vec::new(),
        };
        m.faults.retain(|w| !matches!(w.fault, Fault::Crash { .. }));
        let (mut lanes, mut wires) = (BTreeSet::new(), Wires::default());
        // When something other than heartbeats happened, for the axis.
        let mut busy = Vec::new();
        // The segment each node is in.
        let mut roles: BTreeMap<NodeId, Segment> = BTreeMap::new();
        for e in events {
            let at = e.at_us;
            m.t_end = m.t_end.max(at);
            if let Some(n) = e.node {
                lanes.insert(LaneId::Node(n));
                // Nodes start as term-0 followers; a trace cut short starts mid-run.
                let initial = e.role.filter(|_| t0 > 0).map(|r| (r, e.term));
                let initial = initial.or(Some((Role::Follower, 0)));
                let start = || Segment::starting(t0, initial, "the start of the trace".into());
                let seg = roles.entry(n).or_insert_with(start);
                let state = match faults::edge(e) {
                    Some(Edge::Crash(_)) => None,
                    // A restarted node comes back a follower in its persisted term.
                    Some(Edge::Restart(_)) => Some((Role::Follower, e.term)),
                    _ => e.role.map(|r| (r, e.term)).or(seg.state),
                };
                if state != seg.state {
                    let next = Segment::starting(at, state, e.kind.to_string());
                    let done = Segment {
                        to: at,
                        ..std::mem::replace(seg, next)
                    };
                    m.segments.entry(n).or_default().push(done);
                }
            }
            if let EventKind::Message { from, to, .. } = e.kind {
                lanes.extend([lane_id(from), lane_id(to)]);
                m.note_message(&mut wires, e);
            }
            match faults::edge(e) {
                Some(Edge::Partition(groups)) => {
                    lanes.extend(groups.iter().flatten().map(|&n| lane_id(n)));
                }
                Some(Edge::Disconnect(node)) => {
                    lanes.insert(LaneId::Node(node));
                }
                Some(Edge::Net(net)) => {
                    close(&mut m.nets, at);
                    // `set_net` records the settings' Debug text.
                    if net != format!("{:?}", NetConfig::reliable()) {
                        let net = net.trim_start_matches("NetConfig {").trim_end_matches('}');
                        open(&mut m.nets, at, format!("network:{net}"));
                    }
                }
                _ => {}
            }
            if !axis::is_quiet(e) {
                busy.push(at);
            }
        }
        for (n, seg) in roles {
            let to = m.t_end;
            m.segments.entry(n).or_default().push(Segment { to, ..seg });
        }
        m.lanes = lanes.into_iter().collect();
        // A delayed message's arrival is busy too.
        busy.extend(
            m.arrows
                .iter()
                .filter(|a| a.arrive > a.sent)
                .map(|a| a.arrive),
        );
        m.axis = Axis::new(t0, m.t_end, &busy, compress_idle);
        m
    }

    /// Turns one router fate into a new arrow, or finishes the arrow of a delayed message.
    fn note_message(&mut self, w: &mut Wires, e: &Event) {
        let EventKind::Message {
            from,
            to,
            kind,
            msg_term: t,
            entries,
            fate,
        } = e.kind
        else {
            return;
        };
        let (at, key) = (e.at_us, (from, to, kind, t, entries));
        let arrived = match fate {
            Fate::Delivered => Some(End::Delivered),
            Fate::BlockedByPartition | Fate::BlockedCrashed | Fate::BlockedDisconnected => {
                Some(End::Blocked(fate))
            }
            _ => None,
        };
        if let (Some(end), Some(queue)) = (arrived, w.pending.get_mut(&key)) {
            let arrows = &self.arrows;
            let due = (0..queue.len())
                .filter(|&p| arrows[queue[p]].arrive <= at + DELIVERY_SLACK_US)
                .min_by_key(|&p| arrows[queue[p]].arrive);
            if let Some(pos) = due {
                let a = &mut self.arrows[queue.swap_remove(pos)];
                (a.arrive, a.end) = (at, end);
                return;
            }
        }
        let (arrive, end) = match fate {
            Fate::Duplicated => {
                w.dups.insert(key, 2);
                return;
            }
            Fate::Delayed { delay_us } => (at + delay_us, End::InFlight),
            Fate::Dropped => (at, End::Dropped),
            _ => (at, arrived.unwrap_or(End::Delivered)),
        };
        let hb_reply = entries == 0 && w.last_sent.get(&(to, from)) == Some(&"Heartbeat");
        w.last_sent.insert((from, to), kind);
        let dup = w.dups.get(&key).is_some_and(|&copies| copies > 0);
        if dup {
            *w.dups.entry(key).or_default() -= 1;
        }
        if end == End::InFlight {
            w.pending.entry(key).or_default().push(self.arrows.len());
        }
        let sent = at;
        self.t_end = self.t_end.max(arrive);
        let class = class_of(kind, hb_reply).0;
        self.arrows.push(Arrow {
            key,
            sent,
            arrive,
            dup,
            class,
            end,
        });
    }

    /// Where time `us` is drawn.
    pub(super) fn x(&self, us: u64) -> f64 {
        self.axis.x(us)
    }

    pub(super) fn height(&self) -> f64 {
        TOP + self.lanes.len() as f64 * LANE_H + 8.0
    }

    pub(super) fn lane_index(&self, l: LaneId) -> usize {
        self.lanes.binary_search(&l).unwrap_or(0)
    }

    /// The vertical centre of a lane.
    pub(super) fn y(&self, l: LaneId) -> f64 {
        TOP + self.lane_index(l) as f64 * LANE_H + LANE_H / 2.0
    }

    /// The left edge and width of a period.
    pub(super) fn span(&self, from: u64, to: Option<u64>) -> (f64, f64) {
        let (x1, x2) = (self.x(from), self.x(to.unwrap_or(self.t_end)));
        (x1, (x2 - x1).max(1.0))
    }

    pub(super) fn summary_line(&self) -> String {
        let nodes = self.lanes.iter().filter(|&&l| l != LaneId::Clients).count();
        let lost = self.arrows.iter().filter(|a| a.failed()).count();
        let span = self.t_end - self.t0;
        let idle: u64 = self.axis.breaks().map(|p| p.to_us - p.from_us).sum();
        let breaks = self.axis.breaks().count();
        let squeezed = match breaks {
            0 => String::new(),
            1 => format!(
                " · {:.0} ms of it idle, squeezed into a marked break",
                ms(idle)
            ),
            _ => format!(
                " · {:.0} ms of it idle, squeezed into {breaks} marked breaks",
                ms(idle)
            ),
        };
        let messages = match self.arrows.len() {
            0 => "no messages in the trace".to_string(),
            n => format!("{n} messages, {lost} dropped or blocked"),
        };
        format!(
            "{nodes} nodes · {:.0} ms{squeezed} · {messages} · {:.2} px per ms",
            ms(span),
            self.axis.px_per_ms
        )
    }
}
