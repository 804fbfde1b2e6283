//! The replicated log (§5.3), with the index arithmetic hidden behind methods so that a
//! snapshot covering a prefix (§7) changes nothing for the callers.

use crate::membership::Membership;
use crate::types::{Index, Term};

/// What a log entry carries.
#[derive(Debug, Clone, PartialEq)]
pub enum Payload<C> {
    /// The empty entry a new leader appends at the start of its term (dissertation §6.4),
    /// so that entries of earlier terms commit without waiting for a client.
    Noop,
    /// A client's command, for the state machine.
    Command(C),
    /// A new configuration, used by each server as soon as it is in its log (§4.1).
    Config(Membership),
}

/// One log entry: the term in which a leader created it, its position and its payload.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry<C> {
    /// The leader's term when the entry was created.
    pub term: Term,
    /// The entry's position in the log.
    pub index: Index,
    /// What it carries.
    pub payload: Payload<C>,
}

impl<C> Entry<C> {
    /// A client command entry.
    pub fn command(term: Term, index: Index, command: C) -> Self {
        Entry {
            term,
            index,
            payload: Payload::Command(command),
        }
    }
}

/// A snapshot (§7): the state machine's state after applying every entry up to
/// `last_index`, with what is needed to keep the log consistent after it.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot<D> {
    /// The index of the last entry the snapshot covers.
    pub last_index: Index,
    /// The term of that entry.
    pub last_term: Term,
    /// The configuration in force at `last_index`.
    pub membership: Membership,
    /// The state machine's state.
    pub data: D,
}

/// A log whose prefix up to `snapshot_index` may have been compacted into a snapshot.
///
/// Holds the entries `snapshot_index + 1 ..= last_index()`; the term of the entry at
/// `snapshot_index` is remembered so that AppendEntries consistency checks at the
/// boundary still work (§7).
#[derive(Debug, Clone)]
pub struct RaftLog<C> {
    snapshot_index: Index,
    snapshot_term: Term,
    entries: Vec<Entry<C>>,
}

impl<C> Default for RaftLog<C> {
    fn default() -> Self {
        RaftLog {
            snapshot_index: 0,
            snapshot_term: 0,
            entries: Vec::new(),
        }
    }
}

impl<C: Clone> RaftLog<C> {
    /// A log that starts after a snapshot ending at `(snapshot_index, snapshot_term)`
    /// and holds `entries`, which must follow it without gaps.
    pub fn from_parts(snapshot_index: Index, snapshot_term: Term, entries: Vec<Entry<C>>) -> Self {
        for (i, e) in entries.iter().enumerate() {
            assert_eq!(
                e.index,
                snapshot_index + 1 + i as Index,
                "log gap: entry {i} has index {}",
                e.index
            );
        }
        RaftLog {
            snapshot_index,
            snapshot_term,
            entries,
        }
    }

    /// The last index covered by the snapshot, 0 if none.
    pub fn snapshot_index(&self) -> Index {
        self.snapshot_index
    }

    /// The term of the entry at `snapshot_index`, 0 if none.
    pub fn snapshot_term(&self) -> Term {
        self.snapshot_term
    }

    /// The first index held as an entry (one past the snapshot).
    pub fn first_index(&self) -> Index {
        self.snapshot_index + 1
    }

    /// The index of the last entry (or of the snapshot's last entry), 0 if empty.
    pub fn last_index(&self) -> Index {
        self.snapshot_index + self.entries.len() as Index
    }

    /// The term of the last entry, 0 if empty (§5.4.1 compares logs by it).
    pub fn last_term(&self) -> Term {
        self.entries.last().map_or(self.snapshot_term, |e| e.term)
    }

    /// The term of the entry at `index`: known for `snapshot_index ..= last_index()`
    /// (index 0 has term 0), `None` outside that range.
    pub fn term_at(&self, index: Index) -> Option<Term> {
        if index == self.snapshot_index {
            return Some(self.snapshot_term);
        }
        self.get(index).map(|e| e.term)
    }

    /// The entry at `index`, if it is held (not compacted, not beyond the end).
    pub fn get(&self, index: Index) -> Option<&Entry<C>> {
        if index <= self.snapshot_index {
            return None;
        }
        self.entries.get((index - self.snapshot_index - 1) as usize)
    }

    /// Whether the log holds an entry at `index` with `term` (the AppendEntries
    /// consistency check of §5.3).
    pub fn matches(&self, index: Index, term: Term) -> bool {
        self.term_at(index) == Some(term)
    }

    /// The held entries from `from` on, at most `max` of them.
    pub fn slice(&self, from: Index, max: usize) -> &[Entry<C>] {
        let start = from.max(self.first_index());
        if start > self.last_index() {
            return &[];
        }
        let lo = (start - self.first_index()) as usize;
        let hi = lo.saturating_add(max).min(self.entries.len());
        &self.entries[lo..hi]
    }

    /// Appends one entry; it must be the next index.
    pub fn push(&mut self, entry: Entry<C>) {
        assert_eq!(
            entry.index,
            self.last_index() + 1,
            "log gap: appending index {} after {}",
            entry.index,
            self.last_index()
        );
        self.entries.push(entry);
    }

