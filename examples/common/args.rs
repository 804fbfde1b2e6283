//! The command line every scenario example shares: `--sim` (run on the simulated
//! runtime), `--seed N`, `--help`, `--timeline PATH` and `--trace PATH` (the pictures and
//! the JSON-lines trace of the run), plus each example's own options. (The measuring
//! examples — bench, figure16, idle, simbench, explore — are the `raftsim` command's
//! subcommands and parse with it.)
//!
//! Everything is checked before the example runs: an unknown option, a missing value or
//! a value that does not parse stops it with a message naming the option and what it
//! accepts, and exit status 2. `--help` prints the usage and exits 0. Then the seed
//! line is printed — the seed, the runtime, and the command that replays the run — so
//! that every run's output says how to get it again.
//!
//! Each example includes this file with `#[path = "common/args.rs"] mod args;` (an
//! example is a crate of its own); not every example uses every function.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::str::FromStr;

use raftsim::{Config, Runtime};

/// Whether an example can run on the simulated runtime.
pub enum Sim {
    /// `--sim` runs it on the simulated runtime.
    Supported,
    /// It is exact on any runtime already; `--sim` is accepted and changes nothing. The
    /// text says why.
    AlreadyExact(&'static str),
    /// `--sim` is an error; the text says why.
    Unsupported(&'static str),
}

/// One option of an example, beyond the shared ones.
pub struct Opt {
    name: &'static str,
    /// What the value is called in the usage (`N`, `PATH`); `None` for a flag.
    metavar: Option<&'static str>,
    help: &'static str,
    /// What a valid value looks like, for the error message.
    accepts: &'static str,
    valid: fn(&str) -> bool,
}

fn any(_: &str) -> bool {
    true
}
fn whole(v: &str) -> bool {
    v.parse::<u64>().is_ok()
}
fn count(v: &str) -> bool {
    v.parse::<u64>().is_ok_and(|n| n >= 1)
}
fn seconds(v: &str) -> bool {
    v.parse::<f64>().is_ok_and(|s| s.is_finite() && s > 0.0)
}
fn whole_list(v: &str) -> bool {
    v.split(',').all(|x| count(x.trim()))
}
fn range(v: &str) -> bool {
    parse_range(v).is_some()
}

/// `LO-HI` as two whole numbers, LO at most HI.
pub fn parse_range(v: &str) -> Option<(u64, u64)> {
    let (lo, hi) = v.split_once('-')?;
    let (lo, hi) = (lo.parse::<u64>().ok()?, hi.parse::<u64>().ok()?);
    (lo <= hi).then_some((lo, hi))
}

/// A comma-separated list of whole numbers (validated by [`Opt::list`]).
pub fn parse_list(v: &str) -> Vec<usize> {
    v.split(',')
        .map(|x| x.trim().parse().expect("validated by the parser"))
        .collect()
}

impl Opt {
    /// An option without a value.
    pub fn flag(name: &'static str, help: &'static str) -> Opt {
        Opt {
            name,
            metavar: None,
            help,
            accepts: "",
            valid: any,
        }
    }

    /// A whole number, 0 or more.
    pub fn whole(name: &'static str, metavar: &'static str, help: &'static str) -> Opt {
        Opt::text(name, metavar, help, "a whole number (0, 1, 2, ...)", whole)
    }

    /// A whole number, 1 or more (a count of things that must not be zero).
    pub fn count(name: &'static str, metavar: &'static str, help: &'static str) -> Opt {
        Opt::text(name, metavar, help, "a whole number, 1 or more", count)
    }

    /// A number of seconds (a fraction allowed).
    pub fn seconds(name: &'static str, help: &'static str) -> Opt {
        let accepts = "a number of seconds above 0 (e.g. 2 or 0.5)";
        Opt::text(name, "S", help, accepts, seconds)
    }

    /// Comma-separated whole numbers, none of them 0.
    pub fn list(name: &'static str, metavar: &'static str, help: &'static str) -> Opt {
        let accepts = "whole numbers, 1 or more, separated by commas (e.g. 1,16,64)";
        Opt::text(name, metavar, help, accepts, whole_list)
    }

    /// A range `LO-HI` of whole numbers.
    pub fn range(name: &'static str, metavar: &'static str, help: &'static str) -> Opt {
        let accepts = "a range LO-HI of whole numbers, LO at most HI (e.g. 1000-2000)";
        Opt::text(name, metavar, help, accepts, range)
    }

    /// A file path.
    pub fn path(name: &'static str, help: &'static str) -> Opt {
        Opt::text(name, "PATH", help, "a file path", any)
    }

    /// A value checked by `valid`; `accepts` says what passes, for the error message.
    pub fn text(
        name: &'static str,
        metavar: &'static str,
        help: &'static str,
        accepts: &'static str,
        valid: fn(&str) -> bool,
    ) -> Opt {
        Opt {
            name,
            metavar: Some(metavar),
            help,
            accepts,
            valid,
        }
    }
}

/// An example's command line, before parsing: its name, what it shows, its own options.
pub struct Cli {
    name: &'static str,
    about: &'static str,
    seed: u64,
    sim: Sim,
    release: bool,
    options: Vec<Opt>,
    /// One optional word before the options (`idle`'s mode): name, help, accepts, check.
    positional: Option<Opt>,
    seed_note: Option<&'static str>,
    /// Whether `--timeline PATH` is taken (read by `scenarios::timeline_path`).
    timeline: bool,
}

/// The parsed command line.
pub struct Args {
    name: &'static str,
    release: bool,
    sim: bool,
    /// `--sim` is an error for this example (the seed line offers no replay).
    threads_only: bool,
    exact_anyway: Option<&'static str>,
    seed: u64,
    values: BTreeMap<&'static str, String>,
    positional: Option<String>,
    /// The example's own arguments as given, to repeat in the replay command.
    rest: Vec<String>,
}

const SHARED: [(&str, &str, &str); 5] = [
    ("--sim", "", "run on the simulated runtime: one thread, a virtual clock; the seed replays the run exactly"),
    ("--seed", "N", "seed every random choice of the run (timers, network, faults)"),
    ("--timeline", "PATH", "write a picture of the run (one lane per node) as HTML"),
    ("--trace", "PATH", "write the run's event trace as JSON lines"),
    ("--help", "", "print this and exit"),
];

impl Cli {
    /// The command line of example `name`, which shows `about`. Its default seed is
    /// `RAFTSIM_SEED` if set, else 1.
    pub fn new(name: &'static str, about: &'static str) -> Cli {
        Cli {
            name,
            about,
            seed: 1,
            sim: Sim::Supported,
            release: false,
            options: Vec::new(),
            positional: None,
            seed_note: None,
            timeline: true,
        }
    }

    /// The example records no trace: `--timeline` and `--trace` are refused, saying so.
    pub fn no_timeline(mut self) -> Cli {
        self.timeline = false;
        self
    }

    /// The seed when neither `--seed` nor `RAFTSIM_SEED` gives one: the one the
    /// example's documented output comes from.
    pub fn seed(mut self, seed: u64) -> Cli {
        self.seed = seed;
        self
    }

    /// How the example stands with `--sim`.
    pub fn sim(mut self, sim: Sim) -> Cli {
        self.sim = sim;
        self
    }

    /// The example is meant to run with `--release` (its replay command says so).
    pub fn release(mut self) -> Cli {
        self.release = true;
        self
    }

    /// A few words after the seed line's runtime, on what the seed seeds.
    pub fn seed_note(mut self, note: &'static str) -> Cli {
        self.seed_note = Some(note);
        self
    }

    /// One more option.
    pub fn opt(mut self, opt: Opt) -> Cli {
        self.options.push(opt);
        self
    }

    /// A word that may come first (e.g. a mode): `metavar` in the usage.
    pub fn positional(
        mut self,
        metavar: &'static str,
        help: &'static str,
        accepts: &'static str,
        valid: fn(&str) -> bool,
    ) -> Cli {
        self.positional = Some(Opt::text("", metavar, help, accepts, valid));
        self
    }

    /// Parses the process's arguments (see the module doc); prints the seed line.
    pub fn parse(self) -> Args {
        let argv: Vec<String> = std::env::args().skip(1).collect();
        let args = self.parse_from(&argv).unwrap_or_else(|e| match e {
            Stop::Help => {
                print!("{}", self.usage());
                std::process::exit(0)
            }
            Stop::Error(why) => {
                eprintln!("error: {why}");
                let release = if self.release { " --release" } else { "" };
                eprintln!(
                    "(cargo run{release} --example {} -- --help lists the options)",
                    self.name
                );
                std::process::exit(2)
            }
        });
        println!("{}", args.seed_line(self.seed_note));
        args
    }

    fn parse_from(&self, argv: &[String]) -> Result<Args, Stop> {
        let mut args = Args {
            name: self.name,
            release: self.release,
            sim: false,
            threads_only: matches!(self.sim, Sim::Unsupported(_)),
            exact_anyway: None,
            seed: raftsim::config::seed_from_env(self.seed),
            values: BTreeMap::new(),
            positional: None,
            rest: Vec::new(),
        };
        let mut it = argv.iter().peekable();
        if let (Some(p), Some(first)) = (&self.positional, it.peek()) {
            if !first.starts_with('-') {
                if !(p.valid)(first) {
                    let why = format!(
                        "{}: expected {}, got {first:?}",
                        p.metavar.unwrap_or(""),
                        p.accepts
                    );
                    return Err(Stop::Error(why));
                }
                args.positional = Some(first.to_string());
                args.rest.push(first.to_string());
                it.next();
            }
        }
        while let Some(arg) = it.next() {
            // `--name=value` and `--name value` alike.
            let (name, inline) = match arg.split_once('=') {
                Some((n, v)) if n.starts_with("--") => (n, Some(v.to_string())),
                _ => (arg.as_str(), None),
            };
            let mut value = |accepts: &str| -> Result<String, Stop> {
                match inline.clone().or_else(|| it.next().cloned()) {
                    Some(v) => Ok(v),
                    None => Err(Stop::Error(format!("{name} needs a value: {accepts}"))),
                }
            };
            match name {
                "--help" | "-h" => return Err(Stop::Help),
                "--sim" => match self.sim {
                    Sim::Supported => args.sim = true,
                    Sim::AlreadyExact(why) => args.exact_anyway = Some(why),
                    Sim::Unsupported(why) => {
                        let why = format!("{}: --sim is not supported: {why}", self.name);
                        return Err(Stop::Error(why));
                    }
                },
                "--seed" => {
                    let accepts = "a whole number from 0 to 18446744073709551615";
                    let v = value(accepts)?;
                    args.seed = v.parse().map_err(|_| {
                        Stop::Error(format!("--seed: expected {accepts}, got {v:?}"))
                    })?;
                }
                "--timeline" | "--trace" if self.timeline => {
                    let v = value("a file path")?;
                    args.rest.extend([name.to_string(), v]);
                }
                "--timeline" | "--trace" => {
                    let why = format!(
                        "{}: {name} is not supported: this example records no trace",
                        self.name
                    );
                    return Err(Stop::Error(why));
                }
                _ => {
                    let Some(opt) = self.options.iter().find(|o| o.name == name) else {
                        return Err(Stop::Error(format!("unknown option {arg:?}")));
                    };
                    args.rest.push(name.to_string());
                    match opt.metavar {
                        None if inline.is_some() => {
                            return Err(Stop::Error(format!("{name} takes no value")));
                        }
                        None => {
                            args.values.insert(opt.name, String::new());
                        }
                        Some(_) => {
                            let v = value(opt.accepts)?;
                            if !(opt.valid)(&v) {
                                let why = format!("{name}: expected {}, got {v:?}", opt.accepts);
                                return Err(Stop::Error(why));
                            }
                            args.rest.push(v.clone());
                            args.values.insert(opt.name, v);
                        }
                    }
                }
            }
        }
        Ok(args)
    }

    fn usage(&self) -> String {
        let word = self
            .positional
            .as_ref()
            .map_or(String::new(), |p| format!(" [{}]", p.metavar.unwrap_or("")));
        let release = if self.release { " --release" } else { "" };
        let mut s = format!(
            "{}\n\nusage: cargo run{release} --example {} --{word} [OPTIONS]\n\n",
            self.about, self.name
        );
        let mut rows: Vec<(String, String)> = Vec::new();
        if let Some(p) = &self.positional {
            rows.push((
                p.metavar.unwrap_or("").to_string(),
                format!("{} ({})", p.help, p.accepts),
            ));
        }
        for (name, metavar, help) in SHARED {
            if (name == "--timeline" || name == "--trace") && !self.timeline {
                continue;
            }
            let help = match (name, &self.sim) {
                ("--sim", Sim::AlreadyExact(why)) => format!("accepted, changes nothing: {why}"),
                ("--sim", Sim::Unsupported(why)) => format!("not supported: {why}"),
                ("--seed", Sim::AlreadyExact(_)) => {
                    "accepted and printed; nothing in this run is random".to_string()
                }
                ("--seed", _) => format!("{help} (default {}, or RAFTSIM_SEED)", self.seed),
                _ => help.to_string(),
            };
            rows.push((format!("{name} {metavar}").trim_end().to_string(), help));
        }
        for o in &self.options {
            let head = format!("{} {}", o.name, o.metavar.unwrap_or(""))
                .trim_end()
                .to_string();
            rows.push((head, o.help.to_string()));
        }
        let width = rows.iter().map(|(h, _)| h.len()).max().unwrap_or(0);
        s += "options:\n";
        for (head, help) in rows {
            s += &format!("  {head:<width$}  {help}\n");
        }
        s
    }
}

/// Why parsing stopped.
enum Stop {
    Help,
    Error(String),
}

impl Args {
    /// Whether the run is on the simulated runtime.
    pub fn sim(&self) -> bool {
        self.sim
    }

    /// The runtime to run on.
    pub fn runtime(&self) -> Runtime {
        if self.sim {
            Runtime::Simulated
        } else {
            Runtime::Threads
        }
    }

    /// The run's seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// `base` with this run's seed and runtime.
    pub fn config(&self, base: Config) -> Config {
        Config {
            seed: Some(self.seed),
            runtime: self.runtime(),
            ..base
        }
    }

    /// Whether flag `name` was given.
    pub fn flag(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }

    /// The value of option `name`, if given (checked when parsing).
    pub fn get<T: FromStr>(&self, name: &str) -> Option<T> {
        let v = self.values.get(name)?;
        match v.parse() {
            Ok(x) => Some(x),
            Err(_) => {
                // Parsed as a u64 but too big for the type the example asked for.
                eprintln!("error: {name}: {v:?} is out of range");
                std::process::exit(2)
            }
        }
    }

    /// The leading word, if one was given.
    pub fn positional(&self) -> Option<&str> {
        self.positional.as_deref()
    }

    /// The command that runs this again on the simulated runtime with this seed.
    pub fn replay_command(&self) -> String {
        let release = if self.release { " --release" } else { "" };
        let mut cmd = format!("cargo run{release} --example {} --", self.name);
        let (positional, rest) = match &self.positional {
            Some(p) => (format!(" {p}"), &self.rest[1..]),
            None => (String::new(), &self.rest[..]),
        };
        cmd += &format!("{positional} --sim --seed {}", self.seed);
        for a in rest {
            cmd.push(' ');
            cmd += a;
        }
        cmd
    }

    /// `seed N (which runtime; how to replay)`.
    fn seed_line(&self, note: Option<&str>) -> String {
        let note = note.map_or(String::new(), |n| format!(", {n}"));
        if let Some(why) = self.exact_anyway {
            return format!(
                "seed {}{note} (--sim changes nothing here: {why})",
                self.seed
            );
        }
        if self.threads_only {
            return format!(
                "seed {}{note} (threaded runtime: thread timing varies, so runs differ)",
                self.seed
            );
        }
        if self.sim {
            format!(
                "seed {}{note} (simulated runtime; replay exactly with: {})",
                self.seed,
                self.replay_command()
            )
        } else {
            format!(
                "seed {}{note} (threaded runtime: thread timing varies, so runs differ; \
                 only --sim replays a seed exactly: {})",
                self.seed,
                self.replay_command()
            )
        }
    }
}
