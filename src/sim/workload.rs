//! Concurrent key/value clients on the simulated runtime: simulated actors described by
//! a [`Workload`] (how many clients, the operation mix, the keys, the think time), not
//! OS threads, so that a run with many concurrent clients still replays from its seed.
//!
//! Each client does what `kv::Client` does, as an event-driven actor: it registers a
//! session (§6.3) before its first write, sends each operation to the node it believes
//! leads, follows redirects, retries on silence after a measured round-trip timeout,
//! and gives up after the operation's timeout, leaving the operation pending in the
//! history (its outcome is unknown). It then thinks for a while and starts the next.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::check::history::OpHandle;
use crate::check::KvHistory;
use crate::client::RoundTrips;
use crate::error::{Error, NotLeader};
use crate::kv::{Command, KvStore, Op, Reply, Request};
use crate::net::Packet;
use crate::sim::world::{Actors, Effects, Mail, World};
use crate::types::NodeId;
use crate::wire::Wire;

/// What the simulated clients do.
#[derive(Debug, Clone, PartialEq)]
pub struct Workload {
    /// How many clients run concurrently (at least 1).
    pub clients: usize,
    /// How many keys they share (`k0`, `k1`, ...; at least 1).
    pub keys: usize,
    /// The share of operations that are reads (`get`), in `0..=1`.
    pub get_share: f64,
    /// The share that are `put`s, in `0..=1`; the rest (at most 1 with the gets) are
    /// `append`s, whose unique values make exactly-once checkable.
    pub put_share: f64,
    /// Each client waits a time drawn uniformly from this range between operations.
    pub think_time: (Duration, Duration),
    /// How long a client tries one operation before it gives up (outcome unknown).
    pub op_timeout: Duration,
}

impl Default for Workload {
    fn default() -> Self {
        Workload {
            clients: 3,
            keys: 2,
            get_share: 0.3,
            put_share: 0.1,
            think_time: (Duration::ZERO, Duration::from_millis(20)),
            op_timeout: Duration::from_secs(2),
        }
    }
}

impl Workload {
    /// Checks the workload can run; the error names the field and what it accepts.
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |why: String| Err(Error::InvalidConfig(why));
        if self.clients == 0 {
            return bad("Workload.clients is 0; a workload needs at least 1 client".into());
        }
        if self.keys == 0 {
            return bad("Workload.keys is 0; clients need at least 1 key".into());
        }
        for (name, share) in [("get_share", self.get_share), ("put_share", self.put_share)] {
            if !(0.0..=1.0).contains(&share) {
                return bad(format!("Workload.{name} is {share}; it must lie in 0..=1"));
            }
        }
        if self.get_share + self.put_share > 1.0 {
            return bad("Workload.get_share + put_share is above 1".into());
        }
        if self.think_time.0 > self.think_time.1 {
            return bad("Workload.think_time's lower bound is above its upper bound".into());
        }
        if self.op_timeout.is_zero() {
            return bad("Workload.op_timeout must be above zero".into());
        }
        Ok(())
    }
}

/// What the clients of a workload did so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WorkloadStats {
    /// Operations answered (registrations not counted).
    pub completed: u64,
    /// Operations given up after `op_timeout` (outcome unknown).
    pub timed_out: u64,
    /// Writes refused because the client's session had expired (outcome unknown).
    pub expired: u64,
    /// Operations in flight now.
    pub in_flight: usize,
    /// Each answered operation's latency, in microseconds, in completion order.
    pub latencies_us: Vec<u64>,
    /// Every acknowledged append: `(client, key, value)`, in acknowledgement order.
    pub acknowledged_appends: Vec<(usize, String, String)>,
    /// Every append whose outcome is unknown (timed out or expired).
    pub unknown_appends: Vec<(usize, String, String)>,
    /// Writes sent again after an attempt went unanswered within its timeout (each may
    /// leave a duplicate entry in the log).
    pub resent_writes: u64,
    /// The keys any put was sent for (their appends may have been overwritten).
    pub put_keys: std::collections::BTreeSet<String>,
}

/// A running workload: read its statistics, or stop it from starting new operations.
#[derive(Clone)]
pub struct WorkloadHandle {
    shared: Arc<Mutex<Shared>>,
}

