//! Printing: `status`, `log`, `trace`.

use crate::types::NodeId;

use super::{line_of, Runner, R};

impl Runner<'_> {
    /// `status`: each node's status line.
    pub(super) fn status(&mut self, ids: &[NodeId], out: &mut Vec<String>) -> R {
        for id in self.or_all(ids)? {
            out.push(self.cluster()?.status(id).to_string());
        }
        Ok(())
    }

    /// `log`: each node's stored log.
    pub(super) fn log(&mut self, ids: &[NodeId], out: &mut Vec<String>) -> R {
        for id in self.or_all(ids)? {
            out.push(format!("n{id}: {}", self.log_text(id)?));
        }
        Ok(())
    }

    /// `trace`: every event since the last `trace`, whatever `show` selects.
    pub(super) fn trace(&mut self, out: &mut Vec<String>) -> R {
        let events = self.cluster()?.trace();
        let new = &events[self.traced.min(events.len())..];
        self.traced = events.len();
        out.extend(new.iter().map(line_of));
        Ok(())
    }

    /// A node's log as `[snapshot I@T] 1@1 2@1 ...`, or `(empty)`.
    pub(super) fn log_text(&self, id: NodeId) -> R<String> {
        let view = self.cluster()?.log_view(id).map_err(|e| e.to_string())?;
        let mut parts = Vec::new();
        if view.snapshot.0 > 0 {
            parts.push(format!(
                "[snapshot {}@{}]",
                view.snapshot.0, view.snapshot.1
            ));
        }
        parts.extend(view.entries.iter().map(|(i, t)| format!("{i}@{t}")));
        Ok(if parts.is_empty() {
            "(empty)".into()
        } else {
            parts.join(" ")
        })
    }
}
