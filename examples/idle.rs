//! Cost at rest and at scale: CPU of an idle cluster, throughput and memory from 3 to 51
//! nodes, and peak memory of a million writes. The same program as `cargo run --release
//! -- idle`; `--help` lists the options.
//!
//!     cargo run --release --example idle                     # all three tables
//!     cargo run --release --example idle -- million          # 1M writes, peak memory

fn main() {
    raftsim_cli::example("idle")
}