impl WorkloadHandle {
    /// What the clients did so far.
    pub fn stats(&self) -> WorkloadStats {
        self.shared.lock().stats.clone()
    }

    /// Operations in flight now.
    pub fn in_flight(&self) -> usize {
        self.shared.lock().stats.in_flight
    }

    /// Clients start no new operation from now on; those in flight run to their end.
    pub fn stop(&self) {
        self.shared.lock().stopped = true;
    }
}

struct Shared {
    stats: WorkloadStats,
    stopped: bool,
}

/// The stream of the workload's randomness (see `config::derive_seed`).
const WORKLOAD_STREAM: u64 = 0x776f_726b_6c6f_6164; // "workload"

/// Where a workload's clients attach: the simulated world of a cluster, its clock and
/// seed, its member directory, and how to get a fresh client address. The cluster
/// builds one ([`Cluster::start_workload`](crate::Cluster::start_workload)), so this
/// module needs nothing of the cluster's.
pub(crate) struct Attach<'a> {
    pub world: &'a Arc<Mutex<World<KvStore>>>,
    pub now: Duration,
    pub seed: u64,
    pub members: Arc<Mutex<Vec<NodeId>>>,
    pub new_addr: &'a dyn Fn() -> NodeId,
}

/// Starts simulated key/value clients on a cluster's world: what
/// [`Cluster::start_workload`](crate::Cluster::start_workload) does.
pub(crate) fn start(
    at: Attach<'_>,
    workload: Workload,
    history: Option<Arc<KvHistory>>,
) -> Result<WorkloadHandle, Error> {
    workload.validate()?;
    let world = at.world;
    let shared = Arc::new(Mutex::new(Shared {
        stats: WorkloadStats::default(),
        stopped: false,
    }));
    let mut clients = Vec::new();
    let mut start = Vec::new();
    let now = at.now;
    for i in 0..workload.clients {
        let seed = crate::config::derive_seed(at.seed, WORKLOAD_STREAM ^ i as u64);
        let mut rng = SmallRng::seed_from_u64(seed);
        let addr = (at.new_addr)();
        let first = now + draw(&mut rng, workload.think_time);
        start.push((addr, first, 1));
        clients.push(SimClient {
            index: i,
            addr,
            rng,
            session: None,
            seq: 0,
            leader: None,
            next_try: i,
            rtt: RoundTrips::default(),
            token: 1,
            attempt: 0,
            op: None,
            appended: 0,
        });
    }
    let addrs: Vec<NodeId> = clients.iter().map(|c| c.addr).collect();
    let actors = WorkloadActors {
        workload,
        clients,
        members: at.members,
        history,
        shared: shared.clone(),
    };
    world.lock().set_actors(Box::new(actors), addrs, start);
    Ok(WorkloadHandle { shared })
}

fn draw(rng: &mut SmallRng, (lo, hi): (Duration, Duration)) -> Duration {
    if hi > lo {
        rng.gen_range(lo..=hi)
    } else {
        lo
    }
}

/// The operation a client has in flight.
struct InFlight {
    /// What it sends (a registration, or a request).
    command: Command,
    read_only: bool,
    /// The operation as the history knows it (`None` for a registration).
    recorded: Option<(Op, Option<OpHandle>)>,
    started: Duration,
    deadline: Duration,
    /// The first attempt id of this operation: a late success to any attempt counts.
    first_attempt: u64,
    sent_at: Duration,
    target: NodeId,
    silent: u32,
    /// Redirects followed in a row: past two, the hints are going in circles (two
    /// nodes that each think the other leads) and the client backs off.
    redirects: u32,
    /// The pending wake-up ends a back-off (no leader known, or redirects going in
    /// circles), not a silence.
    backing_off: bool,
}

struct SimClient {
    index: usize,
    addr: NodeId,
    rng: SmallRng,
    session: Option<u64>,
    seq: u64,
    leader: Option<NodeId>,
    next_try: usize,
    /// Round-trip estimates for reads and for writes, as `RawClient`'s.
    rtt: RoundTrips,
    /// The token of the one wake-up that counts; older ones are stale.
    token: u64,
    attempt: u64,
    op: Option<InFlight>,
    appended: u64,
}

struct WorkloadActors {
    workload: Workload,
    clients: Vec<SimClient>,
    members: Arc<Mutex<Vec<NodeId>>>,
    history: Option<Arc<KvHistory>>,
    shared: Arc<Mutex<Shared>>,
}

