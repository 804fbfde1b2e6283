//! A picture of a history, the way porcupine draws one: a self-contained HTML page with
//! one SVG per partition (key), one lane per client, each operation a bar from its call
//! to its response labelled with what it asked and got. Time runs left to right on a
//! compressed axis (the order of the events, not their real spacing), so a 50 µs read
//! next to a 2 s timed-out write is still visible and overlaps are exact.
//!
//! Colours: on a violation, the linearizable prefix is green (with its position in the
//! linearization), the operations that cannot be placed after it are red, the one that
//! returned too early has a thick outline; a pending operation is a dashed bar up to
//! where its client moved on, then a dotted line to the right edge (it may still take
//! effect). Hovering a bar shows its full text and real times.
//!
//! With [`Extras`] (the kv example passes them), the fault windows of the run's trace
//! (partitions, crashes, disconnections) are shaded on every time axis, as Jepsen
//! shades its nemesis's activity, and a plot of latency over real time comes first:
//! one point per operation, a colour per kind, answered ones as dots, unanswered ones
//! as crosses.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::Path;

use super::linearizability::{fmt_time, CheckResult, Model, Operation, PENDING};
use crate::svg::latency::{self, LatencyPoint, Shade};
use crate::svg::{esc, fault_legend, FAULT_STYLES};
use crate::timeline::FaultWindow;

/// Width of one step of the compressed time axis, in pixels: the most, for a short
/// history, and the least, for a long one (which then scrolls).
const COL_MAX: f64 = 80.0;
const COL_MIN: f64 = 16.0;
/// The width a partition's picture aims at before it scrolls.
const TARGET_WIDTH: f64 = 1200.0;
/// Height of one client's lane.
const LANE: f64 = 30.0;
/// Room on the left for the lane names.
const LEFT: f64 = 90.0;
/// Average width of one label character at the font size used.
const CHAR: f64 = 6.4;
/// The most partitions drawn (the conflicting one always first).
const MAX_PARTITIONS: usize = 40;

/// What the page shows beside the history itself.
#[derive(Debug, Clone, Default)]
pub struct Extras {
    /// Fault windows to shade on every time axis: `timeline::fault_windows` of the
    /// run's trace (its clock is the history's, in microseconds rather than nanoseconds).
    pub faults: Vec<FaultWindow>,
    /// Plot latency over time above the histories.
    pub latency: bool,
}

impl Extras {
    /// The fault windows of a run's trace, and the latency plot.
    pub fn from_trace(events: &[crate::event::Event]) -> Extras {
        Extras {
            faults: crate::timeline::fault_windows(events),
            latency: true,
        }
    }
}

/// Writes [`render_html`]'s page to `path`.
pub fn write_html<M: Model>(
    path: impl AsRef<Path>,
    model: &M,
    ops: &[Operation<M::Input, M::Output>],
    result: &CheckResult,
) -> std::io::Result<()> {
    std::fs::write(path, render_html(model, ops, result))
}

/// Writes [`render_html_with`]'s page to `path`.
pub fn write_html_with<M: Model>(
    path: impl AsRef<Path>,
    model: &M,
    ops: &[Operation<M::Input, M::Output>],
    result: &CheckResult,
    extras: &Extras,
) -> std::io::Result<()> {
    std::fs::write(path, render_html_with(model, ops, result, extras))
}

/// A self-contained HTML page picturing `ops` and the checker's `result`.
pub fn render_html<M: Model>(
    model: &M,
    ops: &[Operation<M::Input, M::Output>],
    result: &CheckResult,
) -> String {
    render_html_with(model, ops, result, &Extras::default())
}

