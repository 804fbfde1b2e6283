//! The seed explorer: thousands of random fault schedules on the simulated runtime, each
//! checked for the five safety properties, linearizability, exactly-once and liveness.
//! The same program as `cargo run --release -- explore`; `--help` lists the options.
//!
//!     cargo run --release --example explore -- --seeds 1..=1000
//!     cargo run --release --example explore -- --seed 42          # one seed, its story

fn main() {
    raftsim_cli::example("explore")
}
