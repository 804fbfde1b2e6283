//! The pure-core testkit ([`CoreNet`]) driven one message at a time, with the live
//! safety checker looking at every step and a trace on a virtual clock.
//!
//! Some of the paper's scenarios need a message to reach one server and not another
//! *in the same instant* (Figure 8: an entry reaches S3 but the next one, sent right
//! after on the same link, does not). Threads cannot promise that; the pure core can.
//! [`Stepper`] plays the runtime's part around `CoreNet`: after every input it shows the
//! [`SafetyChecker`] the node's new state (exactly as `NodeRuntime::handle_ready` does)
//! and turns the core's events and each message's fate into [`Event`]s, stamped with a
//! virtual clock that advances one millisecond per delivery, so the run can be summed
//! up (`summary`) and drawn (`timeline`) like a threaded one.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::event::{Event, EventKind, Fate};
use crate::message::Envelope;
use crate::raft::RaftConfig;
use crate::safety::{SafetyChecker, StepOutput, Violation};
use crate::testkit::CoreNet;
use crate::trace::Trace;
use crate::types::{NodeId, Role, Term};

/// One virtual millisecond, in microseconds.
const TICK_US: u64 = 1000;

/// A [`CoreNet`] of `u64` commands stepped by hand, checked live and traced.
pub struct Stepper {
    /// The network of cores (read it freely; give input through `Stepper`'s methods).
    pub net: CoreNet<u64, ()>,
    checker: SafetyChecker<u64>,
    trace: Arc<Trace>,
    events: Vec<Event>,
    clock_us: u64,
    incarnation: BTreeMap<NodeId, u64>,
    seen_core_events: usize,
    seen_dropped: usize,
    seen_violations: usize,
}

impl Stepper {
    /// `n` fresh nodes with `cfg`.
    pub fn new(n: usize, cfg: RaftConfig) -> Self {
        // On the virtual clock, so the log lines (RUST_LOG=info) and the checker's
        // stamps are the same in every run, like the events.
        let trace = Arc::new(Trace::new_virtual(true, true, 100_000));
        Stepper {
            net: CoreNet::with_config(n, cfg),
            checker: SafetyChecker::new(trace.clone()),
            trace,
            events: Vec::new(),
            clock_us: 0,
            incarnation: (0..n).map(|id| (id, 1)).collect(),
            seen_core_events: 0,
            seen_dropped: 0,
            seen_violations: 0,
        }
    }

    /// The trace so far, on the virtual clock.
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// Every safety violation the checker found so far.
    pub fn violations(&self) -> Vec<Violation> {
        self.checker.violations().to_vec()
    }

    /// The log terms of every node (crashed ones: what they persisted).
    pub fn logs(&self) -> Vec<Vec<Term>> {
        let ids: Vec<NodeId> = self.incarnation.keys().copied().collect();
        ids.into_iter().map(|id| self.net.log_terms(id)).collect()
    }

    /// Node `id`'s election timer fires.
    pub fn tick_election(&mut self, id: NodeId) {
        self.net.tick_election(id);
        self.after_step(id);
    }

    /// Node `id`'s heartbeat timer fires.
    pub fn tick_heartbeat(&mut self, id: NodeId) {
        self.net.tick_heartbeat(id);
        self.after_step(id);
    }

    /// Crashes node `id` (its stable storage stays).
    pub fn crash(&mut self, id: NodeId) {
        self.net.crash(id);
        let term = self.net.persisted(id).hard_state.current_term;
        self.push(Some(id), term, None, EventKind::Crashed);
    }

    /// Restarts node `id` from its stable storage.
    pub fn restart(&mut self, id: NodeId) {
        if !self.net.is_crashed(id) {
            self.crash(id);
        }
        self.net.restart(id);
        *self.incarnation.entry(id).or_default() += 1;
        let last_log_index = self.net.node(id).log().last_index();
        let (term, role) = (self.net.node(id).term(), self.net.node(id).role());
        self.push(
            Some(id),
            term,
            Some(role),
            EventKind::Restarted { last_log_index },
        );
    }

    /// Delivers, oldest first and one at a time, every message in flight that matches
    /// `pred`, including those sent in response, until none matches.
    pub fn deliver_matching(&mut self, pred: impl Fn(&Envelope<u64, ()>) -> bool) {
        while let Some(pos) = self.net.queue.iter().position(&pred) {
            let env = self.net.queue.remove(pos).expect("in range");
            self.deliver(env);
        }
    }

