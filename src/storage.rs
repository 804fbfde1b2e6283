//! Stable storage: what a node keeps across crashes (Figure 2's persistent state and the
//! snapshot). It lives outside the node thread, owned by the harness, so a crash loses
//! the thread and its volatile state but never what was persisted.

use std::sync::Arc;

use parking_lot::Mutex;

use crate::log::RaftLog;
use crate::raft::{Persisted, Ready};

/// One node's stable storage.
#[derive(Debug)]
pub struct Storage<C, D> {
    persisted: Persisted<C, D>,
}

/// Storage shared between the harness and the node thread.
pub type SharedStorage<C, D> = Arc<Mutex<Storage<C, D>>>;

impl<C: Clone, D: Clone> Default for Storage<C, D> {
    fn default() -> Self {
        Storage {
            persisted: Persisted::default(),
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

    /// Makes the changes a step produced durable, before any message of that step is
    /// sent. Everything written comes from the `Ready`; its `entries` and `snapshot`
    /// move into storage (the `Ready` keeps the rest for the steps after persisting).
    pub fn persist(&mut self, ready: &mut Ready<C, D>) {
        if let Some(hs) = ready.hard_state {
            self.persisted.hard_state = hs;
        }
        let entries = std::mem::take(&mut ready.entries);
        if let Some(s) = ready.snapshot.take() {
            // A new snapshot: the stored log is its prefix and the entries after it.
            self.persisted.log = RaftLog::from_parts(s.last_index, s.last_term, entries);
            self.persisted.snapshot = Some(s);
        } else if let Some(from) = ready.log_dirty_from {
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
    }

    /// Forgets the vote, for the `unsafe_forget_vote_on_restart` teaching switch.
    pub fn forget_vote(&mut self) {
        self.persisted.hard_state.voted_for = None;
    }
}
