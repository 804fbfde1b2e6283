//! `raftsim run`: runs a scenario script and prints each command with its output.
//!
//! ```text
//! cargo run -- run examples/scenarios/figure8.txt              # exact, on the simulated runtime
//! cargo run -- run examples/scenarios/figure8.txt --seed 7     # another seed
//! cargo run -- run examples/scenarios/partition.txt --threads  # live, on node threads
//! cargo run -- run my.txt --update                             # record the output into the file
//! ```
//!
//! On the simulated runtime (the default) the output is the same on every run, so it
//! can be recorded under each command and compared later, as the golden tests under
//! `tests/scripts/` are. A broken script or a failed `expect` stops the run: the error
//! names the file, the line and the command, the output so far is printed, and the exit
//! status is 1.

use std::path::PathBuf;

use clap::Parser;
use raftsim::script::{self, RunOptions, Script};
use raftsim::Runtime;

use crate::common::Invocation;

/// Runs a scenario script (one command a line; see docs/scripts.md) and prints each
/// command with what it did. The exit status is 1 if a command or an `expect` failed.
#[derive(Parser, Debug)]
#[command(name = "run")]
pub struct Args {
    /// The script to run.
    #[arg(value_name = "SCRIPT")]
    script: PathBuf,
    /// Run on node threads instead of the simulated runtime: a live story whose output
    /// differs from run to run (commands that step messages or timers by hand fail).
    #[arg(long)]
    threads: bool,
    /// Seed the cluster with N instead of the script's own seed.
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// Write a picture of the run (one lane per node) as HTML.
    #[arg(long, value_name = "FILE")]
    timeline: Option<PathBuf>,
    /// Write the run's event trace as JSON lines.
    #[arg(long, value_name = "FILE")]
    trace: Option<PathBuf>,
    /// Write the output back into SCRIPT (each command's output recorded under it),
    /// as the golden tests' UPDATE_GOLDEN=1 does.
    #[arg(long, conflicts_with = "threads")]
    update: bool,
}

/// Runs the script; returns the exit status (0 passed, 1 failed).
pub fn run(args: Args, how: Invocation) -> i32 {
    raftsim::logging::init();
    let script = match Script::load(&args.script) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return 1;
        }
    };
    let options = RunOptions {
        runtime: if args.threads {
            Runtime::Threads
        } else {
            Runtime::Simulated
        },
        seed: args.seed,
    };
    let outcome = script::run(&script, &options);
    print!("{}", outcome.output);
    let mut status = 0;
    if let Some(path) = &args.timeline {
        let title = format!("raftsim run {}", args.script.display());
        match raftsim::timeline::write_html(path, &outcome.trace, &title) {
            Ok(()) => eprintln!("(timeline written to {})", path.display()),
            Err(e) => {
                eprintln!("error: --timeline {}: {e}", path.display());
                status = 2;
            }
        }
    }
    if let Some(path) = &args.trace {
        match raftsim::scenarios::write_trace(path, &outcome.trace) {
            Ok(()) => eprintln!("(trace written to {})", path.display()),
            Err(e) => {
                eprintln!("error: --trace {}: {e}", path.display());
                status = 2;
            }
        }
    }
    if args.update && outcome.failed.is_none() {
        if let Err(e) = std::fs::write(&args.script, &outcome.output) {
            eprintln!("error: --update {}: {e}", args.script.display());
            return 2;
        }
        eprintln!("(output recorded in {})", args.script.display());
    }
    if let Some(seed) = outcome.seed {
        let runtime = if args.threads {
            "threaded runtime: thread timing varies, so runs differ"
        } else {
            "simulated runtime: the same seed gives the same run"
        };
        eprintln!(
            "seed {seed} ({runtime}; replay with: {} {} --seed {seed})",
            how.prefix("run", false),
            args.script.display()
        );
    }
    if let Some(e) = &outcome.failed {
        eprintln!("error: {e}");
        return 1;
    }
    status
}
