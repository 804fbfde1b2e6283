//! Drawing the model: the lane names, the axis with its breaks, fault tints, role bands,
//! arrows and marks, as SVG.

use std::collections::HashMap;
use std::fmt::Write;

use super::axis::BREAK_PX;
use super::faults::Fault;
use super::model::{addr_name, lane_id, Arrow, End, LaneId, Model};
use super::style::{class_of, defs, role_class};
use super::{BAND_H, FAN_PX, LABEL_EVERY_PX, LANE_H, THIN_PX, TOP};
use crate::event::{Event, EventKind, Fate};
use crate::svg::{esc, group, line, ms, rect, text, tick_step};
use crate::types::NodeId;

impl Model {
    /// The fixed column of lane names, outside the horizontal scroll.
    pub(super) fn labels_svg(&self) -> String {
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

    /// The picture: lanes, axis, faults, bands, arrows and marks.
    pub(super) fn svg(&self, events: &[Event]) -> String {
        let (w, h) = (self.x(self.t_end) + 80.0, self.height());
        let mut s = String::with_capacity(64 * 1024 + self.arrows.len() * 300);
        let _ = write!(s, "<svg class='main' xmlns='http://www.w3.org/2000/svg' ");
        let _ = write!(s, "data-axis='{}' ", self.axis.json());
        let _ = write!(s, "width='{w:.0}' height='{h:.0}'>{}", defs());
        for (i, l) in self.lanes.iter().enumerate() {
            let top = TOP + i as f64 * LANE_H;
            let (class, mid) = (format!("class='lanebg{}'", i % 2), top + LANE_H / 2.0);
            rect(&mut s, &class, 0.0, top, w, LANE_H);
            if *l == LaneId::Clients {
                line(&mut s, "cl", (0.0, mid), (w, mid));
            }
        }
        // The axis first: a break's band lies under the fault tints and their labels.
        self.draw_axis(&mut s);
        self.draw_faults(&mut s);
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

    /// The time axis: ticks and grid lines on the linear pieces (in a group the zoom
    /// script redraws), and a marked break on each idle stretch that says how long it
    /// really was.
    fn draw_axis(&self, s: &mut String) {
        let h = self.height();
        let pieces = &self.axis.pieces;
        s.push_str("<g id='tl-ticks'>");
        let step = tick_step(self.axis.px_per_ms, 70.0);
        for (i, p) in pieces.iter().enumerate().filter(|(_, p)| !p.idle) {
            // No tick label where it would run into a break's label.
            let idle_at = |j: Option<usize>| j.and_then(|j| pieces.get(j)).is_some_and(|q| q.idle);
            let lo = p.x
                + if idle_at(i.checked_sub(1)) {
                    22.0
                } else {
                    -1.0
                };
            let hi = p.x_end() - if idle_at(Some(i + 1)) { 22.0 } else { -1.0 };
            let mut t = (ms(p.from_us) / step).ceil() * step;
            // The last piece's ticks run on past the end of the trace, like its margin.
            let last = if i + 1 == pieces.len() {
                ms(p.to_us) + step
            } else {
                ms(p.to_us)
            };
            while t <= last {
                let x = p.x + (t - ms(p.from_us)) * self.axis.px_per_ms;
                if x >= lo && (x <= hi || i + 1 == pieces.len()) {
                    line(s, "grid", (x, 18.0), (x, h));
                    text(s, "tick", x, 13.0, &format!("{t:.0}"));
                }
                t += step;
            }
        }
        s.push_str("</g>");
        for p in self.axis.breaks() {
            let (x, xe, took) = (p.x, p.x_end(), ms(p.to_us - p.from_us));
            let took = match took >= 10_000.0 {
                true => format!("{:.1} s", took / 1000.0),
                false => format!("{took:.0} ms"),
            };
            let tip = format!(
                "{took} with nothing but heartbeats ({:.1}–{:.1} ms), squeezed into {BREAK_PX} px; \
                 every event in it is still drawn",
                ms(p.from_us),
                ms(p.to_us)
            );
            group(s, "brk", &tip);
            rect(s, "class='brkband'", x, 18.0, xe - x, h - 18.0);
            for bx in [x, xe] {
                let _ = write!(s, "<path class='zig' d='M{bx:.1} 4l3 4l-6 4l6 4l-3 4'/>");
            }
            text(s, "brkt", (x + xe) / 2.0, 13.0, &took);
            s.push_str("</g>");
        }
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
        for f in &self.faults {
            let (x, w) = self.span(f.from_us, f.to_us);
            match &f.fault {
                Fault::Partition { groups } => {
                    let title = format!("{} from {:.0} ms", f.label(), ms(f.from_us));
                    group(s, "part", &title);
                    for &l in &self.lanes {
                        let LaneId::Node(n) = l else { continue };
                        let side = groups.iter().position(|g| g.contains(&n));
                        let fill = format!("fill='{}'", side.map_or("#e4e4e4", |g| TINTS[g % 4]));
                        rect(s, &fill, x, self.y(l) - LANE_H / 2.0, w, LANE_H);
                    }
                    line(s, "pedge", (x, 38.0), (x, bottom));
                    if f.to_us.is_some() {
                        line(s, "pedge", (x + w, 38.0), (x + w, bottom));
                    }
                    rect(s, "class='pstrip'", x, 39.0, w, 15.0);
                    let tx = x + 4.0;
                    let _ = write!(s, "<text class='plabel' x='{tx:.1}' y='50'>partition");
                    for (i, side) in groups.iter().enumerate() {
                        let (sep, ink) = (if i > 0 { " |" } else { "" }, INKS[i % 4]);
                        let _ = write!(
                            s,
                            "{sep} <tspan fill='{ink}'>{}</tspan>",
                            esc(&format!("{side:?}"))
                        );
                    }
                    s.push_str("</text></g>");
                }
                Fault::Disconnect { node } => {
                    let top = self.y(LaneId::Node(*node)) - LANE_H / 2.0;
                    let label = f.label();
                    group(s, "disc", &label);
                    rect(s, "", x, top, w, LANE_H);
                    text(s, "plabel", x + 4.0, top + 11.0, &label);
                    s.push_str("</g>");
                }
                // Drawn as the node's hatched segment.
                Fault::Crash { .. } => {}
            }
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
            EventKind::Raft(AppendRejected { .. }) => square(&mut g, "rej", x, below + 12.0, 4.0),
            EventKind::Raft(Proposed { .. }) => {
                let y = below + 2.0;
                let _ = write!(g, "<path class='prop' d='M{x:.1} {y:.1}l4 4l-4 4l-4 -4z'/>");
            }
            EventKind::Raft(SnapshotInstalled { .. } | SnapshotTaken { .. }) => {
                square(&mut g, "snapm", x, above - 5.5, 7.0)
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

/// A small square mark centred on (x, y): a path, not a rect, so that zooming moves it
/// without widening it.
fn square(s: &mut String, class: &str, x: f64, y: f64, side: f64) {
    let (x0, y0) = (x - side / 2.0, y - side / 2.0);
    let _ = write!(
        s,
        "<path class='{class}' d='M{x0:.1} {y0:.1}h{side}v{side}h-{side}z'/>"
    );
}

fn blocked_why(f: Fate) -> &'static str {
    match f {
        Fate::BlockedByPartition => "blocked by the partition",
        Fate::BlockedDisconnected => "blocked: a node is disconnected",
        Fate::BlockedCrashed => "blocked: a node is crashed",
        _ => "not delivered",
    }
}
