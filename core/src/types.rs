//! The vocabulary of the protocol: ids, terms, indexes, log entries and messages
//! (Raft paper, Figure 2).

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// A server's id. 1-based, as shown on the page.
pub type NodeId = u32;
/// An election term (§5.1). Term 0 is "before any election".
pub type Term = u64;
/// A log index. The first entry has index 1; index 0 is the empty prefix.
pub type Index = u64;
/// Identifies a client session (Raft thesis §6.3).
pub type ClientId = u64;

/// The members of a cluster: voters, and learners (non-voting servers catching
/// up before they become voters, thesis §4.2.1). Carried in log entries
/// ([`Payload::Config`]); a configuration takes effect as soon as it is in a
/// server's log (thesis §4.1).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Membership {
    pub voters: BTreeSet<NodeId>,
    #[serde(default)]
    pub learners: BTreeSet<NodeId>,
}

impl Membership {
    pub fn new(voters: impl IntoIterator<Item = NodeId>) -> Self {
        Membership {
            voters: voters.into_iter().collect(),
            learners: BTreeSet::new(),
        }
    }

    /// Voters and learners: every server the leader replicates to.
    pub fn members(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.voters.union(&self.learners).copied()
    }

    pub fn is_member(&self, id: NodeId) -> bool {
        self.voters.contains(&id) || self.learners.contains(&id)
    }

    /// Votes (or replicas) needed for a majority of the voters.
    pub fn quorum(&self) -> usize {
        self.voters.len() / 2 + 1
    }

    /// Whether `id` is a voter.
    pub fn contains(&self, id: NodeId) -> bool {
        self.voters.contains(&id)
    }

    /// Whether the voters for which `counts` holds make a majority.
    pub fn has_quorum(&self, counts: impl Fn(NodeId) -> bool) -> bool {
        self.voters.iter().filter(|&&v| counts(v)).count() >= self.quorum()
    }
}

/// A client's request: a command of the replicated state machine, tagged with a
/// session so that a retry is applied once (thesis §6.3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request<C> {
    pub client: ClientId,
    pub seq: u64,
    pub command: C,
}

/// What a log entry carries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Payload<C> {
    /// Appended by every new leader at the start of its term, so that it can commit
    /// entries of earlier terms (§5.4.2, §8).
    Noop,
    /// A client's command for the state machine. Shared, not copied, as the
    /// entry travels through logs, messages, disks and replicas. `Rc`, not
    /// `Arc`: a simulation runs on one thread (that is what makes it
    /// deterministic), and atomic reference counts cost about a third of the
    /// load benchmark's time.
    Command(std::rc::Rc<Request<C>>),
    /// A new cluster configuration; it takes effect as soon as it is appended.
    /// Boxed: rare, and an entry's size is paid by every entry in every log.
    Config(Box<Membership>),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry<C> {
    pub index: Index,
    pub term: Term,
    pub payload: Payload<C>,
}

/// What a snapshot covers (thesis chapter 5): the log up to `index` (whose
/// entry had `term`), and the configuration in effect at that index.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotMeta {
    pub index: Index,
    pub term: Term,
    pub config: Membership,
}

/// A snapshot of the replicated state machine (and its client sessions),
/// replacing the log prefix it covers. `data` is opaque to Raft; it is shared,
/// not copied, between the node, its disk and the messages that carry it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub meta: SnapshotMeta,
    pub data: std::sync::Arc<[u8]>,
}

/// A change of membership, one server at a time (thesis §4.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConfChange {
    /// Add a server: it joins as a learner, catches up, then becomes a voter.
    Add(NodeId),
    /// Remove a server (voter or learner).
    Remove(NodeId),
}

/// Where a rejected AppendEntries tells the leader to go back to (the "fast
/// back-off" of §5.3): the term of the conflicting entry and the first index the
/// follower holds for that term, or just the follower's next free index when its
/// log is too short.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConflictHint {
    pub term: Option<Term>,
    pub index: Index,
    /// When the log is too short: the prevLogIndex of the earliest batch the
    /// follower keeps for later (see `early`), so that entries `index..=held`
    /// are the hole to fill; `None` when it keeps none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held: Option<Index>,
}

