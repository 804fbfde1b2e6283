//! Scenarios as plain-text scripts, and their recorded output (golden files).
//!
//! A script is one command a line, with `#` comments: start a cluster, inject faults,
//! step messages and timers by hand where precision matters (Figure 8), run for a
//! virtual duration or until a condition, print what happened and assert it. Scripts
//! run on the simulated runtime by default, so the output is the same in every run and
//! can be recorded under each command (`----` up to the next blank line), the way etcd
//! raft's and toyDB's test data do. A recorded file is itself a script: the output
//! blocks are skipped when it runs. See `docs/scripts.md` for the commands.
//!
//! ```
//! use raftsim::script::{parse, run, RunOptions};
//! let script = parse("example.txt", "cluster 3 seed=1\nrun until leader\nexpect safe\n").unwrap();
//! let outcome = run(&script, &RunOptions::default());
//! assert!(outcome.failed.is_none(), "{}", outcome.output);
//! ```

mod diff;
mod parse;
mod run;

use std::fmt;
use std::path::Path;

use crate::config::Runtime;
use crate::event::Event;

pub use diff::unified_diff;
pub use parse::COMMANDS;

/// A parsed script.
#[derive(Debug, Clone)]
pub struct Script {
    /// The file it came from, as errors name it.
    pub file: String,
    /// The text as read (without a byte order mark).
    text: String,
    lines: Vec<parse::Line>,
}

/// Parses a script's text; `file` is the name errors give.
pub fn parse(file: &str, text: &str) -> Result<Script, ScriptError> {
    Ok(Script {
        file: file.to_string(),
        lines: parse::parse_lines(file, text)?,
        text: text.strip_prefix('\u{feff}').unwrap_or(text).to_string(),
    })
}

impl Script {
    /// Reads and parses the script at `path`.
    pub fn load(path: impl AsRef<Path>) -> Result<Script, ScriptError> {
        let path = path.as_ref();
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ScriptError {
            file: file.clone(),
            line: 0,
            command: String::new(),
            message: format!("cannot read it: {e}"),
        })?;
        parse(&file, &text)
    }

    /// The file's text, if it records output (a `----` block under some command): what
    /// a run of the script on its own seed must print again, line for line.
    pub fn recorded(&self) -> Option<&str> {
        self.text
            .lines()
            .any(|l| l.trim() == "----")
            .then_some(self.text.as_str())
    }
}

/// How to run a script.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The runtime: simulated (the default; exact, repeatable output) or threaded (a
    /// live run whose output differs each time; commands that step messages or timers
    /// by hand fail on it).
    pub runtime: Runtime,
    /// Overrides the seed of the script's `cluster` command.
    pub seed: Option<u64>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            runtime: Runtime::Simulated,
            seed: None,
        }
    }
}

/// What a run produced.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The script with each command's output under it (`----` up to a blank line):
    /// the golden file's text. On a failure, it ends at the failing command.
    pub output: String,
    /// The cluster's event trace (empty if no cluster started).
    pub trace: Vec<Event>,
    /// The seed the cluster ran with, once one started.
    pub seed: Option<u64>,
    /// Why the run stopped early, if it did.
    pub failed: Option<ScriptError>,
}

/// A script that cannot be read, or a command or assertion that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptError {
    /// The script's file name.
    pub file: String,
    /// The 1-based line (0 when the file could not be read).
    pub line: usize,
    /// The command as written.
    pub command: String,
    /// What is wrong, or what was seen instead of what was expected.
    pub message: String,
}

impl fmt::Display for ScriptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            return write!(f, "{}: {}", self.file, self.message);
        }
        write!(
            f,
            "{} line {}: `{}`: {}",
            self.file, self.line, self.command, self.message
        )
    }
}

impl std::error::Error for ScriptError {}

/// Runs a script from its first command to its last, or to the first that fails.
pub fn run(script: &Script, options: &RunOptions) -> Outcome {
    run::Runner::new(script, options).run()
}
