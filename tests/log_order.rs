//! Log lines come out in time order under the threaded runtime, where every node and
//! the router log from their own threads (src/logging.rs).

use std::time::Duration;

use parking_lot::Mutex;

use raftsim::kv::KvStore;
use raftsim::{Cluster, Config};

/// Keeps raftsim's lines, taking a little while over each as a terminal does (the
/// window in which another thread's line could overtake one).
struct Capture {
    lines: Mutex<Vec<String>>,
}

impl log::Log for Capture {
    fn enabled(&self, m: &log::Metadata) -> bool {
        m.target() == "raftsim"
    }
    fn log(&self, r: &log::Record) {
        if self.enabled(r.metadata()) {
            let line = r.args().to_string();
            std::thread::sleep(Duration::from_micros(50));
            self.lines.lock().push(line);
        }
    }
    fn flush(&self) {}
}

/// The time at the start of a line: `  213.871ms n0 ...`.
fn time_ms(line: &str) -> f64 {
    let t = line.trim_start().split("ms").next().expect("a time");
    t.parse()
        .unwrap_or_else(|_| panic!("no time at the start of {line:?}"))
}

#[test]
fn threaded_log_lines_are_in_time_order() {
    let capture: &'static Capture = Box::leak(Box::new(Capture {
        lines: Mutex::new(Vec::new()),
    }));
    log::set_logger(capture).expect("the only logger of this test binary");
    log::set_max_level(log::LevelFilter::Debug);

    let cluster: Cluster<KvStore> = Cluster::with_config(5, Config::default());
    let wait = Duration::from_secs(10);
    let leader = cluster.wait_for_leader(wait).expect("a leader");
    let mut client = cluster.client();
    for i in 0..20 {
        client.put("k", &i.to_string()).expect("put");
    }
    cluster.crash(leader);
    cluster.wait_for_leader(wait).expect("a new leader");
    client.put("k", "after").expect("put after the crash");
    drop(client);
    drop(cluster);

    let lines = capture.lines.lock();
    assert!(lines.len() > 200, "a busy run logs: {}", lines.len());
    let out_of_order: Vec<_> = lines
        .windows(2)
        .filter(|w| time_ms(&w[1]) < time_ms(&w[0]))
        .collect();
    assert!(
        out_of_order.is_empty(),
        "{} of {} lines logged after a later one, e.g. {:?}",
        out_of_order.len(),
        lines.len(),
        out_of_order.first()
    );
}
