//! The event trace: every [`Event`] of a run, in the order they were recorded, and the
//! same events as log lines.

use std::collections::VecDeque;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::event::{Event, EventKind};
use crate::types::{NodeId, Role, Term};

/// Collects events from every node, the router and the harness, and logs each one.
#[derive(Debug)]
pub struct Trace {
    start: Instant,
    /// The simulated runtime's clock, in microseconds; `None` for the wall clock.
    virtual_us: Option<AtomicU64>,
    enabled: bool,
    messages: bool,
    capacity: usize,
    events: Mutex<VecDeque<Event>>,
}

impl Trace {
    /// A trace on the wall clock, starting now.
    pub fn new(enabled: bool, messages: bool, capacity: usize) -> Self {
        Trace {
            start: Instant::now(),
            virtual_us: None,
            enabled,
            messages,
            capacity: capacity.max(1),
            events: Mutex::new(VecDeque::new()),
        }
    }

    /// A trace on a virtual clock that starts at zero and moves only by
    /// [`Trace::set_virtual_now`] (the simulated runtime).
    pub fn new_virtual(enabled: bool, messages: bool, capacity: usize) -> Self {
        Trace {
            virtual_us: Some(AtomicU64::new(0)),
            ..Trace::new(enabled, messages, capacity)
        }
    }

    /// When the cluster started (on the wall clock).
    pub fn start(&self) -> Instant {
        self.start
    }

    /// Moves the virtual clock (no effect on a wall-clock trace).
    pub fn set_virtual_now(&self, now: Duration) {
        if let Some(v) = &self.virtual_us {
            v.store(now.as_micros() as u64, Ordering::Relaxed);
        }
    }

    /// Microseconds since the start.
    pub fn now_us(&self) -> u64 {
        match &self.virtual_us {
            Some(v) => v.load(Ordering::Relaxed),
            None => self.start.elapsed().as_micros() as u64,
        }
    }

    /// Whether router message events are wanted (they are the bulk of a trace).
    pub fn wants_messages(&self) -> bool {
        self.enabled && self.messages
    }

    /// Records an event of `node` (None: the router or the harness) and logs it, with
    /// the role and term the node had when it acted.
    ///
    /// The time is read and the line logged under the trace's lock, so the trace, and
    /// the log lines of every thread, come out in time order (without it, a node thread
    /// could take its timestamp, be preempted, and log after a later line of another).
    pub fn record(&self, node: Option<NodeId>, term: Term, role: Option<Role>, kind: EventKind) {
        let level = kind.level();
        let wanted = self.enabled && (self.messages || !matches!(kind, EventKind::Message { .. }));
        if !wanted && !log::log_enabled!(target: "raftsim", level) {
            return;
        }
        let mut events = self.events.lock();
        let event = Event {
            at_us: self.now_us(),
            node,
            term,
            role,
            kind,
        };
        log::log!(target: "raftsim", level, "{event}");
        if wanted {
            if events.len() == self.capacity {
                events.pop_front();
            }
            events.push_back(event);
        }
    }

    /// Logs a line that is not an event, with the same time prefix (and in time order
    /// with the events, as [`Trace::record`]).
    pub fn note(&self, level: log::Level, who: &str, text: &str) {
        if log::log_enabled!(target: "raftsim", level) {
            let _order = self.events.lock();
            let ms = self.now_us() as f64 / 1000.0;
            log::log!(target: "raftsim", level, "{ms:>9.3}ms {who:<25} {text}");
        }
    }

    /// Every event recorded so far, oldest first.
    pub fn events(&self) -> Vec<Event> {
        self.events.lock().iter().cloned().collect()
    }

    /// The last `n` events.
    pub fn tail(&self, n: usize) -> Vec<Event> {
        let events = self.events.lock();
        events
            .iter()
            .skip(events.len().saturating_sub(n))
            .cloned()
            .collect()
    }

    /// Writes the trace as JSON lines, one event per line.
    pub fn write_json_lines(&self, out: &mut impl Write) -> std::io::Result<()> {
        for e in self.events.lock().iter() {
            writeln!(out, "{}", e.to_json())?;
        }
        Ok(())
    }
}