/// The pause before retrying when no node knows a leader (an election is on).
const NO_LEADER_BACKOFF: Duration = Duration::from_millis(10);
/// Redirects followed at once before backing off.
const MAX_REDIRECTS: u32 = 2;

impl Actors<KvStore> for WorkloadActors {
    fn handle(
        &mut self,
        now: Duration,
        addr: NodeId,
        mail: Mail<KvStore>,
        out: &mut Effects<KvStore>,
    ) {
        let Some(i) = self.clients.iter().position(|c| c.addr == addr) else {
            return;
        };
        match mail {
            Mail::Wake(token) if token == self.clients[i].token => match self.clients[i].op {
                None => self.start_op(i, now, out),
                Some(ref op) if now >= op.deadline => self.give_up(i, now, out),
                Some(_) => {
                    // Silence: try another node, waiting longer each time (§6.2's
                    // client retries; the timeout is RFC 6298's, as kv::Client's).
                    let c = &mut self.clients[i];
                    c.leader = None;
                    if let Some(op) = c.op.as_mut() {
                        if std::mem::take(&mut op.backing_off) {
                            // The back-off is over: try again, no silence to count.
                        } else {
                            op.silent += 1;
                            if !op.read_only {
                                self.shared.lock().stats.resent_writes += 1;
                            }
                        }
                    }
                    self.send_attempt(i, now, out);
                }
            },
            Mail::Wake(_) => {} // stale
            Mail::Packet(Packet {
                from,
                msg: Wire::ClientReply { id, result },
                ..
            }) => self.reply(i, now, from, id, result, out),
            Mail::Packet(_) => {}
        }
    }
}

impl WorkloadActors {
    fn wake(&mut self, i: usize, at: Duration, out: &mut Effects<KvStore>) {
        let c = &mut self.clients[i];
        c.token += 1;
        out.wakes.push((c.addr, at, c.token));
    }

    fn think(&mut self, i: usize, now: Duration, out: &mut Effects<KvStore>) {
        if self.shared.lock().stopped {
            return;
        }
        let pause = draw(&mut self.clients[i].rng, self.workload.think_time);
        self.wake(i, now + pause, out);
    }

    fn start_op(&mut self, i: usize, now: Duration, out: &mut Effects<KvStore>) {
        if self.shared.lock().stopped {
            return;
        }
        let w = &self.workload;
        let c = &mut self.clients[i];
        let deadline = now + w.op_timeout;
        let (command, read_only, recorded) = match c.session {
            // A write needs a session: register first (a log entry, §6.3).
            None if w.get_share < 1.0 => (Command::RegisterClient, false, None),
            session => {
                let key = format!("k{}", c.rng.gen_range(0..w.keys));
                let roll: f64 = c.rng.gen();
                let op = if roll < w.get_share || session.is_none() {
                    Op::Get { key }
                } else if roll < w.get_share + w.put_share {
                    c.appended += 1;
                    let value = format!("p{}.{}", c.index, c.appended);
                    self.shared.lock().stats.put_keys.insert(key.clone());
                    Op::Put { key, value }
                } else {
                    c.appended += 1;
                    let value = format!("a{}.{} ", c.index, c.appended);
                    Op::Append { key, value }
                };
                let read_only = matches!(op, Op::Get { .. });
                if !read_only {
                    c.seq += 1;
                }
                let request = Request {
                    client: session.unwrap_or(0),
                    seq: c.seq,
                    op: op.clone(),
                };
                let at = now.as_nanos() as u64;
                let handle = self
                    .history
                    .as_ref()
                    .map(|h| h.invoke_at(c.index as u64, op.clone(), at));
                (Command::Request(request), read_only, Some((op, handle)))
            }
        };
        c.op = Some(InFlight {
            command,
            read_only,
            recorded,
            started: now,
            deadline,
            first_attempt: c.attempt + 1,
            sent_at: now,
            target: 0,
            silent: 0,
            redirects: 0,
            backing_off: false,
        });
        self.shared.lock().stats.in_flight += 1;
        self.send_attempt(i, now, out);
    }

