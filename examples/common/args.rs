//! Command-line options shared by the measuring examples (`bench`, `figure16`, `idle`).

/// The value after `name` in `args`, parsed; `None` if the option is absent. A value
/// that does not parse stops the example with a message naming the option.
pub fn value<T: std::str::FromStr>(args: &[String], name: &str) -> Option<T> {
    let i = args.iter().position(|a| a == name)?;
    let v = args.get(i + 1)?;
    Some(
        v.parse()
            .unwrap_or_else(|_| panic!("{name}: cannot parse {v:?}")),
    )
}