/// The body of a message between servers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MessageBody<C> {
    /// §5.2: invoked by candidates to gather votes.
    RequestVote {
        last_log_index: Index,
        last_log_term: Term,
        /// The election was asked for — by the leader (leadership transfer,
        /// §3.10) or by hand — so voters that hear a leader must not ignore it
        /// (§4.2.3 lease).
        #[serde(default)]
        transfer: bool,
    },
    RequestVoteReply {
        granted: bool,
    },
    /// Thesis §9.6: "would you vote for me?", asked before an election without
    /// changing anyone's term. The message's term is the term the sender would
    /// stand in (its own plus one).
    PreVote {
        last_log_index: Index,
        last_log_term: Term,
    },
    /// Granted: carries the proposed term. Refused: the receiver's own term.
    PreVoteReply {
        granted: bool,
    },
    /// §5.3: invoked by the leader to replicate entries; empty entries make a heartbeat.
    AppendEntries {
        prev_log_index: Index,
        prev_log_term: Term,
        entries: Vec<Entry<C>>,
        leader_commit: Index,
    },
    AppendEntriesReply {
        /// `prev_log_index` of the request this answers; lets the leader recognise
        /// a stale (reordered or duplicated) rejection.
        prev_log_index: Index,
        success: bool,
        /// On success: the index of the last entry now known to match the leader's.
        match_index: Index,
        /// On failure: where to back off to.
        hint: Option<ConflictHint>,
    },
    /// Figure 13: the leader sends a snapshot, in chunks, to a follower whose
    /// next entry it has compacted away. `offset` is where `data` goes in the
    /// snapshot of `total_bytes` bytes; `done` marks the last chunk.
    InstallSnapshot {
        /// Boxed: the rest of the messages are small, and every message is
        /// moved about a few times on its way.
        meta: Box<SnapshotMeta>,
        offset: u64,
        total_bytes: u64,
        data: Vec<u8>,
        done: bool,
    },
    /// Acknowledges the chunks of the snapshot at `index` up to `next_offset`;
    /// `installed`: the follower now holds the log up to `index`.
    InstallSnapshotReply {
        index: Index,
        next_offset: u64,
        installed: bool,
    },
    /// A follower hands a client request to the leader it knows.
    Forward {
        request: Request<C>,
    },
    /// §3.10: the leader hands over: the receiver starts an election at once.
    TimeoutNow,
    /// §6.4 ReadIndex: a follower asks the leader for a read index.
    ReadIndexRequest {
        read_id: u64,
    },
    /// The read index, once the leader has confirmed it still leads; `None`:
    /// refused (not the leader, or it stepped down first).
    ReadIndexReply {
        read_id: u64,
        index: Option<Index>,
    },
    /// §6.4: the leader confirms it still leads with a round of heartbeats.
    ReadHeartbeat {
        round: u64,
    },
    ReadHeartbeatReply {
        round: u64,
    },
    /// The leader appended a forwarded request to its log.
    ForwardAccepted {
        client: ClientId,
        seq: u64,
    },
    /// The receiver of a [`MessageBody::Forward`] is not the leader (any more).
    ForwardRejected {
        client: ClientId,
        seq: u64,
    },
}

/// A message between servers. Every message carries the sender's current term (§5.1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message<C> {
    pub from: NodeId,
    pub to: NodeId,
    pub term: Term,
    pub body: MessageBody<C>,
}

/// A short classification of messages, used by the event stream and the interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum MessageKind {
    RequestVote,
    VoteGranted,
    VoteRejected,
    PreVote,
    PreVoteGranted,
    PreVoteRejected,
    Heartbeat,
    AppendEntries,
    AppendAccepted,
    AppendRejected,
    Forward,
    ForwardAccepted,
    ForwardRejected,
    TimeoutNow,
    ReadIndex,
    ReadHeartbeat,
    InstallSnapshot,
    SnapshotAck,
}

impl<C> Message<C> {
    /// How many log entries it carries (AppendEntries; 0 for the others).
    pub fn entry_count(&self) -> usize {
        match &self.body {
            MessageBody::AppendEntries { entries, .. } => entries.len(),
            _ => 0,
        }
    }

