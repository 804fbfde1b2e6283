//! A client for any state machine: sends a command through the router to the node it
//! believes leads, follows redirects, retries on silence, and returns the command's
//! output once the leader applied it (or, for a read-only command, answered it through
//! ReadIndex). The key/value client is built on it; so are the benchmarks.
//!
//! A retried write may be applied twice unless the state machine deduplicates (as
//! `kv::KvStore` does with client sessions, dissertation §6.3).

use std::time::{Duration, Instant};

use crate::error::{Error, NotLeader};
use crate::net::{Packet, CLIENT_ADDR_BASE};
use crate::state_machine::StateMachine;
use crate::transport::ClientLink;
use crate::types::NodeId;
use crate::wire::Wire;

/// The longest one attempt waits for an answer before trying another node (and how
/// long the first attempt waits, before any round trip was measured).
const ATTEMPT_TIMEOUT: Duration = Duration::from_millis(250);
/// The shortest: below it, a slow moment of a healthy leader would trigger retries.
const MIN_ATTEMPT_TIMEOUT: Duration = Duration::from_millis(20);
/// The pause before retrying when no node knows a leader (an election is on).
const NO_LEADER_BACKOFF: Duration = Duration::from_millis(10);
/// The least margin above the smoothed round trip (RFC 6298's clock granularity G):
/// with round trips that never vary (a simulated disk, a quiet network) the variation
/// decays to zero, and a timeout equal to the round trip would fire at the very instant
/// the answer arrives.
const MIN_RTT_MARGIN: Duration = Duration::from_millis(1);
/// Redirects followed at once before backing off.
const MAX_REDIRECTS: u32 = 2;

/// A client of a cluster, with its own address on the router. `Send`.
pub struct RawClient<S: StateMachine> {
    id: u64,
    timeout: Duration,
    link: ClientLink<S>,
    leader: Option<NodeId>,
    next_try: usize,
    attempt: u64,
    rtt: RoundTrips,
    /// Writes sent again after an attempt went unanswered.
    resent_writes: u64,
}

/// One round-trip estimate per kind of request. A read-only command is answered after
/// one ReadIndex round (a heartbeat's round trip); a write waits for a disk write and a
/// replication round. With one estimate for both, a client that mostly reads learns
/// the reads' round trip, and every write then times out before it can finish and is
/// sent again: a duplicate log entry each time (harmless with sessions, but
/// replicated, persisted and applied for nothing).
#[derive(Debug, Default)]
pub(crate) struct RoundTrips {
    read: RoundTrip,
    write: RoundTrip,
}

impl RoundTrips {
    /// The estimate for requests of this kind.
    pub(crate) fn of(&mut self, read_only: bool) -> &mut RoundTrip {
        if read_only {
            &mut self.read
        } else {
            &mut self.write
        }
    }
}

/// The round-trip time estimate that sets how long an attempt waits (the retransmission
/// timeout of TCP, RFC 6298): smoothed RTT plus four times its variation (at least
/// `MIN_RTT_MARGIN`), so on a slow,
/// lossy network a client retries after about one slow round trip instead of a fixed
/// quarter second, and on a fast one no sooner than `MIN_ATTEMPT_TIMEOUT`.
#[derive(Debug, Default)]
pub(crate) struct RoundTrip {
    srtt: Option<Duration>,
    rttvar: Duration,
}

impl RoundTrip {
    pub(crate) fn sample(&mut self, r: Duration) {
        match self.srtt {
            None => {
                self.srtt = Some(r);
                self.rttvar = r / 2;
            }
            Some(s) => {
                let diff = s.abs_diff(r);
                self.rttvar = (self.rttvar * 3 + diff) / 4;
                self.srtt = Some((s * 7 + r) / 8);
            }
        }
    }

    /// How long attempt number `silent + 1` in a row waits: the estimate, doubled for
    /// each attempt before it that got no answer (backing off during a partition).
    pub(crate) fn timeout(&self, silent: u32) -> Duration {
        let base = self.srtt.map_or(ATTEMPT_TIMEOUT, |s| {
            s + (self.rttvar * 4).max(MIN_RTT_MARGIN)
        });
        (base * 2u32.pow(silent.min(4))).clamp(MIN_ATTEMPT_TIMEOUT, ATTEMPT_TIMEOUT)
    }
}

impl<S: StateMachine> RawClient<S> {
    /// A client speaking through `link` (made by `Cluster::raw_client`).
    pub(crate) fn new(link: ClientLink<S>) -> Self {
        RawClient {
            id: (link.addr - CLIENT_ADDR_BASE) as u64 + 1,
            timeout: Duration::from_secs(5),
            link,
            leader: None,
            next_try: 0,
            attempt: 0,
            rtt: RoundTrips::default(),
            resent_writes: 0,
        }
    }

