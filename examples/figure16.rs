//! Figure 16 of the Raft paper reproduced: how long a 5-node cluster is without a leader
//! after the leader crashes, for several election timeout ranges. The same program as
//! `cargo run --release -- figure16`; `--help` lists the options.
//!
//!     cargo run --release --example figure16                  # every line, 1000 trials
//!     cargo run --release --example figure16 -- --sim         # the same, simulated: 2 s

fn main() {
    raftsim_cli::example("figure16")
}
