//! Pictures of a run: a self-contained HTML page that draws the trace as a timeline, in
//! the spirit of RaftScope and Maelstrom's Lamport diagrams.
//!
//! One horizontal lane per node, time flowing left to right. Along each lane the node's
//! role is a coloured band with its term written on it; crashed periods are hatched.
//! Each message the router handled is an arrow from its send time on the sender's lane
//! to its delivery time on the receiver's lane: a `Delayed { delay_us }` fate at `t`
//! arrives at `t + delay`; a plain `Delivered` is instant, and leans a few pixels per
//! lane it crosses so that a leader's fan-out stays readable. Dropped messages stop
//! half-way at a ✕; blocked ones are a short stub with a ✕. Partitions tint the lanes of
//! each side, disconnects grey a lane, lossy network periods are shaded. Commits,
//! truncations, votes and elections are small marks on the lanes. Every shape carries a
//! native tooltip (`<title>`) with the event's full text: hover to read the why.
//!
//! Readability: heartbeats and their replies dominate a trace, so at most one arrow per
//! lane pair, message class and fate is drawn per [`THIN_PX`]-pixel column (its tooltip
//! counts the rest), and checkboxes hide whole classes of messages with CSS alone.
//!
//! Left out on purpose: scripts, external fonts and stylesheets (the page must open
//! offline, years later), zooming beyond the browser's own, and log contents (the trace
//! does not carry commands).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write;
use std::path::Path;

use crate::config::NetConfig;
use crate::event::{Event, EventKind, Fate};
use crate::router::CLIENT_ADDR_BASE;
use crate::summary;
use crate::types::{NodeId, Role, Term};

/// At most one arrow per lane pair, message class and fate is drawn per column of this
/// many pixels; the drawn one's tooltip counts the others.
pub const THIN_PX: f64 = 3.0;
/// The run is scaled to about this many pixels wide (within sane px-per-ms bounds).
const TARGET_WIDTH: f64 = 3000.0;
const LANE_H: f64 = 80.0;
const BAND_H: f64 = 16.0;
/// The time axis, the network strip and the links strip sit above the lanes.
const TOP: f64 = 58.0;
const PAD_L: f64 = 12.0;
/// How far an instant delivery leans per lane it crosses, in pixels.
const FAN_PX: f64 = 2.5;
/// A role label is repeated along a long segment every this many pixels.
const LABEL_EVERY_PX: f64 = 600.0;
/// Slack when matching a delivery to the delay the router announced for it.
const DELIVERY_SLACK_US: u64 = 25_000;

/// Renders the events of a run (oldest first, as `Cluster::trace` returns them) as a
/// self-contained HTML page titled `title`.
pub fn render_html(events: &[Event], title: &str) -> String {
    let m = Model::build(events);
    let (title, css, legend) = (esc(title), class_css(), legend());
    let sum = esc(&m.summary_line());
    let story = esc(&summary::summarize(events));
    let (labels, main) = match m.lanes.is_empty() {
        true => ("<p>No node events in this trace.</p>".into(), String::new()),
        false => (m.labels_svg(), m.svg(events)),
    };
    format!(
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>{title}</title>\
         <style>{CSS}{css}</style></head><body><h1>{title}</h1><p class='sum'>{sum}</p>\
         {CONTROLS}{legend}<div class='tl'>{labels}<div class='scroll'>{main}</div></div>\
         <h2>The run in words</h2><pre class='story'>{story}</pre></body></html>\n"
    )
}

/// Writes [`render_html`] of `events` to `path`.
pub fn write_html(path: impl AsRef<Path>, events: &[Event], title: &str) -> std::io::Result<()> {
    std::fs::write(path, render_html(events, title))
}

/// Escapes text for HTML and SVG, attribute values included (also used by
/// `check::history_html`).
pub(crate) fn esc(s: &str) -> String {
    let s = s
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    s.replace('"', "&quot;").replace('\'', "&#39;")
}

// ---- small SVG writers -------------------------------------------------------------

fn line(s: &mut String, class: &str, (x1, y1): (f64, f64), (x2, y2): (f64, f64)) {
    let _ = write!(
        s,
        "<line class='{class}' x1='{x1:.1}' y1='{y1:.1}' x2='{x2:.1}' y2='{y2:.1}'/>"
    );
}

/// A rectangle; `attrs` is `class='...'`, `fill='...'` or empty.
fn rect(s: &mut String, attrs: &str, x: f64, y: f64, w: f64, h: f64) {
    let _ = write!(
        s,
        "<rect {attrs} x='{x:.1}' y='{y:.1}' width='{w:.1}' height='{h:.1}'/>"
    );
}

