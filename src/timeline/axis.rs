//! The timeline's time axis: linear where something happens, with each idle stretch
//! (nothing but heartbeats, or nothing at all) squeezed into a short marked break.
//!
//! Why: an election is a few milliseconds after up to 300 ms of followers waiting for
//! their timers (§5.2); drawn linearly, the wait takes the screen and the election is a
//! sliver. The break keeps every event (a heartbeat inside it is still drawn, just
//! closer to its neighbours) and says how long the stretch really was.

use std::fmt::Write;

use crate::event::{Event, EventKind};
use crate::svg::ms;

/// The run's busy stretches are scaled to about this many pixels wide.
pub(crate) const TARGET_WIDTH: f64 = 3000.0;
/// Bounds of the scale, in pixels per millisecond: a long run scrolls rather than
/// shrinking below the first; a short one is not blown up past the second.
const MIN_PX_PER_MS: f64 = 0.05;
const MAX_PX_PER_MS: f64 = 20.0;
/// Time kept linear on each side of a busy event, so that it is not drawn on a break.
const PAD_US: u64 = 4_000;
/// A quiet stretch shorter than this stays linear.
const MIN_IDLE_US: u64 = 20_000;
/// How wide an idle stretch is drawn.
pub(crate) const BREAK_PX: f64 = 56.0;
/// The left margin before the trace's first instant (`PAD` in the zoom script).
pub(crate) const PAD_L: f64 = 12.0;

/// Whether `e` is background chatter that an idle stretch may contain: a heartbeat, a
/// reply to one, or a follower accepting one. The one place the axis reads event kinds.
pub(crate) fn is_quiet(e: &Event) -> bool {
    match &e.kind {
        EventKind::Message { kind, entries, .. } => {
            *entries == 0 && matches!(*kind, "Heartbeat" | "AppendEntriesReply")
        }
        EventKind::Raft(crate::raft::Event::AppendAccepted { entries: 0, .. }) => true,
        _ => false,
    }
}

/// A stretch of time drawn at one scale.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Piece {
    pub from_us: u64,
    pub to_us: u64,
    /// Where it starts on the page.
    pub x: f64,
    pub px_per_us: f64,
    /// A compressed idle stretch.
    pub idle: bool,
}

impl Piece {
    pub(crate) fn x_end(&self) -> f64 {
        self.x + (self.to_us - self.from_us) as f64 * self.px_per_us
    }
}

/// A piecewise-linear map from trace time to pixels.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Axis {
    pub pieces: Vec<Piece>,
    /// The scale of the linear pieces.
    pub px_per_ms: f64,
}

impl Axis {
    /// The axis of a run from `t0` to `t_end`, whose non-quiet events happened at
    /// `busy` (any order). With `compress` false it is linear throughout.
    pub(crate) fn new(t0: u64, t_end: u64, busy: &[u64], compress: bool) -> Axis {
        let t_end = t_end.max(t0 + 1);
        let mut idle: Vec<(u64, u64)> = Vec::new();
        if compress {
            let mut busy: Vec<u64> = busy.iter().copied().filter(|&t| t <= t_end).collect();
            busy.sort_unstable();
            let mut last = t0;
            let fences = busy.iter().map(|&t| (t.saturating_sub(PAD_US), t + PAD_US));
            for (lo, hi) in fences.chain([(t_end, t_end)]) {
                if lo > last && lo - last >= MIN_IDLE_US {
                    idle.push((last, lo));
                }
                last = last.max(hi);
            }
        }
        let linear_us = |idle: &[(u64, u64)]| {
            let quiet: u64 = idle.iter().map(|(a, b)| b - a).sum();
            (t_end - t0 - quiet) as f64
        };
        let scale =
            |us: f64| (TARGET_WIDTH / (us / 1000.0).max(1.0)).clamp(MIN_PX_PER_MS, MAX_PX_PER_MS);
        // A stretch is compressed only where that saves real room.
        let px = scale(linear_us(&idle));
        idle.retain(|(a, b)| ms(b - a) * px > 2.0 * BREAK_PX);
        let px_per_ms = scale(linear_us(&idle));
        let mut pieces = Vec::new();
        let (mut t, mut x) = (t0, PAD_L);
        let mut push = |from: u64, to: u64, idle: bool, x: &mut f64| {
            if to > from {
                let px_per_us = match idle {
                    true => BREAK_PX / (to - from) as f64,
                    false => px_per_ms / 1000.0,
                };
                let p = Piece {
                    from_us: from,
                    to_us: to,
                    x: *x,
                    px_per_us,
                    idle,
                };
                *x = p.x_end();
                pieces.push(p);
            }
        };
        for &(a, b) in &idle {
            push(t, a, false, &mut x);
            push(a, b, true, &mut x);
            t = b;
        }
        push(t, t_end, false, &mut x);
        Axis { pieces, px_per_ms }
    }

