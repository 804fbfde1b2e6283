//! Small writers of HTML and SVG text shared by the pictures of a run (the
//! [timeline](crate::timeline)) and of a history (`check::history_html`): escaping, a
//! few shapes, tick steps, and the latency-over-time plot.
//!
//! The pictures are strings built by hand rather than through a templating or plotting
//! library: they must open offline, years later, with no script or stylesheet fetched.

pub mod latency;

use std::fmt::Write;

/// Escapes text for HTML and SVG, attribute values included.
pub fn esc(s: &str) -> String {
    let s = s
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    s.replace('"', "&quot;").replace('\'', "&#39;")
}

/// A line of CSS class `class`.
pub(crate) fn line(s: &mut String, class: &str, (x1, y1): (f64, f64), (x2, y2): (f64, f64)) {
    let _ = write!(
        s,
        "<line class='{class}' x1='{x1:.1}' y1='{y1:.1}' x2='{x2:.1}' y2='{y2:.1}'/>"
    );
}

/// A rectangle; `attrs` is `class='...'`, `fill='...'` or empty.
pub(crate) fn rect(s: &mut String, attrs: &str, x: f64, y: f64, w: f64, h: f64) {
    let _ = write!(
        s,
        "<rect {attrs} x='{x:.1}' y='{y:.1}' width='{w:.1}' height='{h:.1}'/>"
    );
}

/// Text of CSS class `class`, escaped.
pub(crate) fn text(s: &mut String, class: &str, x: f64, y: f64, content: &str) {
    let _ = write!(
        s,
        "<text class='{class}' x='{x:.1}' y='{y:.1}'>{}</text>",
        esc(content)
    );
}

/// Opens a group whose shapes share one tooltip; the caller closes it.
pub(crate) fn group(s: &mut String, class: &str, title: &str) {
    let _ = write!(s, "<g class='{class}'><title>{}</title>", esc(title));
}

/// Microseconds as milliseconds.
pub(crate) fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

/// The smallest 1-2-5 step (in the axis's unit) whose ticks sit at least `min_px`
/// apart at `px_per_unit`.
pub(crate) fn tick_step(px_per_unit: f64, min_px: f64) -> f64 {
    (-30..30)
        .map(|k: i32| [1.0, 2.0, 5.0][k.rem_euclid(3) as usize] * 10f64.powi(k.div_euclid(3)))
        .find(|st| st * px_per_unit >= min_px)
        .unwrap_or(1e9)
}

/// The fault windows' CSS class, fill, and legend label: one colour per kind of fault,
/// the same in every picture.
pub(crate) const FAULT_STYLES: [(&str, &str, &str); 3] = [
    ("f-part", "#f6c77d", "partition"),
    ("f-crash", "#c9c9c9", "node crashed"),
    ("f-disc", "#cdb6ee", "node disconnected"),
];

/// The legend of the fault windows, as HTML.
pub(crate) fn fault_legend() -> String {
    let mut s = String::from("<div class='flegend'><b>Fault windows:</b>");
    for (_, fill, label) in FAULT_STYLES {
        let _ = write!(
            s,
            " <span><svg width='26' height='12'><rect width='26' height='12' \
             fill='{fill}' fill-opacity='.55'/></svg> {label}</span>"
        );
    }
    s + "</div>"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            esc("<a href='x'>&\"</a>"),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;"
        );
    }

    #[test]
    fn tick_steps_are_1_2_5_and_far_enough_apart() {
        assert_eq!(tick_step(5.49, 70.0), 20.0);
        assert_eq!(tick_step(0.3, 70.0), 500.0);
        assert!((tick_step(1000.0, 70.0) - 0.1).abs() < 1e-12);
        for px in [0.01, 0.3, 7.0, 123.0] {
            let st = tick_step(px, 70.0);
            assert!(st * px >= 70.0 && st * px < 70.0 * 2.6, "{px}: {st}");
        }
    }
}
