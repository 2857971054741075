//! A deterministic simulator: 1 to 9 nodes at a time over an in-memory bus, in virtual
//! milliseconds. One seed drives every random choice; the same seed and the same
//! commands at the same virtual times give the same run, event for event.
//!
//! It is the driver of the nodes: it keeps the persist-before-send contract (a
//! batch's write completes after a simulated disk latency, and only then do its
//! messages leave and its committed entries apply), and it reports everything
//! that happens as an [`Event`] stream. The interface draws only from that stream
//! and from [`NodeView`].

use crate::bugs::BugSet;
use crate::node::{Batch, ClientReport, Node, ReadOutcome, ReadReport};
use crate::raft::{CatchUpOutcome, Config, Raft};
pub use crate::records::Records;
use crate::rng::{mix_seed, Rng};
use crate::state_machine::{Applied, StateMachine};
use crate::storage::{DurableWrite, MemStorage, PersistedState, Storage};
use crate::types::*;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

pub const MAX_NODES: u32 = 9;
/// No duration in a configuration (a timeout, a latency) is longer than an
/// hour: virtual time adds them up, and a hand-edited recipe must get a
/// clear error, not overflow it.
pub const MAX_DURATION_MS: u64 = 3_600_000;

/// Checks that a configured duration is at most [`MAX_DURATION_MS`].
fn check_duration(name: &str, ms: u64) -> Result<(), String> {
    if ms > MAX_DURATION_MS {
        return Err(format!(
            "the {name} of {ms} ms is longer than the limit of {MAX_DURATION_MS} ms (an hour)"
        ));
    }
    Ok(())
}

/// How many client records, acknowledgements and reads the simulator keeps at
/// least (it drops the oldest completed ones past twice this), so that a long
/// run's memory stays bounded. Positions stay absolute.
pub const RECORD_WINDOW: usize = 65_536;

/// How many of the latest applied records the simulator keeps beyond those of
/// the current step: a checker called after every step sees each one.
pub const APPLIED_WINDOW: usize = 512;

/// The network between the nodes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NetConfig {
    /// Each message takes a latency drawn uniformly from `min ..= max`; the spread
    /// reorders messages.
    pub latency_min_ms: u64,
    pub latency_max_ms: u64,
    /// Probability that a message is lost.
    pub drop_rate: f64,
    /// Probability that a message is delivered twice.
    pub duplicate_rate: f64,
}

impl Default for NetConfig {
    fn default() -> Self {
        NetConfig {
            latency_min_ms: 5,
            latency_max_ms: 15,
            drop_rate: 0.0,
            duplicate_rate: 0.0,
        }
    }
}

impl NetConfig {
    pub fn validate(&self) -> Result<(), String> {
        if self.latency_min_ms > self.latency_max_ms {
            return Err(format!(
                "latency range {}-{} ms is empty",
                self.latency_min_ms, self.latency_max_ms
            ));
        }
        check_duration("message latency", self.latency_max_ms)?;
        for (name, p) in [
            ("drop rate", self.drop_rate),
            ("duplicate rate", self.duplicate_rate),
        ] {
            if !(0.0..=1.0).contains(&p) {
                return Err(format!("{name} must be a probability between 0 and 1"));
            }
        }
        Ok(())
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SimConfig {
    pub nodes: u32,
    pub seed: u64,
    pub election_timeout_min_ms: u64,
    pub election_timeout_max_ms: u64,
    pub heartbeat_interval_ms: u64,
    pub max_entries_per_append: usize,
    pub max_queued_requests: usize,
    /// A client request not committed within this time fails (timed out).
    pub request_timeout_ms: u64,
    /// A durable write takes a latency drawn from `min ..= max`.
    pub disk_latency_min_ms: u64,
    pub disk_latency_max_ms: u64,
    /// Some writes take longer (none unless set; the experiments' "paper"
    /// disk has one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk_tail: Option<DiskTail>,
    pub net: NetConfig,
    /// PreVote (thesis §9.6), off by default so that the problem can be shown.
    #[serde(default)]
    pub pre_vote: bool,
    /// CheckQuorum and the leader lease (thesis §6.2, §4.2.3), off by default.
    #[serde(default)]
    pub check_quorum: bool,
    /// Snapshot thresholds and chunk size (see [`Config`]).
    #[serde(default = "default_snapshot_min_log_bytes")]
    pub snapshot_min_log_bytes: u64,
    #[serde(default = "default_snapshot_log_ratio")]
    pub snapshot_log_ratio: u64,
    #[serde(default = "default_snapshot_chunk_bytes")]
    pub snapshot_chunk_bytes: usize,
    /// Rules broken on purpose ([`crate::bugs`]): none in a normal run.
    #[serde(default, skip_serializing_if = "BugSet::is_empty")]
    pub bugs: BugSet,
}

/// A disk's slow writes: with probability `chance` a durable write takes
/// `extra_min_ms ..= extra_max_ms` more than its usual latency (a flush that
/// waits behind other I/O). A node's writes still complete in order.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct DiskTail {
    pub chance: f64,
    pub extra_min_ms: u64,
    pub extra_max_ms: u64,
}

fn default_snapshot_min_log_bytes() -> u64 {
    Config::new(1, 0).snapshot_min_log_bytes
}
fn default_snapshot_log_ratio() -> u64 {
    Config::new(1, 0).snapshot_log_ratio
}
fn default_snapshot_chunk_bytes() -> usize {
    Config::new(1, 0).snapshot_chunk_bytes
}

impl Default for SimConfig {
    fn default() -> Self {
        let raft = Config::new(1, 0);
        SimConfig {
            nodes: 5,
            seed: 1,
            election_timeout_min_ms: raft.election_timeout_min_ms,
            election_timeout_max_ms: raft.election_timeout_max_ms,
            heartbeat_interval_ms: raft.heartbeat_interval_ms,
            max_entries_per_append: raft.max_entries_per_append,
            max_queued_requests: raft.max_queued_requests,
            request_timeout_ms: 3_000,
            disk_latency_min_ms: 1,
            disk_latency_max_ms: 3,
            disk_tail: None,
            net: NetConfig::default(),
            pre_vote: false,
            check_quorum: false,
            snapshot_min_log_bytes: raft.snapshot_min_log_bytes,
            snapshot_log_ratio: raft.snapshot_log_ratio,
            snapshot_chunk_bytes: raft.snapshot_chunk_bytes,
            bugs: BugSet::initial(),
        }
    }
}

impl SimConfig {
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=MAX_NODES).contains(&self.nodes) {
            return Err(format!(
                "a cluster has 1 to {MAX_NODES} nodes, not {}",
                self.nodes
            ));
        }
        if self.disk_latency_min_ms > self.disk_latency_max_ms {
            return Err(format!(
                "disk latency range {}-{} ms is empty",
                self.disk_latency_min_ms, self.disk_latency_max_ms
            ));
        }
        if self.request_timeout_ms == 0 {
            return Err("the request timeout must be at least 1 ms".into());
        }
        if let Some(t) = self.disk_tail {
            if !(0.0..=1.0).contains(&t.chance) || t.extra_min_ms > t.extra_max_ms {
                return Err(
                    "a disk tail is a probability between 0 and 1 and a range of extra ms".into(),
                );
            }
            check_duration("slow writes' extra time", t.extra_max_ms)?;
        }
        for (name, ms) in [
            ("election timeout", self.election_timeout_max_ms),
            ("heartbeat interval", self.heartbeat_interval_ms),
            ("request timeout", self.request_timeout_ms),
            ("disk latency", self.disk_latency_max_ms),
        ] {
            check_duration(name, ms)?;
        }
        self.raft_config(1, 0).validate()?;
        self.net.validate()
    }

    fn raft_config(&self, id: NodeId, seed: u64) -> Config {
        Config {
            id,
            election_timeout_min_ms: self.election_timeout_min_ms,
            election_timeout_max_ms: self.election_timeout_max_ms,
            heartbeat_interval_ms: self.heartbeat_interval_ms,
            max_entries_per_append: self.max_entries_per_append,
            max_queued_requests: self.max_queued_requests,
            seed,
            pre_vote: self.pre_vote,
            check_quorum: self.check_quorum,
            snapshot_chunk_bytes: self.snapshot_chunk_bytes,
            snapshot_min_log_bytes: self.snapshot_min_log_bytes,
            snapshot_log_ratio: self.snapshot_log_ratio,
            bugs: self.bugs,
        }
    }
}

/// Why a message did not arrive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DropReason {
    /// Lost by the network (the drop rate).
    Lost,
    /// The link from sender to receiver is cut.
    LinkCut,
    /// The receiver is down.
    NodeDown,
    /// Dropped by hand (a click on the message).
    ByUser,
}

/// Why a voter refused its vote (RequestVote receiver, Figure 2), or its
/// pre-vote (thesis §9.6: a later term, no leader heard, a log as up to date).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum VoteRefusal {
    /// The request's term is older than the voter's (§5.1); for a pre-vote,
    /// not later than the voter's.
    StaleTerm,
    /// The voter already voted for this other candidate in this term (§5.2).
    AlreadyVoted(NodeId),
    /// The candidate's log is less up to date than the voter's (§5.4.1): its
    /// last entry's (index, term), and the voter's.
    LogBehind {
        candidate_last: (Index, Term),
        voter_last: (Index, Term),
    },
    /// The voter heard from a current leader within the minimum election
    /// timeout (thesis §4.2.3): a vote request is ignored, with no reply and
    /// no change of term; a pre-vote is refused.
    InLease { request_term: Term },
}

/// Why a follower rejected an AppendEntries (receiver rules 1 and 2, Figure
/// 2): the leader then backs up and tries an earlier entry (§5.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AppendRefusal {
    /// The request's term is older than the follower's (§5.1).
    StaleTerm,
    /// The follower has no entry at `prev_index`: its log ends at `last_index`.
    Missing {
        prev_index: Index,
        last_index: Index,
    },
    /// The follower's entry at `prev_index` is of term `has_term`, not the
    /// leader's `prev_term`.
    Conflict {
        prev_index: Index,
        prev_term: Term,
        has_term: Term,
    },
}

/// A vote or pre-vote request as its voter received it.
#[derive(Clone, Copy)]
struct VoteRequest {
    pre_vote: bool,
    term: Term,
    candidate_last: (Index, Term),
    /// The voter's term and last entry before the request.
    voter_term: Term,
    voter_last: (Index, Term),
}

