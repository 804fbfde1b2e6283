//! Assertions: `expect`, each kind against the cluster's state, the safety checker's
//! findings or the clients' history.

use std::time::Duration;

use crate::check::kv_model::KvModel;
use crate::check::linearizability;
use crate::kv::KvStore;
use crate::types::{Index, NodeId, Term};
use crate::Cluster;

use super::super::parse::Expect;
use super::{leader, summary, Runner, R};

impl Runner<'_> {
    /// `expect`: fails with what the cluster shows instead.
    pub(super) fn expect(&mut self, e: &Expect) -> R {
        if let Expect::Violation(_) = e {
            self.violation_expected = true;
        }
        let c = self.cluster()?;
        match e {
            Expect::Leader(id) => self.expect_leader(c, *id),
            Expect::NoLeader => match leader(c) {
                Some(l) => Err(format!("n{l} leads (term {})", c.status(l).term)),
                None => Ok(()),
            },
            Expect::Committed(index, ids) => self.expect_index(c, *index, ids, false),
            Expect::Applied(index, ids) => self.expect_index(c, *index, ids, true),
            Expect::Log(id, entries) => self.expect_log(*id, entries),
            Expect::Term(id, term) => {
                let id = self.known(*id)?;
                let got = c.status(id).term;
                if got != *term {
                    return Err(format!("n{id} is in term {got}"));
                }
                Ok(())
            }
            Expect::Role(id, role) => self.expect_role(c, *id, role),
            Expect::Violation(p) => expect_violation(c, p),
            Expect::Safe => expect_safe(c),
            Expect::Linearizable => self.expect_linearizable(true),
            Expect::NotLinearizable => self.expect_linearizable(false),
            Expect::Held(n) => {
                let got = self.held_lines()?.len();
                if got != *n {
                    return Err(format!("{got} held; {}", self.held_list()?));
                }
                Ok(())
            }
        }
    }

    fn expect_leader(&self, c: &Cluster<KvStore>, id: NodeId) -> R {
        let id = self.known(id)?;
        match leader(c) {
            Some(l) if l == id => Ok(()),
            Some(l) => Err(format!(
                "n{id} does not lead; n{l} does (term {})",
                c.status(l).term
            )),
            None => Err(format!("no node leads; {}", summary(c))),
        }
    }

    /// `expect committed|applied INDEX on NODE...`: exactly `index` on each.
    fn expect_index(&self, c: &Cluster<KvStore>, index: Index, ids: &[NodeId], applied: bool) -> R {
        let what = if applied { "applied" } else { "committed" };
        let mut wrong = Vec::new();
        for id in self.all_known(ids)? {
            let s = c.status(id);
            let got = if applied {
                s.last_applied
            } else {
                s.commit_index
            };
            if got != index {
                wrong.push(format!("n{id} {what} {got}"));
            }
        }
        if !wrong.is_empty() {
            return Err(format!("expected {index}, got {}", wrong.join(", ")));
        }
        Ok(())
    }

    fn expect_log(&self, id: NodeId, entries: &[(Index, Term)]) -> R {
        let id = self.known(id)?;
        let want: Vec<String> = entries.iter().map(|(i, t)| format!("{i}@{t}")).collect();
        let want = if want.is_empty() {
            "(empty)".into()
        } else {
            want.join(" ")
        };
        let got = self.log_text(id)?;
        if got != want {
            return Err(format!("the log of n{id} is {got}"));
        }
        Ok(())
    }

    fn expect_role(&self, c: &Cluster<KvStore>, id: NodeId, role: &str) -> R {
        let id = self.known(id)?;
        let s = c.status(id);
        let got = if s.alive {
            s.role.to_string()
        } else {
            "crashed".into()
        };
        if !got.eq_ignore_ascii_case(role) {
            return Err(format!("n{id} is {got}"));
        }
        Ok(())
    }

    /// `expect [not] linearizable`: the clients' history, through the checker.
    fn expect_linearizable(&self, linearizable: bool) -> R {
        let ops = self.history.operations();
        let result = linearizability::check(&KvModel, &ops, Duration::from_secs(10));
        let holds = if linearizable {
            result.is_ok()
        } else {
            result.is_illegal()
        };
        if !holds {
            return Err(format!(
                "the history of {} operations is {result}",
                ops.len()
            ));
        }
        Ok(())
    }
}

/// `expect violation PROPERTY`: the checker found at least one of these.
fn expect_violation(c: &Cluster<KvStore>, p: &str) -> R {
    let v = c.violations();
    let squash = |s: &str| s.replace([' ', '-', '_'], "").to_lowercase();
    let names: Vec<String> = v.iter().map(|v| v.property.to_string()).collect();
    if !names.iter().any(|n| squash(n) == squash(p)) {
        let seen = if names.is_empty() {
            "none".into()
        } else {
            names.join(", ")
        };
        return Err(format!("no {p} violation; the checker found: {seen}"));
    }
    Ok(())
}

/// `expect safe`: the checker found nothing.
fn expect_safe(c: &Cluster<KvStore>) -> R {
    let v = c.violations();
    if let Some(first) = v.first() {
        let text = first.to_string();
        return Err(format!(
            "{} violation(s): {}",
            v.len(),
            text.lines().next().unwrap_or_default()
        ));
    }
    Ok(())
}
