//! The words a command's arguments are made of: nodes, message filters, `key=value`
//! pairs, numbers, probabilities, switches, durations and ranges.

use std::time::Duration;

use crate::config::NetConfig;
use crate::sim::MessageFilter;
use crate::types::NodeId;

use super::R;

/// `n3` → 3: `n` and a plain decimal number (no sign, no leading zero).
pub(super) fn node(word: &str) -> R<NodeId> {
    word.strip_prefix('n')
        .filter(|d| plain_number(d))
        .and_then(|d| d.parse().ok())
        .ok_or_else(|| format!("`{word}` is not a node (write n0, n1, ...)"))
}

/// Digits only, and no leading zero unless the number is 0.
fn plain_number(d: &str) -> bool {
    !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()) && (d == "0" || !d.starts_with('0'))
}

/// The highest term a script may name: a term counts elections, and one near `u64::MAX`
/// would overflow when the next election adds one to it.
pub(super) const MAX_TERM: u64 = u32::MAX as u64;

/// A term: a number up to `MAX_TERM`.
pub(super) fn term(s: &str) -> R<u64> {
    let t = number(s)?;
    if t > MAX_TERM {
        return Err(format!(
            "term {t} is absurd: terms count elections, so a script's terms are at most \
             {MAX_TERM} (2^32 - 1), far from where adding one would overflow"
        ));
    }
    Ok(t)
}

pub(super) fn nodes(words: &[&str], at_least: usize) -> R<Vec<NodeId>> {
    if words.len() < at_least {
        return Err("name at least one node (n0, n1, ...)".into());
    }
    words.iter().map(|w| node(w)).collect()
}

/// `FROM->TO [KIND]`, `all`, or nothing (all).
pub(super) fn filter(words: &[&str]) -> R<MessageFilter> {
    let usage = "write FROM->TO [KIND], e.g. n0->n1 AppendEntries, n0->* or *->n2; or `all`";
    let mut f = MessageFilter::default();
    match words {
        [] | ["all"] => {}
        [link] | [link, _] => {
            let (a, b) = link
                .split_once("->")
                .ok_or_else(|| format!("`{link}` is not a link; {usage}"))?;
            let end = |s: &str| {
                if s == "*" {
                    Ok(None)
                } else {
                    node(s).map(Some)
                }
            };
            f.from = end(a)?;
            f.to = end(b)?;
            if let [_, kind] = words {
                f.kind = Some(message_kind(kind)?);
            }
        }
        _ => return Err(usage.into()),
    }
    Ok(f)
}

/// A message kind as `Message::kind` (and the trace) names it.
fn message_kind(word: &str) -> R<String> {
    let kinds = crate::raft::event::MESSAGE_KINDS;
    if let Some(k) = kinds.iter().find(|k| **k == word) {
        return Ok(k.to_string());
    }
    let near = kinds
        .iter()
        .find(|k| k.eq_ignore_ascii_case(word))
        .map(|k| format!(" (did you mean {k}?)"))
        .unwrap_or_default();
    let client = if ["ClientRequest", "ClientReply"].contains(&word) {
        " (client traffic is never held: `hold` matches messages between nodes)"
    } else {
        ""
    };
    Err(format!(
        "`{word}` is not a message kind{near}{client}; the kinds are {}",
        kinds.join(", ")
    ))
}

pub(super) fn pairs(words: &[&str], keys: &[&str], flags: &[&str]) -> R<Vec<(String, String)>> {
    words
        .iter()
        .map(|w| {
            if flags.contains(w) {
                return Ok((w.to_string(), String::new()));
            }
            let (k, v) = w.split_once('=').ok_or_else(|| {
                format!("`{w}` is not key=value; the keys are {}", keys.join(", "))
            })?;
            if !keys.contains(&k) {
                return Err(format!(
                    "unknown key `{k}`; the keys are {}",
                    keys.join(", ")
                ));
            }
            Ok((k.to_string(), v.to_string()))
        })
        .collect::<R<Vec<_>>>()
        .and_then(|kv| {
            for (i, (k, _)) in kv.iter().enumerate() {
                if kv[..i].iter().any(|(seen, _)| seen == k) {
                    return Err(format!("`{k}` is given twice: give each key once"));
                }
            }
            Ok(kv)
        })
}

pub(super) fn number(s: &str) -> R<u64> {
    s.parse().map_err(|_| format!("`{s}` is not a number"))
}

pub(super) fn rate(s: &str) -> R<f64> {
    s.parse::<f64>()
        .ok()
        .filter(|r| (0.0..=1.0).contains(r))
        .ok_or_else(|| format!("`{s}` is not a probability in 0..=1"))
}

pub(super) fn switch(s: &str) -> R<bool> {
    match s {
        "on" | "true" => Ok(true),
        "off" | "false" => Ok(false),
        _ => Err(format!("`{s}` is not on or off")),
    }
}

pub(super) fn net_preset(s: &str) -> R<NetConfig> {
    match s {
        "reliable" => Ok(NetConfig::reliable()),
        "unreliable" => Ok(NetConfig::unreliable()),
        _ => Err(format!("`{s}` is not reliable or unreliable")),
    }
}

/// The longest duration a script may name: an hour of virtual time is millions of
/// events already.
const MAX_DURATION_SECS: f64 = 3600.0;

/// `300ms`, `2s`, `1.5s`, `500us`, `5min`, `1h`.
pub(super) fn duration(s: &str) -> R<Duration> {
    let bad = || {
        format!("`{s}` is not a duration (write 300ms, 2s, 1.5s, 500us, 5min or 1h; at most 1h)")
    };
    let (num, unit) = if let Some(n) = s.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = s.strip_suffix("us") {
        (n, 1e-6)
    } else if let Some(n) = s.strip_suffix("min") {
        (n, 60.0)
    } else if let Some(n) = s.strip_suffix('h') {
        (n, 3600.0)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1.0)
    } else {
        return Err(bad());
    };
    // Digits and one point only: no sign, no exponent, no `inf`.
    if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Err(bad());
    }
    let v: f64 = num.parse().map_err(|_| bad())?;
    if !(0.0..=MAX_DURATION_SECS).contains(&(v * unit)) {
        return Err(format!(
            "`{s}` is too long: a script's durations are at most 1h"
        ));
    }
    Ok(Duration::from_secs_f64(v * unit))
}

/// `150..300ms` or `150ms..300ms` (the unit of the second end if the first has none).
pub(super) fn range(s: &str) -> R<(Duration, Duration)> {
    let (a, b) = s
        .split_once("..")
        .ok_or_else(|| format!("`{s}` is not a range (write 150..300ms)"))?;
    let hi = duration(b)?;
    let unit = b.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.');
    let lo = if a.ends_with(|c: char| c.is_ascii_alphabetic()) {
        duration(a)?
    } else {
        duration(&format!("{a}{unit}"))?
    };
    if lo > hi {
        return Err(format!("`{s}`: the range runs backwards"));
    }
    Ok((lo, hi))
}
