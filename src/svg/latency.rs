//! Latency over time, the way Jepsen plots it: one point per operation at its call
//! time, its latency on a logarithmic scale, a colour per kind of operation, answered
//! operations as dots and unanswered ones (timed out: outcome unknown) as crosses, and
//! the fault windows shaded behind, so that a cluster of slow or failed operations can
//! be read against the partition or crash that caused it.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::{esc, line, rect, text, FAULT_STYLES};

/// One operation, for the plot.
#[derive(Debug, Clone, PartialEq)]
pub struct LatencyPoint {
    /// When it was called, in microseconds on the run's clock.
    pub at_us: u64,
    /// How long it took; for an unanswered operation, until its client gave up.
    pub latency_us: u64,
    /// Its kind (`get`, `put`, ...): one colour each.
    pub kind: String,
    /// Whether it was answered.
    pub ok: bool,
    /// Its full text, for the tooltip.
    pub text: String,
}

/// A shaded stretch of time behind the points: a fault window.
#[derive(Debug, Clone, PartialEq)]
pub struct Shade {
    /// When it began, in microseconds on the run's clock.
    pub from_us: u64,
    /// When it ended; `None`: at the end of the plot.
    pub to_us: Option<u64>,
    /// The fault's class, which picks its colour: `f-part`, `f-crash` or `f-disc`.
    pub class: &'static str,
    /// What it was, in words.
    pub label: String,
}

const W: f64 = 1100.0;
const H: f64 = 320.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 24.0;
const BOTTOM: f64 = 34.0;
/// Colours of the kinds, in the order they first appear (sorted by name).
const KIND_COLOURS: [&str; 6] = [
    "#1f5fd6", "#e2620c", "#1e9e46", "#9b3cc2", "#d6307f", "#555",
];

/// The CSS the plot needs, for a page that embeds it.
pub const CSS: &str = ".lat text{font:11px sans-serif;fill:#39424c}.lat .ax{stroke:#8a949e}\
.lat .gr{stroke:#e3e7eb}.lat .ok{stroke:none}.lat .no{fill:none;stroke-width:1.6}\
.lat .sh{fill-opacity:.45;stroke:#8a7a5a;stroke-opacity:.5}.lat .shl{font-size:10px;fill:#5a4a2a}";

/// A self-contained SVG of `points` over `shades`, from time 0 to `end_us`.
pub fn latency_svg(points: &[LatencyPoint], shades: &[Shade], end_us: u64) -> String {
    let end = points
        .iter()
        .map(|p| p.at_us + p.latency_us)
        .chain(shades.iter().filter_map(|s| s.to_us))
        .fold(end_us.max(1), u64::max);
    let (lo, hi) = decades(points);
    let x = |us: u64| LEFT + (W - LEFT - RIGHT) * us as f64 / end as f64;
    let y = |us: u64| {
        let f = ((us.max(1) as f64).log10() - lo as f64) / (hi - lo) as f64;
        TOP + (H - TOP - BOTTOM) * (1.0 - f.clamp(0.0, 1.0))
    };
    let mut s = format!(
        "<svg class='lat' xmlns='http://www.w3.org/2000/svg' width='{W}' height='{H}'>\
         <rect x='0' y='0' width='{W}' height='{H}' fill='#fff'/>"
    );
    let (top, bottom) = (TOP, H - BOTTOM);
    for sh in shades {
        let fill = FAULT_STYLES
            .iter()
            .find(|f| f.0 == sh.class)
            .map_or("#ddd", |f| f.1);
        let (x0, x1) = (x(sh.from_us), x(sh.to_us.unwrap_or(end)));
        let _ = write!(s, "<g><title>{}</title>", esc(&sh.label));
        let attrs = format!("class='sh {}' fill='{fill}'", sh.class);
        rect(&mut s, &attrs, x0, top, (x1 - x0).max(1.5), bottom - top);
        // The label if it fits, else its first word (`partition`), else nothing.
        let short = sh.label.split(' ').next().unwrap_or("");
        let fits = |l: &str| x1 - x0 > 6.0 * l.chars().count() as f64;
        if let Some(label) = [sh.label.as_str(), short].into_iter().find(|l| fits(l)) {
            text(&mut s, "shl", x0 + 3.0, top - 4.0, label);
        }
        s.push_str("</g>");
    }
    // Decades of latency up the side; seconds along the bottom.
    for d in lo..=hi {
        let yy = y(10u64.pow(d as u32));
        line(&mut s, "gr", (LEFT, yy), (W - RIGHT, yy));
        let label = match d {
            0..=2 => format!("{} µs", 10u64.pow(d as u32)),
            3..=5 => format!("{} ms", 10u64.pow(d as u32 - 3)),
            _ => format!("{} s", 10u64.pow(d as u32 - 6)),
        };
        text(&mut s, "", 6.0, yy + 4.0, &label);
    }
    let step = super::tick_step((W - LEFT - RIGHT) / (end as f64 / 1e6), 80.0);
    let mut t = 0.0;
    while t * 1e6 <= end as f64 {
        let xx = x((t * 1e6) as u64);
        line(&mut s, "ax", (xx, bottom), (xx, bottom + 4.0));
        let _ = write!(
            s,
            "<text x='{xx:.1}' y='{:.1}' text-anchor='middle'>{} s</text>",
            bottom + 16.0,
            trim(t)
        );
        t += step;
    }
    line(&mut s, "ax", (LEFT, bottom), (W - RIGHT, bottom));
    line(&mut s, "ax", (LEFT, top), (LEFT, bottom));
    let _ = write!(
        s,
        "<text x='{:.1}' y='{:.1}' text-anchor='middle'>time of the call (s)</text>",
        (LEFT + W - RIGHT) / 2.0,
        H - 4.0
    );
    let colours = kind_colours(points);
    for p in points {
        let (px, py, c) = (x(p.at_us), y(p.latency_us), colours[p.kind.as_str()]);
        let _ = write!(s, "<g><title>{}</title>", esc(&p.text));
        if p.ok {
            let _ = write!(
                s,
                "<circle class='ok' cx='{px:.1}' cy='{py:.1}' r='2.2' fill='{c}'/>"
            );
        } else {
            let (ax, ay) = (px - 3.0, py - 3.0);
            let _ = write!(
                s,
                "<path class='no' stroke='{c}' d='M{ax:.1} {ay:.1}l6 6m0 -6l-6 6'/>"
            );
        }
        s.push_str("</g>");
    }
    s + "</svg>"
}