    /// Where time `us` is drawn.
    pub(crate) fn x(&self, us: u64) -> f64 {
        let i = self.pieces.partition_point(|p| p.to_us < us);
        match self.pieces.get(i).or(self.pieces.last()) {
            Some(p) if us >= p.from_us => {
                p.x + ((us.min(p.to_us) - p.from_us) as f64 * p.px_per_us)
            }
            Some(p) => p.x,
            None => PAD_L,
        }
    }

    /// The compressed stretches.
    pub(crate) fn breaks(&self) -> impl Iterator<Item = &Piece> {
        self.pieces.iter().filter(|p| p.idle)
    }

    /// The pieces as JSON, for the zoom script: `[[from_ms, to_ms, x, x_end, idle], ...]`.
    pub(crate) fn json(&self) -> String {
        let mut s = String::from("[");
        for (i, p) in self.pieces.iter().enumerate() {
            let sep = if i > 0 { "," } else { "" };
            let (a, b, x, xe) = (ms(p.from_us), ms(p.to_us), p.x, p.x_end());
            let _ = write!(
                s,
                "{sep}[{a:.3},{b:.3},{x:.2},{xe:.2},{}]",
                u8::from(p.idle)
            );
        }
        s + "]"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quiet_wait_before_a_short_burst_becomes_one_break() {
        // 210 ms of nothing, then events for 2 ms, then nothing for 100 ms.
        let busy = [210_000, 210_500, 212_000];
        let axis = Axis::new(0, 312_000, &busy, true);
        let idle: Vec<(u64, u64)> = axis.breaks().map(|p| (p.from_us, p.to_us)).collect();
        assert_eq!(idle, [(0, 206_000), (216_000, 312_000)]);
        assert_eq!(axis.px_per_ms, MAX_PX_PER_MS);
        // The burst is wide; the waits are a break each.
        assert!(axis.x(212_000) - axis.x(210_000) >= 2.0 * MAX_PX_PER_MS - 0.01);
        assert!((axis.x(206_000) - axis.x(0) - BREAK_PX).abs() < 1e-9);
        // Monotone, and every instant lands inside the picture.
        let mut last = axis.x(0);
        for t in (0..=312_000).step_by(1_000) {
            let x = axis.x(t);
            assert!(x >= last, "{t}");
            last = x;
        }
        assert!((axis.x(312_000) - axis.pieces.last().unwrap().x_end()).abs() < 1e-9);
    }

    #[test]
    fn without_compression_or_idle_time_it_is_linear() {
        let busy: Vec<u64> = (0..100).map(|k| k * 5_000).collect();
        for axis in [
            Axis::new(0, 500_000, &busy, true),
            Axis::new(0, 500_000, &[250_000], false),
        ] {
            assert_eq!(axis.pieces.len(), 1);
            assert!((axis.px_per_ms - 6.0).abs() < 1e-9);
            assert!((axis.x(100_000) - (PAD_L + 600.0)).abs() < 1e-9);
        }
    }
}