    /// Removes the entry at `from` and every entry after it, returning them.
    pub fn truncate_from(&mut self, from: Index) -> Vec<Entry<C>> {
        assert!(
            from > self.snapshot_index,
            "truncating compacted entries: {from} <= snapshot {}",
            self.snapshot_index
        );
        if from > self.last_index() {
            return Vec::new();
        }
        self.entries
            .split_off((from - self.snapshot_index - 1) as usize)
    }

    /// The first index of the run of entries with the same term as the entry at `index`
    /// (the conflict hint of fast backtracking). Stops at the first held entry.
    pub fn first_index_of_term_at(&self, index: Index) -> Index {
        let Some(term) = self.term_at(index) else {
            return index;
        };
        let mut i = index;
        while i > self.first_index() && self.term_at(i - 1) == Some(term) {
            i -= 1;
        }
        i
    }

    /// The last index whose entry has `term`, if the log holds any such entry.
    pub fn last_index_of_term(&self, term: Term) -> Option<Index> {
        // Terms never decrease along a log, so search from the end and stop early.
        for e in self.entries.iter().rev() {
            if e.term == term {
                return Some(e.index);
            }
            if e.term < term {
                return None;
            }
        }
        (self.snapshot_term == term && self.snapshot_index > 0).then_some(self.snapshot_index)
    }

    /// Drops the entries up to and including `index` after a snapshot covering them was
    /// taken (§7). `index` must be held or be the current snapshot index.
    pub fn compact(&mut self, index: Index) {
        if index <= self.snapshot_index {
            return;
        }
        let term = self
            .term_at(index)
            .expect("compacting beyond the log's end");
        self.entries.drain(..(index - self.snapshot_index) as usize);
        self.snapshot_index = index;
        self.snapshot_term = term;
    }

    /// Installs a snapshot ending at `(index, term)` received from a leader (§7): if the
    /// log holds that very entry, the entries after it are kept (they still match);
    /// otherwise the whole log is discarded.
    pub fn install_snapshot(&mut self, index: Index, term: Term) {
        if self.matches(index, term) && index >= self.snapshot_index {
            self.compact(index);
        } else {
            self.entries.clear();
            self.snapshot_index = index;
            self.snapshot_term = term;
        }
    }

    /// The most recent configuration entry at or before `upto`, searching held entries
    /// from the end.
    pub fn last_config(&self, upto: Index) -> Option<(Index, &Membership)> {
        self.entries
            .iter()
            .rev()
            .filter(|e| e.index <= upto)
            .find_map(|e| match &e.payload {
                Payload::Config(m) => Some((e.index, m)),
                _ => None,
            })
    }

    /// Every held entry, in order.
    pub fn entries(&self) -> &[Entry<C>] {
        &self.entries
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log_of(terms: &[Term]) -> RaftLog<u32> {
        let mut l = RaftLog::default();
        for (i, &t) in terms.iter().enumerate() {
            l.push(Entry::command(t, i as Index + 1, i as u32));
        }
        l
    }

    #[test]
    fn empty_log_has_index_and_term_zero() {
        let l = log_of(&[]);
        assert_eq!((l.last_index(), l.last_term()), (0, 0));
        assert_eq!(l.term_at(0), Some(0));
        assert_eq!(l.term_at(1), None);
        assert!(l.matches(0, 0));
    }

    #[test]
    fn term_lookups_and_hints() {
        let l = log_of(&[1, 1, 1, 4, 4, 5, 5, 6, 6, 6]);
        assert_eq!(l.term_at(4), Some(4));
        assert_eq!(l.first_index_of_term_at(10), 8);
        assert_eq!(l.first_index_of_term_at(5), 4);
        assert_eq!(l.first_index_of_term_at(2), 1);
        assert_eq!(l.last_index_of_term(5), Some(7));
        assert_eq!(l.last_index_of_term(2), None);
        assert_eq!(l.slice(9, 10).len(), 2);
        assert_eq!(l.slice(11, 10).len(), 0);
    }

    #[test]
    fn compaction_hides_the_offset() {
        let mut l = log_of(&[1, 1, 2, 2, 3]);
        l.compact(3);
        assert_eq!((l.snapshot_index(), l.snapshot_term()), (3, 2));
        assert_eq!((l.first_index(), l.last_index(), l.last_term()), (4, 5, 3));
        assert_eq!(l.term_at(3), Some(2));
        assert_eq!(l.term_at(2), None);
        assert!(l.get(3).is_none());
        assert_eq!(l.get(4).unwrap().index, 4);
        assert_eq!(l.slice(1, 10).len(), 2);
        assert_eq!(l.truncate_from(5).len(), 1);
        assert_eq!(l.last_index(), 4);
        l.push(Entry::command(4, 5, 0));
        assert_eq!(l.last_term(), 4);
    }

    #[test]
    fn install_snapshot_keeps_a_matching_suffix_only() {
        let mut l = log_of(&[1, 1, 2, 2]);
        l.install_snapshot(2, 1);
        assert_eq!((l.snapshot_index(), l.last_index()), (2, 4));
        let mut l = log_of(&[1, 1, 2, 2]);
        l.install_snapshot(3, 3);
        assert_eq!(
            (l.snapshot_index(), l.last_index(), l.last_term()),
            (3, 3, 3)
        );
        let mut l = log_of(&[1]);
        l.install_snapshot(9, 5);
        assert_eq!((l.first_index(), l.last_index()), (10, 9));
    }
}