/// The key to the plot's colours and marks, as HTML.
pub fn latency_legend(points: &[LatencyPoint]) -> String {
    let mut s = String::from("<div class='flegend'>");
    for (kind, c) in kind_colours(points) {
        let _ = write!(
            s,
            "<span><svg width='12' height='12'><circle cx='6' cy='6' r='4' fill='{c}'/></svg> \
             {}</span> ",
            esc(kind)
        );
    }
    s + "<span>· dot: answered · <svg width='12' height='12'><path d='M2 2l8 8m0 -8l-8 8' \
         fill='none' stroke='#333' stroke-width='1.6'/></svg> no answer (timed out, outcome \
         unknown), at the time its client gave up; one still waiting at the end is left out\
         </span></div>"
}

fn kind_colours(points: &[LatencyPoint]) -> BTreeMap<&str, &'static str> {
    let mut kinds: BTreeMap<&str, &str> = points.iter().map(|p| (p.kind.as_str(), "")).collect();
    for (i, c) in kinds.values_mut().enumerate() {
        *c = KIND_COLOURS[i.min(KIND_COLOURS.len() - 1)];
    }
    kinds
}

/// The powers of ten (of microseconds) that bracket every latency, at least one apart.
fn decades(points: &[LatencyPoint]) -> (i32, i32) {
    let lat = points.iter().map(|p| p.latency_us.max(1) as f64);
    let min = lat.clone().fold(f64::INFINITY, f64::min);
    let max = lat.fold(0.0, f64::max);
    if points.is_empty() {
        return (2, 6);
    }
    let (lo, hi) = (min.log10().floor() as i32, max.log10().ceil() as i32);
    (lo.max(0), hi.max(lo.max(0) + 1))
}

/// A tick value without trailing zeros.
fn trim(t: f64) -> String {
    let s = format!("{t:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(at_ms: u64, lat_us: u64, kind: &str, ok: bool) -> LatencyPoint {
        LatencyPoint {
            at_us: at_ms * 1000,
            latency_us: lat_us,
            kind: kind.into(),
            ok,
            text: format!("{kind} <{lat_us}>"),
        }
    }

    #[test]
    fn answered_are_dots_unanswered_are_crosses_faults_are_shaded() {
        let points = [
            point(10, 300, "get", true),
            point(20, 1_500_000, "put", false),
            point(30, 40_000, "append", true),
        ];
        let shades = [Shade {
            from_us: 15_000,
            to_us: Some(25_000),
            class: "f-part",
            label: "partition [0] | [1, 2]".into(),
        }];
        let svg = latency_svg(&points, &shades, 40_000);
        assert_eq!(svg.matches("<circle class='ok'").count(), 2);
        assert_eq!(svg.matches("<path class='no'").count(), 1);
        assert!(svg.contains("class='sh f-part'"));
        assert!(svg.contains("&lt;300&gt;"), "tooltips are escaped");
        // 300 µs .. 1.5 s: decades 100 µs to 10 s.
        assert_eq!(decades(&points), (2, 7));
        assert!(svg.contains(">100 µs<") && svg.contains(">10 s<"));
        let legend = latency_legend(&points);
        for kind in ["append", "get", "put"] {
            assert!(legend.contains(kind));
        }
    }

    #[test]
    fn an_empty_plot_still_has_axes() {
        let svg = latency_svg(&[], &[], 0);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains(">1 ms<"));
    }
}
