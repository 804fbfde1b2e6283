//! The stale-read lesson (dissertation §6.4), asserted on both runtimes: with
//! `unsafe_stale_reads` a client confined with a deposed leader reads the overwritten
//! value and the checker finds the history not linearizable; with ReadIndex in place
//! the read gets no stale value and the history is linearizable.

use raftsim::scenarios::stale_read::{self, Opts, Outcome};
use raftsim::Runtime;

fn run(stale_reads: bool, runtime: Runtime) -> Outcome {
    stale_read::run_on(
        &Opts {
            stale_reads,
            seed: 0x5_7a1e,
        },
        runtime,
    )
    .unwrap()
}

fn switch_on_reads_stale_data(runtime: Runtime) {
    let out = run(true, runtime);
    assert_ne!(out.old_leader, out.new_leader);
    assert!(out.new_term > out.old_term);
    // The switch did something: the deposed leader answered with the overwritten value.
    assert_eq!(
        out.read,
        Ok(Some("1".to_string())),
        "the read: {:?}",
        out.read
    );
    assert!(out.read_stale());
    assert!(
        out.check.is_illegal(),
        "a stale read must not be linearizable: {}",
        out.check
    );
    // The read is the operation the checker cannot place.
    let read = out.history.len() - 1;
    assert!(out.check.conflicting().contains(&read), "{}", out.check);
    // The logs are fine: stale reads break what clients see, not a log property.
    assert!(out.violations.is_empty(), "{:?}", out.violations);
}

fn switch_off_reads_no_stale_data(runtime: Runtime) {
    let out = run(false, runtime);
    assert!(!out.read_stale());
    assert!(
        matches!(&out.read, Err(raftsim::Error::Timeout) | Ok(Some(_))),
        "the read: {:?}",
        out.read
    );
    if let Ok(v) = &out.read {
        assert_eq!(v.as_deref(), Some("2"));
    }
    assert!(out.check.is_ok(), "{}", out.check);
    assert!(out.violations.is_empty(), "{:?}", out.violations);
}

#[test]
fn stale_reads_on_a_deposed_leader_are_not_linearizable_simulated() {
    switch_on_reads_stale_data(Runtime::Simulated);
}

#[test]
fn read_index_refuses_a_deposed_leader_simulated() {
    switch_off_reads_no_stale_data(Runtime::Simulated);
}

#[test]
fn stale_reads_on_a_deposed_leader_are_not_linearizable_threads() {
    switch_on_reads_stale_data(Runtime::Threads);
}

#[test]
fn read_index_refuses_a_deposed_leader_threads() {
    switch_off_reads_no_stale_data(Runtime::Threads);
}