fn text(s: &mut String, class: &str, x: f64, y: f64, content: &str) {
    let _ = write!(
        s,
        "<text class='{class}' x='{x:.1}' y='{y:.1}'>{}</text>",
        esc(content)
    );
}

/// Opens a group whose shapes share one tooltip; the caller closes it.
fn group(s: &mut String, class: &str, title: &str) {
    let _ = write!(s, "<g class='{class}'><title>{}</title>", esc(title));
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

// ---- the model -------------------------------------------------------------------------

/// A lane: every client shares one, above the nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum LaneId {
    Clients,
    Node(NodeId),
}

fn lane_id(addr: NodeId) -> LaneId {
    match addr >= CLIENT_ADDR_BASE {
        true => LaneId::Clients,
        false => LaneId::Node(addr),
    }
}

fn addr_name(addr: NodeId) -> String {
    match addr >= CLIENT_ADDR_BASE {
        true => format!("client {}", addr - CLIENT_ADDR_BASE),
        false => format!("n{addr}"),
    }
}

/// A stretch of a node's lane in one role and term; `None` while crashed.
struct Segment {
    from: u64,
    to: u64,
    state: Option<(Role, Term)>,
    /// The event that began it, in words.
    why: String,
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
enum End {
    Delivered,
    /// Still queued in the router when the trace ends.
    InFlight,
    Dropped,
    Blocked(Fate),
}

/// What identifies a message between its fates: from, to, kind, term, entries carried.
type MsgKey = (NodeId, NodeId, &'static str, Term, usize);

/// One message, from its first fate to its last.
struct Arrow {
    key: MsgKey,
    sent: u64,
    /// When it arrived (or was blocked); `sent` for an instant delivery or a drop.
    arrive: u64,
    dup: bool,
    class: &'static str,
    end: End,
}

impl Arrow {
    /// Announced as `Delayed` by the router.
    fn delayed(&self) -> bool {
        self.arrive > self.sent
    }

    /// Dropped or blocked.
    fn failed(&self) -> bool {
        matches!(self.end, End::Dropped | End::Blocked(_))
    }
}

/// A fault that lasts a while; `to` is `None` while it lasts to the end of the trace.
struct Period<T> {
    from: u64,
    to: Option<u64>,
    what: T,
}

fn open<T>(periods: &mut Vec<Period<T>>, at: u64, what: T) {
    periods.push(Period {
        from: at,
        to: None,
        what,
    });
}

fn close<T>(periods: &mut [Period<T>], at: u64) {
    for p in periods.iter_mut().filter(|p| p.to.is_none()) {
        p.to = Some(at);
    }
}

/// Everything the picture needs, derived from the events.
#[derive(Default)]
struct Model {
    t0: u64,
    t_end: u64,
    px_per_ms: f64,
    lanes: Vec<LaneId>,
    segments: BTreeMap<NodeId, Vec<Segment>>,
    arrows: Vec<Arrow>,
    partitions: Vec<Period<Vec<Vec<NodeId>>>>,
    disconnects: Vec<Period<NodeId>>,
    nets: Vec<Period<String>>,
}

/// Pairs the router's fates into arrows.
#[derive(Default)]
struct Wires {
    /// Delayed messages not yet delivered or blocked: indexes into `Model::arrows`.
    pending: HashMap<MsgKey, Vec<usize>>,
    /// Copies still to come of a duplicated message.
    dups: HashMap<MsgKey, u8>,
    /// The kind last sent on each link, to tell heartbeat replies from others.
    last_sent: HashMap<(NodeId, NodeId), &'static str>,
}

/// The message classes: CSS class, colour, stroke width, legend label.
const CLASSES: [(&str, &str, f64, &str); 9] = [
    ("hb", "#9aa4ae", 1.3, "Heartbeat"),
    ("hbr", "#b9c0c7", 1.3, "Heartbeat reply"),
    ("ae", "#1f5fd6", 2.0, "AppendEntries"),
    ("aer", "#0e8f84", 1.3, "AppendEntries reply"),
    ("vote", "#7b2fe0", 1.6, "RequestVote (+reply)"),
    ("pv", "#b08cf0", 1.3, "PreVote (+reply)"),
    ("snap", "#e2620c", 2.2, "InstallSnapshot"),
    ("cli", "#d6307f", 1.3, "client"),
    ("other", "#222222", 1.3, "TimeoutNow"),
];

/// The message's class (its colour) and the checkbox group that hides it.
fn class_of(kind: &str, heartbeat_reply: bool) -> (&'static str, &'static str) {
    match kind {
        "Heartbeat" => ("hb", "g-hb"),
        "AppendEntriesReply" if heartbeat_reply => ("hbr", "g-hb"),
        "AppendEntries" => ("ae", "g-repl"),
        "AppendEntriesReply" => ("aer", "g-repl"),
        "RequestVote" | "RequestVoteReply" => ("vote", "g-vote"),
        "PreVote" | "PreVoteReply" => ("pv", "g-vote"),
        "InstallSnapshot" | "InstallSnapshotReply" => ("snap", "g-repl"),
        "ClientRequest" | "ClientReply" => ("cli", "g-cli"),
        _ => ("other", "g-repl"),
    }
}

/// The roles' CSS class, band colour and text colour; `down` is a crashed node.
const ROLES: [(&str, &str, &str, &str); 5] = [
    ("fol", "#cfd8e2", "#36414d", "Follower"),
    ("pre", "#fbe28a", "#5a4700", "PreCandidate"),
    ("cand", "#f39a1e", "#3a2200", "Candidate"),
    ("lead", "#1e9e46", "#ffffff", "Leader (t = term)"),
    ("down", "#5c5c5c", "#ffffff", "crashed"),
];

fn role_class(role: Role) -> &'static str {
    match role {
        Role::Follower => "fol",
        Role::PreCandidate => "pre",
        Role::Candidate => "cand",
        Role::Leader => "lead",
    }
}

impl Model {
    fn build(events: &[Event]) -> Model {
        let first = events.iter().map(|e| e.at_us).min().unwrap_or(0);
        // A whole trace starts near 0; one cut by `trace_capacity` starts on a second.
        let t0 = first / 1_000_000 * 1_000_000;
        let mut m = Model::default();
        (m.t0, m.t_end) = (t0, t0 + 1_000);
        let (mut lanes, mut wires) = (BTreeSet::new(), Wires::default());
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
                let state = match e.kind {
                    EventKind::Crashed => None,
                    // A restarted node comes back a follower in its persisted term.
                    EventKind::Restarted { .. } => Some((Role::Follower, e.term)),
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
            match &e.kind {
                EventKind::Message { from, to, .. } => {
                    lanes.extend([lane_id(*from), lane_id(*to)]);
                    m.note_message(&mut wires, e);
                }
                EventKind::Partitioned { groups } => {
                    lanes.extend(groups.iter().flatten().map(|&n| lane_id(n)));
                    close(&mut m.partitions, at);
                    open(&mut m.partitions, at, groups.clone());
                }
                EventKind::Healed => {
                    // The router's heal also reconnects every disconnected node.
                    close(&mut m.partitions, at);
                    close(&mut m.disconnects, at);
                }
                EventKind::Disconnected { node } => {
                    lanes.insert(LaneId::Node(*node));
                    let cut = |p: &Period<NodeId>| p.to.is_none() && p.what == *node;
                    if !m.disconnects.iter().any(cut) {
                        open(&mut m.disconnects, at, *node);
                    }
                }
                EventKind::Connected { node } => {
                    for p in m.disconnects.iter_mut().filter(|p| p.what == *node) {
                        p.to = p.to.or(Some(at));
                    }
                }
                EventKind::NetChanged { net } => {
                    close(&mut m.nets, at);
                    // `set_net` records the settings' Debug text.
                    if *net != format!("{:?}", NetConfig::reliable()) {
                        let net = net.trim_start_matches("NetConfig {").trim_end_matches('}');
                        open(&mut m.nets, at, format!("network:{net}"));
                    }
                }
                _ => {}
            }
        }
        for (n, seg) in roles {
            let to = m.t_end;
            m.segments.entry(n).or_default().push(Segment { to, ..seg });
        }
        m.lanes = lanes.into_iter().collect();
        m.px_per_ms = (TARGET_WIDTH / ms(m.t_end - t0).max(1.0)).clamp(0.05, 8.0);
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

    fn x(&self, us: u64) -> f64 {
        PAD_L + ms(us.saturating_sub(self.t0)) * self.px_per_ms
    }

    fn height(&self) -> f64 {
        TOP + self.lanes.len() as f64 * LANE_H + 8.0
    }

    fn lane_index(&self, l: LaneId) -> usize {
        self.lanes.binary_search(&l).unwrap_or(0)
    }

    /// The vertical centre of a lane.
    fn y(&self, l: LaneId) -> f64 {
        TOP + self.lane_index(l) as f64 * LANE_H + LANE_H / 2.0
    }

    /// The left edge and width of a period.
    fn span(&self, from: u64, to: Option<u64>) -> (f64, f64) {
        let (x1, x2) = (self.x(from), self.x(to.unwrap_or(self.t_end)));
        (x1, (x2 - x1).max(1.0))
    }

    fn summary_line(&self) -> String {
        let nodes = self.lanes.iter().filter(|&&l| l != LaneId::Clients).count();
        let lost = self.arrows.iter().filter(|a| a.failed()).count();
        let span = self.t_end - self.t0;
        format!(
            "{nodes} nodes · {:.0} ms · {} messages, {lost} dropped or blocked · {:.2} px per ms",
            ms(span),
            self.arrows.len(),
            self.px_per_ms
        )
    }

    /// The fixed column of lane names, outside the horizontal scroll.
    fn labels_svg(&self) -> String {
        let h = self.height();
        let mut s = format!("<svg class='labels' width='86' height='{h:.0}'>");
        for (y, label) in [(14.0, "time (ms)"), (33.0, "network"), (50.0, "links")] {
            text(&mut s, "strip", 6.0, y, label);
        }
        for &l in &self.lanes {
            let name = match l {
                LaneId::Clients => "clients".to_string(),
                LaneId::Node(n) => format!("n{n}"),
            };
            text(&mut s, "lane", 8.0, self.y(l) + 6.0, &name);
        }
        s + "</svg>"
    }

    fn svg(&self, events: &[Event]) -> String {
        let (w, h) = (self.x(self.t_end) + 80.0, self.height());
        let mut s = String::with_capacity(64 * 1024 + self.arrows.len() * 300);
        let _ = write!(s, "<svg class='main' xmlns='http://www.w3.org/2000/svg' ");
        let _ = write!(s, "width='{w:.0}' height='{h:.0}'>{}", defs());
        for (i, l) in self.lanes.iter().enumerate() {
            let top = TOP + i as f64 * LANE_H;
            let (class, mid) = (format!("class='lanebg{}'", i % 2), top + LANE_H / 2.0);
            rect(&mut s, &class, 0.0, top, w, LANE_H);
            if *l == LaneId::Clients {
                line(&mut s, "cl", (0.0, mid), (w, mid));
            }
        }
        self.draw_faults(&mut s);
        // The smallest 1-2-5 step whose labels sit at least 70 px apart.
        let step = (0..30)
            .map(|k| [1.0, 2.0, 5.0][k % 3] * 10f64.powi(k as i32 / 3))
            .find(|st| st * self.px_per_ms >= 70.0)
            .unwrap_or(1e9);
        let mut t = 0.0;
        while t <= ms(self.t_end - self.t0) + step {
            let x = PAD_L + t * self.px_per_ms;
            line(&mut s, "grid", (x, 18.0), (x, h));
            text(&mut s, "tick", x, 13.0, &format!("{:.0}", ms(self.t0) + t));
            t += step;
        }
        let mut labels = String::new();
        self.draw_segments(&mut s, &mut labels);
        self.draw_arrows(&mut s);
        s.push_str(&labels);
        let mut last_commit_label = HashMap::new();
        for e in events {
            self.draw_mark(&mut s, e, &mut last_commit_label);
        }
        s + "</svg>"
    }

    /// Lossy periods shade a strip and, faintly, every lane; a partition tints each side's
    /// lanes in its own colour and names the sides; a disconnected node's lane is greyed.
    fn draw_faults(&self, s: &mut String) {
        const TINTS: [&str; 4] = ["#fbe3e0", "#dfeafc", "#e2f4e2", "#f6ecd9"];
        const INKS: [&str; 4] = ["#b4372a", "#2c5aa8", "#2f7d32", "#8a5a12"];
        let bottom = self.height() - 8.0;
        for p in &self.nets {
            let (x, w) = self.span(p.from, p.to);
            group(s, "net", &p.what);
            rect(s, "class='netstrip'", x, 22.0, w, 15.0);
            rect(s, "class='netlane'", x, TOP, w, bottom - TOP);
            text(s, "plabel", x + 4.0, 33.0, &p.what);
            s.push_str("</g>");
        }
        for p in &self.partitions {
            let (x, w) = self.span(p.from, p.to);
            let sides: Vec<String> = p.what.iter().map(|g| format!("{g:?}")).collect();
            let title = format!("partition {} from {:.0} ms", sides.join(" | "), ms(p.from));
            group(s, "part", &title);
            for &l in &self.lanes {
                let LaneId::Node(n) = l else { continue };
                let side = p.what.iter().position(|g| g.contains(&n));
                let fill = format!("fill='{}'", side.map_or("#e4e4e4", |g| TINTS[g % 4]));
                rect(s, &fill, x, self.y(l) - LANE_H / 2.0, w, LANE_H);
            }
            line(s, "pedge", (x, 38.0), (x, bottom));
            if p.to.is_some() {
                line(s, "pedge", (x + w, 38.0), (x + w, bottom));
            }
            rect(s, "class='pstrip'", x, 39.0, w, 15.0);
            let tx = x + 4.0;
            let _ = write!(s, "<text class='plabel' x='{tx:.1}' y='50'>partition");
            for (i, side) in sides.iter().enumerate() {
                let (sep, ink) = (if i > 0 { " |" } else { "" }, INKS[i % 4]);
                let _ = write!(s, "{sep} <tspan fill='{ink}'>{}</tspan>", esc(side));
            }
            s.push_str("</text></g>");
        }
        for p in &self.disconnects {
            let (x, w) = self.span(p.from, p.to);
            let top = self.y(LaneId::Node(p.what)) - LANE_H / 2.0;
            let label = format!("n{} disconnected", p.what);
            group(s, "disc", &label);
            rect(s, "", x, top, w, LANE_H);
            text(s, "plabel", x + 4.0, top + 11.0, &label);
            s.push_str("</g>");
        }
    }

    /// The role bands into `s`; their labels into `labels`, to be drawn over the arrows.
    fn draw_segments(&self, s: &mut String, labels: &mut String) {
        let all = self
            .segments
            .iter()
            .flat_map(|(&n, v)| v.iter().map(move |g| (n, g)));
        for (node, seg) in all {
            let (x1, w) = self.span(seg.from, Some(seg.to));
            let yc = self.y(LaneId::Node(node));
            let (class, label, tip) = match seg.state {
                None => ("down", "crashed".to_string(), format!("n{node} crashed")),
                Some((role, term)) => {
                    let tip = format!("n{node} {role} in term {term}");
                    let label = format!("t{term}");
                    // Long segments name the role too.
                    let label = if w >= 92.0 {
                        format!("{role} {label}")
                    } else {
                        label
                    };
                    (role_class(role), label, tip)
                }
            };
            let (from, to, why) = (ms(seg.from), ms(seg.to), &seg.why);
            let tip = format!("{tip}, {from:.0}–{to:.0} ms, since: {why}");
            group(s, &format!("seg {class}"), &tip);
            if seg.state.is_none() {
                rect(s, "class='hatch'", x1, yc - LANE_H / 2.0, w, LANE_H);
            }
            rect(s, "rx='3'", x1, yc - BAND_H / 2.0, w, BAND_H);
            s.push_str("</g>");
            if w >= 7.5 * label.len() as f64 + 4.0 {
                // Long segments repeat their label, so it is on screen wherever one scrolls.
                let n = (w / LABEL_EVERY_PX).ceil();
                group(labels, &format!("seg {class}"), &tip);
                for k in 0..n as usize {
                    text(labels, "", x1 + w * (k as f64 + 0.5) / n, yc + 4.0, &label);
                }
                labels.push_str("</g>");
            }
        }
    }

    fn draw_arrows(&self, s: &mut String) {
        // Thinning: the first arrow of each (pair, class, fate, pixel column) is drawn and
        // counts the rest.
        let mut first: HashMap<(LaneId, LaneId, &str, bool, i64), usize> = HashMap::new();
        let mut hidden = vec![None; self.arrows.len()];
        for (i, a) in self.arrows.iter().enumerate() {
            let col = (self.x(a.sent) / THIN_PX).floor() as i64;
            let key = (lane_id(a.key.0), lane_id(a.key.1), a.class, a.failed(), col);
            let j = *first.entry(key).or_insert(i);
            *hidden[j].get_or_insert(0) += usize::from(i != j);
        }
        for (a, h) in self.arrows.iter().zip(hidden) {
            if let Some(h) = h {
                self.draw_arrow(s, a, h);
            }
        }
    }

    fn draw_arrow(&self, s: &mut String, a: &Arrow, hidden: usize) {
        let (from, to, kind, term, entries) = a.key;
        let (lf, lt) = (lane_id(from), lane_id(to));
        if lf == lt {
            return;
        }
        let (yf, yt) = (self.y(lf), self.y(lt));
        let dir = if yt > yf { 1.0 } else { -1.0 };
        let (y1, y2) = (yf + dir * BAND_H / 2.0, yt - dir * (BAND_H / 2.0 + 1.0));
        let x1 = self.x(a.sent);
        let fan = FAN_PX * self.lane_index(lf).abs_diff(self.lane_index(lt)) as f64;
        let x2 = self.x(a.arrive).max(x1 + fan);
        let ((ex, ey), fail) = match a.end {
            End::Delivered | End::InFlight => ((x2, y2), None),
            End::Dropped => ((x1 + fan / 2.0, (y1 + y2) / 2.0), Some("dropped")),
            End::Blocked(f) if a.delayed() => ((x2, y2 - dir * 6.0), Some(blocked_why(f))),
            End::Blocked(f) => ((x1 + 3.0, y1 + dir * 12.0), Some(blocked_why(f))),
        };
        let mut tip = format!("{} → {} {kind} t{term}", addr_name(from), addr_name(to));
        if entries > 0 {
            let _ = write!(tip, " ({entries} entries)");
        }
        let _ = write!(tip, ", sent {:.1} ms", ms(a.sent));
        let _ = match (a.end, fail) {
            (_, Some(why)) => write!(tip, ", ✕ {why}"),
            (End::InFlight, _) => write!(tip, ", still in flight at the end"),
            _ if a.delayed() => write!(tip, ", delivered {:.1} ms", ms(a.arrive)),
            _ => write!(tip, ", delivered at once"),
        };
        if a.dup {
            tip.push_str(", a duplicated copy");
        }
        if hidden > 0 {
            let _ = write!(tip, " (+{hidden} like it within {THIN_PX} px, not drawn)");
        }
        let (class, checkbox) = (a.class, class_of(kind, a.class == "hbr").1);
        let reply = ["", " reply"][usize::from(kind.ends_with("Reply"))];
        let status = if fail.is_some() { "fail" } else { "ok" };
        group(s, &format!("m c-{class} {checkbox}{reply} {status}"), &tip);
        let _ = write!(s, "<line x1='{x1:.1}' y1='{y1:.1}'");
        let _ = write!(s, " x2='{ex:.1}' y2='{ey:.1}'");
        if fail.is_none() {
            let _ = write!(s, " marker-end='url(#ah-{class})'/>");
        } else {
            let (cx, cy) = (ex - 3.5, ey - 3.5);
            let _ = write!(s, "/><path class='xm' d='M{cx:.1} {cy:.1}l7 7m0 -7l-7 7'/>");
        }
        if a.dup {
            text(s, "dup", (x1 + ex) / 2.0 + 3.0, (y1 + ey) / 2.0, "2×");
        }
        s.push_str("</g>");
    }

    /// A small mark for an event worth one on its node's lane; a safety violation, a red
    /// line across every lane.
    fn draw_mark(&self, s: &mut String, e: &Event, last_commit_label: &mut HashMap<NodeId, f64>) {
        use crate::raft::Event::*;
        let (x, mut g) = (self.x(e.at_us), String::new());
        let Some(n) = e.node else { return };
        let yc = self.y(LaneId::Node(n));
        let (above, below) = (yc - BAND_H / 2.0, yc + BAND_H / 2.0);
        let (top, bottom) = (yc - LANE_H / 2.0 + 2.0, yc + LANE_H / 2.0 - 2.0);
        match &e.kind {
            EventKind::Raft(ElectionStarted { pre_vote, .. }) => {
                let (c, y) = (if *pre_vote { "elp" } else { "el" }, above - 1.0);
                let _ = write!(g, "<path class='{c}' d='M{x:.1} {y:.1}l5 -9h-10z'/>");
            }
            EventKind::Raft(VoteGranted { pre_vote, .. } | VoteRefused { pre_vote, .. }) => {
                let c = ["vr", "vg"]
                    [usize::from(matches!(e.kind, EventKind::Raft(VoteGranted { .. })))];
                let (r, y) = (if *pre_vote { 2.5 } else { 4.0 }, below + 6.0);
                let _ = write!(g, "<circle class='{c}' cx='{x:.1}' cy='{y:.1}' r='{r}'/>");
            }
            EventKind::Raft(Committed { to, .. }) => {
                line(&mut g, "commit", (x, above - 9.0), (x, above));
                // A label is skipped when it would overlap the previous one on the lane.
                if last_commit_label.get(&n).is_none_or(|&lx| x - lx >= 22.0) {
                    last_commit_label.insert(n, x);
                    text(&mut g, "ci", x + 1.5, above - 10.0, &format!("c{to}"));
                }
            }
            EventKind::Raft(Truncated { from, to, .. }) => {
                line(&mut g, "trunc", (x, above - 3.0), (x, below + 3.0));
                let label = format!("−{from}..{to}");
                text(&mut g, "tr", x + 2.0, below + 19.0, &label);
            }
            EventKind::Raft(AppendRejected { .. }) => {
                rect(&mut g, "class='rej'", x - 2.0, below + 10.0, 4.0, 4.0)
            }
            EventKind::Raft(Proposed { .. }) => {
                let y = below + 2.0;
                let _ = write!(g, "<path class='prop' d='M{x:.1} {y:.1}l4 4l-4 4l-4 -4z'/>");
            }
            EventKind::Raft(SnapshotInstalled { .. } | SnapshotTaken { .. }) => {
                rect(&mut g, "class='snapm'", x - 3.5, above - 9.0, 7.0, 7.0)
            }
            EventKind::Crashed => {
                line(&mut g, "crash", (x, top), (x, bottom));
                text(&mut g, "crasht", x + 3.0, bottom - 2.0, "CRASH");
            }
            EventKind::Restarted { .. } => {
                line(&mut g, "restart", (x, top), (x, bottom));
                // Labelled at the lane's top, CRASH at its bottom: a crash and restart
                // at one instant (the stepper's figure 8) would otherwise overprint.
                text(&mut g, "restartt", x + 3.0, top + 10.0, "restart");
            }
            EventKind::Violation { .. } => line(&mut g, "violn", (x, 20.0), (x, self.height())),
            _ => return,
        }
        group(s, "mk", e.to_string().trim_start());
        s.push_str(&g);
        s.push_str("</g>");
    }
}

fn blocked_why(f: Fate) -> &'static str {
    match f {
        Fate::BlockedByPartition => "blocked by the partition",
        Fate::BlockedDisconnected => "blocked: a node is disconnected",
        Fate::BlockedCrashed => "blocked: a node is crashed",
        _ => "not delivered",
    }
}

/// The crash hatch and one arrowhead per message class.
fn defs() -> String {
    let mut s = String::from(
        "<defs><pattern id='hatch' patternUnits='userSpaceOnUse' \
        width='7' height='7' patternTransform='rotate(45)'><line x1='0' y1='0' x2='0' \
        y2='7' stroke='#7a7a7a' stroke-width='2.5'/></pattern>",
    );
    for (class, color, _, _) in CLASSES {
        let _ = write!(
            s,
            "<marker id='ah-{class}' viewBox='0 0 10 10' refX='9' refY='5' \
            markerWidth='7' markerHeight='7' markerUnits='userSpaceOnUse' orient='auto'>\
            <path d='M0 0L10 5L0 10z' fill='{color}'/></marker>"
        );
    }
    s + "</defs>"
}

/// The colours of roles and message classes, from their tables.
fn class_css() -> String {
    let mut s = String::new();
    for (class, fill, ink, _) in ROLES {
        let _ = write!(s, ".{class} rect{{fill:{fill}}}");
        let _ = write!(s, ".{class} text{{fill:{ink};stroke:{fill}}}");
    }
    for (class, color, width, _) in CLASSES {
        let _ = write!(s, ".c-{class} line{{stroke:{color};stroke-width:{width}}}");
    }
    s
}

/// The key to every colour and mark.
fn legend() -> String {
    let swatch = |svg: &str, label: &str| {
        format!("<span><svg width='26' height='12'>{svg}</svg>{label}</span>")
    };
    let mut s = String::from("<div class='legend'>");
    for (_, fill, _, label) in ROLES {
        let r = format!("<rect width='26' height='12' rx='3' fill='{fill}'/>");
        s += &swatch(&r, label);
    }
    for (_, color, width, label) in CLASSES {
        let l = format!("<line x2='26' y1='6' y2='6' stroke='{color}' stroke-width='{width}'/>");
        s += &swatch(&l, label);
    }
    for (svg, label) in LEGEND_MARKS {
        s += &swatch(svg, label);
    }
    s + "<span>hover anything for details</span></div>"
}

const LEGEND_MARKS: [(&str, &str); 10] = [
    ("<line x2='26' y1='6' y2='6' stroke='#555' stroke-dasharray='4 2'/>", "dashed: a reply"),
    ("<path d='M9 2l8 8m0 -8l-8 8' stroke='#e0201b' stroke-width='2'/>", "dropped / blocked"),
    ("<text x='6' y='10' font-size='10' font-weight='700'>2×</text>", "duplicated"),
    ("<path d='M13 11l5 -9h-10z' fill='#f39a1e'/>", "election (pale: pre-vote)"),
    ("<circle cx='8' cy='6' r='4' fill='#1e9e46'/><circle cx='19' cy='6' r='3.5' fill='#fff' stroke='#e0201b' stroke-width='1.6'/>", "vote granted / refused (small: pre-vote)"),
    ("<path d='M13 2l5 5l-5 5l-5 -5z' fill='#1f5fd6'/>", "leader accepted a command"),
    ("<line x1='13' x2='13' y2='12' stroke='#111' stroke-width='1.5'/>", "c<i>n</i>: commit index"),
    ("<line x1='13' x2='13' y2='12' stroke='#e0201b' stroke-width='3'/>", "−a..b: entries truncated"),
    ("<rect width='13' height='12' fill='#fbe3e0'/><rect x='13' width='13' height='12' fill='#dfeafc'/>", "partition sides"),
    ("<rect width='26' height='12' fill='#ffd9a8'/>", "lossy network"),
];

const CSS: &str = "
body{font:13px/1.4 system-ui,sans-serif;margin:12px 16px;color:#1d232a;background:#fff}
h1{font-size:19px;margin:0 0 2px}h2{font-size:15px;margin:18px 0 4px}.sum{margin:0 0 6px;color:#4a5560}
.ctl{display:inline-block;margin:0 14px 6px 0}.legend svg{overflow:visible}
.legend{display:flex;flex-wrap:wrap;gap:4px 14px;margin:4px 0 8px;align-items:center}
.legend span{display:inline-flex;align-items:center;gap:4px}
.tl{display:flex;border:1px solid #ccd3da}.scroll{overflow-x:auto;flex:1}text{font-family:inherit}
.labels{flex:none;background:#f7f9fb;border-right:1px solid #ccd3da}
.labels .lane{font-weight:700;font-size:15px}.labels .strip{font-size:11px;fill:#5b6670}
.lanebg0{fill:#fff}.lanebg1{fill:#f5f7f9}.cl{stroke:#d6307f;stroke-opacity:.25}
.grid{stroke:#e3e7eb}.tick{font-size:11px;fill:#5b6670;text-anchor:middle}
.netstrip{fill:#ffd9a8}.netlane{fill:#ffb35c;opacity:.12}.pstrip{fill:#f0e6f7}
.plabel{font-size:11px;fill:#333;font-weight:600;paint-order:stroke;stroke:#fff;stroke-width:3px}.disc rect{fill:#e0e0e0;opacity:.8}
.pedge{stroke:#9b3cc2;stroke-dasharray:5 3;stroke-width:1.5}.seg rect{stroke:#fff;stroke-width:.5}
.seg text{font-size:11px;text-anchor:middle;font-weight:600;paint-order:stroke;stroke-width:4px}
.down rect.hatch{fill:url(#hatch);opacity:.35;stroke:none}
.m line{fill:none}.m:hover line{stroke-width:3}.m.reply line{stroke-dasharray:4 2}
.xm{stroke:#e0201b;stroke-width:2;fill:none}.dup{font-size:10px;fill:#000;font-weight:700}
.el{fill:#f39a1e;stroke:#7a4a00;stroke-width:.7}.elp{fill:#fbe28a;stroke:#8a7000;stroke-width:.7}
.vg{fill:#1e9e46;stroke:#0d5a26}.vr{fill:#fff;stroke:#e0201b;stroke-width:1.6}
.commit{stroke:#111;stroke-width:1.5}.ci{font-size:10px;fill:#111}
.trunc{stroke:#e0201b;stroke-width:3}.tr{font-size:10px;fill:#e0201b;font-weight:700}
.rej{fill:#e07b1b}.prop{fill:#1f5fd6;stroke:#fff;stroke-width:.8}.snapm{fill:#e2620c}.violn{stroke:#f00;stroke-width:3}
.crash{stroke:#c00;stroke-width:2.5}.crasht{fill:#c00;font-weight:800;font-size:11px}
.restart{stroke:#1e9e46;stroke-width:2.5}.restartt{fill:#1e7e36;font-weight:700;font-size:11px}
.story{font:12px/1.45 ui-monospace,Menlo,Consolas,monospace;color:#333}
#f-hb:not(:checked)~.tl .g-hb,#f-vote:not(:checked)~.tl .g-vote,#f-repl:not(:checked)~.tl .g-repl,
#f-cli:not(:checked)~.tl .g-cli,#f-ok:not(:checked)~.tl .m.ok,#f-mk:not(:checked)~.tl .mk{display:none}
";

/// Checkboxes that hide classes of shapes: CSS `:checked ~` rules, no script.
const CONTROLS: &str = "<b>Show:</b> \
<input type='checkbox' id='f-hb' checked><label class='ctl' for='f-hb'>heartbeats and their replies</label>\
<input type='checkbox' id='f-vote' checked><label class='ctl' for='f-vote'>votes and pre-votes</label>\
<input type='checkbox' id='f-repl' checked><label class='ctl' for='f-repl'>AppendEntries, replies, snapshots</label>\
<input type='checkbox' id='f-cli' checked><label class='ctl' for='f-cli'>client messages</label>\
<input type='checkbox' id='f-ok' checked><label class='ctl' for='f-ok'>delivered messages (off: only lost ones)</label>\
<input type='checkbox' id='f-mk' checked><label class='ctl' for='f-mk'>votes, commits and other marks</label>";