    pub fn kind(&self) -> MessageKind {
        match &self.body {
            MessageBody::RequestVote { .. } => MessageKind::RequestVote,
            MessageBody::RequestVoteReply { granted: true } => MessageKind::VoteGranted,
            MessageBody::RequestVoteReply { granted: false } => MessageKind::VoteRejected,
            MessageBody::PreVote { .. } => MessageKind::PreVote,
            MessageBody::PreVoteReply { granted: true } => MessageKind::PreVoteGranted,
            MessageBody::PreVoteReply { granted: false } => MessageKind::PreVoteRejected,
            MessageBody::AppendEntries { entries, .. } if entries.is_empty() => {
                MessageKind::Heartbeat
            }
            MessageBody::AppendEntries { .. } => MessageKind::AppendEntries,
            MessageBody::AppendEntriesReply { success: true, .. } => MessageKind::AppendAccepted,
            MessageBody::AppendEntriesReply { success: false, .. } => MessageKind::AppendRejected,
            MessageBody::Forward { .. } => MessageKind::Forward,
            MessageBody::ForwardAccepted { .. } => MessageKind::ForwardAccepted,
            MessageBody::TimeoutNow => MessageKind::TimeoutNow,
            MessageBody::ReadIndexRequest { .. } | MessageBody::ReadIndexReply { .. } => {
                MessageKind::ReadIndex
            }
            MessageBody::ReadHeartbeat { .. } | MessageBody::ReadHeartbeatReply { .. } => {
                MessageKind::ReadHeartbeat
            }
            MessageBody::ForwardRejected { .. } => MessageKind::ForwardRejected,
            MessageBody::InstallSnapshot { .. } => MessageKind::InstallSnapshot,
            MessageBody::InstallSnapshotReply { .. } => MessageKind::SnapshotAck,
        }
    }
}

/// A server's role (§5.1, Figure 4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Role {
    Follower,
    /// Asking for pre-votes before standing for election (PreVote, thesis §9.6).
    PreCandidate,
    Candidate,
    Leader,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Follower => "follower",
            Role::PreCandidate => "pre-candidate",
            Role::Candidate => "candidate",
            Role::Leader => "leader",
        }
    }
}

/// Why a client request did not commit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FailReason {
    /// No commit within the request timeout. The entry may still commit later.
    TimedOut,
    /// The node holding the request crashed.
    NodeCrashed,
    /// No leader was known and the node's queue of waiting requests was full.
    QueueFull,
    /// This node appended the request as leader, lost leadership, and another
    /// entry committed at that index; the node handed out no other copy of it
    /// (it never forwarded it, nor appended it twice): this submission will
    /// never commit (a copy submitted through another node still may).
    Overwritten,
    /// The node was removed from the cluster.
    NodeRemoved,
    /// The request is older than its client's session remembers (thesis §6.3):
    /// it was not applied now; whether an earlier copy was cannot be told.
    SessionExpired,
}

impl FailReason {
    /// Whether this outcome promises that the request will never commit (the
    /// checker holds every such promise to it).
    pub fn never_commits(self) -> bool {
        matches!(self, FailReason::Overwritten)
    }
}

impl std::fmt::Display for FailReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FailReason::TimedOut => "timed out (it may still commit later)",
            FailReason::NodeCrashed => "the node crashed",
            FailReason::QueueFull => "no leader known and the waiting queue is full",
            FailReason::Overwritten => {
                "the node lost leadership and another entry committed in its place: this submission will never commit"
            }
            FailReason::NodeRemoved => "the node was removed from the cluster",
            FailReason::SessionExpired => {
                "too old: the client's session no longer remembers it, so it was not applied again (an earlier copy may have been)"
            }
        })
    }
}

/// How a client request ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// Applied at `index` (the first time: a retry reports the original index).
    Committed {
        index: Index,
        term: Term,
    },
    Failed(FailReason),
}

/// A number as an error message quotes it: as written when it is of everyday
/// size, in exponent form when it is not (`1e300`, not three hundred digits).
pub fn quoted_number(x: f64) -> String {
    if x == 0.0 || (1e-6..1e15).contains(&x.abs()) {
        format!("{x}")
    } else {
        format!("{x:e}")
    }
}
