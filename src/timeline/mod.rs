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
//! counts the rest), and checkboxes hide whole classes of messages with CSS alone. Idle
//! stretches (nothing but heartbeats, or nothing at all, for 20 ms or more) are squeezed
//! into a marked break in the axis that names their real length, so that a 2 ms
//! election after 200 ms of waiting gets the room (see `axis`). A small inline script
//! adds zoom: buttons, and dragging across the picture to zoom to a range; without
//! scripts the page is the same static picture.
//!
//! Left out on purpose: external scripts, fonts and stylesheets (the page must open
//! offline, years later), and log contents (the trace does not carry commands).

mod axis;
mod draw;
mod faults;
mod model;
mod style;
mod zoom;

use std::path::Path;

pub use faults::{fault_windows, Fault, FaultWindow};

use crate::event::Event;
use crate::summary;
use crate::svg::esc;
use model::Model;

/// At most one arrow per lane pair, message class and fate is drawn per column of this
/// many pixels; the drawn one's tooltip counts the others.
pub const THIN_PX: f64 = 3.0;
const LANE_H: f64 = 80.0;
const BAND_H: f64 = 16.0;
/// The time axis, the network strip and the links strip sit above the lanes.
const TOP: f64 = 58.0;
/// How far an instant delivery leans per lane it crosses, in pixels.
const FAN_PX: f64 = 2.5;
/// A role label is repeated along a long segment every this many pixels.
const LABEL_EVERY_PX: f64 = 600.0;

/// How to draw a timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Squeeze idle stretches into marked breaks in the axis (the default); `false`
    /// draws time linearly throughout.
    pub compress_idle: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            compress_idle: true,
        }
    }
}

/// Renders the events of a run (oldest first, as `Cluster::trace` returns them) as a
/// self-contained HTML page titled `title`.
pub fn render_html(events: &[Event], title: &str) -> String {
    render_html_with(events, title, &Options::default())
}

/// [`render_html`], drawn as `options` say.
pub fn render_html_with(events: &[Event], title: &str, options: &Options) -> String {
    let m = Model::build(events, options.compress_idle);
    let (title, css, legend) = (esc(title), style::class_css(), style::legend());
    let sum = esc(&m.summary_line());
    let story = esc(&summary::summarize(events));
    let (labels, main, zoom) = match m.lanes.is_empty() {
        true => (
            "<p>No node events in this trace.</p>".into(),
            String::new(),
            "",
        ),
        false => (m.labels_svg(), m.svg(events), zoom::CONTROLS),
    };
    let (css0, controls, script) = (style::CSS, style::CONTROLS, zoom::SCRIPT);
    format!(
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>{title}</title>\
         <style>{css0}{css}</style></head><body><h1>{title}</h1><p class='sum'>{sum}</p>\
         {controls}{legend}{zoom}<div class='tl'>{labels}<div class='scroll'>{main}</div></div>\
         <h2>The run in words</h2><pre class='story'>{story}</pre>{script}</body></html>\n"
    )
}

/// Writes [`render_html`] of `events` to `path`.
pub fn write_html(path: impl AsRef<Path>, events: &[Event], title: &str) -> std::io::Result<()> {
    std::fs::write(path, render_html(events, title))
}
