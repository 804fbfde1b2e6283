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

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::Path;

use super::linearizability::{fmt_time, CheckResult, Model, Operation, PENDING};
use crate::svg::esc;

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

/// Writes [`render_html`]'s page to `path`.
pub fn write_html<M: Model>(
    path: impl AsRef<Path>,
    model: &M,
    ops: &[Operation<M::Input, M::Output>],
    result: &CheckResult,
) -> std::io::Result<()> {
    std::fs::write(path, render_html(model, ops, result))
}

/// A self-contained HTML page picturing `ops` and the checker's `result`.
pub fn render_html<M: Model>(
    model: &M,
    ops: &[Operation<M::Input, M::Output>],
    result: &CheckResult,
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
    // When each client gave up on a pending operation: its next call (a client has one
    // operation outstanding at a time), over the whole history.
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
    let marks = Marks {
        order: &order,
        conflicting: &conflicting,
        stuck,
        next_call: &next_call,
    };

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
         </style></head><body>\n<h2>History: {} operations, {} clients, {} pending</h2>\n\
         <p class=\"{verdict_class}\"><b>{}</b></p>\n\
         <p>Bars run from call to response on a compressed time axis; hover for details. \
         Green: linearizable prefix (with its order); red: operations that cannot be \
         placed after it (thick outline: the one that returned first); dashed: pending \
         (no response; may or may not have taken effect).</p>\n",
        ops.len(),
        clients.len(),
        pending,
        esc(&result.to_string()),
    );
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
}

/// One partition's SVG.
fn partition_svg<M: Model>(
    model: &M,
    ops: &[Operation<M::Input, M::Output>],
    part: &[usize],
    marks: &Marks,
) -> String {
    let Marks {
        order,
        conflicting,
        stuck,
        next_call,
    } = marks;
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
    let x = |t: u64| LEFT + col * (times.partition_point(|&u| u < t) as f64 + 0.5);
    let lanes: Vec<u64> = part
        .iter()
        .map(|&i| ops[i].client)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let lane_of: HashMap<u64, usize> = lanes.iter().enumerate().map(|(k, &c)| (c, k)).collect();
    let width = LEFT + col * (end as f64 + 2.0);
    let height = LANE * lanes.len() as f64 + 10.0;

    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\">"
    );
    for (k, c) in lanes.iter().enumerate() {
        let y = 5.0 + LANE * k as f64;
        let fill = if k % 2 == 0 { "#f4f6f8" } else { "#ffffff" };
        let _ = write!(
            svg,
            "<rect x=\"0\" y=\"{y}\" width=\"{width:.0}\" height=\"{LANE}\" fill=\"{fill}\"/>\
             <text x=\"6\" y=\"{:.1}\">client {c}</text>",
            y + LANE / 2.0 + 4.0
        );
    }
    for &i in part {
        let op = &ops[i];
        let y = 5.0 + LANE * lane_of[&op.client] as f64 + 4.0;
        let x0 = x(op.call) - col * 0.4;
        // A pending bar stops where its client moved on (a thin dashed line goes on to
        // the right edge: it may still take effect), so the client's later bars stay
        // readable.
        let x1 = if op.is_pending() && next_call[i] != PENDING {
            (x(next_call[i]) - col * 0.5).max(x0 + 4.0)
        } else {
            x(op.ret) + col * 0.4
        };
        let w = (x1 - x0).max(4.0);
        let (fill, stroke) = if conflicting.contains(&i) {
            ("#f8c4c4", "#b00020")
        } else if order.contains_key(&i) {
            ("#c8ebd0", "#176f2c")
        } else if op.is_pending() {
            ("#eeeeee", "#777777")
        } else {
            ("#d6e4f5", "#3a6ea5")
        };
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
        let fits = ((w - 6.0) / CHAR).floor() as usize;
        if fits >= 3 {
            let shown: String = if label.chars().count() <= fits {
                label
            } else {
                let mut s: String = label.chars().take(fits - 1).collect();
                s.push('…');
                s
            };
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
    svg.push_str("</svg>");
    svg
}
