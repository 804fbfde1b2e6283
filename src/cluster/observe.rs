//! Observation: the run's seed and settings, message counts, the event trace, and the
//! live safety checker's verdict; what a failing test prints.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::Cluster;
use crate::config::Config;
use crate::event::{Event, EventKind};
use crate::safety::Violation;
use crate::state_machine::StateMachine;
use crate::trace::Trace;
use crate::types::NodeId;

/// Observation: what happened, and whether it was safe.
impl<S: StateMachine + Default> Cluster<S> {
    /// The seed this run uses (from `Config::seed`, or drawn at start).
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The settings the cluster was built with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Every message node `id` handed to the router.
    pub fn messages_sent(&self, id: NodeId) -> u64 {
        let slots = self.slots.lock();
        slots
            .get(&id)
            .map_or(0, |s| s.counters.messages_sent.load(Ordering::Relaxed))
    }

    /// Messages sent by all nodes together.
    pub fn total_messages_sent(&self) -> u64 {
        self.ids().into_iter().map(|i| self.messages_sent(i)).sum()
    }

    /// An estimate of the bytes all nodes sent (commands counted by their size).
    pub fn bytes_sent(&self) -> u64 {
        self.bytes_sent.load(Ordering::Relaxed)
    }

    /// The structured event trace so far, oldest first: every decision of every node
    /// (with its reason), every fault, and (with `Config::trace_messages`) every
    /// message's fate. Each [`Event`] says when, on which node, in which term and role.
    ///
    /// ```
    /// use std::time::Duration;
    /// use raftsim::state_machine::Recorder;
    /// use raftsim::{Cluster, Config, Role};
    ///
    /// let config = Config { seed: Some(5), ..Config::default().simulated() };
    /// let cluster: Cluster<Recorder<u64>> = Cluster::with_config(3, config);
    /// let leader = cluster.wait_for_leader(Duration::from_secs(5))?;
    ///
    /// let trace = cluster.trace();
    /// let first = trace
    ///     .iter()
    ///     .find(|e| e.node == Some(leader) && e.role == Some(Role::Leader))
    ///     .expect("the leader's first event as leader");
    /// println!("n{leader} led term {} from {:?}: {first}", first.term, first.at());
    ///
    /// // One JSON object per line, for other tools.
    /// let mut json = Vec::new();
    /// cluster.trace_log().write_json_lines(&mut json).expect("written to memory");
    /// assert_eq!(String::from_utf8(json).unwrap().lines().count(), trace.len());
    /// # Ok::<(), raftsim::Error>(())
    /// ```
    pub fn trace(&self) -> Vec<Event> {
        self.trace.events()
    }

    /// The trace handle (for JSON export and the last events).
    pub fn trace_log(&self) -> &Arc<Trace> {
        &self.trace
    }

    /// Every safety violation found so far (empty when the checks are off).
    pub fn violations(&self) -> Vec<Violation> {
        self.checker
            .as_ref()
            .map(|c| c.lock().violations().to_vec())
            .unwrap_or_default()
    }

    /// Panics, printing each violation with the events that led to it, if any safety
    /// property was broken. Tests call this (and `Drop` in debug builds does not).
    #[track_caller]
    pub fn assert_safe(&self) {
        let v = self.violations();
        if !v.is_empty() {
            let text: Vec<String> = v.iter().map(|v| v.to_string()).collect();
            panic!(
                "{} safety violation(s) (seed {}):\n{}",
                v.len(),
                self.seed,
                text.join("\n")
            );
        }
    }

    /// Panics if a node thread died on its own: that is a panic inside Raft (a broken
    /// invariant, printed above), and the run cannot be trusted any more.
    #[track_caller]
    pub fn check_threads(&self) {
        if self.is_simulated() {
            return; // a panic in the simulation happens on the caller's thread
        }
        let slots = self.slots.lock();
        for (id, slot) in slots.iter() {
            if slot.running.as_ref().is_some_and(|r| r.join.is_finished()) {
                panic!(
                    "node n{id}'s thread died (its panic is printed above); seed {}",
                    self.seed
                );
            }
        }
    }

    /// Every live node's status, one per line, and the last `n` trace events: what a
    /// failing test prints.
    pub fn dump(&self, n: usize) -> String {
        let mut out = format!("seed {}\n", self.seed);
        for s in self.statuses() {
            out.push_str(&format!("  {s}\n"));
        }
        out.push_str(&format!("last {n} events:\n"));
        for e in self.trace.tail(n) {
            out.push_str(&format!("  {e}\n"));
        }
        out
    }

    /// What a failing test prints: [`dump`](Self::dump) of the statuses and last 40
    /// events, then the last 40 protocol events (the router's message fates left out,
    /// as they drown the story).
    pub fn failure_report(&self) -> String {
        let mut out = format!("---- cluster state at the failure ----\n{}", self.dump(40));
        out.push_str("last protocol events (messages left out):\n");
        let events = self.trace();
        let protocol: Vec<&Event> = events
            .iter()
            .filter(|e| !matches!(e.kind, EventKind::Message { .. }))
            .collect();
        for e in &protocol[protocol.len().saturating_sub(40)..] {
            out.push_str(&format!("  {e}\n"));
        }
        out
    }
}