/// [`render_html`] with the fault windows shaded and the latency plot `extras` asks for.
pub fn render_html_with<M: Model>(
    model: &M,
    ops: &[Operation<M::Input, M::Output>],
    result: &CheckResult,
    extras: &Extras,
) -> String {
    let mut partitions = model.display_groups(ops);
    let (prefix, conflicting, stuck, bad_label) = match result {
        CheckResult::Illegal(v) => (
            v.prefix.clone(),
            v.candidates.clone(),
            Some(v.stuck),
            Some(v.partition.clone()),
        ),
        _ => (Vec::new(), Vec::new(), None, None),
    };
    // The conflicting partition first.
    partitions.sort_by_key(|p| Some(&p.label) != bad_label.as_ref());
    let order: HashMap<usize, usize> = prefix
        .iter()
        .enumerate()
        .map(|(k, &i)| (i, k + 1))
        .collect();
    let conflicting: BTreeSet<usize> = conflicting.into_iter().collect();
    let next_call = next_calls(ops);
    // The fault windows on the history's clock (nanoseconds).
    let faults: Vec<(u64, u64, &FaultWindow)> = extras
        .faults
        .iter()
        .map(|f| (f.from_us * 1000, f.to_us.map_or(PENDING, |t| t * 1000), f))
        .collect();
    let marks = Marks {
        order: &order,
        conflicting: &conflicting,
        stuck,
        next_call: &next_call,
        faults: &faults,
    };

    let mut html = page_head(ops, result);
    if !faults.is_empty() {
        html.push_str(&fault_legend());
        html.push_str(
            "<p>Shaded behind the points and the bars: when the network was partitioned \
             or a node was crashed or disconnected (hover a shade for which, and when). On \
             a key's compressed axis a shade spans the operations that ran during it.</p>\n",
        );
    }
    if extras.latency {
        html.push_str(&latency_section(model, ops, extras, &next_call));
    }
    for p in partitions.iter().take(MAX_PARTITIONS) {
        let _ = write!(
            html,
            "<div class=\"part\">{} — {} operations</div>\n<div class=\"scroll\">",
            esc(&p.label),
            p.ops.len()
        );
        html.push_str(&partition_svg(model, ops, &p.ops, &marks));
        html.push_str("</div>\n");
    }
    if partitions.len() > MAX_PARTITIONS {
        let _ = writeln!(
            html,
            "<p>{} more partitions not drawn.</p>",
            partitions.len() - MAX_PARTITIONS
        );
    }
    html.push_str("</body></html>\n");
    html
}

/// When each client gave up on a pending operation: its next call (a client has one
/// operation outstanding at a time), over the whole history; [`PENDING`] if none.
fn next_calls<I, O>(ops: &[Operation<I, O>]) -> Vec<u64> {
    let mut by_client: HashMap<u64, Vec<usize>> = HashMap::new();
    for (i, op) in ops.iter().enumerate() {
        by_client.entry(op.client).or_default().push(i);
    }
    let mut next_call = vec![PENDING; ops.len()];
    for mine in by_client.values_mut() {
        mine.sort_by_key(|&i| ops[i].call);
        for w in mine.windows(2) {
            next_call[w[0]] = ops[w[1]].call;
        }
    }
    next_call
}

