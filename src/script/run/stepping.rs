//! Stepping timers and messages by hand (simulated runtime only): `timeout`,
//! `heartbeat`, `hold`, `deliver`, `drop`, and the held messages they act on.

use crate::error::Error;
use crate::sim::MessageFilter;
use crate::types::NodeId;

use super::{text, Runner, R};

impl Runner<'_> {
    /// `timeout`: each node's election timer fires now.
    pub(super) fn timeout(&mut self, ids: &[NodeId]) -> R {
        for id in self.all_known(ids)? {
            let c = self.cluster()?;
            if !c.status(id).alive {
                return Err(format!("n{id} is crashed"));
            }
            c.fire_election_timeout(id);
        }
        Ok(())
    }

    /// `heartbeat`: each leader's heartbeat timer fires now.
    pub(super) fn heartbeat(&mut self, ids: &[NodeId]) -> R {
        for id in self.all_known(ids)? {
            self.cluster()?.fire_heartbeat(id).map_err(|e| match e {
                Error::NotLeader(_) => {
                    format!("n{id} does not lead; only a leader sends heartbeats")
                }
                e => e.to_string(),
            })?;
        }
        Ok(())
    }

    /// `hold`: the messages `f` matches wait for `deliver` or `drop`.
    pub(super) fn hold(&mut self, f: &MessageFilter) -> R {
        self.check_filter(f)?;
        self.cluster()?.hold_messages(f.clone()).map_err(text)
    }

    /// `deliver`: up to `max` held messages `f` matches.
    pub(super) fn deliver(&mut self, f: &MessageFilter, max: usize, out: &mut Vec<String>) -> R {
        self.check_filter(f)?;
        let n = self.cluster()?.deliver_held(f, max).map_err(text)?;
        if n == 0 {
            return Err(format!("no held message matches; {}", self.held_list()?));
        }
        out.push(format!("delivered {n}"));
        Ok(())
    }

    /// `drop`: the held messages `f` matches are lost.
    pub(super) fn drop_held(&mut self, f: &MessageFilter, out: &mut Vec<String>) -> R {
        self.check_filter(f)?;
        let n = self.cluster()?.drop_held(f).map_err(text)?;
        if n == 0 {
            return Err(format!("no held message matches; {}", self.held_list()?));
        }
        out.push(format!("dropped {n}"));
        Ok(())
    }

    fn check_filter(&self, f: &MessageFilter) -> R {
        for id in [f.from, f.to].into_iter().flatten() {
            self.known(id)?;
        }
        Ok(())
    }

    /// The held messages, one a line.
    pub(super) fn held_lines(&self) -> R<Vec<String>> {
        self.cluster()?.held_messages().map_err(text)
    }

    /// The held messages on one line, for an error.
    pub(super) fn held_list(&self) -> R<String> {
        let held = self.held_lines()?;
        Ok(if held.is_empty() {
            "none is held".into()
        } else {
            format!("held: {}", held.join(", "))
        })
    }
}