    fn send_attempt(&mut self, i: usize, now: Duration, out: &mut Effects<KvStore>) {
        let c = &mut self.clients[i];
        let target = match c.leader {
            Some(l) => l,
            None => {
                let members = self.members.lock();
                c.next_try = (c.next_try + 1) % members.len().max(1);
                members.get(c.next_try).copied().unwrap_or(0)
            }
        };
        c.attempt += 1;
        let op = c.op.as_mut().expect("an operation in flight");
        op.target = target;
        op.sent_at = now;
        out.packets.push(Packet {
            from: c.addr,
            to: target,
            msg: Wire::ClientRequest {
                id: c.attempt,
                command: op.command.clone(),
                read_only: op.read_only,
            },
        });
        let wait = c.rtt.of(op.read_only).timeout(op.silent);
        let at = (now + wait).min(op.deadline);
        self.wake(i, at, out);
    }

    fn reply(
        &mut self,
        i: usize,
        now: Duration,
        from: NodeId,
        id: u64,
        result: Result<Reply, NotLeader>,
        out: &mut Effects<KvStore>,
    ) {
        let c = &mut self.clients[i];
        let Some(op) = c.op.as_mut() else {
            return; // a late reply to an operation already finished
        };
        let current = id == c.attempt;
        // A success answering an earlier attempt of the same command counts too.
        if !(current || (op.first_attempt..c.attempt).contains(&id) && result.is_ok()) {
            return;
        }
        // Only a current answer is a sample (see `RawClient::submit`).
        if current && result.is_ok() {
            c.rtt
                .of(op.read_only)
                .sample(now.saturating_sub(op.sent_at));
        }
        match result {
            Ok(reply) => {
                c.leader = Some(from);
                self.finish(i, now, reply, out);
            }
            Err(NotLeader { leader: Some(l) }) if l != from => {
                c.leader = Some(l);
                op.redirects += 1;
                if op.redirects > MAX_REDIRECTS {
                    op.redirects = 0;
                    op.backing_off = true;
                    self.wake(i, now + NO_LEADER_BACKOFF, out);
                } else {
                    self.send_attempt(i, now, out);
                }
            }
            Err(NotLeader { .. }) => {
                c.leader = None;
                op.backing_off = true;
                self.wake(i, now + NO_LEADER_BACKOFF, out);
            }
        }
    }

    fn finish(&mut self, i: usize, now: Duration, reply: Reply, out: &mut Effects<KvStore>) {
        let c = &mut self.clients[i];
        let op = c.op.take().expect("an operation in flight");
        let latency = now.saturating_sub(op.started);
        let mut shared = self.shared.lock();
        let stats = &mut shared.stats;
        stats.in_flight -= 1;
        match (reply, op.recorded) {
            (Reply::Registered { client }, _) => {
                c.session = Some(client);
                c.seq = 0;
                drop(shared);
                return self.start_op(i, now, out);
            }
            (Reply::SessionExpired, Some((op, _))) => {
                // Outcome unknown (an earlier attempt may have applied): left pending;
                // the client registers again before its next write.
                c.session = None;
                stats.expired += 1;
                if let Op::Append { key, value } = op {
                    stats.unknown_appends.push((c.index, key, value));
                }
            }
            (reply, Some((op, handle))) => {
                stats.completed += 1;
                stats.latencies_us.push(latency.as_micros() as u64);
                if let Op::Append { key, value } = &op {
                    stats
                        .acknowledged_appends
                        .push((c.index, key.clone(), value.clone()));
                }
                if let (Some(h), Some(handle)) = (&self.history, handle) {
                    h.complete_at(handle, reply, now.as_nanos() as u64);
                }
            }
            (reply, None) => panic!("the store answered a registration with {reply:?}"),
        }
        drop(shared);
        self.think(i, now, out);
    }

    fn give_up(&mut self, i: usize, now: Duration, out: &mut Effects<KvStore>) {
        let c = &mut self.clients[i];
        let op = c.op.take().expect("an operation in flight");
        c.leader = None;
        let mut shared = self.shared.lock();
        shared.stats.in_flight -= 1;
        if op.recorded.is_some() {
            shared.stats.timed_out += 1;
        }
        if let Some((Op::Append { key, value }, _)) = op.recorded {
            shared.stats.unknown_appends.push((c.index, key, value));
        }
        drop(shared);
        self.think(i, now, out);
    }
}
