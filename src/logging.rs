//! Human-readable logs through the `log` crate.
//!
//! Every raftsim line starts with the time since its cluster started, then who speaks:
//! `n2 t5 Leader` (node, term, role) or `router` / `cluster`. The role and term are the
//! node's when it acted: a pre-candidate counting a pre-vote reads `PreCandidate`, even
//! if that vote makes it a candidate in the same step (the next line, `PreCandidate ->
//! Candidate`, says so). `info` tells the story of a run (elections, votes and their
//! reasons, leadership, commits and the majority behind each, faults); `debug` adds every
//! message and every vote counted. Select with `RUST_LOG`, e.g. `RUST_LOG=raftsim=debug`.
//!
//! Lines come out in time order, also under the threaded runtime where every node logs
//! from its own thread: the trace reads the clock and writes the line under one lock
//! (`Trace::record`), so no thread can log an earlier time after a later one. Only
//! raftsim's own lines are ordered so; a line another crate logs may sit between them.

use std::io::Write;

/// Installs env_logger with raftsim's compact format, if no logger is installed yet.
/// `RUST_LOG` decides the level; without it, `default_filter` does (e.g. `"info"`).
pub fn init_with_default(default_filter: &str) {
    let env = env_logger::Env::default().default_filter_or(default_filter);
    let _ = env_logger::Builder::from_env(env)
        .format(|buf, record| writeln!(buf, "{:<5} {}", record.level(), record.args()))
        .try_init();
}

/// Installs the logger with `warn` as the default level (quiet unless `RUST_LOG` is set).
pub fn init() {
    init_with_default("warn");
}