impl VoteRequest {
    /// Why `voter` (after handling this request from `candidate`) refused
    /// it, given its reply; `None` if it granted it.
    fn refusal<C: Clone>(
        &self,
        reply: Option<bool>,
        voter: &Raft<C>,
        candidate: NodeId,
    ) -> Option<VoteRefusal> {
        let behind = VoteRefusal::LogBehind {
            candidate_last: self.candidate_last,
            voter_last: self.voter_last,
        };
        Some(match reply {
            Some(true) => return None,
            // Thesis §9.6, in the order `handle_pre_vote` asks.
            Some(false) if self.pre_vote => match () {
                _ if self.term <= self.voter_term => VoteRefusal::StaleTerm,
                _ if voter.in_lease() => VoteRefusal::InLease {
                    request_term: self.term,
                },
                _ => behind,
            },
            // Figure 2, RequestVote receiver: a stale term; already voted;
            // a log less up to date (§5.4.1).
            Some(false) if self.term < voter.term() => VoteRefusal::StaleTerm,
            Some(false) => match voter.voted_for() {
                Some(other) if other != candidate => VoteRefusal::AlreadyVoted(other),
                _ => behind,
            },
            // The only request left unanswered: a vote request in the lease.
            None if !self.pre_vote
                && self.term > self.voter_term
                && voter.term() == self.voter_term =>
            {
                VoteRefusal::InLease {
                    request_term: self.term,
                }
            }
            None => return None,
        })
    }
}

/// A request whose "no" the simulator reports, with why.
#[derive(Clone, Copy)]
enum Question {
    Vote(VoteRequest),
    Append {
        term: Term,
        prev_index: Index,
        prev_term: Term,
    },
}

impl Question {
    /// The event for the receiver's "no" (in `messages`, its output), if it
    /// said no: [`EventKind::VoteRefused`] or [`EventKind::AppendRejected`].
    /// Kept out of line: it runs for every heartbeat.
    #[inline(never)]
    fn refusal<C: Clone>(
        self,
        receiver: &Raft<C>,
        messages: &[Message<C>],
        from: NodeId,
        to: NodeId,
    ) -> Option<EventKind> {
        match self {
            Question::Vote(request) => {
                let reply = messages.iter().find_map(|r| match r.body {
                    MessageBody::RequestVoteReply { granted }
                    | MessageBody::PreVoteReply { granted }
                        if r.to == from =>
                    {
                        Some(granted)
                    }
                    _ => None,
                });
                Some(EventKind::VoteRefused {
                    voter: to,
                    candidate: from,
                    term: receiver.term(),
                    why: request.refusal(reply, receiver, from)?,
                    pre_vote: request.pre_vote,
                })
            }
            Question::Append {
                term,
                prev_index,
                prev_term,
            } => {
                messages.iter().find(|r| {
                    r.to == from
                        && matches!(
                            r.body,
                            MessageBody::AppendEntriesReply { success: false, .. }
                        )
                })?;
                // A rejection leaves the follower's log as it was: read it now.
                let log = receiver.log();
                let last_index = log.last_index();
                Some(EventKind::AppendRejected {
                    follower: to,
                    leader: from,
                    term: receiver.term(),
                    why: match log.term(prev_index) {
                        _ if term < receiver.term() => AppendRefusal::StaleTerm,
                        _ if prev_index > last_index => AppendRefusal::Missing {
                            prev_index,
                            last_index,
                        },
                        has_term => AppendRefusal::Conflict {
                            prev_index,
                            prev_term,
                            has_term: has_term.unwrap_or(0),
                        },
                    },
                })
            }
        }
    }
}

/// Everything that happens in a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum EventKind {
    MessageSent {
        id: u64,
        from: NodeId,
        to: NodeId,
        kind: MessageKind,
        term: Term,
        entries: usize,
        /// Virtual time of arrival, or `None` when it will not arrive (or
        /// is held: see `held`).
        deliver_at_ms: Option<u64>,
        /// Held on its link until delivered, dropped or duplicated by hand
        /// ([`Simulator::set_hold`]).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        held: bool,
    },
    MessageDelivered {
        id: u64,
        from: NodeId,
        to: NodeId,
        kind: MessageKind,
    },
    MessageDropped {
        id: u64,
        from: NodeId,
        to: NodeId,
        kind: MessageKind,
        reason: DropReason,
    },
    /// A node became candidate (an election started), leader or follower.
    RoleChanged {
        node: NodeId,
        role: Role,
        term: Term,
    },
    TermChanged {
        node: NodeId,
        term: Term,
    },
    VoteGranted {
        voter: NodeId,
        candidate: NodeId,
        term: Term,
    },
    /// A RequestVote (or a PreVote, thesis §9.6) was answered "no", or
    /// ignored.
    VoteRefused {
        voter: NodeId,
        candidate: NodeId,
        /// The voter's term after the request.
        term: Term,
        why: VoteRefusal,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        pre_vote: bool,
    },
    /// A follower answered an AppendEntries (or a heartbeat) "no".
    AppendRejected {
        follower: NodeId,
        leader: NodeId,
        /// The follower's term after the request.
        term: Term,
        why: AppendRefusal,
    },
    EntriesAppended {
        node: NodeId,
        first_index: Index,
        last_index: Index,
        term: Term,
    },
    LogTruncated {
        node: NodeId,
        from_index: Index,
    },
    /// A durable write completed.
    Persisted {
        node: NodeId,
        last_index: Index,
        term: Term,
    },
    CommitAdvanced {
        node: NodeId,
        commit_index: Index,
    },
    EntryApplied {
        node: NodeId,
        applied: Applied,
    },
    Crashed {
        node: NodeId,
        lost_writes: usize,
    },
    Restarted {
        node: NodeId,
        term: Term,
        log_len: u64,
    },
    /// A node could not be started from its storage.
    StorageFailed {
        node: NodeId,
        error: String,
    },
    ElectionTimeoutForced {
        node: NodeId,
    },
    /// A leader began handing leadership to `to` (§3.10).
    TransferStarted {
        from: NodeId,
        to: NodeId,
    },
    TransferEnded {
        from: NodeId,
        outcome: crate::raft::TransferOutcome,
    },
    ReadStarted {
        node: NodeId,
        read_id: u64,
    },
    ReadDone {
        node: NodeId,
        read_id: u64,
        outcome: ReadOutcome,
        latency_ms: u64,
    },
    LinkCut {
        from: NodeId,
        to: NodeId,
    },
    LinkHealed {
        from: NodeId,
        to: NodeId,
    },
    ClientSubmitted {
        node: NodeId,
        client: ClientId,
        seq: u64,
    },
    ClientOutcome {
        node: NodeId,
        client: ClientId,
        seq: u64,
        outcome: Outcome,
        latency_ms: u64,
    },
    /// A node compacted its log into a snapshot of `bytes` bytes.
    SnapshotTaken {
        node: NodeId,
        index: Index,
        bytes: u64,
    },
    /// A node replaced its log prefix with a snapshot from the leader.
    SnapshotInstalled {
        node: NodeId,
        index: Index,
        bytes: u64,
    },
    /// A new server was started to join the cluster (thesis §4.2.1).
    NodeAdded {
        node: NodeId,
    },
    /// A leader appended a new configuration (it takes effect at once).
    ConfigChanged {
        leader: NodeId,
        index: Index,
        voters: Vec<NodeId>,
        learners: Vec<NodeId>,
    },
    CatchUpEnded {
        leader: NodeId,
        outcome: CatchUpOutcome,
    },
    /// A removed server was shut down, some time after its removal committed.
    NodeRetired {
        node: NodeId,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub at_ms: u64,
    pub kind: EventKind,
}

/// A durable write handed to the driver (external disk mode). The driver makes
/// it durable, in order per node, and then calls [`Simulator::confirm_write`].
#[derive(Clone, Debug)]
pub struct DiskWrite<C> {
    pub node: NodeId,
    pub incarnation: u32,
    pub write_id: u64,
    pub write: DurableWrite<C>,
}

/// A message on the wire, as the interface may draw it.
#[derive(Clone, Debug)]
pub struct InFlight<C> {
    pub id: u64,
    pub sent_ms: u64,
    /// When it arrives; for a held message, when it was held (it waits).
    pub deliver_ms: u64,
    /// Waiting on its link for the user ([`Simulator::set_hold`]).
    pub held: bool,
    pub message: Message<C>,
}

/// One client request's history (the simulator records every one).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClientRecord {
    pub node: NodeId,
    pub client: ClientId,
    pub seq: u64,
    pub invoke_ms: u64,
    pub outcome: Option<Outcome>,
    pub complete_ms: Option<u64>,
}

/// One linearizable read's history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReadRecord {
    pub node: NodeId,
    pub read_id: u64,
    pub invoke_ms: u64,
    /// The acknowledged request with the highest index when the read began,
    /// (client, seq, index): the read must see it, and so all the others.
    pub acked_before: Option<(ClientId, u64, Index)>,
    pub outcome: Option<ReadOutcome>,
}

/// Counters of a run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    pub messages_sent: u64,
    pub messages_delivered: u64,
    pub messages_dropped: u64,
    pub leader_changes: u64,
    pub highest_term: Term,
    pub highest_commit: Index,
    pub crashes: u64,
    pub restarts: u64,
    pub events: u64,
    #[serde(default)]
    pub snapshots_taken: u64,
    #[serde(default)]
    pub snapshots_installed: u64,
    /// Configuration entries appended by leaders.
    #[serde(default)]
    pub config_changes: u64,
    #[serde(default)]
    pub nodes_added: u64,
    #[serde(default)]
    pub nodes_retired: u64,
    /// Learners promoted to voters after catching up.
    #[serde(default)]
    pub promotions: u64,
}

/// A user's (or a test's) action on the cluster.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Command<C> {
    Crash(NodeId),
    Restart(NodeId),
    TimeoutNow(NodeId),
    /// Cut the link `from → to` (one way).
    Cut(NodeId, NodeId),
    Heal(NodeId, NodeId),
    /// Cut every link to and from the node.
    Isolate(NodeId),
    HealAll,
    DropMessage(u64),
    SetNet(NetConfig),
    Submit(NodeId, Request<C>),
    /// The leader hands over to this node.
    TransferLeadership(NodeId),
    /// A new server joins (as a learner, then a voter).
    AddNode,
    RemoveNode(NodeId),
    /// The node snapshots its state machine and compacts its log.
    Compact(NodeId),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scheduled {
    Deliver(u64),
    Timer { node: NodeId, incarnation: u32 },
    WriteDone { node: NodeId, incarnation: u32 },
    Retire { node: NodeId },
}

