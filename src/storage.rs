//! Stable storage: what a node keeps across crashes (Figure 2's persistent state and the
//! snapshot). It lives outside the node thread, owned by the harness, so a crash loses
//! the thread and its volatile state but never what was persisted.
//!
//! A modelled write (`Config::storage_latency`) is in flight until the driver says it
//! is done; a crash meanwhile loses it whole, as a crash before `fsync` returns may. So
//! the rule "durable before responding" (Figure 2; dissertation §10.2.1, where requests
//! may leave before the write and replies may not) is one the simulation can catch
//! being broken, not only one the code follows.

use std::sync::Arc;

use parking_lot::Mutex;

use crate::log::{Entry, RaftLog, Snapshot};
use crate::raft::{HardState, Persisted, Ready};
use crate::types::Index;

/// One node's stable storage.
#[derive(Debug)]
pub struct Storage<C, D> {
    persisted: Persisted<C, D>,
    /// A write begun and not yet durable: lost if the node crashes first.
    in_flight: Option<Write<C, D>>,
}

/// What one Ready writes.
#[derive(Debug)]
struct Write<C, D> {
    hard_state: Option<HardState>,
    log_dirty_from: Option<Index>,
    entries: Vec<Entry<C>>,
    snapshot: Option<Snapshot<D>>,
}

impl<C, D> Write<C, D> {
    /// Moves what `ready` writes out of it (it keeps the rest for the steps after).
    fn take(ready: &mut Ready<C, D>) -> Self {
        Write {
            hard_state: ready.hard_state,
            log_dirty_from: ready.log_dirty_from,
            entries: std::mem::take(&mut ready.entries),
            snapshot: ready.snapshot.take(),
        }
    }
}

/// Storage shared between the harness and the node thread.
pub type SharedStorage<C, D> = Arc<Mutex<Storage<C, D>>>;

impl<C: Clone, D: Clone> Default for Storage<C, D> {
    fn default() -> Self {
        Storage {
            persisted: Persisted::default(),
            in_flight: None,
        }
    }
}

impl<C: Clone, D: Clone> Storage<C, D> {
    /// What a restarting node loads.
    pub fn load(&self) -> Persisted<C, D> {
        self.persisted.clone()
    }

    /// What is on disk now (term, vote, log, snapshot).
    pub fn persisted(&self) -> &Persisted<C, D> {
        &self.persisted
    }

    /// Makes the changes a step produced durable at once, before any message of that
    /// step is sent. Everything written comes from the `Ready`; its `entries` and
    /// `snapshot` move into storage (the `Ready` keeps the rest for the steps after
    /// persisting).
    pub fn persist(&mut self, ready: &mut Ready<C, D>) {
        self.finish_write();
        self.apply(Write::take(ready));
    }

    /// Starts a write that takes time: durable at [`Storage::finish_write`], lost by
    /// [`Storage::lose_write_in_flight`] (a crash) before that.
    pub fn begin_write(&mut self, ready: &mut Ready<C, D>) {
        self.finish_write();
        self.in_flight = Some(Write::take(ready));
    }

    /// The write in flight is durable now.
    pub fn finish_write(&mut self) {
        if let Some(w) = self.in_flight.take() {
            self.apply(w);
        }
    }

    /// A crash: the write in flight never reaches the disk. Returns whether there was one.
    pub fn lose_write_in_flight(&mut self) -> bool {
        self.in_flight.take().is_some()
    }

    fn apply(&mut self, write: Write<C, D>) {
        if let Some(hs) = write.hard_state {
            self.persisted.hard_state = hs;
        }
        let entries = write.entries;
        if let Some(s) = write.snapshot {
            // A new snapshot: the stored log is its prefix and the entries after it.
            self.persisted.log = RaftLog::from_parts(s.last_index, s.last_term, entries);
            self.persisted.snapshot = Some(s);
        } else if let Some(from) = write.log_dirty_from {
            let log = &mut self.persisted.log;
            log.truncate_from(from.max(log.first_index()));
            for e in entries {
                log.push(e);
            }
        }
    }

    /// Replaces everything stored (to start a node from a prepared state).
    pub fn replace(&mut self, persisted: Persisted<C, D>) {
        self.persisted = persisted;
        self.in_flight = None;
    }

    /// Forgets the vote, for the `unsafe_forget_vote_on_restart` teaching switch.
    pub fn forget_vote(&mut self) {
        self.persisted.hard_state.voted_for = None;
    }
}
