//! `raftsim`: see the library's documentation (`raftsim_cli`) or `cargo run -- --help`.

fn main() {
    std::process::exit(raftsim_cli::main(std::env::args_os()))
}