/// An event in the queue: due at `at_ms`; events due at the same moment run
/// in the order they were scheduled (`seq`). Ordered by one `u128` (the
/// moment, then the sequence number), which is cheap to compare.
#[derive(Clone, Copy, Debug)]
struct Queued {
    key: u128,
    what: Scheduled,
}

impl Queued {
    fn new(at_ms: u64, seq: u64, what: Scheduled) -> Self {
        Queued {
            key: (u128::from(at_ms) << 64) | u128::from(seq),
            what,
        }
    }
    fn at_ms(&self) -> u64 {
        (self.key >> 64) as u64
    }
}

/// The scheduled events: a binary min-heap on [`Queued::key`]. Keys are
/// unique, so events come out in key order whatever the heap's layout. Not
/// `std`'s `BinaryHeap`: it writes a pushed event and reads it straight back
/// (a stall of a dozen cycles when the store cannot be forwarded to the wider
/// load), and the queue is pushed and popped for every message.
#[derive(Clone, Debug, Default)]
struct EventQueue {
    heap: Vec<Queued>,
}

impl EventQueue {
    fn peek(&self) -> Option<&Queued> {
        self.heap.first()
    }

    fn push(&mut self, item: Queued) {
        let mut pos = self.heap.len();
        self.heap.push(item);
        // Sift up, holding `item` (not reading it back) until its place is found.
        while pos > 0 {
            let parent = (pos - 1) / 2;
            if self.heap[parent].key <= item.key {
                break;
            }
            self.heap[pos] = self.heap[parent];
            pos = parent;
        }
        self.heap[pos] = item;
    }

    fn pop(&mut self) -> Option<Queued> {
        let last = self.heap.pop()?;
        let Some(&top) = self.heap.first() else {
            return Some(last);
        };
        // Sift `last` down from the root.
        let n = self.heap.len();
        let mut pos = 0;
        loop {
            let left = 2 * pos + 1;
            if left >= n {
                break;
            }
            let right = left + 1;
            let child = if right < n && self.heap[right].key < self.heap[left].key {
                right
            } else {
                left
            };
            if last.key <= self.heap[child].key {
                break;
            }
            self.heap[pos] = self.heap[child];
            pos = child;
        }
        self.heap[pos] = last;
        Some(top)
    }
}

#[derive(Clone)]
struct PendingBatch<C> {
    write: DurableWrite<C>,
    write_id: u64,
    /// With an external disk: the driver has reported this write durable.
    confirmed: bool,
    /// With an external disk: handed to the driver (when virtual time reached
    /// the write's completion, so that the real disk never runs ahead of it).
    handed_out: bool,
    messages: Vec<Message<C>>,
    committed: Vec<Entry<C>>,
    snapshot: Option<Box<Snapshot>>,
}

/// How many of a node's waiting batches have a write of their own (the
/// others wait only behind one).
fn writes_in<C>(batches: &VecDeque<PendingBatch<C>>) -> usize {
    batches.iter().filter(|b| !b.write.is_empty()).count()
}

/// What the simulator last saw of a node, to turn state changes into events.
#[derive(Clone, Copy, Default, PartialEq)]
struct Seen {
    role: Option<Role>,
    term: Term,
    voted_for: Option<NodeId>,
    commit: Index,
}

#[derive(Clone)]
struct Slot<M: StateMachine> {
    node: Option<Node<M>>,
    storage: MemStorage<M::Command>,
    /// Bumped at each crash: events scheduled for an earlier life are void.
    incarnation: u32,
    /// Batches waiting for their write (and every earlier write) to be durable.
    batches: VecDeque<PendingBatch<M::Command>>,
    last_write_done_ms: u64,
    timer_at: Option<u64>,
    seen: Seen,
    /// What the storage holds, as far as the persist-before-send check needs it.
    durable: Durable,
    /// Removed from the cluster and shut down for good.
    retired: bool,
}

/// What a node's storage holds: its durable term, vote and last log index.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Durable {
    pub term: Term,
    pub voted_for: Option<NodeId>,
    pub last_index: Index,
    /// The log on disk starts after this index (a snapshot covers the rest).
    pub base_index: Index,
}

/// Cloning a simulator checkpoints it: the clone runs on exactly as the
/// original would (entries are shared, not copied).
#[derive(Clone)]
pub struct Simulator<M: StateMachine> {
    cfg: SimConfig,
    now_ms: u64,
    rng: Rng,
    queue: EventQueue,
    queue_seq: u64,
    slots: Vec<Slot<M>>,
    in_flight: InFlightTable<M::Command>,
    next_message_id: u64,
    cut: BTreeSet<(NodeId, NodeId)>,
    /// Hold mode: new messages wait on their links for the user.
    hold: bool,
    record_events: bool,
    events: Vec<Event>,
    history: Records<ClientRecord>,
    /// Open requests: their position in `history`.
    open_requests: FxHashMap<(NodeId, ClientId, u64), u64>,
    acks: Records<(ClientId, u64, Index)>,
    /// Requests reported failed with a promise that they will never commit:
    /// (client, seq, node), in order, for the checker.
    nevers: Records<(ClientId, u64, NodeId)>,
    /// Those promises still standing (a client that submits the request again
    /// withdraws it: the new submission may commit).
    never_promised: FxHashMap<(ClientId, u64), NodeId>,
    /// What the last batch applied (a buffer reused from batch to batch).
    applied_buffer: Vec<Applied>,
    /// What each replica applied, in order, for the checker: every record of
    /// the current step and at least [`APPLIED_WINDOW`] before it.
    applied: Records<(Applied, NodeId)>,
    /// The acknowledgement with the highest index so far.
    highest_ack: Option<(ClientId, u64, Index)>,
    stats: Stats,
    /// The first message found to have left before what it depends on was durable.
    unsafe_send: Option<(u64, String)>,
    /// Durable writes are made by the driver (IndexedDB), not simulated alone.
    external_disk: bool,
    disk_outbox: Vec<DiskWrite<M::Command>>,
    next_write_id: u64,
    reads: Records<ReadRecord>,
    /// The configuration at the highest commit index seen, and that index.
    committed_config: (Index, Membership),
    /// Servers that were ever in a committed configuration.
    joined: BTreeSet<NodeId>,
    /// Removed servers still running, and when they are shut down.
    retiring: BTreeMap<NodeId, u64>,
    /// A snapshot that could not be restored, or that disagrees with the log.
    snapshot_fault: Option<(u64, String)>,
    /// The first leader deposed by a vote request from a server outside its
    /// configuration (thesis §4.2.3 forbids it).
    disruption: Option<(u64, String)>,
}

/// The messages on the wire, by id. Ids are handed out in increasing order and
/// messages mostly arrive in that order, so a deque from the oldest id still in
/// flight holds them compactly: inserting, finding and removing take O(1), and
/// iterating goes in send order.
#[derive(Clone)]
struct InFlightTable<C> {
    /// The id of `slots[0]`.
    base: u64,
    slots: VecDeque<Option<InFlight<C>>>,
}

impl<C> Default for InFlightTable<C> {
    fn default() -> Self {
        InFlightTable {
            base: 1,
            slots: VecDeque::new(),
        }
    }
}

impl<C> InFlightTable<C> {
    /// Adds message `m`, whose id is higher than every id added before.
    fn insert(&mut self, m: InFlight<C>) {
        if self.slots.is_empty() {
            self.base = m.id;
        }
        let at = (m.id - self.base) as usize;
        while self.slots.len() < at {
            self.slots.push_back(None);
        }
        self.slots.push_back(Some(m));
    }

    fn remove(&mut self, id: u64) -> Option<InFlight<C>> {
        let at = id.checked_sub(self.base)? as usize;
        let m = self.slots.get_mut(at)?.take();
        while self.slots.front().is_some_and(Option::is_none) {
            self.slots.pop_front();
            self.base += 1;
        }
        m
    }

    fn iter(&self) -> impl Iterator<Item = &InFlight<C>> {
        self.slots.iter().flatten()
    }

    fn get_mut(&mut self, id: u64) -> Option<&mut InFlight<C>> {
        let at = id.checked_sub(self.base)? as usize;
        self.slots.get_mut(at)?.as_mut()
    }

    fn get(&self, id: u64) -> Option<&InFlight<C>> {
        let at = id.checked_sub(self.base)? as usize;
        self.slots.get(at)?.as_ref()
    }
}

/// A read-only view of one node.
pub struct NodeView<'a, M: StateMachine> {
    pub id: NodeId,
    /// `None` while the node is down.
    pub node: Option<&'a Node<M>>,
    pub incarnation: u32,
    /// Its batches waiting for their writes (counted on demand: the checker
    /// views every node after every step).
    batches: &'a VecDeque<PendingBatch<M::Command>>,
    /// What is on this node's disk.
    pub storage: &'a dyn Storage<M::Command>,
    /// The durable term, vote and log length, without reading the storage.
    pub durable: Durable,
}

impl<M: StateMachine> NodeView<'_, M> {
    pub fn is_up(&self) -> bool {
        self.node.is_some()
    }
    /// Durable writes not yet complete.
    pub fn pending_writes(&self) -> usize {
        writes_in(self.batches)
    }
}

