//! The `raftsim` command: run a scenario script, explore seeds, benchmark the threaded
//! runtime, reproduce the paper's Figure 16, measure cost at rest.
//!
//! ```text
//! cargo run -- run examples/scenarios/figure8.txt     # a script, on the simulated runtime
//! cargo run --release -- explore --seeds 1..=1000     # random fault schedules, all checked
//! cargo run --release -- bench --clients 1,16         # throughput and latency
//! cargo run --release -- figure16 --sim               # the paper's Figure 16
//! cargo run --release -- idle                         # CPU at rest, scale, memory
//! cargo run --release -- simbench                     # how fast the simulation runs
//! ```
//!
//! The long-running subcommands are also examples (`cargo run --release --example
//! bench -- …`) with the same options: each example calls [`example`].
//!
//! Every subcommand takes `--help`. An unknown option or a bad value is an error that
//! names the option and what it accepts, with exit status 2.

use std::ffi::OsString;

use clap::{Parser, Subcommand};

pub mod bench;
pub mod common;
pub mod explore;
pub mod figure16;
pub mod idle;
pub mod run;
pub mod simbench;

pub use common::Invocation;

/// raftsim: Raft as an in-memory actor simulation. Watch, break and test consensus.
#[derive(Parser, Debug)]
#[command(name = "raftsim", version, about, long_about = None)]
#[command(bin_name = "cargo run --")]
pub struct Raftsim {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a scenario script: each command printed with what it did (exact, repeatable).
    Run(run::Args),
    /// Seed explorer: random fault schedules on the simulated runtime, every check after each.
    Explore(explore::Args),
    /// Replicated writes per second and their latency, against an echo baseline.
    Bench(bench::Args),
    /// The paper's Figure 16: time without a leader after the leader crashes.
    Figure16(figure16::Args),
    /// Cost at rest and at scale: idle CPU, 3 to 51 nodes, a million writes.
    Idle(idle::Args),
    /// How fast the simulated runtime runs: events per second, virtual time per second.
    Simbench(simbench::Args),
}

/// Runs the `raftsim` command on `args` (the program name first) and returns the exit
/// status: 0 done, 1 a check failed, 2 bad usage.
pub fn main<I, T>(args: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Raftsim::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    let how = Invocation::Command;
    match cli.command {
        Command::Run(a) => run::run(a, how),
        Command::Explore(a) => explore::run(a, how),
        Command::Bench(a) => bench::run(a, how),
        Command::Figure16(a) => figure16::run(a, how),
        Command::Idle(a) => idle::run(a, how),
        Command::Simbench(a) => simbench::run(a, how),
    }
}

/// The entry point of example `name` (`explore`, `bench`, `figure16`, `idle`): the
/// subcommand of the same name with the process's arguments; exits with its status.
pub fn example(name: &str) -> ! {
    let argv: Vec<OsString> = std::env::args_os().skip(1).collect();
    let bin = format!("cargo run --release --example {name} --");
    let status = match name {
        "explore" => parse_and_run::<explore::Args>(&bin, argv, explore::run),
        "bench" => parse_and_run::<bench::Args>(&bin, argv, bench::run),
        "figure16" => parse_and_run::<figure16::Args>(&bin, argv, figure16::run),
        "idle" => parse_and_run::<idle::Args>(&bin, argv, idle::run),
        "simbench" => parse_and_run::<simbench::Args>(&bin, argv, simbench::run),
        other => panic!("no subcommand called {other:?}"),
    };
    std::process::exit(status)
}

fn parse_and_run<A: clap::Parser>(
    bin: &str,
    argv: Vec<OsString>,
    run: fn(A, Invocation) -> i32,
) -> i32 {
    let command = A::command().bin_name(bin.to_string());
    let matches =
        match command.try_get_matches_from(std::iter::once(OsString::from(bin)).chain(argv)) {
            Ok(m) => m,
            Err(e) => return usage_error(e),
        };
    match A::from_arg_matches(&matches) {
        Ok(a) => run(a, Invocation::Example),
        Err(e) => usage_error(e),
    }
}

/// Prints clap's message (help, version, or an error with its usage line) and returns
/// the exit status clap chose: 0 for `--help`, 2 for bad usage.
fn usage_error(e: clap::Error) -> i32 {
    let _ = e.print();
    e.exit_code()
}