/// The page up to the pictures: its style, the history's size and the verdict.
fn page_head<I, O>(ops: &[Operation<I, O>], result: &CheckResult) -> String {
    let mut html = String::new();
    let verdict_class = match result {
        CheckResult::Ok => "ok",
        CheckResult::Illegal(_) => "bad",
        CheckResult::Unknown { .. } => "unknown",
    };
    let pending = ops.iter().filter(|o| o.is_pending()).count();
    let clients: BTreeSet<u64> = ops.iter().map(|o| o.client).collect();
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>history</title>\n<style>\
         body{{font-family:sans-serif;margin:16px;background:#fafafa}}\
         .ok{{color:#176f2c}}.bad{{color:#b00020}}.unknown{{color:#a06000}}\
         .part{{margin:18px 0 4px;font-weight:bold}}\
         .scroll{{overflow-x:auto;border:1px solid #ddd;background:#fff}}\
         text{{font-family:monospace;font-size:11px}}\
         .flegend{{display:flex;flex-wrap:wrap;gap:4px 14px;align-items:center;margin:6px 0}}\
         .flegend span{{display:inline-flex;align-items:center;gap:4px}}{}\
         </style></head><body>\n<h2>History: {} operations, {} clients, {} pending</h2>\n\
         <p class=\"{verdict_class}\"><b>{}</b></p>\n\
         <p>Bars run from call to response on a compressed time axis; hover for details. \
         Green: linearizable prefix (with its order); red: operations that cannot be \
         placed after it (thick outline: the one that returned first); dashed: pending \
         (no response; may or may not have taken effect).</p>\n",
        latency::CSS,
        ops.len(),
        clients.len(),
        pending,
        esc(&result.to_string()),
    );
    html
}

/// The latency plot, with the fault windows shaded behind it.
fn latency_section<M: Model>(
    model: &M,
    ops: &[Operation<M::Input, M::Output>],
    extras: &Extras,
    next_call: &[u64],
) -> String {
    let points = latency_points(model, ops, next_call);
    let shades: Vec<Shade> = extras
        .faults
        .iter()
        .map(|f| Shade {
            from_us: f.from_us,
            to_us: f.to_us,
            class: f.class(),
            label: f.label(),
        })
        .collect();
    let end = ops
        .iter()
        .flat_map(|o| [o.call, o.ret])
        .filter(|&t| t != PENDING)
        .max()
        .unwrap_or(0);
    format!(
        "<h3>Latency over time</h3>{}<div class=\"scroll\">{}</div>\n",
        latency::latency_legend(&points),
        latency::latency_svg(&points, &shades, end / 1000),
    )
}

/// What to mark on the operations, by index into the history.
struct Marks<'a> {
    /// Position in the linearizable prefix of a violation.
    order: &'a HashMap<usize, usize>,
    /// Operations that cannot be placed.
    conflicting: &'a BTreeSet<usize>,
    /// The one that returned before it could be placed.
    stuck: Option<usize>,
    /// The same client's next call ([`PENDING`] if none): where a pending bar stops.
    next_call: &'a [u64],
    /// Fault windows to shade: from, to ([`PENDING`]: the end), what.
    faults: &'a [(u64, u64, &'a FaultWindow)],
}

/// One point per operation: its call, its latency (for a pending one, until its client
/// moved on), its kind (the description's first word).
fn latency_points<M: Model>(
    model: &M,
    ops: &[Operation<M::Input, M::Output>],
    next_call: &[u64],
) -> Vec<LatencyPoint> {
    // An operation still waiting when the history ends has no latency to plot.
    ops.iter()
        .zip(next_call)
        .filter(|(op, &next)| !op.is_pending() || next != PENDING)
        .map(|(op, &next)| {
            let text = model.describe_operation(&op.input, op.output.as_ref());
            let kind = text.split(['(', ' ']).next().unwrap_or("").to_string();
            let ret = if op.is_pending() { next } else { op.ret };
            let took = ret.saturating_sub(op.call);
            let how = if op.is_pending() {
                "no answer after"
            } else {
                "took"
            };
            LatencyPoint {
                at_us: op.call / 1000,
                latency_us: took / 1000,
                kind,
                ok: !op.is_pending(),
                text: format!(
                    "{text} (client {}, called {}, {how} {})",
                    op.client,
                    fmt_time(op.call),
                    fmt_time(took)
                ),
            }
        })
        .collect()
}

/// One partition's compressed time axis and its lanes, one per client.
struct Layout {
    /// Each distinct event time, in order: one column each.
    times: Vec<u64>,
    /// Width of one column.
    col: f64,
    /// The clients, top to bottom.
    lanes: Vec<u64>,
    lane_of: HashMap<u64, usize>,
    width: f64,
    /// Where the first lane starts (below the strip naming the faults, if any).
    top: f64,
    height: f64,
}

impl Layout {
    fn new<I, O>(ops: &[Operation<I, O>], part: &[usize], with_faults: bool) -> Layout {
        // The compressed axis: each distinct event time is one column; a time between two
        // events (a client's next call on another key) sits at the next event's column, and
        // pending responses one column past the last event.
        let times: Vec<u64> = part
            .iter()
            .flat_map(|&i| [ops[i].call, ops[i].ret])
            .filter(|&t| t != PENDING)
            .collect::<BTreeSet<u64>>()
            .into_iter()
            .collect();
        let end = times.len();
        let col = (TARGET_WIDTH / (end as f64 + 2.0)).clamp(COL_MIN, COL_MAX);
        let lanes: Vec<u64> = part
            .iter()
            .map(|&i| ops[i].client)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let lane_of: HashMap<u64, usize> = lanes.iter().enumerate().map(|(k, &c)| (c, k)).collect();
        let width = LEFT + col * (end as f64 + 2.0);
        // A strip above the lanes names the faults.
        let head = if with_faults { 16.0 } else { 0.0 };
        let top = 5.0 + head;
        let height = LANE * lanes.len() as f64 + 10.0 + head;
        Layout {
            times,
            col,
            lanes,
            lane_of,
            width,
            top,
            height,
        }
    }

    /// The x of time `t`: the middle of its column.
    fn x(&self, t: u64) -> f64 {
        LEFT + self.col * (self.times.partition_point(|&u| u < t) as f64 + 0.5)
    }
}

/// One partition's SVG.
fn partition_svg<M: Model>(
    model: &M,
    ops: &[Operation<M::Input, M::Output>],
    part: &[usize],
    marks: &Marks,
) -> String {
    let at = Layout::new(ops, part, !marks.faults.is_empty());
    let (width, height) = (at.width, at.height);
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\">"
    );
    for (k, c) in at.lanes.iter().enumerate() {
        let y = at.top + LANE * k as f64;
        let fill = if k % 2 == 0 { "#f4f6f8" } else { "#ffffff" };
        let _ = write!(
            svg,
            "<rect x=\"0\" y=\"{y}\" width=\"{width:.0}\" height=\"{LANE}\" fill=\"{fill}\"/>\
             <text x=\"6\" y=\"{:.1}\">client {c}</text>",
            y + LANE / 2.0 + 4.0
        );
    }
    for &(from, to, f) in marks.faults.iter() {
        fault_shade(&mut svg, &at, from, to, f);
    }
    for &i in part {
        operation_bar(&mut svg, &at, model, &ops[i], i, marks);
    }
    svg.push_str("</svg>");
    svg
}

/// A fault window, between the columns of the first event in it and the last.
fn fault_shade(svg: &mut String, at: &Layout, from: u64, to: u64, f: &FaultWindow) {
    let (col, width, height) = (at.col, at.width, at.height);
    let x0 = at.x(from) - col * 0.5;
    let x1 = if to == PENDING {
        width
    } else {
        at.x(to) - col * 0.5
    };
    let fill = FAULT_STYLES
        .iter()
        .find(|s| s.0 == f.class())
        .map_or("#ddd", |s| s.1);
    let label = f.label();
    let _ = write!(
        svg,
        "<g class=\"fault {}\"><title>{} ({} .. {})</title>\
         <rect x=\"{x0:.1}\" y=\"2\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{fill}\" \
         fill-opacity=\"0.5\" stroke=\"#8a7a5a\" stroke-opacity=\"0.5\"/>",
        f.class(),
        esc(&label),
        fmt_time(from),
        fmt_time(to),
        (x1 - x0).max(3.0),
        height - 4.0,
    );
    if x1 - x0 > CHAR * label.chars().count() as f64 + 6.0 {
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"14\">{}</text>",
            x0 + 3.0,
            esc(&label)
        );
    }
    svg.push_str("</g>");
}