impl<M: StateMachine + 'static> Simulator<M> {
    /// A cluster of `cfg.nodes` fresh nodes, each storing in memory.
    pub fn new(cfg: SimConfig) -> Result<Self, String> {
        cfg.validate()?;
        let membership = Membership::new(1..=cfg.nodes);
        let mut sim = Self::empty(cfg);
        for _ in 1..=sim.cfg.nodes {
            sim.add_slot(MemStorage::new(membership.clone()));
        }
        Ok(sim)
    }

    fn empty(cfg: SimConfig) -> Self {
        Simulator {
            now_ms: 0,
            rng: Rng::new(mix_seed(cfg.seed, 0, 0)),
            queue: EventQueue::default(),
            queue_seq: 0,
            slots: Vec::new(),
            in_flight: InFlightTable::default(),
            next_message_id: 1,
            cut: BTreeSet::new(),
            hold: false,
            record_events: true,
            events: Vec::new(),
            history: Records::new(RECORD_WINDOW),
            open_requests: FxHashMap::default(),
            acks: Records::new(RECORD_WINDOW),
            nevers: Records::new(RECORD_WINDOW),
            never_promised: FxHashMap::default(),
            applied_buffer: Vec::new(),
            applied: Records::new(APPLIED_WINDOW),
            highest_ack: None,
            stats: Stats::default(),
            unsafe_send: None,
            external_disk: false,
            disk_outbox: Vec::new(),
            next_write_id: 1,
            reads: Records::new(RECORD_WINDOW),
            committed_config: (0, Membership::new(1..=cfg.nodes)),
            joined: (1..=cfg.nodes).collect(),
            retiring: BTreeMap::new(),
            snapshot_fault: None,
            disruption: None,
            cfg,
        }
    }

    /// A cluster brought back from storage: node `id` of `nodes` starts from
    /// the state read back from its disk. Ids missing from `nodes` (servers
    /// removed earlier) stay unused.
    pub fn from_nodes(
        cfg: SimConfig,
        nodes: Vec<(NodeId, PersistedState<M::Command>)>,
    ) -> Result<Self, String> {
        let mut nodes: BTreeMap<NodeId, PersistedState<M::Command>> = nodes.into_iter().collect();
        let ids: Vec<NodeId> = nodes.keys().copied().collect();
        if ids.is_empty() || ids.len() > MAX_NODES as usize || ids[0] == 0 {
            return Err(format!(
                "a cluster has 1 to {MAX_NODES} nodes with ids from 1, not {ids:?}"
            ));
        }
        cfg.validate()?;
        let max = ids[ids.len() - 1];
        let mut sim = Self::empty(cfg);
        for id in 1..=max {
            match nodes.remove(&id) {
                Some(state) => {
                    sim.add_slot(MemStorage::from_state(state));
                }
                None => {
                    let placeholder = MemStorage::new(Membership::default());
                    sim.push_slot(placeholder).retired = true;
                }
            }
        }
        sim.joined = ids.into_iter().collect();
        Ok(sim)
    }

    /// Adds a node with `storage` and starts it.
    fn add_slot(&mut self, storage: MemStorage<M::Command>) -> NodeId {
        self.push_slot(storage);
        let id = self.slots.len() as NodeId;
        self.start(id);
        id
    }

    fn push_slot(&mut self, storage: MemStorage<M::Command>) -> &mut Slot<M> {
        self.slots.push(Slot {
            node: None,
            storage,
            incarnation: 0,
            batches: VecDeque::new(),
            last_write_done_ms: 0,
            timer_at: None,
            seen: Seen::default(),
            durable: Durable::default(),
            retired: false,
        });
        let last = self.slots.len() - 1;
        &mut self.slots[last]
    }

    // ----- reading --------------------------------------------------------------

    pub fn config(&self) -> &SimConfig {
        &self.cfg
    }
    pub fn now_ms(&self) -> u64 {
        self.now_ms
    }
    /// The servers running or able to restart: every node ever started except
    /// those removed and shut down. Ids are never reused.
    pub fn node_ids(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| !s.retired)
            .map(|(i, _)| i as NodeId + 1)
    }

    /// The configuration committed last (at the highest commit index seen).
    pub fn committed_config(&self) -> &Membership {
        &self.committed_config.1
    }

    /// Removed servers not yet shut down, with the virtual time they will be.
    pub fn retiring(&self) -> &BTreeMap<NodeId, u64> {
        &self.retiring
    }

    /// A snapshot that could not be restored, if any (the checker reports it).
    pub fn snapshot_fault(&self) -> Option<&(u64, String)> {
        self.snapshot_fault.as_ref()
    }

    /// A leader deposed by a server outside its configuration, if any (the
    /// checker reports it).
    pub fn disruption(&self) -> Option<&(u64, String)> {
        self.disruption.as_ref()
    }
    pub fn node(&self, id: NodeId) -> Option<NodeView<'_, M>> {
        let slot = self.slots.get(id.checked_sub(1)? as usize)?;
        Some(NodeView {
            id,
            node: slot.node.as_ref(),
            incarnation: slot.incarnation,
            batches: &slot.batches,
            storage: &slot.storage,
            durable: slot.durable,
        })
    }
    /// The node that is leader in the highest term, if any node is leader.
    pub fn leader(&self) -> Option<NodeId> {
        self.slots
            .iter()
            .filter_map(|s| s.node.as_ref())
            .filter(|n| n.raft().role() == Role::Leader)
            .max_by_key(|n| n.raft().term())
            .map(|n| n.raft().id())
    }
    pub fn in_flight(&self) -> impl Iterator<Item = &InFlight<M::Command>> {
        self.in_flight.iter()
    }
    pub fn is_cut(&self, from: NodeId, to: NodeId) -> bool {
        self.cut.contains(&(from, to))
    }
    pub fn cut_links(&self) -> &BTreeSet<(NodeId, NodeId)> {
        &self.cut
    }
    pub fn stats(&self) -> &Stats {
        &self.stats
    }
    /// Client requests, in order of submission (the latest [`RECORD_WINDOW`] or
    /// more, and every open one).
    pub fn history(&self) -> &Records<ClientRecord> {
        &self.history
    }
    /// What the replicas applied, (node, record), in order: every record of
    /// the last step, and at least [`APPLIED_WINDOW`] before (a checker called
    /// after every step sees each one). A node that restarts from a snapshot
    /// records it first.
    pub fn applied(&self) -> &Records<(Applied, NodeId)> {
        &self.applied
    }
    /// Acknowledged requests: (client, seq, index), in order of acknowledgement.
    pub fn acks(&self) -> &Records<(ClientId, u64, Index)> {
        &self.acks
    }
    /// Requests reported as never to commit: (client, seq, node), in order.
    pub fn nevers(&self) -> &Records<(ClientId, u64, NodeId)> {
        &self.nevers
    }
    /// Whether a report that `(client, seq)` will never commit still stands.
    pub fn never_promised(&self, client: ClientId, seq: u64) -> bool {
        self.never_promised.contains_key(&(client, seq))
    }
    /// Linearizable reads, in order of invocation; read `id` is at position `id - 1`.
    pub fn reads(&self) -> &Records<ReadRecord> {
        &self.reads
    }
    pub fn read_record(&self, read_id: u64) -> Option<&ReadRecord> {
        self.reads.get(read_id.checked_sub(1)?)
    }

    /// §6.4: a linearizable read of the chat through node `id`. Returns the read's
    /// id; it ends with a `ReadDone` event.
    pub fn read(&mut self, id: NodeId) -> Result<u64, String> {
        self.check_id(id)?;
        let read_id = self.reads.end() + 1;
        self.reads.push(ReadRecord {
            node: id,
            read_id,
            invoke_ms: self.now_ms,
            acked_before: self.highest_ack,
            outcome: None,
        });
        self.emit(EventKind::ReadStarted { node: id, read_id });
        let now = self.now_ms;
        match self.slots[id as usize - 1].node.as_mut() {
            Some(node) => {
                let batch = node.read(now, read_id);
                self.process(id, batch);
            }
            None => {
                let report = ReadReport {
                    read_id,
                    started_ms: now,
                    outcome: ReadOutcome::Failed("the node is down".into()),
                };
                self.report_reads(id, vec![report]);
            }
        }
        Ok(read_id)
    }

    #[inline]
    fn report_reads(&mut self, id: NodeId, reports: Vec<ReadReport>) {
        if reports.is_empty() {
            return; // (most inputs)
        }
        for r in reports {
            let latency_ms = self.now_ms - r.started_ms;
            if let Some(rec) = self.reads.get_mut(r.read_id - 1) {
                rec.outcome = Some(r.outcome.clone());
            }
            self.reads.trim(|r| r.outcome.is_some());
            self.emit(EventKind::ReadDone {
                node: id,
                read_id: r.read_id,
                outcome: r.outcome,
                latency_ms,
            });
        }
    }

    /// The first breach of persist-before-send, if any: (virtual ms, what).
    /// Checked on every message the simulator releases.
    pub fn unsafe_send(&self) -> Option<&(u64, String)> {
        self.unsafe_send.as_ref()
    }

    /// The virtual time of the next scheduled event.
    pub fn next_event_ms(&self) -> Option<u64> {
        self.queue.peek().map(Queued::at_ms)
    }

    /// Turns event recording off (benchmarks) or on.
    pub fn set_record_events(&mut self, on: bool) {
        self.record_events = on;
    }
    /// The events recorded since the last call.
    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    // ----- running --------------------------------------------------------------

    /// Processes the next scheduled event. Returns false if there is none, or if
    /// the next one is the completion of a write the driver has not yet made
    /// durable ([`Simulator::waiting_for_disk`]): virtual time then waits for it.
    pub fn step(&mut self) -> bool {
        // The previous step's records stay for the checker; older ones go.
        self.applied.trim(|_| true);
        if let Some((node, handed_out)) = self.next_unconfirmed_write() {
            if !handed_out {
                self.hand_out(node);
            }
            return false;
        }
        let Some(queued) = self.queue.pop() else {
            return false;
        };
        let (at, what) = (queued.at_ms(), queued.what);
        self.now_ms = self.now_ms.max(at);
        match what {
            Scheduled::Deliver(id) => self.deliver(id),
            Scheduled::Timer { node, incarnation } => {
                let slot = &mut self.slots[node as usize - 1];
                if slot.incarnation == incarnation && slot.timer_at == Some(at) {
                    slot.timer_at = None;
                    match slot.node.as_mut() {
                        // The deadline moved later since (a follower heard its
                        // leader): set the timer again, nothing to tick yet.
                        Some(n) if n.next_deadline_ms() > self.now_ms => {
                            self.reschedule_timer(node)
                        }
                        Some(n) => {
                            let batch = n.tick(self.now_ms);
                            self.process(node, batch);
                        }
                        None => {}
                    }
                }
            }
            Scheduled::WriteDone { node, incarnation } => {
                if self.slots[node as usize - 1].incarnation == incarnation {
                    self.write_done(node);
                }
            }
            Scheduled::Retire { node } => self.retire(node),
        }
        true
    }

    /// Runs every event scheduled up to `t_ms`, then sets the clock to `t_ms` —
    /// or stops at a write still waiting for the driver's disk.
    pub fn run_until(&mut self, t_ms: u64) {
        while let Some(next) = self.next_event_ms().filter(|&t| t <= t_ms) {
            if !self.step() {
                self.now_ms = self.now_ms.max(next);
                return;
            }
        }
        self.now_ms = self.now_ms.max(t_ms);
    }

    /// The node whose durable write the run is waiting for, if any.
    pub fn waiting_for_disk(&self) -> Option<NodeId> {
        self.next_unconfirmed_write()
            .filter(|&(_, handed_out)| handed_out)
            .map(|(node, _)| node)
    }

    /// The next event, if it is the completion of a write the driver has not
    /// confirmed: its node, and whether the write was handed out yet.
    fn next_unconfirmed_write(&self) -> Option<(NodeId, bool)> {
        let Queued {
            what: Scheduled::WriteDone { node, incarnation },
            ..
        } = self.queue.peek()?
        else {
            return None;
        };
        let slot = &self.slots[*node as usize - 1];
        let head = slot.batches.front().filter(|b| !b.confirmed)?;
        (slot.incarnation == *incarnation).then_some((*node, head.handed_out))
    }

    /// Lets the driver make durable writes (IndexedDB). A write is handed out
    /// by [`Simulator::take_disk_writes`] when virtual time reaches the moment
    /// it completes, and virtual time waits there until it is confirmed: the
    /// driver's disk never holds a write before the simulation says it is
    /// durable, and a crash loses exactly the writes not yet reached. Turning
    /// it off confirms every write still pending; turning it on leaves the
    /// writes still pending (made while it was off, or by a checkpoint's
    /// re-simulation) to the driver.
    pub fn set_external_disk(&mut self, on: bool) {
        if on && !self.external_disk {
            for slot in &mut self.slots {
                for b in slot.batches.iter_mut().filter(|b| !b.write.is_empty()) {
                    b.confirmed = false;
                    b.handed_out = false;
                }
            }
        }
        self.external_disk = on;
        if !on {
            self.disk_outbox.clear();
            for slot in &mut self.slots {
                for b in &mut slot.batches {
                    b.confirmed = true;
                }
            }
        }
    }

    /// Virtual time has reached the completion of node `node`'s next write:
    /// hand it to the driver (once).
    fn hand_out(&mut self, node: NodeId) {
        let slot = &mut self.slots[node as usize - 1];
        let incarnation = slot.incarnation;
        if let Some(b) = slot.batches.front_mut().filter(|b| !b.handed_out) {
            b.handed_out = true;
            self.disk_outbox.push(DiskWrite {
                node,
                incarnation,
                write_id: b.write_id,
                write: b.write.clone(),
            });
        }
    }

    /// Writes for the driver to make durable, in order (external disk mode).
    pub fn take_disk_writes(&mut self) -> Vec<DiskWrite<M::Command>> {
        std::mem::take(&mut self.disk_outbox)
    }

    /// The driver reports a write durable. Writes of an earlier life of the node
    /// (before a crash) are ignored.
    pub fn confirm_write(&mut self, node: NodeId, incarnation: u32, write_id: u64) {
        let Some(slot) = self.slots.get_mut(node.wrapping_sub(1) as usize) else {
            return;
        };
        if slot.incarnation != incarnation {
            return;
        }
        if let Some(b) = slot.batches.iter_mut().find(|b| b.write_id == write_id) {
            b.confirmed = true;
        }
    }

    /// Applies a command at the current virtual time.
    pub fn apply(&mut self, command: Command<M::Command>) -> Result<(), String> {
        match command {
            Command::Crash(id) => self.crash(id),
            Command::Restart(id) => self.restart(id),
            Command::TimeoutNow(id) => self.timeout_now(id),
            Command::Cut(from, to) => self.cut_link(from, to),
            Command::Heal(from, to) => self.heal_link(from, to),
            Command::Isolate(id) => self.isolate(id),
            Command::HealAll => {
                self.heal_all();
                Ok(())
            }
            Command::DropMessage(id) => self.drop_message(id),
            Command::SetNet(net) => self.set_net(net),
            Command::Submit(id, request) => self.submit(id, request),
            Command::TransferLeadership(id) => self.transfer_leadership(id),
            Command::AddNode => self.add_node().map(|_| ()),
            Command::RemoveNode(id) => self.remove_node(id),
            Command::Compact(id) => self.compact(id),
        }
    }

    /// Thesis §4.2: starts a new server (empty log, no configuration) and asks
    /// the leader to add it. It catches up as a learner, then becomes a voter.
    pub fn add_node(&mut self) -> Result<NodeId, String> {
        let active = self.node_ids().count() as u32;
        if active >= MAX_NODES {
            return Err(format!("a cluster has at most {MAX_NODES} nodes"));
        }
        let leader = self
            .leader()
            .ok_or("no leader: membership changes go through the leader")?;
        let id = self.slots.len() as NodeId + 1;
        let now = self.now_ms;
        let node = self.slots[leader as usize - 1]
            .node
            .as_mut()
            .ok_or("the leader is down")?;
        let batch = node.change_membership(now, ConfChange::Add(id))?;
        let new = self.add_slot(MemStorage::new(Membership::default()));
        debug_assert_eq!(new, id);
        self.stats.nodes_added += 1;
        self.emit(EventKind::NodeAdded { node: id });
        self.process(leader, batch);
        Ok(id)
    }

    /// Thesis §4.2: asks the leader to remove server `id`. Once the removal has
    /// committed, the server is shut down after a while (four election
    /// timeouts): until then it may try to disrupt the cluster (§4.2.3).
    pub fn remove_node(&mut self, id: NodeId) -> Result<(), String> {
        self.check_id(id)?;
        let leader = self
            .leader()
            .ok_or("no leader: membership changes go through the leader")?;
        let now = self.now_ms;
        let node = self.slots[leader as usize - 1]
            .node
            .as_mut()
            .ok_or("the leader is down")?;
        if !node.raft().membership().is_member(id) && !self.joined.contains(&id) {
            // Started to join, but its addition was lost with a former leader.
            self.retire(id);
            return Ok(());
        }
        let batch = node.change_membership(now, ConfChange::Remove(id))?;
        self.process(leader, batch);
        Ok(())
    }

    /// Node `id` snapshots its state machine and compacts its log now.
    pub fn compact(&mut self, id: NodeId) -> Result<(), String> {
        self.check_id(id)?;
        let node = self.slots[id as usize - 1]
            .node
            .as_mut()
            .ok_or_else(|| format!("node {id} is down"))?;
        let batch = node.compact_now()?;
        self.process(id, batch);
        Ok(())
    }

    /// Shuts a removed server down for good.
    fn retire(&mut self, id: NodeId) {
        self.retiring.remove(&id);
        let Some(slot) = self.slots.get((id as usize).wrapping_sub(1)) else {
            return;
        };
        if slot.retired {
            return;
        }
        if slot.node.is_some() {
            let _ = self.crash(id);
        }
        self.slots[id as usize - 1].retired = true;
        self.cut.retain(|&(a, b)| a != id && b != id);
        self.stats.nodes_retired += 1;
        self.emit(EventKind::NodeRetired { node: id });
    }

    pub fn crash(&mut self, id: NodeId) -> Result<(), String> {
        self.check_id(id)?;
        let slot = &mut self.slots[id as usize - 1];
        let Some(mut node) = slot.node.take() else {
            return Err(format!("node {id} is already down"));
        };
        let failed_reads = node.crash_reads();
        // Volatile state and every write not yet durable are lost.
        let lost_writes = writes_in(&slot.batches);
        slot.batches.clear();
        self.disk_outbox.retain(|w| w.node != id);
        slot.incarnation += 1;
        slot.timer_at = None;
        slot.seen = Seen::default();
        self.stats.crashes += 1;
        self.emit(EventKind::Crashed {
            node: id,
            lost_writes,
        });
        let reports = node.crash();
        self.report(id, reports);
        self.report_reads(id, failed_reads);
        Ok(())
    }

    /// Restarts a crashed node from what its storage holds.
    pub fn restart(&mut self, id: NodeId) -> Result<(), String> {
        self.check_id(id)?;
        if self.slots[id as usize - 1].node.is_some() {
            return Err(format!("node {id} is already up"));
        }
        self.start(id);
        if self.slots[id as usize - 1].node.is_some() {
            self.stats.restarts += 1;
            Ok(())
        } else {
            Err(format!("node {id} could not be restarted from its storage"))
        }
    }

    /// Restarts a crashed node from `persisted` — what the driver read back from
    /// its disk — which also becomes the simulator's copy of that disk.
    pub fn restart_from(
        &mut self,
        id: NodeId,
        persisted: crate::storage::PersistedState<M::Command>,
    ) -> Result<(), String> {
        self.check_id(id)?;
        if self.slots[id as usize - 1].node.is_some() {
            return Err(format!("node {id} is already up"));
        }
        self.slots[id as usize - 1].storage = MemStorage::from_state(persisted);
        self.restart(id)
    }

    pub fn timeout_now(&mut self, id: NodeId) -> Result<(), String> {
        self.check_id(id)?;
        let now = self.now_ms;
        let Some(node) = self.slots[id as usize - 1].node.as_mut() else {
            return Err(format!("node {id} is down"));
        };
        let batch = node.timeout_now(now);
        self.emit(EventKind::ElectionTimeoutForced { node: id });
        self.process(id, batch);
        Ok(())
    }

    pub fn cut_link(&mut self, from: NodeId, to: NodeId) -> Result<(), String> {
        self.check_link(from, to)?;
        if self.cut.insert((from, to)) {
            self.emit(EventKind::LinkCut { from, to });
        }
        Ok(())
    }

    pub fn heal_link(&mut self, from: NodeId, to: NodeId) -> Result<(), String> {
        self.check_link(from, to)?;
        if self.cut.remove(&(from, to)) {
            self.emit(EventKind::LinkHealed { from, to });
        }
        Ok(())
    }

    pub fn isolate(&mut self, id: NodeId) -> Result<(), String> {
        self.check_id(id)?;
        for other in self.node_ids().filter(|&o| o != id).collect::<Vec<_>>() {
            self.cut_link(id, other)?;
            self.cut_link(other, id)?;
        }
        Ok(())
    }

    pub fn heal_all(&mut self) {
        for (from, to) in std::mem::take(&mut self.cut) {
            self.emit(EventKind::LinkHealed { from, to });
        }
    }

    pub fn drop_message(&mut self, id: u64) -> Result<(), String> {
        let m = self
            .in_flight
            .remove(id)
            .ok_or_else(|| format!("message {id} is not in flight"))?;
        self.dropped(id, &m.message, DropReason::ByUser);
        Ok(())
    }

    /// Hold mode on: every message sent from now on waits on its link until
    /// the user delivers ([`Simulator::deliver_now`]), drops or duplicates
    /// it; timers still run. Off: the messages still held set out, each
    /// with the network's latency from now (loss and duplication as usual
    /// for messages sent later).
    pub fn set_hold(&mut self, on: bool) {
        self.hold = on;
        if on {
            return;
        }
        let held: Vec<u64> = self
            .in_flight
            .iter()
            .filter(|m| m.held)
            .map(|m| m.id)
            .collect();
        for id in held {
            let deliver_ms = self.now_ms
                + self
                    .rng
                    .uniform(self.cfg.net.latency_min_ms, self.cfg.net.latency_max_ms);
            if let Some(m) = self.in_flight.get_mut(id) {
                m.held = false;
                m.sent_ms = self.now_ms;
                m.deliver_ms = deliver_ms;
            }
            self.schedule(deliver_ms, Scheduled::Deliver(id));
        }
    }

    /// Whether new messages are held ([`Simulator::set_hold`]).
    pub fn holding(&self) -> bool {
        self.hold
    }

    /// The held message sent first, if any ("deliver next").
    pub fn next_held(&self) -> Option<u64> {
        self.in_flight.iter().find(|m| m.held).map(|m| m.id)
    }

    /// Delivers held message `id` now.
    pub fn deliver_now(&mut self, id: u64) -> Result<(), String> {
        match self.in_flight.get(id) {
            Some(m) if m.held => {}
            Some(_) => return Err(format!("message {id} is not held: it arrives by itself")),
            None => return Err(format!("message {id} is not in flight")),
        }
        self.deliver(id);
        Ok(())
    }

    /// Puts a second copy of message `id` on its link (a duplicate, as a
    /// network may make): held if the original is, else arriving with it.
    pub fn duplicate_message(&mut self, id: u64) -> Result<(), String> {
        let m = self
            .in_flight
            .get(id)
            .ok_or_else(|| format!("message {id} is not in flight"))?;
        let copy = InFlight {
            id: self.next_message_id,
            ..m.clone()
        };
        self.next_message_id += 1;
        self.stats.messages_sent += 1;
        self.emit_sent(
            copy.id,
            &copy.message,
            (!copy.held).then_some(copy.deliver_ms),
            copy.held,
        );
        let (copy_id, held, deliver_ms) = (copy.id, copy.held, copy.deliver_ms);
        self.in_flight.insert(copy);
        if !held {
            self.schedule(deliver_ms, Scheduled::Deliver(copy_id));
        }
        Ok(())
    }

    /// §3.10: the current leader hands leadership to `target`.
    pub fn transfer_leadership(&mut self, target: NodeId) -> Result<(), String> {
        self.check_id(target)?;
        let leader = self.leader().ok_or("there is no leader to hand over")?;
        if self.slots[target as usize - 1].node.is_none() {
            return Err(format!("node {target} is down"));
        }
        let now = self.now_ms;
        let node = self.slots[leader as usize - 1]
            .node
            .as_mut()
            .ok_or("the leader is down")?;
        let batch = node.transfer_leadership(now, target)?;
        self.emit(EventKind::TransferStarted {
            from: leader,
            to: target,
        });
        self.process(leader, batch);
        Ok(())
    }

    /// Turns PreVote and CheckQuorum on or off, on every node (and on restarts).
    pub fn set_options(&mut self, pre_vote: bool, check_quorum: bool) {
        self.cfg.pre_vote = pre_vote;
        self.cfg.check_quorum = check_quorum;
        let now = self.now_ms;
        for id in self.node_ids().collect::<Vec<_>>() {
            if let Some(node) = self.slots[id as usize - 1].node.as_mut() {
                node.set_options(now, pre_vote, check_quorum);
            }
            self.reschedule_timer(id);
        }
    }

    /// Switches rules off (or back on) on every node from now on ([`crate::bugs`]).
    pub fn set_bugs(&mut self, bugs: BugSet) {
        self.cfg.bugs = bugs;
        for slot in &mut self.slots {
            if let Some(node) = slot.node.as_mut() {
                node.set_bugs(bugs);
            }
        }
    }

    pub fn set_net(&mut self, net: NetConfig) -> Result<(), String> {
        net.validate()?;
        self.cfg.net = net;
        Ok(())
    }

    /// A client submits `request` through node `id`. Through a down node it fails
    /// at once.
    pub fn submit(&mut self, id: NodeId, request: Request<M::Command>) -> Result<(), String> {
        self.submit_many(id, vec![request])
    }

    /// Several requests arrive at node `id` together (a leader batches them).
    pub fn submit_many(
        &mut self,
        id: NodeId,
        requests: Vec<Request<M::Command>>,
    ) -> Result<(), String> {
        self.check_id(id)?;
        let now = self.now_ms;
        for r in &requests {
            // Submitted again: an earlier "never commits" was about the copies
            // handed out before; this one may commit.
            if !self.never_promised.is_empty() {
                self.never_promised.remove(&(r.client, r.seq));
            }
            let key = (id, r.client, r.seq);
            if let std::collections::hash_map::Entry::Vacant(slot) = self.open_requests.entry(key) {
                slot.insert(self.history.end());
                self.history.push(ClientRecord {
                    node: id,
                    client: r.client,
                    seq: r.seq,
                    invoke_ms: now,
                    outcome: None,
                    complete_ms: None,
                });
            }
            let (client, seq) = (r.client, r.seq);
            self.emit(EventKind::ClientSubmitted {
                node: id,
                client,
                seq,
            });
        }
        match self.slots[id as usize - 1].node.as_mut() {
            Some(node) => {
                let batch = node.submit_many(now, requests);
                self.process(id, batch);
            }
            None => {
                let reports = requests
                    .iter()
                    .map(|r| ClientReport {
                        client: r.client,
                        seq: r.seq,
                        submitted_ms: now,
                        outcome: Outcome::Failed(FailReason::NodeCrashed),
                    })
                    .collect();
                self.report(id, reports);
            }
        }
        Ok(())
    }

    // ----- internals ------------------------------------------------------------

    fn check_id(&self, id: NodeId) -> Result<(), String> {
        match self.slots.get((id as usize).wrapping_sub(1)) {
            Some(slot) if !slot.retired => Ok(()),
            Some(_) => Err(format!("node {id} was removed from the cluster")),
            None => {
                let ids: Vec<String> = self.node_ids().map(|i| i.to_string()).collect();
                Err(format!(
                    "there is no node {id} (the nodes are {})",
                    ids.join(", ")
                ))
            }
        }
    }

    fn check_link(&self, from: NodeId, to: NodeId) -> Result<(), String> {
        self.check_id(from)?;
        self.check_id(to)?;
        if from == to {
            return Err(format!("node {from} has no link to itself"));
        }
        Ok(())
    }

    fn emit(&mut self, kind: EventKind) {
        self.stats.events += 1;
        if self.record_events {
            self.events.push(Event {
                at_ms: self.now_ms,
                kind,
            });
        }
    }

    fn schedule(&mut self, at_ms: u64, what: Scheduled) {
        self.queue_seq += 1;
        self.queue.push(Queued::new(at_ms, self.queue_seq, what));
    }

    /// Starts node `id` from its storage (first start and restarts).
    fn start(&mut self, id: NodeId) {
        let slot = &mut self.slots[id as usize - 1];
        let persisted = match slot.storage.load() {
            Ok(p) => p,
            Err(e) => {
                let error = e.to_string();
                self.emit(EventKind::StorageFailed { node: id, error });
                return;
            }
        };
        let seed = mix_seed(self.cfg.seed, id as u64, slot.incarnation as u64 + 1);
        let (term, log_len) = (persisted.hard_state.term, persisted.entries.len() as u64);
        slot.durable = Durable {
            term,
            voted_for: persisted.hard_state.voted_for,
            last_index: persisted.base_index + log_len,
            base_index: persisted.base_index,
        };
        let node = match Node::new(
            self.cfg.raft_config(id, seed),
            persisted,
            self.cfg.request_timeout_ms,
            self.now_ms,
        ) {
            Ok(node) => node,
            Err(error) => {
                self.emit(EventKind::StorageFailed { node: id, error });
                return;
            }
        };
        if let Some(a) = node.restored() {
            self.applied.push((a, id));
        }
        slot.node = Some(node);
        slot.last_write_done_ms = self.now_ms;
        if self.now_ms > 0 || slot.incarnation > 0 {
            self.emit(EventKind::Restarted {
                node: id,
                term,
                log_len,
            });
        }
        self.observe(id);
        self.reschedule_timer(id);
    }

    fn deliver(&mut self, id: u64) {
        let Some(m) = self.in_flight.remove(id) else {
            return; // dropped by hand while in flight
        };
        let (from, to) = (m.message.from, m.message.to);
        if self.cut.contains(&(from, to)) {
            self.dropped(id, &m.message, DropReason::LinkCut);
            return;
        }
        let now = self.now_ms;
        // A node that is down, shut down, or was never started here (a
        // configuration may name a server the driver did not bring back).
        let slot = self.slots.get_mut((to as usize).wrapping_sub(1));
        let Some(node) = slot.and_then(|s| s.node.as_mut()) else {
            self.dropped(id, &m.message, DropReason::NodeDown);
            return;
        };
        let kind = m.message.kind();
        // §4.2.3: a leader is never deposed by a server outside its configuration
        // (a removed server that did not hear of its removal and timed out).
        let outsider_vote = matches!(
            m.message.body,
            MessageBody::RequestVote {
                transfer: false,
                ..
            }
        ) && node.raft().role() == Role::Leader
            && !node.raft().membership().is_member(from);
        let leader_term = node.raft().term();
        // A vote, pre-vote or AppendEntries request: what a "no" is judged on.
        let question = match m.message.body {
            MessageBody::RequestVote {
                last_log_index,
                last_log_term,
                ..
            }
            | MessageBody::PreVote {
                last_log_index,
                last_log_term,
            } => Some(Question::Vote(VoteRequest {
                pre_vote: kind == MessageKind::PreVote,
                term: m.message.term,
                candidate_last: (last_log_index, last_log_term),
                voter_term: node.raft().term(),
                voter_last: (
                    node.raft().log().last_index(),
                    node.raft().log().last_term(),
                ),
            })),
            MessageBody::AppendEntries {
                prev_log_index,
                prev_log_term,
                ..
            } => Some(Question::Append {
                term: m.message.term,
                prev_index: prev_log_index,
                prev_term: prev_log_term,
            }),
            _ => None,
        };
        let batch = node.step(now, m.message);
        let refusal = question.and_then(|q| q.refusal(node.raft(), &batch.messages, from, to));
        if outsider_vote && node.raft().role() != Role::Leader && self.disruption.is_none() {
            self.disruption = Some((
                now,
                format!(
                    "server {from}, outside the configuration, deposed leader {to} of term {leader_term} with a vote request for term {}",
                    node.raft().term()
                ),
            ));
        }
        self.stats.messages_delivered += 1;
        self.emit(EventKind::MessageDelivered { id, from, to, kind });
        if let Some(refusal) = refusal {
            self.emit(refusal);
        }
        self.process(to, batch);
    }

    fn dropped(&mut self, id: u64, m: &Message<M::Command>, reason: DropReason) {
        self.dropped_kind(id, m.from, m.to, m.kind(), reason);
    }

    fn dropped_kind(
        &mut self,
        id: u64,
        from: NodeId,
        to: NodeId,
        kind: MessageKind,
        reason: DropReason,
    ) {
        self.stats.messages_dropped += 1;
        self.emit(EventKind::MessageDropped {
            id,
            from,
            to,
            kind,
            reason,
        });
    }

    /// Takes a node's output: report what ended, queue the batch behind the
    /// node's earlier writes, and turn state changes into events.
    fn process(&mut self, id: NodeId, batch: Batch<M::Command>) {
        let Batch {
            write,
            messages,
            committed,
            ended,
            truncated_from,
            transfer,
            reads,
            snapshot,
            catch_up,
        } = batch;
        self.report_reads(id, reads);
        if let Some(outcome) = catch_up {
            if matches!(outcome, CatchUpOutcome::Promoted { .. }) {
                self.stats.promotions += 1;
            }
            self.emit(EventKind::CatchUpEnded {
                leader: id,
                outcome,
            });
        }
        if let Some(snap) = &write.snapshot {
            let (index, bytes) = (snap.meta.index, snap.data.len() as u64);
            if snapshot.is_some() {
                self.stats.snapshots_installed += 1;
            } else {
                self.stats.snapshots_taken += 1;
            }
            self.emit(if snapshot.is_some() {
                EventKind::SnapshotInstalled {
                    node: id,
                    index,
                    bytes,
                }
            } else {
                EventKind::SnapshotTaken {
                    node: id,
                    index,
                    bytes,
                }
            });
        }
        let leads = self.slots[id as usize - 1]
            .node
            .as_ref()
            .is_some_and(|n| n.raft().role() == Role::Leader);
        for e in write.entries.iter() {
            if let (true, Payload::Config(m)) = (leads, &e.payload) {
                let ev = EventKind::ConfigChanged {
                    leader: id,
                    index: e.index,
                    voters: m.voters.iter().copied().collect(),
                    learners: m.learners.iter().copied().collect(),
                };
                self.stats.config_changes += 1;
                self.emit(ev);
            }
        }
        if let Some(outcome) = transfer {
            self.emit(EventKind::TransferEnded { from: id, outcome });
        }
        self.report(id, ended);
        self.observe(id);
        if let Some(from_index) = truncated_from {
            self.emit(EventKind::LogTruncated {
                node: id,
                from_index,
            });
        }
        if let (Some(first), Some(last)) = (write.entries.first(), write.entries.last()) {
            let (first_index, last_index, term) = (first.index, last.index, last.term);
            self.emit(EventKind::EntriesAppended {
                node: id,
                first_index,
                last_index,
                term,
            });
        }
        let has_write = !write.is_empty();
        let write_id = if has_write {
            self.next_write_id += 1;
            self.next_write_id
        } else {
            0
        };
        let slot = &mut self.slots[id as usize - 1];
        if !has_write && slot.batches.is_empty() {
            // Nothing to wait for: release at once (most messages of a run).
            self.release(id, messages, committed, snapshot);
            self.reschedule_timer(id);
            return;
        }
        slot.batches.push_back(PendingBatch {
            write,
            write_id,
            confirmed: !(has_write && self.external_disk),
            handed_out: false,
            messages,
            committed,
            snapshot,
        });
        if has_write {
            let mut latency = self
                .rng
                .uniform(self.cfg.disk_latency_min_ms, self.cfg.disk_latency_max_ms);
            // (No draw without a tail: runs without one are unchanged.)
            if let Some(tail) = self.cfg.disk_tail {
                if self.rng.chance(tail.chance) {
                    latency += self.rng.uniform(tail.extra_min_ms, tail.extra_max_ms);
                }
            }
            let slot = &mut self.slots[id as usize - 1];
            // A node's writes complete in order.
            let done = (self.now_ms + latency).max(slot.last_write_done_ms);
            slot.last_write_done_ms = done;
            let incarnation = slot.incarnation;
            self.schedule(
                done,
                Scheduled::WriteDone {
                    node: id,
                    incarnation,
                },
            );
        }
        self.reschedule_timer(id);
    }

    /// The write at the head of node `id`'s queue is durable.
    fn write_done(&mut self, id: NodeId) {
        let slot = &mut self.slots[id as usize - 1];
        let Some(head) = slot.batches.pop_front() else {
            return;
        };
        let PendingBatch {
            write,
            messages,
            committed,
            snapshot,
            ..
        } = head;
        let mut d = slot.durable;
        if let Some(snap) = &write.snapshot {
            d.last_index = d.last_index.max(snap.meta.index);
            d.base_index = snap.meta.index;
        }
        if let Some(hs) = write.hard_state {
            (d.term, d.voted_for) = (hs.term, hs.voted_for);
        }
        if let Some(from) = write.truncate_from {
            d.last_index = d.last_index.min(from - 1);
        }
        let done = write.done();
        let last_written = done.last_entry.map(|(index, _)| index);
        if let Some(last) = last_written {
            d.last_index = last;
        }
        // The disk keeps the write's entries (moved, not copied).
        if let Err(e) = slot.storage.write_owned(write) {
            let error = e.to_string();
            self.emit(EventKind::StorageFailed { node: id, error });
            let _ = self.crash(id);
            return;
        }
        slot.durable = d;
        let (last_index, term) = match slot.node.as_ref() {
            Some(n) => (last_written.unwrap_or(0), n.raft().term()),
            None => (0, 0),
        };
        self.emit(EventKind::Persisted {
            node: id,
            last_index,
            term,
        });
        self.release(id, messages, committed, snapshot);
        // The node learns its write is durable (a node that is the only voter
        // wins its election or commits now); what follows queues behind any
        // batch still waiting for its own write.
        if !done.is_empty() {
            let batch = self.slots[id as usize - 1]
                .node
                .as_mut()
                .and_then(|n| n.persisted(done));
            if let Some(batch) = batch {
                self.process(id, batch);
            }
        }
        self.release_ready(id);
    }

    /// Releases queued batches that have no write of their own.
    fn release_ready(&mut self, id: NodeId) {
        while self.slots[id as usize - 1]
            .batches
            .front()
            .is_some_and(|b| b.write.is_empty())
        {
            self.release_head(id);
        }
    }

    /// Sends the head batch's messages and applies its committed entries.
    fn release_head(&mut self, id: NodeId) {
        let Some(batch) = self.slots[id as usize - 1].batches.pop_front() else {
            return;
        };
        self.release(id, batch.messages, batch.committed, batch.snapshot);
    }

    /// Sends a batch's messages and applies its committed entries (its write,
    /// if any, is durable).
    fn release(
        &mut self,
        id: NodeId,
        mut messages: Vec<Message<M::Command>>,
        committed: Vec<Entry<M::Command>>,
        snapshot: Option<Box<Snapshot>>,
    ) {
        for m in messages.drain(..) {
            self.check_durable_before_send(id, &m);
            self.send(m);
        }
        if let Some(node) = self.slots[id as usize - 1].node.as_mut() {
            node.recycle_messages(messages);
        }
        if committed.is_empty() && snapshot.is_none() {
            return;
        }
        let Some(node) = self.slots[id as usize - 1].node.as_mut() else {
            return;
        };
        let mut applied = std::mem::take(&mut self.applied_buffer);
        applied.clear();
        let ended = match node.apply_committed(snapshot.as_deref(), &committed, &mut applied) {
            Ok(ended) => ended,
            Err(error) => {
                // The replica cannot hold what Raft committed: stop the node.
                if self.snapshot_fault.is_none() {
                    self.snapshot_fault = Some((self.now_ms, format!("node {id}: {error}")));
                }
                self.emit(EventKind::StorageFailed { node: id, error });
                let _ = self.crash(id);
                return;
            }
        };
        let served = node.serve_reads();
        self.applied.extend(applied.iter().map(|&a| (a, id)));
        if self.record_events {
            for &a in &applied {
                self.emit(EventKind::EntryApplied {
                    node: id,
                    applied: a,
                });
            }
        } else {
            self.stats.events += applied.len() as u64;
        }
        self.applied_buffer = applied;
        self.report(id, ended);
        self.report_reads(id, served);
        self.reschedule_timer(id);
    }

    fn send(&mut self, message: Message<M::Command>) {
        self.stats.messages_sent += 1;
        if self.hold {
            return self.send_held(message);
        }
        // A duplicated message goes out twice, each copy with its own id, fate
        // and latency (drawn in that order, copy by copy).
        if self.rng.chance(self.cfg.net.duplicate_rate) {
            self.send_copy(message.clone());
        }
        self.send_copy(message);
    }

    /// Puts one copy of a message on the wire (or loses it).
    fn send_copy(&mut self, message: Message<M::Command>) {
        let id = self.next_message_id;
        self.next_message_id += 1;
        let lost = self.rng.chance(self.cfg.net.drop_rate);
        let deliver_ms = self.now_ms
            + self
                .rng
                .uniform(self.cfg.net.latency_min_ms, self.cfg.net.latency_max_ms);
        let (from, to) = (message.from, message.to);
        let cut = self.cut.contains(&(from, to));
        let arrives = !lost && !cut;
        self.emit_sent(id, &message, arrives.then_some(deliver_ms), false);
        if !arrives {
            let reason = if cut {
                DropReason::LinkCut
            } else {
                DropReason::Lost
            };
            self.dropped_kind(id, from, to, message.kind(), reason);
            return;
        }
        self.in_flight.insert(InFlight {
            id,
            sent_ms: self.now_ms,
            deliver_ms,
            held: false,
            message,
        });
        self.schedule(deliver_ms, Scheduled::Deliver(id));
    }

    fn emit_sent(
        &mut self,
        id: u64,
        m: &Message<M::Command>,
        deliver_at_ms: Option<u64>,
        held: bool,
    ) {
        self.emit(EventKind::MessageSent {
            id,
            from: m.from,
            to: m.to,
            kind: m.kind(),
            term: m.term,
            entries: m.entry_count(),
            deliver_at_ms,
            held,
        });
    }

    /// Hold mode: the user is the network. The message waits on its link (no
    /// random loss, duplication or latency) unless the link is cut.
    fn send_held(&mut self, message: Message<M::Command>) {
        let id = self.next_message_id;
        self.next_message_id += 1;
        let (from, to, kind) = (message.from, message.to, message.kind());
        let cut = self.cut.contains(&(from, to));
        self.emit_sent(id, &message, None, !cut);
        if cut {
            self.dropped_kind(id, from, to, kind, DropReason::LinkCut);
            return;
        }
        self.in_flight.insert(InFlight {
            id,
            sent_ms: self.now_ms,
            deliver_ms: self.now_ms,
            held: true,
            message,
        });
    }

    /// Figure 2: persistent state is "updated on stable storage before responding
    /// to RPCs". A message may leave only once its term, a granted vote and the
    /// entries it acknowledges are durable.
    fn check_durable_before_send(&mut self, id: NodeId, m: &Message<M::Command>) {
        if self.unsafe_send.is_some() {
            return;
        }
        let d = self.slots[id as usize - 1].durable;
        // A pre-vote, and a granted pre-vote, carry the term the candidate would
        // stand in: a term no one has entered, so nothing about it is on disk.
        let proposed_term = matches!(
            m.body,
            MessageBody::PreVote { .. } | MessageBody::PreVoteReply { granted: true }
        );
        let breach = if d.term < m.term && !proposed_term {
            Some(format!(
                "node {id} sent a {:?} in term {} with term {} on disk",
                m.kind(),
                m.term,
                d.term
            ))
        } else {
            match m.body {
                MessageBody::RequestVoteReply { granted: true }
                    if (d.term, d.voted_for) != (m.term, Some(m.to)) =>
                {
                    Some(format!(
                        "node {id} granted its vote to {} in term {} with term {} and vote {:?} on disk",
                        m.to, m.term, d.term, d.voted_for
                    ))
                }
                MessageBody::AppendEntriesReply { success: true, match_index, .. }
                    if match_index > d.last_index =>
                {
                    Some(format!(
                        "node {id} acknowledged entries up to {match_index} with {} on disk",
                        d.last_index
                    ))
                }
                MessageBody::InstallSnapshotReply {
                    installed: true,
                    index,
                    ..
                } if index > d.last_index => Some(format!(
                    "node {id} acknowledged a snapshot up to {index} with {} on disk",
                    d.last_index
                )),
                _ => None,
            }
        };
        if let Some(what) = breach {
            self.unsafe_send = Some((self.now_ms, what));
        }
    }

    fn reschedule_timer(&mut self, id: NodeId) {
        let slot = &mut self.slots[id as usize - 1];
        let Some(node) = slot.node.as_ref() else {
            return;
        };
        let at = node.next_deadline_ms().max(self.now_ms);
        // A timer set for an earlier moment stays, and is set again when it
        // fires: a follower's deadline moves later with every heartbeat, and a
        // new timer each time would add an event per message.
        if slot.timer_at.is_none_or(|t| t > at) {
            slot.timer_at = Some(at);
            let incarnation = slot.incarnation;
            self.schedule(
                at,
                Scheduled::Timer {
                    node: id,
                    incarnation,
                },
            );
        }
    }

    #[inline]
    fn report(&mut self, id: NodeId, reports: Vec<ClientReport>) {
        if reports.is_empty() {
            return; // (most inputs)
        }
        for r in reports {
            let latency_ms = self.now_ms - r.submitted_ms;
            if let Some(pos) = self.open_requests.remove(&(id, r.client, r.seq)) {
                if let Some(rec) = self.history.get_mut(pos) {
                    rec.outcome = Some(r.outcome);
                    rec.complete_ms = Some(self.now_ms);
                }
                self.history.trim(|r| r.outcome.is_some());
            }
            match r.outcome {
                Outcome::Committed { index, .. } => {
                    let ack = (r.client, r.seq, index);
                    self.acks.push(ack);
                    self.acks.trim(|_| true);
                    if self.highest_ack.is_none_or(|h| h.2 < index) {
                        self.highest_ack = Some(ack);
                    }
                }
                // The promise covers the request when this node was its only
                // way in: a submission through another node may still commit.
                Outcome::Failed(why)
                    if why.never_commits() && self.sole_submission(id, r.client, r.seq) =>
                {
                    self.nevers.push((r.client, r.seq, id));
                    self.nevers.trim(|_| true);
                    self.never_promised.insert((r.client, r.seq), id);
                }
                Outcome::Failed(_) => {}
            }
            self.emit(EventKind::ClientOutcome {
                node: id,
                client: r.client,
                seq: r.seq,
                outcome: r.outcome,
                latency_ms,
            });
        }
    }

    /// Whether every recorded submission of (`client`, `seq`) went through `id`.
    fn sole_submission(&self, id: NodeId, client: ClientId, seq: u64) -> bool {
        !self
            .history
            .iter()
            .any(|h| h.client == client && h.seq == seq && h.node != id)
    }

    /// A server that was in a committed configuration and is not in the latest
    /// one is shut down after four election timeouts (§4.2.3 says it must not
    /// disrupt the cluster meanwhile).
    fn track_removals(&mut self) {
        let config = self.committed_config.1.clone();
        self.joined.extend(config.members());
        let gone: Vec<NodeId> = self
            .joined
            .iter()
            .copied()
            .filter(|&n| !config.is_member(n) && !self.retiring.contains_key(&n))
            .filter(|&n| {
                // (A configuration read back from a damaged disk may name node 0.)
                let slot = self.slots.get((n as usize).wrapping_sub(1));
                slot.is_some_and(|s| !s.retired)
            })
            .collect();
        let at = self.now_ms + 4 * self.cfg.election_timeout_max_ms;
        for n in gone {
            self.retiring.insert(n, at);
            self.schedule(at, Scheduled::Retire { node: n });
        }
    }

    /// Compares a node with what was last seen of it and emits the differences.
    fn observe(&mut self, id: NodeId) {
        let slot = &mut self.slots[id as usize - 1];
        let Some(node) = slot.node.as_ref() else {
            return;
        };
        let raft = node.raft();
        let seen = slot.seen;
        let now = Seen {
            role: Some(raft.role()),
            term: raft.term(),
            voted_for: raft.voted_for(),
            commit: raft.commit_index(),
        };
        if now == seen {
            // Nothing to report (most inputs): the highest term and commit,
            // and the committed configuration, were taken when first seen.
            return;
        }
        slot.seen = now;
        let mut out = Vec::new();
        if now.term != seen.term {
            out.push(EventKind::TermChanged {
                node: id,
                term: now.term,
            });
        }
        let role = raft.role();
        let campaigning = matches!(role, Role::Candidate | Role::PreCandidate);
        if seen.role != Some(role) || (campaigning && now.term != seen.term) {
            out.push(EventKind::RoleChanged {
                node: id,
                role,
                term: now.term,
            });
            if role == Role::Leader {
                self.stats.leader_changes += 1;
            }
        }
        if let Some(candidate) = now.voted_for {
            if candidate != id && (seen.voted_for != Some(candidate) || seen.term != now.term) {
                out.push(EventKind::VoteGranted {
                    voter: id,
                    candidate,
                    term: now.term,
                });
            }
        }
        self.stats.highest_term = self.stats.highest_term.max(now.term);
        self.stats.highest_commit = self.stats.highest_commit.max(now.commit);
        if now.commit > seen.commit {
            out.push(EventKind::CommitAdvanced {
                node: id,
                commit_index: now.commit,
            });
        }
        if now.commit > self.committed_config.0 {
            let config = raft.log().config_at(now.commit).clone();
            self.committed_config = (now.commit, config);
            self.track_removals();
        }
        for kind in out {
            self.emit(kind);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_event_queue_hands_out_events_in_time_then_schedule_order() {
        // Against a model: a sorted set of (moment, sequence number).
        let mut rng = crate::rng::Rng::new(3);
        let mut queue = EventQueue::default();
        let mut model = BTreeSet::new();
        let mut seq = 0;
        let mut now = 0;
        for round in 0..20_000u64 {
            if rng.below(3) > 0 || model.is_empty() {
                seq += 1;
                // Many events due at the same moment, some far ahead.
                let at = now + [0, 0, 1, 5, 300][rng.below(5)];
                queue.push(Queued::new(at, seq, Scheduled::Deliver(round)));
                model.insert((at, seq, round));
            } else {
                let q = queue.pop().expect("an event");
                let (at, s, id) = model.pop_first().unwrap();
                assert_eq!((q.at_ms(), q.key as u64), (at, s));
                assert!(matches!(q.what, Scheduled::Deliver(d) if d == id));
                now = at;
            }
            assert_eq!(queue.peek().map(Queued::at_ms), model.first().map(|m| m.0));
        }
        while let Some((at, s, _)) = model.pop_first() {
            let q = queue.pop().expect("as many events as the model");
            assert_eq!((q.at_ms(), q.key as u64), (at, s));
        }
        assert!(queue.pop().is_none());
    }
}
