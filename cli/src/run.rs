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
//! status is 1. A file that records output must print it again: if this run's output
//! differs, the run fails (status 1) with a diff, as a golden test would; `--update`
//! records the new output. `--seed` and `--threads` change the run, so they skip that
//! comparison and cannot be combined with `--update`.

use std::path::{Path, PathBuf};

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
    /// as the golden tests' UPDATE_GOLDEN=1 does; refused with --seed or --threads,
    /// whose output the file could not reproduce.
    #[arg(long)]
    update: bool,
}

/// Runs the script; returns the exit status (0 passed, 1 failed, 2 bad usage).
pub fn run(args: Args, how: Invocation) -> i32 {
    if let Some(status) = refuse_bad_usage(&args) {
        return status;
    }
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
        let (runtime, threads) = if args.threads {
            (
                "threaded runtime: thread timing varies, so runs differ",
                " --threads",
            )
        } else {
            ("simulated runtime: the same seed gives the same run", "")
        };
        eprintln!(
            "seed {seed} ({runtime}; replay with: {} {}{threads} --seed {seed})",
            how.prefix("run", false),
            args.script.display()
        );
    }
    if let Some(e) = &outcome.failed {
        eprintln!("error: {e}");
        return 1;
    }
    // The datadriven check: a file that records output must print it again.
    if let Some(recorded) = script.recorded() {
        if args.update {
            // Just recorded.
        } else if args.threads || args.seed.is_some() {
            let why = if args.threads { "--threads" } else { "--seed" };
            eprintln!("(the output recorded in the file is not compared: {why} changes the run)");
        } else if recorded != outcome.output {
            eprintln!(
                "error: {}: the output differs from the output recorded in the file \
                 (- recorded, + this run):\n{}\
                 re-record with --update if the change is intended (and review the diff)",
                args.script.display(),
                script::unified_diff(recorded, &outcome.output)
            );
            return 1;
        }
    }
    status
}

/// Refuses option combinations that would write over the script or record output the
/// script cannot reproduce; returns the exit status (2) if it refused.
fn refuse_bad_usage(args: &Args) -> Option<i32> {
    if args.update {
        let why = if args.seed.is_some() {
            Some((
                "--seed",
                "the file would record another seed's output under a `cluster` line that \
                 runs its own seed (seed=, 1 by default), so it would no longer reproduce \
                 itself; change seed= in the script instead",
            ))
        } else if args.threads {
            Some((
                "--threads",
                "a threaded run differs each time, so its output cannot be recorded",
            ))
        } else {
            None
        };
        if let Some((option, why)) = why {
            eprintln!("error: --update cannot be used with {option}: {why}");
            return Some(2);
        }
    }
    let script = canonical(&args.script);
    for (option, path) in [("--timeline", &args.timeline), ("--trace", &args.trace)] {
        let Some(path) = path else { continue };
        if script.is_some() && canonical(path) == script {
            eprintln!(
                "error: {option} {} is the script itself: writing it would overwrite the \
                 script; name another file",
                path.display()
            );
            return Some(2);
        }
    }
    if let (Some(a), Some(b)) = (&args.timeline, &args.trace) {
        let same = a == b || (canonical(a).is_some() && canonical(a) == canonical(b));
        if same {
            eprintln!(
                "error: --timeline and --trace name the same file {}: one would overwrite \
                 the other",
                a.display()
            );
            return Some(2);
        }
    }
    None
}

/// The path with symbolic links and `..` resolved, for a file that may not exist yet
/// (its directory resolved, its name kept); `None` if even the directory is missing.
fn canonical(path: &Path) -> Option<PathBuf> {
    if let Ok(p) = path.canonicalize() {
        return Some(p);
    }
    let name = path.file_name()?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    Some(dir.canonicalize().ok()?.join(name))
}
