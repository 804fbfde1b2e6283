//! How fast the simulated runtime runs: simulated events per second and virtual seconds
//! per wall second. The same program as `cargo run --release -- simbench`; `--help`
//! lists the options.
//!
//!     cargo run --release --example simbench

fn main() {
    raftsim_cli::example("simbench")
}
