//! Cluster membership and the majority arithmetic built on it.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::types::{Index, NodeId};

/// A configuration (dissertation ch. 4): the voters, whose majority decides elections and
/// commits, and the learners, who receive the log but do not vote (§4.2.1).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Membership {
    /// The servers that vote and count toward majorities.
    pub voters: BTreeSet<NodeId>,
    /// Non-voting servers catching up before they are promoted.
    pub learners: BTreeSet<NodeId>,
}

impl Membership {
    /// A configuration of the given voters and no learners.
    pub fn new(voters: impl IntoIterator<Item = NodeId>) -> Self {
        Membership {
            voters: voters.into_iter().collect(),
            learners: BTreeSet::new(),
        }
    }

    /// The number of votes (or replicas) that make a majority of the voters.
    pub fn quorum(&self) -> usize {
        quorum(self.voters.len())
    }

    /// Whether `id` is a voter.
    pub fn is_voter(&self, id: NodeId) -> bool {
        self.voters.contains(&id)
    }

    /// Whether `id` is a voter or a learner.
    pub fn contains(&self, id: NodeId) -> bool {
        self.voters.contains(&id) || self.learners.contains(&id)
    }

    /// Every member, voters and learners, in id order.
    pub fn all(&self) -> Vec<NodeId> {
        self.voters.union(&self.learners).copied().collect()
    }
}

/// A majority of `n` voters: `n / 2 + 1`.
pub fn quorum(n: usize) -> usize {
    n / 2 + 1
}

/// The highest index stored on a majority, given each voter's match index (§5.3, §5.4.2:
/// the caller still checks that entry's term). 0 when there are no voters.
pub fn quorum_index(mut match_indexes: Vec<Index>) -> Index {
    if match_indexes.is_empty() {
        return 0;
    }
    match_indexes.sort_unstable_by(|a, b| b.cmp(a));
    match_indexes[quorum(match_indexes.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quorum_sizes() {
        let table = [(1, 1), (2, 2), (3, 2), (4, 3), (5, 3), (6, 4), (7, 4)];
        for (n, q) in table {
            assert_eq!(quorum(n), q, "quorum of {n}");
        }
    }

    #[test]
    fn quorum_index_is_the_majority_th_largest() {
        let table: [(&[Index], Index); 6] = [
            (&[], 0),
            (&[7], 7),
            (&[5, 3, 9], 5),
            (&[1, 1, 2, 2], 1),
            (&[10, 8, 8, 2, 0], 8),
            (&[0, 0, 0, 4, 9], 0),
        ];
        for (m, want) in table {
            assert_eq!(quorum_index(m.to_vec()), want, "{m:?}");
        }
    }
}
