//! The entries an AppendEntries carries, shared instead of copied.
//!
//! A leader sends the same new entries to every follower. Copying them out of its log
//! once per follower costs the leader's thread an allocation and a deep clone of every
//! command per follower; instead it copies a batch once and each follower's message
//! holds a window on it (one reference count), and each follower clones what it stores
//! on its own thread. A duplicate the router makes is as cheap. A window keeps its
//! whole batch (at most `max_entries_per_append` entries) alive while it is in flight.

use std::fmt;
use std::ops::{Deref, Range};
use std::sync::Arc;

use crate::log::Entry;
use crate::types::Index;

/// A window on an immutable, shared batch of consecutive log entries. Reads as a slice
/// (`&[Entry<C>]`); build one from a `Vec` with `.into()`.
pub struct Entries<C> {
    batch: Option<Arc<[Entry<C>]>>,
    window: Range<usize>,
}

impl<C> Entries<C> {
    /// No entries (a heartbeat's).
    pub fn empty() -> Self {
        Entries {
            batch: None,
            window: 0..0,
        }
    }

    /// Drops the first `n` entries of the window (all, if there are fewer).
    pub fn skip(&mut self, n: usize) {
        self.window.start = (self.window.start + n).min(self.window.end);
    }

    /// Whether both windows point into the same batch (one copy of the entries).
    pub fn shares_batch_with(&self, other: &Self) -> bool {
        match (&self.batch, &other.batch) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }

    /// The entries `from ..= to` (by log index), sharing this window's batch; `None`
    /// unless the window holds all of them. `from > to` gives an empty window.
    pub fn window(&self, from: Index, to: Index) -> Option<Self> {
        if from > to {
            return Some(Entries::empty());
        }
        let first = self.first()?.index;
        let last = self.last()?.index;
        if from < first || to > last {
            return None;
        }
        let lo = self.window.start + (from - first) as usize;
        let hi = self.window.start + (to - first) as usize + 1;
        Some(Entries {
            batch: self.batch.clone(),
            window: lo..hi,
        })
    }
}

impl<C> Deref for Entries<C> {
    type Target = [Entry<C>];
    fn deref(&self) -> &[Entry<C>] {
        match &self.batch {
            Some(b) => &b[self.window.clone()],
            None => &[],
        }
    }
}

impl<C> Clone for Entries<C> {
    fn clone(&self) -> Self {
        Entries {
            batch: self.batch.clone(),
            window: self.window.clone(),
        }
    }
}

impl<C> Default for Entries<C> {
    fn default() -> Self {
        Entries::empty()
    }
}

impl<C> From<Vec<Entry<C>>> for Entries<C> {
    fn from(v: Vec<Entry<C>>) -> Self {
        if v.is_empty() {
            return Entries::empty();
        }
        let window = 0..v.len();
        Entries {
            batch: Some(v.into()),
            window,
        }
    }
}

impl<C: fmt::Debug> fmt::Debug for Entries<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<C: PartialEq> PartialEq for Entries<C> {
    fn eq(&self, o: &Self) -> bool {
        **self == **o
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(from: Index, to: Index) -> Entries<u32> {
        (from..=to)
            .map(|i| Entry::command(1, i, i as u32))
            .collect::<Vec<_>>()
            .into()
    }

    #[test]
    fn windows_share_the_batch_and_read_as_slices() {
        let all = batch(5, 9);
        let w = all.window(6, 8).expect("inside");
        assert_eq!(w.iter().map(|e| e.index).collect::<Vec<_>>(), vec![6, 7, 8]);
        assert!(Arc::ptr_eq(
            all.batch.as_ref().unwrap(),
            w.batch.as_ref().unwrap()
        ));
        assert!(all.window(4, 6).is_none(), "starts before the batch");
        assert!(all.window(8, 10).is_none(), "ends after it");
        assert!(all.window(7, 6).unwrap().is_empty());
        let inner = w.window(7, 7).expect("a window of a window");
        assert_eq!(inner[0].index, 7);
    }

    #[test]
    fn skip_drops_from_the_front() {
        let mut w = batch(1, 3);
        w.skip(2);
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].index, 3);
        w.skip(5);
        assert!(w.is_empty());
        assert_eq!(w, Entries::empty());
        assert!(Entries::<u32>::empty().window(1, 1).is_none());
    }
}