    /// This client's id (unique within its cluster, starting at 1).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// This client's address on the router. Put it in a group of
    /// [`Cluster::partition`](crate::Cluster::partition) to confine the client to that side (a client in no group
    /// reaches every node).
    pub fn address(&self) -> NodeId {
        self.link.addr
    }

    /// How long `submit` may take before it returns `Err(Error::Timeout)` (default 5 s).
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// The time since the cluster started, in nanoseconds, on its runtime's clock (the
    /// simulation's virtual clock on the simulated runtime): what histories record, so
    /// that a simulated run's history replays exactly.
    pub fn now_ns(&self) -> u64 {
        self.link.now().as_nanos() as u64
    }

    /// How many times a write was sent again because an attempt went unanswered within
    /// its timeout (each may leave a duplicate entry in the log).
    pub fn resent_writes(&self) -> u64 {
        self.resent_writes
    }

    /// The node this client currently believes leads.
    pub fn leader_hint(&self) -> Option<NodeId> {
        self.leader
    }

    /// Runs `command` to completion: try the believed leader (or the next member),
    /// follow redirects, retry on silence, until answered or out of time. With
    /// `read_only`, the leader answers with `StateMachine::query` after a ReadIndex
    /// round instead of appending the command to its log.
    pub fn submit(&mut self, command: S::Command, read_only: bool) -> Result<S::Output, Error> {
        let deadline = self.link.now() + self.timeout;
        let first = self.attempt + 1;
        let (mut silent, mut redirects) = (0, 0);
        while self.link.now() < deadline {
            let target = self.pick_target();
            if silent > 0 && !read_only {
                self.resent_writes += 1;
            }
            self.attempt += 1;
            let id = self.attempt;
            let sent = self.link.now();
            self.link.send(
                target,
                Wire::ClientRequest {
                    id,
                    command: command.clone(),
                    read_only,
                },
            );
            let wait_until = deadline.min(sent + self.rtt.of(read_only).timeout(silent));
            let Some((answered, reply)) = self.await_reply(first, id, wait_until) else {
                self.note(&format!("no answer from n{target}; trying another node"));
                self.leader = None;
                silent += 1;
                continue;
            };
            silent = 0;
            // Only an answer measures the work a request of this kind waits for: a
            // redirect comes straight back from a follower, and an answer to an earlier
            // attempt cannot be matched to its send time (Karn's rule).
            if answered == id && reply.is_ok() {
                let r = self.link.now().saturating_sub(sent);
                self.rtt.of(read_only).sample(r);
            }
            match reply {
                Ok(out) => {
                    // A late answer to an earlier attempt is as good: the same command.
                    if answered == id {
                        self.leader = Some(target);
                    }
                    return Ok(out);
                }
                Err(NotLeader { leader: Some(l) }) if l != target => {
                    self.note(&format!("n{target} redirects to n{l}"));
                    self.leader = Some(l);
                    redirects += 1;
                    // Two nodes that each name the other as leader (stale hints during
                    // an election or a transfer) would bounce the request between them
                    // as fast as the network allows: past two redirects in a row, pause.
                    if redirects > MAX_REDIRECTS {
                        redirects = 0;
                        let left = deadline.saturating_sub(self.link.now());
                        self.link.pause(NO_LEADER_BACKOFF.min(left));
                    }
                }
                Err(NotLeader { .. }) => {
                    self.note(&format!("n{target} knows no leader; backing off"));
                    self.leader = None;
                    let left = deadline.saturating_sub(self.link.now());
                    self.link.pause(NO_LEADER_BACKOFF.min(left));
                }
            }
        }
        Err(Error::Timeout)
    }

    fn pick_target(&mut self) -> NodeId {
        if let Some(l) = self.leader {
            return l;
        }
        let members = self.link.members.lock().clone();
        self.next_try = (self.next_try + 1) % members.len().max(1);
        members.get(self.next_try).copied().unwrap_or(0)
    }

    /// The reply to attempt `id`, or a success answering an earlier attempt of the same
    /// command (`first..id`), with the attempt it answers. Other late replies (to
    /// earlier commands, or redirects already acted on) are skipped.
    fn await_reply(
        &mut self,
        first: u64,
        id: u64,
        until: Duration,
    ) -> Option<(u64, Result<S::Output, NotLeader>)> {
        loop {
            match self.link.recv(until) {
                Some(Packet {
                    msg:
                        Wire::ClientReply {
                            id: answered,
                            result,
                        },
                    ..
                }) if answered == id || (first..id).contains(&answered) && result.is_ok() => {
                    return Some((answered, result))
                }
                Some(_) => continue,
                None => return None,
            }
        }
    }