/// Operation `i`'s bar in its client's lane, with its label if it fits.
fn operation_bar<M: Model>(
    svg: &mut String,
    at: &Layout,
    model: &M,
    op: &Operation<M::Input, M::Output>,
    i: usize,
    marks: &Marks,
) {
    let Marks {
        order,
        stuck,
        next_call,
        ..
    } = marks;
    let (col, width) = (at.col, at.width);
    let y = at.top + LANE * at.lane_of[&op.client] as f64 + 4.0;
    let x0 = at.x(op.call) - col * 0.4;
    // A pending bar stops where its client moved on (a thin dashed line goes on to
    // the right edge: it may still take effect), so the client's later bars stay
    // readable.
    let x1 = if op.is_pending() && next_call[i] != PENDING {
        (at.x(next_call[i]) - col * 0.5).max(x0 + 4.0)
    } else {
        at.x(op.ret) + col * 0.4
    };
    let w = (x1 - x0).max(4.0);
    let (fill, stroke) = bar_colours(op.is_pending(), i, marks);
    let stroke_width = if Some(i) == *stuck { 3 } else { 1 };
    let dash = if op.is_pending() {
        " stroke-dasharray=\"4 3\""
    } else {
        ""
    };
    let text = model.describe_operation(&op.input, op.output.as_ref());
    let label = match order.get(&i) {
        Some(k) => format!("#{k} {text}"),
        None => text.clone(),
    };
    let _ = write!(
        svg,
        "<g><title>{} (client {}, {} .. {}{})</title>\
         <rect x=\"{x0:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{:.1}\" rx=\"3\" \
         fill=\"{fill}\" stroke=\"{stroke}\" stroke-width=\"{stroke_width}\"{dash}/>",
        esc(&text),
        op.client,
        fmt_time(op.call),
        fmt_time(op.ret),
        if op.is_pending() { ", pending" } else { "" },
        LANE - 8.0,
    );
    if op.is_pending() && next_call[i] != PENDING {
        let _ = write!(
            svg,
            "<line x1=\"{x1:.1}\" y1=\"{y2:.1}\" x2=\"{:.1}\" y2=\"{y2:.1}\" \
             stroke=\"{stroke}\" stroke-dasharray=\"2 4\"/>",
            width - col * 0.5,
            y2 = y + LANE - 7.0,
        );
    }
    if let Some(shown) = fitted(label, w) {
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            x0 + 3.0,
            y + (LANE - 8.0) / 2.0 + 4.0,
            esc(&shown)
        );
    }
    svg.push_str("</g>");
}

/// A bar's fill and outline: red if it cannot be placed, green in the linearizable
/// prefix, grey if pending, blue otherwise.
fn bar_colours(pending: bool, i: usize, marks: &Marks) -> (&'static str, &'static str) {
    if marks.conflicting.contains(&i) {
        ("#f8c4c4", "#b00020")
    } else if marks.order.contains_key(&i) {
        ("#c8ebd0", "#176f2c")
    } else if pending {
        ("#eeeeee", "#777777")
    } else {
        ("#d6e4f5", "#3a6ea5")
    }
}

/// `label` cut (with `…`) to fit a bar `w` wide, or nothing if not even three
/// characters fit.
fn fitted(label: String, w: f64) -> Option<String> {
    let fits = ((w - 6.0) / CHAR).floor() as usize;
    if fits < 3 {
        return None;
    }
    Some(if label.chars().count() <= fits {
        label
    } else {
        let mut s: String = label.chars().take(fits - 1).collect();
        s.push('…');
        s
    })
}
