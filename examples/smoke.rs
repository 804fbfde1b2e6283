use raftsim::state_machine::Recorder;
use raftsim::{Cluster, Config};
use std::time::Duration;

fn main() {
    raftsim::logging::init_with_default("info");
    let c: Cluster<Recorder<u64>> = Cluster::with_config(3, Config { seed: Some(1), ..Config::default() });
    let l = c.wait_for_leader(Duration::from_secs(5)).unwrap();
    println!("leader {l}");
    for i in 0..5 {
        let idx = c.propose_and_wait(i, 3, Duration::from_secs(5)).unwrap();
        println!("committed {i} at {idx}");
    }
    c.crash(l);
    let l2 = c.wait_for_leader(Duration::from_secs(5)).unwrap();
    println!("new leader {l2}");
    c.restart(l);
    let idx = c.propose_and_wait(99, 3, Duration::from_secs(5)).unwrap();
    println!("99 at {idx}");
    for s in c.statuses() { println!("{s}"); }
    c.assert_safe();
}
