//! Requests to the cluster (`propose`, a client's `put`, `append`, `get`) and waiting
//! for a condition (`run until`).

use std::time::Duration;

use crate::error::NotLeader;
use crate::status::Status;
use crate::types::{NodeId, Role};

use super::super::parse::Cond;
use super::{label, summary, Runner, R};

impl Runner<'_> {
    /// `propose`: a labelled entry straight to a node.
    pub(super) fn propose(&mut self, id: NodeId, what: &str, out: &mut Vec<String>) -> R {
        let id = self.running(id)?;
        let c = self.cluster()?;
        match c.propose(id, label(what)) {
            Ok((index, term)) => out.push(format!("n{id}: index {index}, term {term}")),
            // The node may still believe in a leader that has crashed since.
            Err(NotLeader { leader: Some(l) }) if !c.status(l).alive => out.push(format!(
                "n{id}: not the leader; the leader it knows, n{l}, is crashed"
            )),
            Err(NotLeader { leader: Some(l) }) => {
                out.push(format!("n{id}: not the leader; try n{l}"))
            }
            Err(NotLeader { leader: None }) => {
                out.push(format!("n{id}: not the leader; no leader known"))
            }
        }
        Ok(())
    }

    /// `put` by the named client.
    pub(super) fn put(&mut self, c: &str, k: &str, v: &str, out: &mut Vec<String>) -> R {
        let r = self.client(c)?.put(k, v);
        out.push(match r {
            Ok(()) => "ok".into(),
            Err(e) => format!("error: {e}"),
        });
        Ok(())
    }

    /// `append` by the named client.
    pub(super) fn append(&mut self, c: &str, k: &str, v: &str, out: &mut Vec<String>) -> R {
        let r = self.client(c)?.append(k, v);
        out.push(match r {
            Ok(()) => "ok".into(),
            Err(e) => format!("error: {e}"),
        });
        Ok(())
    }

    /// `get` by the named client.
    pub(super) fn get(&mut self, c: &str, k: &str, out: &mut Vec<String>) -> R {
        let r = self.client(c)?.get(k);
        out.push(match r {
            Ok(Some(v)) => format!("{k} = {v}"),
            Ok(None) => format!("{k} is absent"),
            Err(e) => format!("error: {e}"),
        });
        Ok(())
    }

    /// `run until`: runs until `cond` holds, or fails after `within`.
    pub(super) fn run_until(&mut self, cond: &Cond, within: Duration) -> R {
        let c = self.cluster()?;
        match cond {
            Cond::Leader(None) => {
                c.wait_for_leader(within)
                    .map_err(|_| format!("no leader within {within:?}; {}", summary(c)))?;
            }
            Cond::Leader(Some(id)) => {
                let id = self.known(*id)?;
                c.wait_for("a leader", within, |st| {
                    st.iter()
                        .any(|s| s.id == id && s.alive && s.role == Role::Leader)
                })
                .map_err(|_| format!("n{id} did not lead within {within:?}; {}", summary(c)))?;
            }
            Cond::Committed(index, ids) | Cond::Applied(index, ids) => {
                let ids = self.all_known(ids)?;
                let applied = matches!(cond, Cond::Applied(..));
                let of = |s: &Status| {
                    if applied {
                        s.last_applied
                    } else {
                        s.commit_index
                    }
                };
                c.wait_for("the commit index", within, |st| {
                    ids.iter()
                        .all(|&i| st.iter().any(|s| s.id == i && of(s) >= *index))
                })
                .map_err(|_| {
                    let what = if applied { "applied" } else { "committed" };
                    let seen: Vec<String> = ids
                        .iter()
                        .map(|&i| format!("n{i} {what} {}", of(&c.status(i))))
                        .collect();
                    format!("not within {within:?}: {}", seen.join(", "))
                })?;
            }
        }
        Ok(())
    }
}
