//! What the subcommands share: how the user invoked us (for replay commands), value
//! parsers that say what they accept, and progress lines on stderr.

use std::time::{Duration, Instant};

/// How this run was started, so that the commands it prints (replay a seed, run it
/// again) are the ones the user can paste: `cargo run --release -- explore …` or
/// `cargo run --release --example explore -- …`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Invocation {
    /// The `raftsim` binary (`cargo run -- SUBCOMMAND`).
    Command,
    /// The example of the same name (`cargo run --example SUBCOMMAND --`).
    Example,
}

impl Invocation {
    /// The command line up to the subcommand's own options, e.g.
    /// `cargo run --release -- explore`.
    pub fn prefix(self, subcommand: &str, release: bool) -> String {
        let release = if release { " --release" } else { "" };
        match self {
            Invocation::Command => format!("cargo run{release} -- {subcommand}"),
            Invocation::Example => format!("cargo run{release} --example {subcommand} --"),
        }
    }
}

/// Refuses an option this subcommand cannot honour, saying why; returns exit status 2.
pub fn refuse(option: &str, why: &str) -> i32 {
    eprintln!("error: {option} is not supported here: {why}");
    2
}

/// `--timeline FILE` and `--trace FILE`, which every example takes, on a measurement
/// with no single run to picture: parsed (hidden from `--help`) so that they are refused
/// with the reason rather than rejected as unknown.
#[derive(clap::Args, Debug)]
pub struct NoPictures {
    #[arg(long, hide = true, value_name = "FILE")]
    timeline: Option<String>,
    #[arg(long, hide = true, value_name = "FILE")]
    trace: Option<String>,
}

impl NoPictures {
    /// The exit status of refusing them with `why`, if either was given.
    pub fn refuse(&self, why: &str) -> Option<i32> {
        (self.timeline.is_some() || self.trace.is_some()).then(|| refuse("--timeline/--trace", why))
    }
}

/// A whole number 1 or more.
pub fn count(v: &str) -> Result<usize, String> {
    match v.trim().parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("expected a whole number, 1 or more; got {v:?}")),
    }
}

/// The most virtual time a simulated run may cover: a day. (Far more than any run
/// needs, and far below what `Duration` holds.)
pub const MAX_VIRTUAL_SECS: f64 = 86_400.0;

/// The most wall time one measurement may take: an hour.
pub const MAX_WALL_SECS: f64 = 3_600.0;

/// A number of virtual seconds above 0 and at most a day, a fraction allowed.
pub fn virtual_seconds(v: &str) -> Result<f64, String> {
    match v.trim().parse::<f64>() {
        Ok(s) if s > 0.0 && s <= MAX_VIRTUAL_SECS => Ok(s),
        _ => Err(format!(
            "expected a number of virtual seconds above 0 and at most {MAX_VIRTUAL_SECS} \
             (a day), e.g. 2 or 0.5; got {v:?}"
        )),
    }
}

/// A number of wall-clock seconds above 0 and at most an hour, a fraction allowed.
pub fn wall_seconds(v: &str) -> Result<f64, String> {
    match v.trim().parse::<f64>() {
        Ok(s) if s > 0.0 && s <= MAX_WALL_SECS => Ok(s),
        _ => Err(format!(
            "expected a number of seconds above 0 and at most {MAX_WALL_SECS} (an hour), \
             e.g. 2 or 0.5; got {v:?}"
        )),
    }
}

/// A bad value that only the options together show, reported as clap reports a bad
/// value: `error: MESSAGE`, the subcommand's usage line, exit status 2.
pub fn invalid<A: clap::CommandFactory>(how: Invocation, subcommand: &str, message: &str) -> i32 {
    // The usage line names the command as the user ran it (as `lib.rs` sets it up).
    let bin = how.prefix(subcommand, how == Invocation::Example);
    let e = A::command()
        .bin_name(bin)
        .error(clap::error::ErrorKind::ValueValidation, message);
    let _ = e.print();
    e.exit_code()
}

/// `LO-HI`, two whole numbers, LO at most HI.
pub fn range(v: &str) -> Result<(u64, u64), String> {
    let parsed = v.split_once('-').and_then(|(lo, hi)| {
        let (lo, hi) = (lo.parse::<u64>().ok()?, hi.parse::<u64>().ok()?);
        (lo <= hi).then_some((lo, hi))
    });
    parsed.ok_or_else(|| {
        format!(
            "expected a range LO-HI of whole numbers, LO at most HI (e.g. 1000-2000); got {v:?}"
        )
    })
}

/// Progress of a long run on stderr: `what done/total, ~N s left`, at most once a
/// second (and at the end), so a run that takes minutes says where it is.
pub struct Progress {
    what: &'static str,
    total: u64,
    started: Instant,
    last: Option<Instant>,
}

impl Progress {
    /// A run of `total` units called `what` (e.g. "trials", "cells").
    pub fn new(what: &'static str, total: u64) -> Progress {
        Progress {
            what,
            total: total.max(1),
            started: Instant::now(),
            last: None,
        }
    }

    /// `done` units are done; `note` says what just finished (may be empty).
    pub fn update(&mut self, done: u64, note: &str) {
        let now = Instant::now();
        let finished = done >= self.total;
        if !finished && self.last.is_some_and(|t| now - t < Duration::from_secs(1)) {
            return;
        }
        self.last = Some(now);
        eprintln!("  [{}]", self.line(done, note));
    }

    /// The progress line itself (what `update` prints).
    pub fn line(&self, done: u64, note: &str) -> String {
        let secs = self.started.elapsed().as_secs_f64();
        let left = if done == 0 {
            "estimating".to_string()
        } else if done >= self.total {
            format!("done in {}", human(secs))
        } else {
            let rest = (self.total - done) as f64 * secs / done as f64;
            format!("~{} left", human(rest))
        };
        let note = if note.is_empty() {
            String::new()
        } else {
            format!(" ({note})")
        };
        format!("{done}/{} {}{note}, {left}", self.total, self.what)
    }
}

/// Seconds as `42 s` or `3 min 20 s`.
fn human(secs: f64) -> String {
    let s = secs.round() as u64;
    if s < 60 {
        format!("{s} s")
    } else {
        format!("{} min {} s", s / 60, s % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsers_name_what_they_accept() {
        assert_eq!(count("16"), Ok(16));
        assert!(count("0").unwrap_err().contains("1 or more"));
        assert_eq!(range("150-300"), Ok((150, 300)));
        assert!(range("300-150").unwrap_err().contains("LO at most HI"));
        assert!(wall_seconds("-1").unwrap_err().contains("above 0"));
        assert!(wall_seconds("abc").is_err());
        assert!(wall_seconds("NaN").is_err());
        assert_eq!(wall_seconds("3600"), Ok(3600.0));
        assert!(wall_seconds("1e308").unwrap_err().contains("at most 3600"));
        assert_eq!(virtual_seconds("0.5"), Ok(0.5));
        assert!(virtual_seconds("inf")
            .unwrap_err()
            .contains("at most 86400"));
    }

    #[test]
    fn progress_estimates_what_remains() {
        let p = Progress::new("trials", 10);
        assert!(p.line(0, "").contains("estimating"));
        assert!(p.line(5, "150-300").starts_with("5/10 trials (150-300), ~"));
        assert!(p.line(10, "").contains("done in"));
    }
}