    /// Delivers everything in flight now, but not what it causes (one network hop).
    pub fn deliver_round(&mut self) {
        let round: Vec<_> = self.net.queue.drain(..).collect();
        for env in round {
            self.deliver(env);
        }
    }

    /// Delivers until nothing is in flight.
    pub fn deliver_all(&mut self) {
        self.deliver_matching(|_| true);
    }

    /// Loses every message in flight that matches `pred`.
    pub fn drop_matching(&mut self, pred: impl Fn(&Envelope<u64, ()>) -> bool) -> usize {
        let n = self.net.drop_matching(pred);
        self.record_drops(Fate::Dropped);
        n
    }

    /// From now on loses every message matching `pred`, until [`Stepper::recover`].
    pub fn block(&mut self, pred: impl Fn(&Envelope<u64, ()>) -> bool + 'static) {
        self.net.block(pred);
    }

    /// Cuts the links between `a` and `b`.
    pub fn cut(&mut self, a: NodeId, b: NodeId) {
        self.net.cut(a, b);
    }

    /// Restores every link and lifts every block.
    pub fn recover(&mut self) {
        self.net.recover();
        self.push(None, 0, None, EventKind::Healed);
    }

    fn deliver(&mut self, env: Envelope<u64, ()>) {
        let to = env.to;
        let (kind, msg_term, entries) = (env.msg.kind(), env.msg.term(), env.msg.entry_count());
        let (from, crashed) = (env.from, self.net.is_crashed(to));
        self.net.queue.push_front(env);
        self.clock_us += TICK_US;
        self.trace
            .set_virtual_now(Duration::from_micros(self.clock_us));
        if self.net.deliver_one() == Some(true) {
            let message = EventKind::Message {
                from,
                to,
                kind,
                msg_term,
                entries,
                fate: Fate::Delivered,
            };
            self.push(None, 0, None, message);
            self.after_step(to);
        } else {
            let fate = if crashed {
                Fate::BlockedCrashed
            } else {
                Fate::BlockedByPartition
            };
            self.record_drops(fate);
        }
    }

    /// Records the messages lost since the last look, with `fate`.
    fn record_drops(&mut self, fate: Fate) {
        let lost: Vec<_> = self.net.dropped[self.seen_dropped..].to_vec();
        self.seen_dropped = self.net.dropped.len();
        for env in lost {
            let kind = EventKind::Message {
                from: env.from,
                to: env.to,
                kind: env.msg.kind(),
                msg_term: env.msg.term(),
                entries: env.msg.entry_count(),
                fate,
            };
            self.push(None, 0, None, kind);
        }
    }

    /// What the runtime does after a step of node `id`: trace its events, then let the
    /// checker look at its new state, what it wrote and what it applied.
    fn after_step(&mut self, id: NodeId) {
        // Messages it sent over a cut link were lost at once.
        self.record_drops(Fate::BlockedByPartition);
        let (term, role) = match self.net.nodes.get(&id) {
            Some(core) => (core.term(), Some(core.role())),
            None => return,
        };
        let new: Vec<(NodeId, crate::raft::Event)> =
            self.net.all_events()[self.seen_core_events..].to_vec();
        self.seen_core_events = self.net.all_events().len();
        for (node, event) in new {
            self.push(Some(node), term, role, EventKind::Raft(event));
        }
        let ready = self.net.last_ready(id).expect("the step produced a Ready");
        let core = self.net.node(id);
        self.checker
            .observe_step(id, self.incarnation[&id], core, StepOutput::of(ready));
        if let (Some(first), Some(last)) = (ready.committed.first(), ready.committed.last()) {
            let applied = EventKind::Applied {
                from: first.index,
                to: last.index,
            };
            self.push(Some(id), term, role, applied);
        }
        let found = self.checker.violations()[self.seen_violations..].to_vec();
        self.seen_violations = self.checker.violations().len();
        for v in found {
            let kind = EventKind::Violation {
                description: format!("{}: {}", v.property, v.description),
            };
            self.push(Some(v.node), term, role, kind);
        }
    }

    fn push(&mut self, node: Option<NodeId>, term: Term, role: Option<Role>, kind: EventKind) {
        // The log lines (RUST_LOG=info) tell the same story as the events; the checker
        // logged its violations itself.
        if !matches!(kind, EventKind::Violation { .. }) {
            self.trace.record(node, term, role, kind.clone());
        }
        self.events.push(Event {
            at_us: self.clock_us,
            node,
            term,
            role,
            kind,
        });
    }
}
