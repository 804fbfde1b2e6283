//! Busy-polling before sleeping, while a thread is busy (`Config::busy_poll`).
//!
//! Handing a message to a parked thread costs a futex wake-up and, on a virtual machine,
//! often an idle vCPU that must be woken by an interrupt: tens of microseconds, more
//! than all the Raft work one message causes. With several of those hops per write
//! (client → router → leader → router → followers and back) they set the pace. So a
//! thread that has been busy polls its inbox for up to `Config::busy_poll` (100 µs by
//! default, never past its next deadline) before it parks, yielding the core to anything
//! runnable between polls. A thread that has been resting (a small idle cluster between
//! heartbeats) parks at once, so rest stays nearly free.

use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};

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

    /// Calls `poll` until it yields something or the spin time is up, and never past
    /// `until` (at once if the thread is not busy). `None` means: park now, and call
    /// [`Spin::woke`] after.
    pub(crate) fn poll<T>(
        &self,
        until: Option<Instant>,
        mut poll: impl FnMut() -> Option<T>,
    ) -> Option<T> {
        if self.limit.is_zero() || self.short_parks < BUSY_STREAK {
            return None;
        }
        let start = Instant::now();
        let end = until.map_or(start + self.limit, |u| u.min(start + self.limit));
        loop {
            if let Some(x) = poll() {
                return Some(x);
            }
            if Instant::now() >= end {
                return None;
            }
            std::thread::yield_now();
        }
    }

    /// The next message from `rx`: polled for while busy, else waited for until
    /// `until` (`None`: for as long as it takes).
    pub(crate) fn recv<T>(
        &mut self,
        rx: &Receiver<T>,
        until: Option<Instant>,
    ) -> Result<T, RecvTimeoutError> {
        if let Some(x) = self.poll(until, || rx.try_recv().ok()) {
            return Ok(x);
        }
        let parked = Instant::now();
        let got = match until {
            Some(u) => rx.recv_timeout(u.saturating_duration_since(parked)),
            None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        self.woke(parked);
        got
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
        let none = s.poll(None, || {
            calls += 1;
            None::<()>
        });
        assert_eq!((none, calls), (None, 0), "a resting thread parks at once");
        for _ in 0..BUSY_STREAK {
            s.woke(Instant::now());
        }
        assert_eq!(s.poll(None, || Some(7)), Some(7));
        let t = Instant::now();
        assert_eq!(s.poll(None, || None::<()>), None);
        assert!(
            t.elapsed() >= Duration::from_millis(1),
            "polls for the whole limit"
        );
        // A deadline already passed: one look, no spinning (counted, not timed, so a
        // preempted test thread cannot make it fail).
        let mut looks = 0;
        let passed = s.poll(Some(Instant::now()), || {
            looks += 1;
            None::<()>
        });
        assert_eq!((passed, looks), (None, 1), "never past the deadline");
        s.woke(Instant::now() - Duration::from_millis(5));
        assert_eq!(
            s.poll(None, || Some(1)),
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
        assert_eq!(s.poll(None, || Some(1)), None);
    }

    #[test]
    fn recv_parks_when_nothing_comes() {
        let (tx, rx) = crossbeam_channel::unbounded();
        let mut s = Spin::new(Duration::from_millis(1));
        tx.send(1).unwrap();
        assert_eq!(s.recv(&rx, None), Ok(1));
        let until = Instant::now() + Duration::from_millis(5);
        assert_eq!(s.recv(&rx, Some(until)), Err(RecvTimeoutError::Timeout));
        assert!(Instant::now() >= until);
        drop(tx);
        assert_eq!(s.recv(&rx, None), Err(RecvTimeoutError::Disconnected));
    }
}
