//! Benchmark: replicated writes per second and their latency, against the echo baseline
//! and beside openraft's published numbers. The same program as `cargo run --release --
//! bench`; `--help` lists the options.
//!
//!     cargo run --release --example bench                        # the whole table
//!     cargo run --release --example bench -- --clients 1,16 --nodes 3 --secs 2

fn main() {
    raftsim_cli::example("bench")
}