    fn note(&self, text: &str) {
        self.link
            .trace
            .note(log::Level::Debug, &format!("client {}", self.id), text);
    }
}

/// Many logical clients behind one router address and one thread, each with at most one
/// request outstanding: what lets a benchmark run 1024 clients on a 2-core machine
/// without 1024 threads fighting over it. The caller keeps the workload's meaning (each
/// logical client waits for its write to apply before sending the next); this type only
/// sends, receives and tracks the leader. It does not retry on silence.
pub struct ClientMux<S: StateMachine> {
    link: ClientLink<S>,
    leader: Option<NodeId>,
    next_try: usize,
    /// Requests queued by `send`, handed to the router in one batch by `flush`.
    outbox: Vec<Packet<Wire<S>>>,
}

impl<S: StateMachine> ClientMux<S> {
    /// A multiplexer speaking through `link` (made by `Cluster::client_mux`).
    pub(crate) fn new(link: ClientLink<S>) -> Self {
        ClientMux {
            link,
            leader: None,
            next_try: 0,
            outbox: Vec::new(),
        }
    }

    /// Queues request `id` for the node believed to lead (or the next member); returns
    /// the node it goes to. The reply carries the same `id`. Queued requests leave
    /// together at the next `flush` or `recv`: the logical clients share one thread,
    /// so they may as well share its trip to the router.
    pub fn send(&mut self, id: u64, command: S::Command, read_only: bool) -> NodeId {
        let target = match self.leader {
            Some(l) => l,
            None => {
                let members = self.link.members.lock().clone();
                self.next_try = (self.next_try + 1) % members.len().max(1);
                members.get(self.next_try).copied().unwrap_or(0)
            }
        };
        self.outbox.push(Packet {
            from: self.link.addr,
            to: target,
            msg: Wire::ClientRequest {
                id,
                command,
                read_only,
            },
        });
        target
    }

    /// Hands the queued requests to the router.
    pub fn flush(&mut self) {
        let batch = std::mem::take(&mut self.outbox);
        self.link.send_batch(batch);
    }

    /// Flushes, then returns the next reply, waiting until `until` at most:
    /// `(id, result)`. A redirect updates the believed leader before it is returned.
    /// On a simulated cluster, the wait is as long in virtual time.
    pub fn recv(&mut self, until: Instant) -> Option<(u64, Result<S::Output, NotLeader>)> {
        self.flush();
        let wait = until.saturating_duration_since(Instant::now());
        let p = self.link.recv(self.link.now() + wait)?;
        self.take(p)
    }

    /// A reply that is already waiting, if any (see [`ClientMux::recv`]); does not flush.
    pub fn try_recv(&mut self) -> Option<(u64, Result<S::Output, NotLeader>)> {
        let p = self.link.try_recv()?;
        self.take(p)
    }

    fn take(&mut self, p: Packet<Wire<S>>) -> Option<(u64, Result<S::Output, NotLeader>)> {
        match p.msg {
            Wire::ClientReply { id, result } => {
                match &result {
                    Ok(_) => self.leader = Some(p.from),
                    Err(NotLeader { leader }) => self.leader = *leader,
                }
                Some((id, result))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_do_not_shorten_the_write_timeout() {
        let mut r = RoundTrips::default();
        r.of(false).sample(Duration::from_millis(40));
        for _ in 0..50 {
            r.of(true).sample(Duration::from_millis(1));
        }
        assert_eq!(r.of(true).timeout(0), MIN_ATTEMPT_TIMEOUT);
        assert_eq!(r.of(false).timeout(0), Duration::from_millis(120));
    }

    #[test]
    fn attempt_timeout_follows_the_round_trip_and_backs_off() {
        let mut r = RoundTrip::default();
        assert_eq!(r.timeout(0), ATTEMPT_TIMEOUT, "no sample yet");
        r.sample(Duration::from_millis(40));
        // srtt 40, rttvar 20: 40 + 4 * 20.
        assert_eq!(r.timeout(0), Duration::from_millis(120));
        assert_eq!(
            r.timeout(1),
            Duration::from_millis(240),
            "doubled after a silence"
        );
        assert_eq!(r.timeout(2), ATTEMPT_TIMEOUT, "never above the cap");
        for _ in 0..50 {
            r.sample(Duration::from_micros(30));
        }
        assert_eq!(r.timeout(0), MIN_ATTEMPT_TIMEOUT, "never below the floor");
    }
}
