//! Busy-polling before sleeping, while a thread is busy (`Config::busy_poll`).
//!
//! Handing a message to a parked thread costs a futex wake-up and, on a virtual machine,
//! often an idle vCPU that must be woken by an interrupt: tens of microseconds, more
//! than all the Raft work one message causes. With several of those hops per write
//! (client → router → leader → router → followers and back) they set the pace. So a
//! thread that has been busy polls its inbox for a few microseconds before it parks,
//! yielding the core to anything runnable between polls. A thread that has been resting
//! (an idle cluster between heartbeats) parks at once, so rest stays nearly free.

use std::time::{Duration, Instant};

/// A park shorter than this counts as busy.
const BUSY_GAP: Duration = Duration::from_millis(1);

/// This many short parks in a row make a thread busy. A heartbeat round gives the
/// router and the leader one short park per follower reply, so an idle five-node
/// cluster stays below it; sustained traffic passes it within a few hundred µs.
const BUSY_STREAK: u32 = 8;

/// Whether a thread has been busy enough to poll before parking, and for how long.
#[derive(Debug)]
pub(crate) struct Spin {
    limit: Duration,
    short_parks: u32,
}

impl Spin {
    /// Polls for at most `limit` once busy; zero never polls.
    pub(crate) fn new(limit: Duration) -> Self {
        Spin {
            limit,
            short_parks: 0,
        }
    }

    /// Calls `poll` until it yields something or the spin time is up (at once if the
    /// thread is not busy). `None` means: park now, and call [`Spin::woke`] after.
    pub(crate) fn poll<T>(&self, mut poll: impl FnMut() -> Option<T>) -> Option<T> {
        if self.limit.is_zero() || self.short_parks < BUSY_STREAK {
            return None;
        }
        let start = Instant::now();
        loop {
            if let Some(x) = poll() {
                return Some(x);
            }
            if start.elapsed() >= self.limit {
                return None;
            }
            std::thread::yield_now();
        }
    }

    /// Records that the thread has just woken from parking at `parked`.
    pub(crate) fn woke(&mut self, parked: Instant) {
        if parked.elapsed() < BUSY_GAP {
            self.short_parks = self.short_parks.saturating_add(1);
        } else {
            self.short_parks = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polls_only_after_a_streak_of_short_parks() {
        let mut s = Spin::new(Duration::from_millis(1));
        let mut calls = 0;
        assert_eq!(
            s.poll(|| {
                calls += 1;
                None::<()>
            }),
            None
        );
        assert_eq!(calls, 0, "a resting thread parks at once");
        for _ in 0..BUSY_STREAK {
            s.woke(Instant::now());
        }
        assert_eq!(s.poll(|| Some(7)), Some(7));
        let t = Instant::now();
        assert_eq!(s.poll(|| None::<()>), None);
        assert!(
            t.elapsed() >= Duration::from_millis(1),
            "polls for the whole limit"
        );
        s.woke(Instant::now() - Duration::from_millis(5));
        assert_eq!(
            s.poll(|| Some(1)),
            None,
            "one long park ends the busy spell"
        );
    }

    #[test]
    fn zero_limit_never_polls() {
        let mut s = Spin::new(Duration::ZERO);
        for _ in 0..2 * BUSY_STREAK {
            s.woke(Instant::now());
        }
        assert_eq!(s.poll(|| Some(1)), None);
    }
}
