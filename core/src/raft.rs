//! The Raft state machine, sans IO (the structure follows etcd's `raft.go`).
//!
//! Inputs: [`Raft::step`] (a message), [`Raft::tick`] (virtual time has passed),
//! [`Raft::propose`] (a client request). After any input, [`Raft::take_ready`]
//! hands out one [`Ready`] batch: what must be made durable, the messages to send,
//! the entries newly committed.
//!
//! The driver's contract: a batch's write is made durable before any of its
//! messages leave and before its committed entries are applied, a node's
//! batches are released in order, and each completed write is reported back
//! ([`Raft::persisted`]). A node counts itself only for what its disk holds: a
//! candidate its own vote once its term and vote are durable, a leader its own
//! log toward a quorum as far as it is durable (thesis §10.2.1: the leader may
//! write in parallel with replicating, but its own copy counts once durable).
//! With other voters this changes nothing — their votes and acknowledgements
//! answer messages that left after the node's own write — but a node that is
//! the only voter would otherwise lead a term and commit entries that no disk
//! holds, which a crash then erases: after a restart it could lead the same
//! term again, with other entries at the same indexes.
//!
//! Every rule of the paper's Figure 2 is named where it is enforced.

use crate::bugs::{Bug, BugSet};
use crate::early::EarlyAppends;
use crate::log::RaftLog;
use crate::node_map::NodeMap;
use crate::progress::{Progress, ProgressState};
use crate::rng::Rng;
use crate::storage::{DurableWrite, HardState, PersistedState};
use crate::types::*;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::rc::Rc;
use std::sync::Arc;

/// Thesis §4.2.1: a new server catches up in at most this many rounds.
pub const MAX_CATCH_UP_ROUNDS: u32 = 10;

/// Timing and sizing of one node. Times are virtual milliseconds.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Config {
    pub id: NodeId,
    /// Election timeouts are drawn uniformly from `min ..= max` (§5.2).
    pub election_timeout_min_ms: u64,
    pub election_timeout_max_ms: u64,
    pub heartbeat_interval_ms: u64,
    /// At most this many entries in one AppendEntries.
    pub max_entries_per_append: usize,
    /// Requests a node holds while it knows no leader; more are refused.
    pub max_queued_requests: usize,
    /// Seeds this node's random generator (election timeouts).
    pub seed: u64,
    /// Thesis §9.6: ask for pre-votes before standing for election, so that a
    /// server cut off from the others does not bump its term again and again.
    pub pre_vote: bool,
    /// Thesis §6.2: a leader that has not heard from a majority for an election
    /// timeout steps down; and while a server hears from a leader it ignores
    /// requests to vote (§4.2.3).
    pub check_quorum: bool,
    /// InstallSnapshot sends snapshots in chunks of at most this many bytes.
    pub snapshot_chunk_bytes: usize,
    /// A node snapshots its state machine when its log holds at least this many
    /// bytes of applied entries *and* `snapshot_log_ratio` times the size of its
    /// last snapshot (thesis §5.1.1: the threshold scales with the snapshot).
    pub snapshot_min_log_bytes: u64,
    pub snapshot_log_ratio: u64,
    /// Rules broken on purpose ([`crate::bugs`]); none unless a simulation asks.
    pub bugs: BugSet,
}

impl Config {
    pub fn new(id: NodeId, seed: u64) -> Self {
        Config {
            id,
            election_timeout_min_ms: 150,
            election_timeout_max_ms: 300,
            heartbeat_interval_ms: 50,
            max_entries_per_append: 64,
            max_queued_requests: 64,
            seed,
            pre_vote: false,
            check_quorum: false,
            snapshot_chunk_bytes: 1024,
            snapshot_min_log_bytes: 64 * 1024,
            snapshot_log_ratio: 4,
            bugs: BugSet::initial(),
        }
    }

    pub fn validate(&self) -> Result<(), String> {
        if self.election_timeout_min_ms == 0 || self.heartbeat_interval_ms == 0 {
            return Err("timeouts must be at least 1 ms".into());
        }
        if self.election_timeout_min_ms > self.election_timeout_max_ms {
            return Err(format!(
                "election timeout range {}-{} ms is empty",
                self.election_timeout_min_ms, self.election_timeout_max_ms
            ));
        }
        if self.heartbeat_interval_ms >= self.election_timeout_min_ms {
            return Err(format!(
                "heartbeat interval ({} ms) must be shorter than the election timeout ({} ms), or followers time out under a healthy leader (§5.6)",
                self.heartbeat_interval_ms, self.election_timeout_min_ms
            ));
        }
        if self.max_entries_per_append == 0 {
            return Err("max entries per append must be at least 1".into());
        }
        if self.snapshot_chunk_bytes == 0 {
            return Err("snapshot chunks must hold at least 1 byte".into());
        }
        Ok(())
    }
}

/// What one input produced. See the module documentation for the driver's contract.
#[derive(Clone, Debug, PartialEq)]
pub struct Ready<C> {
    pub write: DurableWrite<C>,
    pub messages: Vec<Message<C>>,
    /// Entries newly known to be committed, in index order.
    pub committed: Vec<Entry<C>>,
    /// Requests this node appended to its log as leader: (client, seq, index, term).
    pub accepted: Vec<(ClientId, u64, Index, Term)>,
    /// Requests this node handed to a leader (each hand-over is a copy that
    /// may commit).
    pub forwarded: Vec<(ClientId, u64)>,
    /// Requests this node refused outright.
    pub refused: Vec<(ClientId, u64, FailReason)>,
    /// The lowest index removed from the in-memory log (a conflicting suffix), if any.
    pub truncated_from: Option<Index>,
    /// A leadership transfer this node led has ended.
    pub transfer: Option<TransferOutcome>,
    /// Reads whose read index is known (confirmed): serve once applied that far.
    pub reads_ready: Vec<(u64, Index)>,
    /// Reads that cannot be served, and why.
    pub reads_failed: Vec<(u64, &'static str)>,
    /// A snapshot received from the leader replaced this node's log prefix: the
    /// driver restores the state machine from it (after the write, before
    /// applying `committed`).
    pub snapshot_installed: Option<Box<Snapshot>>,
    /// A new server's catch-up (thesis §4.2.1) ended.
    pub catch_up: Option<CatchUpOutcome>,
}

/// How a new server's catch-up ended (thesis §4.2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum CatchUpOutcome {
    /// Its last round took less than an election timeout: it became a voter.
    Promoted { node: NodeId, rounds: u32 },
    /// It did not catch up (unreachable, or too slow): it was removed again.
    Abandoned { node: NodeId, rounds: u32 },
}

/// How a leadership transfer (§3.10) ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum TransferOutcome {
    /// The target started its election: leadership passes to it.
    Done { target: NodeId },
    /// The target did not take over within an election timeout: this leader
    /// goes on.
    TimedOut { target: NodeId },
    /// Something else ended it (a higher term from another server).
    Aborted { target: NodeId },
}

impl<C> Ready<C> {
    /// Moves every field out, leaving each empty.
    fn take_fields(&mut self) -> Self {
        use std::mem::take;
        Ready {
            write: DurableWrite {
                hard_state: self.write.hard_state.take(),
                snapshot: self.write.snapshot.take(),
                truncate_from: self.write.truncate_from.take(),
                entries: take(&mut self.write.entries),
            },
            messages: take(&mut self.messages),
            committed: take(&mut self.committed),
            accepted: take(&mut self.accepted),
            forwarded: take(&mut self.forwarded),
            refused: take(&mut self.refused),
            truncated_from: self.truncated_from.take(),
            transfer: self.transfer.take(),
            reads_ready: take(&mut self.reads_ready),
            reads_failed: take(&mut self.reads_failed),
            snapshot_installed: self.snapshot_installed.take(),
            catch_up: self.catch_up.take(),
        }
    }
}

impl<C> Default for Ready<C> {
    fn default() -> Self {
        Ready {
            write: DurableWrite {
                hard_state: None,
                snapshot: None,
                truncate_from: None,
                entries: Vec::new(),
            },
            messages: Vec::new(),
            committed: Vec::new(),
            accepted: Vec::new(),
            forwarded: Vec::new(),
            refused: Vec::new(),
            truncated_from: None,
            transfer: None,
            reads_ready: Vec::new(),
            reads_failed: Vec::new(),
            snapshot_installed: None,
            catch_up: None,
        }
    }
}

impl<C> Ready<C> {
    pub fn is_empty(&self) -> bool {
        self.write.is_empty()
            && self.messages.is_empty()
            && self.committed.is_empty()
            && self.accepted.is_empty()
            && self.forwarded.is_empty()
            && self.refused.is_empty()
    }
}

/// A read a leader is confirming: served at `index` once a majority has
/// answered heartbeat round `round`.
#[derive(Clone)]
struct PendingRead {
    read_id: u64,
    requester: NodeId,
    index: Index,
    round: u64,
}

/// A snapshot arriving in chunks (Figure 13), kept in memory until complete.
#[derive(Clone)]
struct IncomingSnapshot {
    meta: SnapshotMeta,
    data: Vec<u8>,
}

/// A new server catching up as a learner (thesis §4.2.1): round `round` ends
/// when it has every entry the leader had when the round began (`round_end`).
#[derive(Clone, Copy)]
struct CatchUp {
    node: NodeId,
    round: u32,
    round_end: Index,
    round_start_ms: u64,
    /// It did not catch up: remove it as soon as a change is allowed.
    giving_up: bool,
}

/// A request handed to a leader, kept until it ends so that it can be handed on
/// again if the message or the leader is lost.
#[derive(Clone)]
struct Forwarded<C> {
    to: NodeId,
    sent_ms: u64,
    /// The leader acknowledged it: no timed resend.
    accepted: bool,
    request: Request<C>,
}

/// The most committed entries one [`Ready`] hands out (as etcd's
/// `MaxCommittedSizePerReady`): a follower that learns of thousands at once —
/// after catching up a long log — applies them over several inputs, so that
/// one input's work stays bounded (and the invariant checker, which sees each
/// replica's latest applied records, sees every one).
pub const MAX_COMMITTED_PER_READY: usize = 4096;

#[derive(Clone)]
pub struct Raft<C> {
    cfg: Config,
    // Persistent state on all servers (Figure 2).
    term: Term,
    voted_for: Option<NodeId>,
    log: RaftLog<C>,
    // Volatile state on all servers.
    commit_index: Index,
    role: Role,
    leader: Option<NodeId>,
    now_ms: u64,
    election_deadline_ms: u64,
    heartbeat_deadline_ms: u64,
    rng: Rng,
    // Candidates and pre-candidates: votes received (including its own).
    votes: BTreeSet<NodeId>,
    /// When this node last heard from the leader it knows (for the lease).
    leader_contact_ms: u64,
    // Leaders with CheckQuorum: peers heard from since the last check, and when
    // the next check is due.
    recent_active: BTreeSet<NodeId>,
    check_quorum_deadline_ms: u64,
    /// A leadership transfer under way: the target and when it is given up.
    transfer: Option<(NodeId, u64)>,
    // ReadIndex (§6.4). Leaders: the latest confirmation round, the highest
    // round each peer answered, reads awaiting confirmation, and reads waiting
    // for this leader's first commit of its term.
    read_round: u64,
    round_acks: BTreeMap<NodeId, u64>,
    pending_reads: Vec<PendingRead>,
    reads_before_commit: Vec<(u64, NodeId)>,
    /// Followers: reads asked of a leader.
    asked_reads: BTreeMap<u64, NodeId>,
    // Leaders: Figure 2's nextIndex[] and matchIndex[], per peer.
    progress: BTreeMap<NodeId, Progress>,
    // Client requests waiting for a leader to be known, and those handed to a leader.
    queued: VecDeque<Request<C>>,
    forwarded: BTreeMap<(ClientId, u64), Forwarded<C>>,
    // Output being gathered for the next `Ready`.
    ready: Ready<C>,
    /// The last index already handed out in a `Ready` write (durable or on its way).
    stable_index: Index,
    /// The last index the driver reported durable ([`Raft::persisted`]), as
    /// far as the log still holds those entries: how far a leader counts
    /// itself toward a quorum.
    durable_index: Index,
    /// The term of the last hard state reported durable: a candidate counts
    /// its own vote once it is.
    durable_term: Term,
    /// The last index already handed out in `Ready::committed`.
    committed_out: Index,
    /// New entries await replication to the followers.
    broadcast_pending: bool,
    /// The latest snapshot: what the log prefix was compacted into, and what a
    /// leader sends to followers that need that prefix.
    snapshot: Option<Snapshot>,
    /// Followers: a snapshot being received.
    incoming: Option<IncomingSnapshot>,
    /// Leaders: the snapshot being sent to each follower in `Snapshot` state.
    snapshots_out: NodeMap<Snapshot>,
    /// Followers: AppendEntries that arrived before the batch they follow.
    early: EarlyAppends<C>,
    /// Followers: the last term in which this server accepted an
    /// AppendEntries. Only then does it hold early batches: before, the leader
    /// is still probing where their logs match (§5.3), and each probe's
    /// rejection is the whole answer.
    accepted_term: Term,
    /// Leaders: a new server catching up before it becomes a voter.
    catch_up: Option<CatchUp>,
}

impl<C: Clone> Raft<C> {
    /// Builds a node from what it persisted: a fresh node and a restarted one
    /// alike. Everything volatile starts over: follower, commit index 0 (§5.2).
    pub fn new(cfg: Config, persisted: PersistedState<C>, now_ms: u64) -> Self {
        let snapshot = persisted.stored_snapshot();
        let log = RaftLog::new(
            persisted.base_index,
            persisted.base_term,
            persisted.base_config,
            persisted.entries,
        );
        let stable_index = log.last_index();
        let base_index = persisted.base_index;
        let rng = Rng::new(cfg.seed);
        let mut raft = Raft {
            term: persisted.hard_state.term,
            voted_for: persisted.hard_state.voted_for,
            log,
            commit_index: base_index,
            role: Role::Follower,
            leader: None,
            now_ms,
            election_deadline_ms: 0,
            heartbeat_deadline_ms: 0,
            rng,
            votes: BTreeSet::new(),
            leader_contact_ms: 0,
            recent_active: BTreeSet::new(),
            check_quorum_deadline_ms: 0,
            transfer: None,
            read_round: 0,
            round_acks: BTreeMap::new(),
            pending_reads: Vec::new(),
            reads_before_commit: Vec::new(),
            asked_reads: BTreeMap::new(),
            progress: BTreeMap::new(),
            queued: VecDeque::new(),
            forwarded: BTreeMap::new(),
            ready: Ready::default(),
            stable_index,
            // What a node starts from is on its disk.
            durable_index: stable_index,
            durable_term: persisted.hard_state.term,
            committed_out: base_index,
            broadcast_pending: false,
            snapshot,
            incoming: None,
            early: EarlyAppends::default(),
            accepted_term: 0,
            snapshots_out: NodeMap::default(),
            catch_up: None,
            cfg,
        };
        raft.reset_election_timer();
        raft
    }

    // ----- read-only view -------------------------------------------------------

    pub fn id(&self) -> NodeId {
        self.cfg.id
    }
    pub fn config(&self) -> &Config {
        &self.cfg
    }
    pub fn term(&self) -> Term {
        self.term
    }
    pub fn voted_for(&self) -> Option<NodeId> {
        self.voted_for
    }
    pub fn role(&self) -> Role {
        self.role
    }
    pub fn leader(&self) -> Option<NodeId> {
        self.leader
    }
    pub fn log(&self) -> &RaftLog<C> {
        &self.log
    }
    pub fn commit_index(&self) -> Index {
        self.commit_index
    }
    pub fn membership(&self) -> &Membership {
        self.log.config()
    }
    /// The latest snapshot this node holds, if its log was ever compacted.
    pub fn snapshot(&self) -> Option<&Snapshot> {
        self.snapshot.as_ref()
    }
    /// Leaders: the learner catching up, with its current round.
    pub fn catching_up(&self) -> Option<(NodeId, u32)> {
        self.catch_up.map(|c| (c.node, c.round))
    }
    /// Votes a candidate has received in its current term (itself included).
    pub fn votes(&self) -> &BTreeSet<NodeId> {
        &self.votes
    }
    /// A leader's next/match index per peer; empty unless leader.
    pub fn progress(&self) -> &BTreeMap<NodeId, Progress> {
        &self.progress
    }
    pub fn election_deadline_ms(&self) -> u64 {
        self.election_deadline_ms
    }
    /// The next virtual time at which `tick` has work to do.
    pub fn next_deadline_ms(&self) -> u64 {
        let role = match self.role {
            Role::Leader if self.cfg.check_quorum => self
                .heartbeat_deadline_ms
                .min(self.check_quorum_deadline_ms),
            Role::Leader => self.heartbeat_deadline_ms,
            _ => self.election_deadline_ms,
        };
        let role = self
            .transfer
            .map_or(role, |(_, deadline)| role.min(deadline));
        if self.forwarded.is_empty() {
            return role; // (nearly always)
        }
        let retry = self
            .forwarded
            .values()
            .filter(|f| !f.accepted)
            .map(|f| f.sent_ms + self.forward_retry_ms())
            .min();
        retry.map_or(role, |r| r.min(role))
    }

    /// A forwarded request not ended after this long is forwarded again (the
    /// Forward message may have been lost).
    fn forward_retry_ms(&self) -> u64 {
        self.cfg.election_timeout_min_ms
    }
    /// §6.4 ReadIndex: a linearizable read arrives at this node. The read index
    /// comes back in `Ready::reads_ready` once confirmed (or the read fails).
    pub fn read(&mut self, now_ms: u64, read_id: u64) {
        self.now_ms = self.now_ms.max(now_ms);
        match (self.role, self.leader) {
            (Role::Leader, _) => self.leader_read(read_id, self.cfg.id),
            (_, Some(leader)) => {
                self.asked_reads.insert(read_id, leader);
                self.send(leader, MessageBody::ReadIndexRequest { read_id });
            }
            (_, None) => self
                .ready
                .reads_failed
                .push((read_id, "no leader is known")),
        }
    }

    /// The driver made one of this node's writes durable ([`DurableWrite::done`]):
    /// report each as it completes, in order, and before stepping any answer
    /// to the messages it held back. An entry report that no longer matches
    /// the log (the entries were replaced since) is ignored. A node that is
    /// the only voter wins its election and commits here.
    pub fn persisted(&mut self, done: crate::storage::WriteDone) {
        if let Some(term) = done.term {
            self.durable_term = self.durable_term.max(term);
            self.maybe_win_election();
        }
        if let Some((index, term)) = done.last_entry {
            if index > self.durable_index && self.log.term(index) == Some(term) {
                self.durable_index = index;
                if self.role == Role::Leader {
                    self.maybe_commit();
                }
            }
        }
    }

    /// Forgets a read that ended (timed out) on this node.
    pub fn forget_read(&mut self, read_id: u64) {
        self.asked_reads.remove(&read_id);
    }

    fn leader_read(&mut self, read_id: u64, requester: NodeId) {
        // §6.4 step 1: "If the leader has not yet marked an entry from its current
        // term committed, it waits until it has done so."
        if self.log.term(self.commit_index) != Some(self.term) {
            self.reads_before_commit.push((read_id, requester));
            return;
        }
        if self.bug(Bug::StaleReads) {
            // Step 3 skipped: a deposed leader that does not know it serves
            // its own (stale) commit index.
            self.answer_read(read_id, requester, self.commit_index);
            return;
        }
        // Step 2: "The leader saves its current commit index in a local variable
        // readIndex." Step 3: it "sends a new round of heartbeats, and waits for
        // their acknowledgments from a majority of the cluster."
        self.read_round += 1;
        let round = self.read_round;
        self.pending_reads.push(PendingRead {
            read_id,
            requester,
            index: self.commit_index,
            round,
        });
        for peer in self.voter_peers() {
            self.send(peer, MessageBody::ReadHeartbeat { round });
        }
        self.confirm_reads();
    }

    /// Serves (or answers) every read whose round a majority has acknowledged.
    fn confirm_reads(&mut self) {
        let config = self.log.config().clone();
        let me = self.cfg.id;
        let mut confirmed = Vec::new();
        self.pending_reads.retain(|r| {
            let ok = config
                .has_quorum(|v| v == me || self.round_acks.get(&v).is_some_and(|&a| a >= r.round));
            if ok {
                confirmed.push((r.read_id, r.requester, r.index));
            }
            !ok
        });
        for (read_id, requester, index) in confirmed {
            self.answer_read(read_id, requester, index);
        }
    }

    /// A read's index is known: serve it here, or tell the node that asked.
    fn answer_read(&mut self, read_id: u64, requester: NodeId, index: Index) {
        if requester == self.cfg.id {
            self.ready.reads_ready.push((read_id, index));
        } else {
            self.send(
                requester,
                MessageBody::ReadIndexReply {
                    read_id,
                    index: Some(index),
                },
            );
        }
    }

    /// A leader that steps down fails the reads it was confirming.
    fn fail_reads(&mut self) {
        let me = self.cfg.id;
        let pending: Vec<(u64, NodeId)> = self
            .pending_reads
            .drain(..)
            .map(|r| (r.read_id, r.requester))
            .chain(self.reads_before_commit.drain(..))
            .collect();
        for (read_id, requester) in pending {
            if requester == me {
                self.ready
                    .reads_failed
                    .push((read_id, "the leader lost leadership first"));
            } else {
                self.send(
                    requester,
                    MessageBody::ReadIndexReply {
                        read_id,
                        index: None,
                    },
                );
            }
        }
    }

    /// The node a leadership transfer is handing over to, if one is under way.
    pub fn transfer_target(&self) -> Option<NodeId> {
        self.transfer.map(|(t, _)| t)
    }

    /// §3.10: hands leadership to `target`. The leader stops taking new requests
    /// (they wait, then go to the new leader), brings the target's log up to
    /// date, then sends it TimeoutNow. Given up after an election timeout.
    pub fn transfer_leadership(&mut self, now_ms: u64, target: NodeId) -> Result<(), String> {
        if self.role != Role::Leader {
            return Err(format!("node {} is not the leader", self.cfg.id));
        }
        if target == self.cfg.id {
            return Err(format!("node {target} already leads"));
        }
        if !self.membership().contains(target) {
            return Err(format!("node {target} is not a voter of this cluster"));
        }
        // Checked first: a refused transfer changes nothing, not even the clock.
        self.now_ms = self.now_ms.max(now_ms);
        self.transfer = Some((target, self.now_ms + self.cfg.election_timeout_max_ms));
        self.continue_transfer();
        Ok(())
    }

    /// Sends TimeoutNow once the target has the whole log; else sends it entries.
    fn continue_transfer(&mut self) {
        let Some((target, _)) = self.transfer else {
            return;
        };
        let last = self.log.last_index();
        if self
            .progress
            .get(&target)
            .is_some_and(|p| p.match_index == last)
        {
            self.send(target, MessageBody::TimeoutNow);
        } else {
            self.replicate_to(target);
        }
    }

    /// Ends a transfer. Requests held meanwhile go back into this leader's log
    /// if it stays leader; otherwise they wait for the next leader (set_leader).
    fn end_transfer(&mut self, outcome: fn(NodeId) -> TransferOutcome, stays_leader: bool) {
        if let Some((target, _)) = self.transfer.take() {
            self.ready.transfer = Some(outcome(target));
            if stays_leader {
                let held: Vec<_> = self.queued.drain(..).collect();
                for r in held {
                    self.append_request(r);
                }
            }
        }
    }

    /// Switches rules off (or back on) from now on ([`crate::bugs`]).
    pub fn set_bugs(&mut self, bugs: BugSet) {
        self.cfg.bugs = bugs;
    }

    fn bug(&self, bug: Bug) -> bool {
        self.cfg.bugs.has(bug)
    }

    /// Turns PreVote and CheckQuorum on or off at `now_ms`: switching
    /// CheckQuorum on starts a leader's first check from then (not from this
    /// node's last input, which may be long past).
    pub fn set_options(&mut self, now_ms: u64, pre_vote: bool, check_quorum: bool) {
        self.now_ms = self.now_ms.max(now_ms);
        self.cfg.pre_vote = pre_vote;
        if check_quorum && !self.cfg.check_quorum && self.role == Role::Leader {
            self.start_quorum_check();
        }
        self.cfg.check_quorum = check_quorum;
    }

    // ----- log compaction (thesis chapter 5) --------------------------------------

    /// The state machine, applied up to `index`, was snapshotted into `data`:
    /// drop the log up to `index` (in memory now, on disk with this batch).
    pub fn compact(&mut self, index: Index, data: Arc<[u8]>) -> Result<(), String> {
        let (base, _) = self.log.base();
        if index <= base {
            return Err(format!("the log already starts after index {base}"));
        }
        // Only applied entries may go: the snapshot must hold them.
        if index > self.committed_out {
            return Err(format!(
                "entry {index} is not yet applied (applied up to {})",
                self.committed_out
            ));
        }
        let term = self
            .log
            .term(index)
            .ok_or_else(|| format!("entry {index} is not in the log"))?;
        let config = self.log.config_at(index).clone();
        self.log.compact(index, term, config.clone());
        let snapshot = Snapshot {
            meta: SnapshotMeta {
                index,
                term,
                config,
            },
            data,
        };
        self.ready.write.snapshot = Some(Box::new(snapshot.clone()));
        self.snapshot = Some(snapshot);
        Ok(())
    }

    // ----- membership changes (thesis chapter 4) --------------------------------

    /// Adds or removes one server (thesis §4.2). An added server joins as a
    /// learner and becomes a voter once it has caught up (§4.2.1). Returns the
    /// index of the configuration entry.
    pub fn change_membership(&mut self, now_ms: u64, change: ConfChange) -> Result<Index, String> {
        if self.role != Role::Leader {
            return Err(format!("node {} is not the leader", self.cfg.id));
        }
        if self.transfer.is_some() {
            return Err("a leadership transfer is under way".into());
        }
        if let Some(c) = self.catch_up {
            return Err(format!(
                "node {} is still catching up (one change at a time)",
                c.node
            ));
        }
        self.check_change_allowed()?;
        let mut next = self.membership().clone();
        match change {
            ConfChange::Add(n) => {
                if next.is_member(n) {
                    return Err(format!("node {n} is already a member"));
                }
                next.learners.insert(n);
            }
            ConfChange::Remove(n) => {
                if !next.is_member(n) {
                    return Err(format!("node {n} is not a member"));
                }
                if next.voters.len() == 1 && next.contains(n) {
                    return Err(format!(
                        "node {n} is the last voter: a cluster needs at least one"
                    ));
                }
                next.voters.remove(&n);
                next.learners.remove(&n);
            }
        }
        // Checked first: a refused change changes nothing, not even the clock.
        self.now_ms = self.now_ms.max(now_ms);
        let index = self.append_config(next);
        if let ConfChange::Add(n) = change {
            self.start_catch_up(n);
        }
        Ok(index)
    }

    /// Whether this leader may append a configuration entry now.
    fn check_change_allowed(&self) -> Result<(), String> {
        // Thesis §4.1: "a leader must not begin a new configuration change until
        // the previous one has committed" — one change at a time.
        if let Some(i) = self.log.last_config_index() {
            if i > self.commit_index && !self.bug(Bug::TwoConfigChanges) {
                return Err(format!(
                    "the configuration change at index {i} is not committed yet (one change at a time)"
                ));
            }
        }
        // The fix to single-server changes (Ongaro, raft-dev, 2015): a new leader
        // must commit an entry of its own term before it changes the
        // configuration, or two leaders of different configurations could
        // overwrite each other's committed changes.
        if self.log.term(self.commit_index) != Some(self.term) {
            return Err(
                "this leader has not yet committed an entry of its own term; try again shortly"
                    .into(),
            );
        }
        Ok(())
    }

    /// Appends a configuration entry; it takes effect at once (thesis §4.1).
    fn append_config(&mut self, membership: Membership) -> Index {
        let index = self.append(Payload::Config(Box::new(membership)));
        let last = self.log.last_index();
        let members: Vec<NodeId> = self.peers().collect();
        self.progress.retain(|p, _| members.contains(p));
        for p in members {
            self.progress
                .entry(p)
                .or_insert_with(|| Progress::new(last));
        }
        self.broadcast_pending = true;
        self.maybe_commit();
        index
    }

    fn start_catch_up(&mut self, node: NodeId) {
        self.catch_up = Some(CatchUp {
            node,
            round: 1,
            round_end: self.log.last_index(),
            round_start_ms: self.now_ms,
            giving_up: false,
        });
    }

    /// Thesis §4.2.1: "The replication of entries to the new server is split into
    /// rounds ... If the last round lasts less than an election timeout, then the
    /// leader adds the new server to the cluster." After
    /// [`MAX_CATCH_UP_ROUNDS`] rounds, or a round that makes no progress for ten
    /// election timeouts (the server is unavailable), the leader gives up.
    fn advance_catch_up(&mut self) {
        let Some(mut c) = self.catch_up else { return };
        if self.role != Role::Leader || !self.membership().learners.contains(&c.node) {
            self.catch_up = None;
            return;
        }
        let matched = self.progress.get(&c.node).map_or(0, |p| p.match_index);
        let took_ms = self.now_ms.saturating_sub(c.round_start_ms);
        let mut promote = false;
        if !c.giving_up {
            if matched >= c.round_end {
                if took_ms < self.cfg.election_timeout_min_ms {
                    promote = true;
                } else if c.round >= MAX_CATCH_UP_ROUNDS {
                    c.giving_up = true;
                } else {
                    c.round += 1;
                    c.round_end = self.log.last_index();
                    c.round_start_ms = self.now_ms;
                }
            } else if took_ms > 10 * self.cfg.election_timeout_max_ms {
                c.giving_up = true;
            }
        }
        self.catch_up = Some(c);
        // Either way the learner leaves the learners, by a configuration
        // change — once one is allowed.
        if (promote || c.giving_up) && self.check_change_allowed().is_ok() {
            self.catch_up = None;
            let mut next = self.membership().clone();
            next.learners.remove(&c.node);
            if promote {
                next.voters.insert(c.node);
            }
            self.append_config(next);
            let (node, rounds) = (c.node, c.round);
            self.ready.catch_up = Some(if promote {
                CatchUpOutcome::Promoted { node, rounds }
            } else {
                CatchUpOutcome::Abandoned { node, rounds }
            });
        }
    }

    /// Requests held until a leader is known.
    pub fn queued_requests(&self) -> usize {
        self.queued.len()
    }

    pub fn has_ready(&self) -> bool {
        !self.ready.is_empty()
            || self.committed_out < self.releasable_commit()
            || self.broadcast_pending
    }

    /// Takes back an emptied `messages` vector of a [`Ready`] to reuse its
    /// buffer (a driver may, to spare an allocation per input).
    #[inline]
    pub fn recycle_messages(&mut self, mut buffer: Vec<Message<C>>) {
        if self.ready.messages.capacity() == 0 {
            buffer.clear();
            self.ready.messages = buffer;
        }
    }

    /// Hands out everything gathered since the last call.
    pub fn take_ready(&mut self) -> Ready<C> {
        self.ready_to_take().take_fields()
    }

    /// What [`Raft::take_ready`] hands out, left in place for a driver that
    /// takes it field by field (`std::mem::take`), as the simulator does:
    /// moving the whole struct (about 280 bytes) on every input costs more
    /// than the rest of a heartbeat's handling. A field left there is handed
    /// out with the next one.
    pub(crate) fn ready_to_take(&mut self) -> &mut Ready<C> {
        if std::mem::take(&mut self.broadcast_pending) && self.role == Role::Leader {
            // New entries: to the followers. (They commit once durable here
            // too: a leader that is the only voter commits in `persisted`.)
            for peer in self.peers() {
                self.replicate_to(peer);
            }
        }
        self.stable_index = self.log.last_index();
        // At most MAX_COMMITTED_PER_READY: the rest comes with the next input.
        let commit = self
            .releasable_commit()
            .min(self.committed_out + MAX_COMMITTED_PER_READY as Index);
        if commit > self.committed_out {
            let newly = self.log.slice(self.committed_out + 1, commit, usize::MAX);
            if self.ready.committed.is_empty() {
                self.ready.committed = newly;
            } else {
                self.ready.committed.extend(newly);
            }
            self.committed_out = commit;
        }
        &mut self.ready
    }

    /// The commit index, or the end of the log if that is lower — possible
    /// only with a bug switch on (`uncapped-follower-commit`): entries not in
    /// the log cannot be applied.
    fn releasable_commit(&self) -> Index {
        self.commit_index.min(self.log.last_index())
    }

    // ----- inputs ---------------------------------------------------------------

    /// Virtual time has advanced to `now_ms`: fire the election or heartbeat timer.
    pub fn tick(&mut self, now_ms: u64) {
        self.now_ms = self.now_ms.max(now_ms);
        match self.role {
            Role::Leader => {
                if self
                    .transfer
                    .is_some_and(|(_, deadline)| self.now_ms >= deadline)
                {
                    self.end_transfer(|target| TransferOutcome::TimedOut { target }, true);
                }
                if self.cfg.check_quorum && self.now_ms >= self.check_quorum_deadline_ms {
                    self.check_quorum();
                }
                if self.role == Role::Leader && self.now_ms >= self.heartbeat_deadline_ms {
                    self.heartbeat_deadline_ms = self.now_ms + self.cfg.heartbeat_interval_ms;
                    self.heartbeat();
                    self.advance_catch_up();
                }
            }
            // Followers (§5.2): "If election timeout elapses without receiving
            // AppendEntries RPC from current leader or granting vote to candidate:
            // convert to candidate". Candidates: "If election timeout elapses:
            // start new election".
            Role::Follower | Role::PreCandidate | Role::Candidate => {
                if self.now_ms >= self.election_deadline_ms {
                    self.start_election();
                }
            }
        }
        let retry_before = self.now_ms.saturating_sub(self.forward_retry_ms());
        let due: Vec<_> = self
            .forwarded
            .iter()
            .filter(|(_, f)| !f.accepted && f.sent_ms <= retry_before)
            .map(|(k, _)| *k)
            .collect();
        for key in due {
            if let Some(f) = self.forwarded.remove(&key) {
                self.propose(self.now_ms, f.request);
            }
        }
    }
    /// Fires the election timeout now (the "time out" button). Without PreVote
    /// the election is marked as forced, like a transfer's: voters do not ignore
    /// it for having heard a leader lately (§4.2.3) — the teacher asked for it.
    pub fn timeout_now(&mut self, now_ms: u64) {
        self.now_ms = self.now_ms.max(now_ms);
        if self.role == Role::Leader {
            return;
        }
        if self.cfg.pre_vote {
            self.pre_campaign();
        } else {
            self.campaign_with(true);
        }
    }

    /// `n` requests are about to arrive together: room for them in the next
    /// `Ready` (an allocation hint; nothing else changes).
    pub fn reserve(&mut self, n: usize) {
        if self.role == Role::Leader {
            self.ready.write.entries.reserve(n);
            self.ready.accepted.reserve(n);
        }
    }

    /// A client request arrives at this node.
    pub fn propose(&mut self, now_ms: u64, request: Request<C>) {
        self.now_ms = self.now_ms.max(now_ms);
        match (self.role, self.leader) {
            // §3.10: "the prior leader stops accepting new client requests".
            (Role::Leader, _) if self.transfer.is_some() => self.enqueue(request),
            (Role::Leader, _) => self.append_request(request),
            (_, Some(leader)) => self.forward(leader, request),
            (_, None) => self.enqueue(request),
        }
    }

    /// Stops tracking a request that has ended (committed or failed).
    pub fn forget_request(&mut self, client: ClientId, seq: u64) {
        self.forwarded.remove(&(client, seq));
        self.queued.retain(|r| (r.client, r.seq) != (client, seq));
    }

    pub fn step(&mut self, now_ms: u64, msg: Message<C>) {
        self.now_ms = self.now_ms.max(now_ms);
        let forward = matches!(
            msg.body,
            MessageBody::Forward { .. }
                | MessageBody::ForwardAccepted { .. }
                | MessageBody::ForwardRejected { .. }
        );
        if self.role == Role::Leader {
            self.recent_active.insert(msg.from);
        }
        // (A pre-vote is refused in the lease by `handle_pre_vote`, explicitly.)
        let vote_request = matches!(
            msg.body,
            MessageBody::RequestVote {
                transfer: false,
                ..
            }
        );
        if vote_request && msg.term > self.term && self.in_lease() && !self.bug(Bug::NoVoteLease) {
            // §4.2.3: "if a server receives a RequestVote request within the
            // minimum election timeout of hearing from a current leader, it does
            // not update its term or grant its vote" — so that a removed server
            // (or one that cannot hear the leader) cannot depose it.
            return;
        }
        // A pre-vote request, and a granted pre-vote, carry a term no one has
        // entered: they change no term (thesis §9.6).
        let pre_vote = matches!(
            msg.body,
            MessageBody::PreVote { .. } | MessageBody::PreVoteReply { granted: true }
        );
        let ignored_reply = self.role == Role::Leader
            && self.bug(Bug::IgnoreHigherTermReply)
            && matches!(
                msg.body,
                MessageBody::AppendEntriesReply { .. }
                    | MessageBody::ReadHeartbeatReply { .. }
                    | MessageBody::InstallSnapshotReply { .. }
            );
        // All servers: "If RPC request or response contains term T > currentTerm:
        // set currentTerm = T, convert to follower" (§5.1).
        if msg.term > self.term && !pre_vote && !ignored_reply {
            if let Some((target, _)) = self.transfer {
                if msg.from == target {
                    self.end_transfer(|target| TransferOutcome::Done { target }, false);
                } else {
                    self.end_transfer(|target| TransferOutcome::Aborted { target }, false);
                }
            }
            let leader = match msg.body {
                MessageBody::AppendEntries { .. } | MessageBody::InstallSnapshot { .. } => {
                    Some(msg.from)
                }
                _ => None,
            };
            self.become_follower(msg.term, leader);
        } else if msg.term < self.term
            && !forward
            && !(self.bug(Bug::AcceptStaleTerm)
                && matches!(msg.body, MessageBody::AppendEntries { .. }))
        {
            // §5.1: a request with a stale term is rejected; the reply carries our
            // term so the stale sender steps down. Stale replies are ignored.
            match msg.body {
                MessageBody::RequestVote { .. } => {
                    self.send(msg.from, MessageBody::RequestVoteReply { granted: false })
                }
                MessageBody::PreVote { .. } => {
                    self.send(msg.from, MessageBody::PreVoteReply { granted: false })
                }
                MessageBody::AppendEntries { prev_log_index, .. } => self.send(
                    msg.from,
                    MessageBody::AppendEntriesReply {
                        prev_log_index,
                        success: false,
                        match_index: 0,
                        hint: None,
                    },
                ),
                MessageBody::InstallSnapshot { meta, .. } => self.send(
                    msg.from,
                    MessageBody::InstallSnapshotReply {
                        index: meta.index,
                        next_offset: 0,
                        installed: false,
                    },
                ),
                // A deposed leader confirming a read learns our term (and
                // steps down) instead of waiting for the round to time out.
                MessageBody::ReadHeartbeat { round } => {
                    self.send(msg.from, MessageBody::ReadHeartbeatReply { round })
                }
                _ => {}
            }
            return;
        }

        // Followers: a batch that begins past the end of the log is rejected
        // (Figure 2), and a copy waits for the batches before it (see `early`).
        if let MessageBody::AppendEntries {
            prev_log_index,
            ref entries,
            ..
        } = msg.body
        {
            if !entries.is_empty()
                && self.role == Role::Follower
                && msg.term == self.term
                && self.accepted_term == self.term
                && prev_log_index > self.log.last_index()
            {
                self.early.hold(prev_log_index, msg.clone());
            }
        }
        let appends = matches!(
            msg.body,
            MessageBody::AppendEntries { .. } | MessageBody::InstallSnapshot { .. }
        );
        self.handle(msg);
        if appends {
            self.handle_early_appends();
        }
    }

    /// Followers: handles the held batches that now follow the log, in order.
    fn handle_early_appends(&mut self) {
        while self.role == Role::Follower {
            let Some(msg) = self.early.next_ready(self.log.last_index(), self.term) else {
                return;
            };
            self.handle(msg);
        }
    }

    /// Handles a message of the current term (or a forwarded request).
    fn handle(&mut self, msg: Message<C>) {
        match msg.body {
            MessageBody::RequestVote {
                last_log_index,
                last_log_term,
                ..
            } => self.handle_request_vote(msg.from, last_log_index, last_log_term),
            MessageBody::ReadIndexRequest { read_id } => {
                if self.role == Role::Leader {
                    self.leader_read(read_id, msg.from);
                } else {
                    self.send(
                        msg.from,
                        MessageBody::ReadIndexReply {
                            read_id,
                            index: None,
                        },
                    );
                }
            }
            MessageBody::ReadIndexReply { read_id, index } => {
                if self.asked_reads.remove(&read_id).is_some() {
                    match index {
                        Some(index) => self.ready.reads_ready.push((read_id, index)),
                        None => self
                            .ready
                            .reads_failed
                            .push((read_id, "the leader asked could not confirm it leads")),
                    }
                }
            }
            MessageBody::ReadHeartbeat { round } => {
                // From the leader of our term: like a heartbeat.
                self.heard_from_leader(msg.from);
                self.send(msg.from, MessageBody::ReadHeartbeatReply { round });
            }
            MessageBody::ReadHeartbeatReply { round } => {
                if self.role == Role::Leader {
                    let a = self.round_acks.entry(msg.from).or_insert(0);
                    *a = (*a).max(round);
                    self.confirm_reads();
                }
            }
            MessageBody::TimeoutNow => {
                // §3.10: start an election at once (no pre-vote: the leader asked).
                if self.role != Role::Leader && self.membership().contains(self.cfg.id) {
                    self.campaign_with(true);
                }
            }
            MessageBody::RequestVoteReply { granted } => {
                self.handle_vote_reply(msg.from, msg.term, granted)
            }
            MessageBody::PreVote {
                last_log_index,
                last_log_term,
            } => self.handle_pre_vote(msg.from, msg.term, last_log_index, last_log_term),
            MessageBody::PreVoteReply { granted } => {
                self.handle_pre_vote_reply(msg.from, msg.term, granted)
            }
            MessageBody::AppendEntries {
                prev_log_index,
                prev_log_term,
                entries,
                leader_commit,
            } => self.handle_append_entries(
                msg.from,
                prev_log_index,
                prev_log_term,
                entries,
                leader_commit,
            ),
            MessageBody::AppendEntriesReply {
                prev_log_index,
                success,
                match_index,
                hint,
            } => self.handle_append_reply(msg.from, prev_log_index, success, match_index, hint),
            MessageBody::InstallSnapshot {
                meta,
                offset,
                total_bytes,
                data,
                done,
            } => self.handle_install_snapshot(msg.from, *meta, offset, total_bytes, data, done),
            MessageBody::InstallSnapshotReply {
                index,
                next_offset,
                installed,
            } => self.handle_snapshot_reply(msg.from, index, next_offset, installed),
            MessageBody::Forward { request } => {
                if self.role == Role::Leader {
                    let (client, seq) = (request.client, request.seq);
                    self.append_request(request);
                    self.send(msg.from, MessageBody::ForwardAccepted { client, seq });
                } else {
                    self.send(
                        msg.from,
                        MessageBody::ForwardRejected {
                            client: request.client,
                            seq: request.seq,
                        },
                    );
                }
            }
            MessageBody::ForwardAccepted { client, seq } => {
                // In the leader's log: stop resending on a timer (a change of
                // leader still hands it on, as the entry may be lost with it).
                if let Some(f) = self.forwarded.get_mut(&(client, seq)) {
                    if f.to == msg.from {
                        f.accepted = true;
                    }
                }
            }
            MessageBody::ForwardRejected { client, seq } => {
                // Only the answer to the copy outstanding counts: a duplicated
                // or late rejection would hand the request on again each time,
                // and two nodes could bounce it back and forth, multiplying
                // copies with every duplicate (a storm the user-commands test
                // found: 260,000 messages in flight within 2 s).
                if self
                    .forwarded
                    .get(&(client, seq))
                    .is_none_or(|f| f.to != msg.from)
                {
                    return;
                }
                if self.leader == Some(msg.from) && msg.term == self.term {
                    // It no longer leads this term (it stepped down), and no
                    // other server can lead it (§5.2): no leader is known.
                    self.set_leader(None);
                }
                if let Some(f) = self.forwarded.remove(&(client, seq)) {
                    self.propose(self.now_ms, f.request);
                }
            }
        }
    }

    // ----- elections (§5.2) -----------------------------------------------------

    fn reset_election_timer(&mut self) {
        let timeout_ms = self.rng.uniform(
            self.cfg.election_timeout_min_ms,
            self.cfg.election_timeout_max_ms,
        );
        self.election_deadline_ms = self.now_ms + timeout_ms;
    }

    /// The election timer fired (or was forced): with PreVote, ask first.
    fn start_election(&mut self) {
        if self.cfg.pre_vote {
            self.pre_campaign();
        } else {
            self.campaign();
        }
    }

    /// Thesis §9.6: "a candidate would first ask other servers whether its log
    /// was up-to-date enough to get their vote. Only if the candidate believed it
    /// could get votes from a majority of the cluster would it increment its term
    /// and start a normal election."
    fn pre_campaign(&mut self) {
        if !self.become_campaigner(Role::PreCandidate) {
            return;
        }
        let (last_log_index, last_log_term) = (self.log.last_index(), self.log.last_term());
        let term = self.term + 1;
        for peer in self.voter_peers() {
            self.ready.messages.push(Message {
                from: self.cfg.id,
                to: peer,
                term,
                body: MessageBody::PreVote {
                    last_log_index,
                    last_log_term,
                },
            });
        }
        self.maybe_win_pre_vote();
    }

    fn handle_pre_vote(
        &mut self,
        candidate: NodeId,
        term: Term,
        last_log_index: Index,
        last_log_term: Term,
    ) {
        // Grant only for a later term, to a log at least as up to date as ours,
        // and only if we have not heard from a leader within the minimum election
        // timeout. Nothing changes here: no term, no vote.
        let granted = term > self.term
            && !self.in_lease()
            && self.log.is_up_to_date(last_log_index, last_log_term);
        let reply_term = if granted { term } else { self.term };
        self.ready.messages.push(Message {
            from: self.cfg.id,
            to: candidate,
            term: reply_term,
            body: MessageBody::PreVoteReply { granted },
        });
    }

    fn handle_pre_vote_reply(&mut self, from: NodeId, term: Term, granted: bool) {
        if self.role != Role::PreCandidate || term != self.term + 1 || !granted {
            return;
        }
        self.votes.insert(from);
        self.maybe_win_pre_vote();
    }

    fn maybe_win_pre_vote(&mut self) {
        if self.role == Role::PreCandidate
            && self.membership().has_quorum(|v| self.votes.contains(&v))
        {
            self.campaign();
        }
    }

    /// This node has heard from a live leader within the minimum election
    /// timeout (or is that leader).
    pub fn in_lease(&self) -> bool {
        match self.leader {
            Some(l) if l == self.cfg.id => self.role == Role::Leader,
            Some(_) => self.now_ms < self.leader_contact_ms + self.cfg.election_timeout_min_ms,
            None => false,
        }
    }

    fn start_quorum_check(&mut self) {
        self.recent_active.clear();
        self.check_quorum_deadline_ms = self.now_ms + self.cfg.election_timeout_max_ms;
    }

    /// Thesis §6.2: "if an election timeout elapses without a successful round of
    /// heartbeats to a majority of its cluster, the leader steps down."
    fn check_quorum(&mut self) {
        let me = self.cfg.id;
        if !self
            .membership()
            .has_quorum(|v| v == me || self.recent_active.contains(&v))
        {
            self.become_follower(self.term, None);
        } else {
            self.start_quorum_check();
        }
    }

    fn campaign(&mut self) {
        self.campaign_with(false);
    }

    /// Whether this node may stand for election: it is a voter of the
    /// configuration in effect at its commit index, or of any configuration
    /// its log holds after it — the one in effect (thesis §4.1: the latest in
    /// the log) and any still uncommitted as far as it knows. The others
    /// matter when the latest configuration removes this node while it holds
    /// the newest log: servers that stopped at an earlier configuration still
    /// count on its vote, none of their less up-to-date logs gets it
    /// (§5.4.1), and without it standing no leader could ever be elected. It
    /// needs the votes of a majority of the configuration in effect, in which
    /// its own counts only if it is a voter there; elected, it leads until
    /// that configuration commits, then steps down (§4.2.2). (openraft fixed
    /// the same deadlock in its #2098; the intermediate configurations matter
    /// here because a restarted node knows its commit index only from its
    /// snapshot.)
    fn may_stand(&self) -> bool {
        self.log.voter_at_or_after(self.commit_index, self.cfg.id)
    }

    /// Starts a round of (pre-)votes as `role`: forgets the leader, counts its
    /// own vote, resets the election timer. Only voters stand ([`Raft::may_stand`]):
    /// false otherwise.
    fn become_campaigner(&mut self, role: Role) -> bool {
        if !self.may_stand() {
            self.reset_election_timer();
            return false;
        }
        self.role = role;
        self.set_leader(None);
        self.progress.clear();
        self.votes.clear();
        self.votes.insert(self.cfg.id);
        self.reset_election_timer();
        true
    }

    fn campaign_with(&mut self, transfer: bool) {
        // Candidates (§5.2): "On conversion to candidate, start election: increment
        // currentTerm, vote for self, reset election timer, send RequestVote RPCs to
        // all other servers".
        if !self.become_campaigner(Role::Candidate) {
            return;
        }
        self.term += 1;
        self.voted_for = Some(self.cfg.id);
        self.mark_hard_state();
        let (last_log_index, last_log_term) = (self.log.last_index(), self.log.last_term());
        for peer in self.voter_peers() {
            self.send(
                peer,
                MessageBody::RequestVote {
                    last_log_index,
                    last_log_term,
                    transfer,
                },
            );
        }
        self.maybe_win_election();
    }

    fn handle_request_vote(
        &mut self,
        candidate: NodeId,
        last_log_index: Index,
        last_log_term: Term,
    ) {
        // RequestVote receiver (§5.2, §5.4): "If votedFor is null or candidateId, and
        // candidate's log is at least as up-to-date as receiver's log, grant vote".
        let free = self.voted_for.is_none() || self.voted_for == Some(candidate);
        let granted = free
            && (self.log.is_up_to_date(last_log_index, last_log_term)
                || self.bug(Bug::VoteForStaleLog));
        if granted {
            // The vote is durable before the reply leaves (same batch): a restart
            // cannot make this node vote twice in one term.
            self.voted_for = Some(candidate);
            if !self.bug(Bug::VoteBeforeDurable) {
                self.mark_hard_state();
            }
            self.reset_election_timer();
        }
        self.send(candidate, MessageBody::RequestVoteReply { granted });
    }

    fn handle_vote_reply(&mut self, from: NodeId, term: Term, granted: bool) {
        if self.role != Role::Candidate || term != self.term {
            return;
        }
        if granted {
            self.votes.insert(from);
            self.maybe_win_election();
        }
    }

    fn maybe_win_election(&mut self) {
        // Candidates: "If votes received from majority of servers: become leader".
        // Its own vote counts once durable (other votes answer a RequestVote
        // that left after it was).
        let own_vote = self.durable_term >= self.term;
        if self.role == Role::Candidate
            && self
                .membership()
                .has_quorum(|v| self.votes.contains(&v) && (v != self.cfg.id || own_vote))
        {
            self.become_leader();
        }
    }

    /// A message from the leader of this node's term arrived: follow it (a
    /// candidate steps down), reset the election timer, and note the contact
    /// (for the §4.2.3 lease).
    fn heard_from_leader(&mut self, leader: NodeId) {
        if self.role != Role::Follower || self.leader != Some(leader) {
            self.become_follower(self.term, Some(leader));
        } else {
            self.reset_election_timer();
        }
        self.leader_contact_ms = self.now_ms;
    }

    fn become_follower(&mut self, term: Term, leader: Option<NodeId>) {
        self.end_transfer(|target| TransferOutcome::Aborted { target }, false);
        self.fail_reads();
        if term > self.term {
            self.term = term;
            self.voted_for = None;
            self.mark_hard_state();
            self.early.clear();
        }
        self.role = Role::Follower;
        self.progress.clear();
        self.snapshots_out.clear();
        self.votes.clear();
        self.set_leader(leader);
        self.reset_election_timer();
    }

    fn become_leader(&mut self) {
        self.role = Role::Leader;
        self.votes.clear();
        let last = self.log.last_index();
        // Leaders: nextIndex initialised to leader last log index + 1, matchIndex to 0.
        self.progress = self.peers().map(|p| (p, Progress::new(last))).collect();
        self.snapshots_out.clear();
        // §8: "each leader commit a blank no-op entry into the log at the start of
        // its term", so that entries of earlier terms can commit (§5.4.2).
        self.append(Payload::Noop);
        self.heartbeat_deadline_ms = self.now_ms + self.cfg.heartbeat_interval_ms;
        self.start_quorum_check();
        self.round_acks.clear();
        // A learner left catching up by an earlier leader goes on catching up.
        self.catch_up = None;
        if let Some(&learner) = self.membership().learners.iter().next() {
            self.start_catch_up(learner);
        }
        self.set_leader(Some(self.cfg.id));
        for peer in self.peers() {
            self.send_append(peer);
        }
        self.maybe_commit();
    }

    /// Records a change of known leader and hands waiting client requests on to it.
    fn set_leader(&mut self, leader: Option<NodeId>) {
        let changed = self.leader != leader;
        self.leader = leader;
        let Some(leader) = leader else { return };
        if !changed {
            return;
        }
        let mut waiting: Vec<Request<C>> = self.queued.drain(..).collect();
        // Requests handed to a former leader may have been lost with it: hand them
        // to the new one. Sessions make a second copy harmless (thesis §6.3).
        let stale: Vec<_> = self
            .forwarded
            .iter()
            .filter(|(_, f)| f.to != leader)
            .map(|(k, _)| *k)
            .collect();
        for key in stale {
            if let Some(f) = self.forwarded.remove(&key) {
                waiting.push(f.request);
            }
        }
        for request in waiting {
            if leader == self.cfg.id {
                self.append_request(request);
            } else {
                self.forward(leader, request);
            }
        }
    }

    // ----- log replication (§5.3) -----------------------------------------------

    fn handle_append_entries(
        &mut self,
        leader: NodeId,
        prev_log_index: Index,
        prev_log_term: Term,
        entries: Vec<Entry<C>>,
        leader_commit: Index,
    ) {
        // Here the message's term equals ours. Candidates: "If AppendEntries RPC
        // received from new leader: convert to follower".
        self.heard_from_leader(leader);
        let reply = |success, match_index, hint| MessageBody::AppendEntriesReply {
            prev_log_index,
            success,
            match_index,
            hint,
        };
        // AppendEntries receiver: "Reply false if log doesn't contain an entry at
        // prevLogIndex whose term matches prevLogTerm".
        let (base_index, _) = self.log.base();
        if prev_log_index >= base_index && self.log.term(prev_log_index) != Some(prev_log_term) {
            let mut hint = self.log.conflict_hint(prev_log_index);
            if prev_log_index > self.log.last_index() {
                hint.held = self.early.first_held();
            }
            self.send(leader, reply(false, 0, Some(hint)));
            return;
        }
        let last_new = prev_log_index + entries.len() as Index;
        self.ready.write.entries.reserve(entries.len());
        for entry in entries {
            if entry.index <= base_index {
                continue; // already covered by our snapshot, hence committed
            }
            match self.log.term(entry.index) {
                // Already have it: keep it and what follows. A stale or reordered
                // message must never shorten the log.
                Some(term) if term == entry.term => continue,
                Some(_) if self.bug(Bug::KeepConflictingSuffix) => continue,
                // "If an existing entry conflicts with a new one (same index but
                // different terms), delete the existing entry and all that follow it".
                Some(_) => {
                    self.truncate_from(entry.index);
                    self.push(entry);
                }
                // "Append any new entries not already in the log".
                None => self.push(entry),
            }
        }
        // "If leaderCommit > commitIndex, set commitIndex = min(leaderCommit, index
        // of last new entry)".
        if leader_commit > self.commit_index {
            // (The bug: commitIndex = leaderCommit, past what this follower
            // holds or knows to match the leader's log.)
            let cap = if self.bug(Bug::UncappedFollowerCommit) {
                leader_commit
            } else {
                last_new
            };
            self.commit_index = self.commit_index.max(leader_commit.min(cap));
        }
        self.accepted_term = self.term;
        self.send(leader, reply(true, last_new, None));
    }

    fn handle_append_reply(
        &mut self,
        from: NodeId,
        prev_log_index: Index,
        success: bool,
        match_index: Index,
        hint: Option<ConflictHint>,
    ) {
        if self.role != Role::Leader {
            return;
        }
        let Some(pr) = self.progress.get_mut(&from) else {
            return;
        };
        if success {
            // Leaders: "If successful: update nextIndex and matchIndex for follower".
            // A success below the known match is late or duplicated: it says nothing new.
            let stale = match_index < pr.match_index;
            let advanced = match_index > pr.match_index;
            if advanced {
                pr.match_index = match_index;
            }
            match pr.state {
                // The follower matches up to `match_index`: stream from there.
                ProgressState::Probe if !stale => pr.start_replicating(),
                // It already holds what the snapshot would give it.
                ProgressState::Snapshot { index, .. } if pr.match_index >= index => {
                    pr.start_replicating()
                }
                _ => pr.next_index = pr.next_index.max(pr.match_index + 1),
            }
            // Only a higher matchIndex can commit more (a heartbeat's reply
            // to an idle leader changes nothing).
            if advanced {
                self.maybe_commit();
            }
            self.replicate_to(from);
            self.advance_catch_up();
            if self.transfer.is_some_and(|(t, _)| t == from) {
                self.continue_transfer();
            }
        } else {
            // A stale rejection changes nothing (as etcd's progress tracker): one
            // from before the follower matched, or, while probing, one that does
            // not answer the probe outstanding (a late, reordered or duplicated
            // reply), or any while a snapshot is being sent. Otherwise each would
            // move nextIndex and start a probe of its own, and the probes would
            // multiply with every heartbeat. A rejection at or below the known
            // match cannot be answered by probing either: the follower holds
            // that entry (it said so, from its disk), so only a reply to a
            // stale term sends one — which makes a correct leader step down
            // first (§5.1) — and probing again would draw the same reply, one
            // more round trip for every copy of it, without end.
            let stale = prev_log_index <= pr.match_index
                || match pr.state {
                    ProgressState::Probe => prev_log_index + 1 != pr.next_index,
                    ProgressState::Replicate => false,
                    ProgressState::Snapshot { .. } => true,
                };
            if stale {
                return;
            }
            // In a pipeline (Replicate) a gap — the follower's log ends before
            // `prev_log_index` — means the batch at its end was lost or
            // overtaken: send that one again (see `Progress::fill_hole`).
            if let (
                ProgressState::Replicate,
                Some(ConflictHint {
                    term: None,
                    index: end,
                    held,
                }),
            ) = (pr.state, hint)
            {
                if let Some((lo, hi)) = pr.fill_hole(end, held, prev_log_index) {
                    self.send_range(from, lo, hi);
                }
                return;
            }
            pr.paused = false;
            // "If AppendEntries fails because of log inconsistency: decrement
            // nextIndex and retry" — jumping straight over the conflicting term
            // (§5.3), never above the rejected probe.
            let target = match hint {
                Some(ConflictHint {
                    term: Some(term),
                    index,
                    ..
                }) => match self.log.last_index_of_term(term) {
                    Some(i) => i + 1,
                    None => index,
                },
                Some(ConflictHint {
                    term: None, index, ..
                }) => index,
                None => prev_log_index,
            };
            pr.next_index =
                target.clamp(pr.match_index + 1, prev_log_index.max(pr.match_index + 1));
            pr.state = ProgressState::Probe;
            self.send_append(from);
        }
    }

    /// Sends `peer` what it lacks: every outstanding batch to a follower known to
    /// match, one probe to a follower that is not.
    fn replicate_to(&mut self, peer: NodeId) {
        let last = self.log.last_index();
        while let Some(pr) = self.progress.get(&peer) {
            let more = match pr.state {
                ProgressState::Replicate => pr.may_stream(last, self.cfg.max_entries_per_append),
                ProgressState::Probe | ProgressState::Snapshot { .. } => !pr.paused,
            };
            if !more || !self.send_append(peer) {
                break;
            }
        }
    }

    /// Sends `peer` the entries from its next index (or a heartbeat when none).
    fn send_append(&mut self, peer: NodeId) -> bool {
        let last = self.log.last_index();
        let max = self.cfg.max_entries_per_append;
        let Some(pr) = self.progress.get_mut(&peer) else {
            return false;
        };
        if let ProgressState::Snapshot { .. } = pr.state {
            return self.send_snapshot_chunk(peer);
        }
        let prev_log_index = pr.next_index - 1;
        let Some(prev_log_term) = self.log.term(prev_log_index) else {
            // The entries it needs were compacted away: send the snapshot instead
            // (thesis §5.1, Figure 13).
            let Some(index) = self.snapshot.as_ref().map(|s| s.meta.index) else {
                return false; // unreachable: a log starts after index 0 only after a snapshot
            };
            pr.state = ProgressState::Snapshot { index, offset: 0 };
            pr.paused = false;
            return self.send_snapshot_chunk(peer);
        };
        let entries = self.log.slice(pr.next_index, last, max);
        if let Some(e) = entries.last() {
            if pr.state == ProgressState::Replicate {
                pr.next_index = e.index + 1; // optimistic: pipeline the next batch
            }
        }
        if pr.state == ProgressState::Probe {
            pr.paused = true;
        }
        let body = MessageBody::AppendEntries {
            prev_log_index,
            prev_log_term,
            entries,
            leader_commit: self.commit_index,
        };
        self.send(peer, body);
        true
    }

    /// Sends `peer` entries `from ..= to` again, in batches, outside the stream
    /// (`next_index` stays); with `to < from`, one AppendEntries with none (a
    /// heartbeat after `from - 1`). Falls back to the snapshot when the entry
    /// before `from` was compacted away.
    fn send_range(&mut self, peer: NodeId, from: Index, to: Index) {
        let max = self.cfg.max_entries_per_append;
        let mut start = from;
        loop {
            let Some(prev_log_term) = self.log.term(start - 1) else {
                if let Some(pr) = self.progress.get_mut(&peer) {
                    pr.next_index = start;
                }
                self.send_append(peer);
                return;
            };
            let entries = self.log.slice(start, to, max);
            let next = entries.last().map_or(start, |e| e.index + 1);
            let body = MessageBody::AppendEntries {
                prev_log_index: start - 1,
                prev_log_term,
                entries,
                leader_commit: self.commit_index,
            };
            self.send(peer, body);
            if next > to {
                return;
            }
            start = next;
        }
    }

    /// Sends `peer` the next chunk of the snapshot (Figure 13: InstallSnapshot).
    /// One chunk is out at a time; a heartbeat resends it if it is lost.
    fn send_snapshot_chunk(&mut self, peer: NodeId) -> bool {
        let Some(pr) = self.progress.get_mut(&peer) else {
            return false;
        };
        let ProgressState::Snapshot { index, offset } = pr.state else {
            return false;
        };
        // The snapshot a transfer began with is sent to its end, even if the
        // leader compacts again meanwhile: starting over with each newer one,
        // a transfer slower than compaction would never end. (The follower
        // then needs only the entries after it, or the next snapshot.)
        let (snap, offset) = match self.snapshots_out.get(peer) {
            Some(snap) if snap.meta.index == index => (snap.clone(), offset),
            _ => {
                let Some(snap) = self.snapshot.clone() else {
                    return false;
                };
                self.snapshots_out.insert(peer, snap.clone());
                (snap, 0)
            }
        };
        let total_bytes = snap.data.len() as u64;
        let offset = offset.min(total_bytes);
        pr.state = ProgressState::Snapshot {
            index: snap.meta.index,
            offset,
        };
        pr.paused = true;
        let end = (offset + self.cfg.snapshot_chunk_bytes as u64).min(total_bytes);
        let data = snap.data[offset as usize..end as usize].to_vec();
        let body = MessageBody::InstallSnapshot {
            meta: Box::new(snap.meta.clone()),
            offset,
            total_bytes,
            data,
            done: end == total_bytes,
        };
        self.send(peer, body);
        true
    }

    /// InstallSnapshot receiver (Figure 13).
    fn handle_install_snapshot(
        &mut self,
        leader: NodeId,
        meta: SnapshotMeta,
        offset: u64,
        total_bytes: u64,
        data: Vec<u8>,
        done: bool,
    ) {
        // From the leader of our term: each chunk counts as hearing from it
        // (resets the election timer), like AppendEntries.
        self.heard_from_leader(leader);
        let index = meta.index;
        let reply = |next_offset, installed| MessageBody::InstallSnapshotReply {
            index,
            next_offset,
            installed,
        };
        // Already hold that prefix, committed (so it matches the leader's).
        if index <= self.commit_index {
            self.incoming = None;
            self.send(leader, reply(total_bytes, true));
            return;
        }
        // "Create new snapshot file if first chunk (offset is 0)".
        if offset == 0 {
            self.incoming = Some(IncomingSnapshot {
                meta: meta.clone(),
                data: Vec::new(),
            });
        }
        // "Write data into snapshot file at given offset" — chunks arrive in
        // order; one out of place is answered with where to resume.
        let received = match self.incoming.as_mut() {
            Some(inc) if inc.meta == meta && inc.data.len() as u64 == offset => {
                inc.data.extend_from_slice(&data);
                inc.data.len() as u64
            }
            Some(inc) if inc.meta == meta => {
                let at = inc.data.len() as u64;
                self.send(leader, reply(at, false));
                return;
            }
            _ => {
                self.send(leader, reply(0, false));
                return;
            }
        };
        // "Reply and wait for more data chunks if done is false".
        if !done || received != total_bytes {
            self.send(leader, reply(received, false));
            return;
        }
        let Some(inc) = self.incoming.take() else {
            return;
        };
        self.install_snapshot(Snapshot {
            meta: inc.meta,
            data: Arc::from(inc.data),
        });
        self.send(leader, reply(received, true));
    }

    /// Figure 13: "If existing log entry has same index and term as snapshot's
    /// last included entry, retain log entries following it and reply. Discard
    /// the entire log. Reset state machine using snapshot contents (and load
    /// snapshot's cluster configuration)."
    fn install_snapshot(&mut self, snap: Snapshot) {
        let SnapshotMeta {
            index,
            term,
            ref config,
        } = snap.meta;
        let w = &mut self.ready.write;
        if self.log.term(index) == Some(term) {
            self.log.compact(index, term, config.clone());
            w.entries.retain(|e| e.index > index);
            w.truncate_from = w.truncate_from.map(|t| t.max(index + 1));
            self.stable_index = self.stable_index.max(index);
        } else {
            if self.log.last_index() > index {
                let t = &mut self.ready.truncated_from;
                *t = Some(t.map_or(index + 1, |t| t.min(index + 1)));
            }
            self.log = RaftLog::new(index, term, config.clone(), Vec::new());
            w.entries.clear();
            if self.stable_index > index || w.truncate_from.is_some() {
                w.truncate_from = Some(index + 1);
            }
            self.stable_index = index;
            self.durable_index = self.durable_index.min(index);
        }
        self.commit_index = self.commit_index.max(index);
        self.committed_out = self.committed_out.max(index);
        self.ready.write.snapshot = Some(Box::new(snap.clone()));
        self.ready.snapshot_installed = Some(Box::new(snap.clone()));
        self.snapshot = Some(snap);
    }

    fn handle_snapshot_reply(
        &mut self,
        from: NodeId,
        index: Index,
        next_offset: u64,
        installed: bool,
    ) {
        if self.role != Role::Leader {
            return;
        }
        let Some(pr) = self.progress.get_mut(&from) else {
            return;
        };
        if installed {
            let advanced = index > pr.match_index;
            pr.match_index = pr.match_index.max(index);
            pr.next_index = pr.next_index.max(pr.match_index + 1);
            let was_sending =
                matches!(pr.state, ProgressState::Snapshot { index: i, .. } if i <= index);
            if was_sending {
                self.snapshots_out.remove(from);
                let Some(pr) = self.progress.get_mut(&from) else {
                    return;
                };
                pr.state = ProgressState::Probe;
                pr.next_index = pr.match_index + 1;
                pr.paused = false;
            }
            // A duplicate "installed" sends nothing more.
            if !advanced && !was_sending {
                return;
            }
            self.maybe_commit();
            self.replicate_to(from);
            self.advance_catch_up();
            if self.transfer.is_some_and(|(t, _)| t == from) {
                self.continue_transfer();
            }
        } else if let ProgressState::Snapshot { index: i, offset } = pr.state {
            if i != index || next_offset == offset {
                return; // another snapshot's, or a duplicate: the chunk is out
            }
            pr.state = ProgressState::Snapshot {
                index,
                offset: next_offset,
            };
            // Further on: the next chunk. Further back (a late reply, or a
            // follower that lost what it had): the heartbeat resends from there,
            // so reordered replies cannot multiply the chunks in flight.
            if next_offset > offset {
                pr.paused = false;
                self.send_snapshot_chunk(from);
            }
        }
    }

    /// Leaders: "send initial empty AppendEntries RPCs (heartbeat) to each server;
    /// repeat during idle periods to prevent election timeouts (§5.2)". It also
    /// recovers from lost messages: a probe or a snapshot chunk goes again, and a
    /// stream that nothing acknowledged for a whole interval is asked where its
    /// hole is.
    fn heartbeat(&mut self) {
        for peer in self.peers() {
            if let Some(pr) = self.progress.get_mut(&peer) {
                pr.paused = false;
                if pr.state == ProgressState::Replicate {
                    // Entries out and nothing acknowledged for a whole
                    // interval: the first batch out may be lost (the follower
                    // holds those after it, see `early`), or the whole tail.
                    // Send that batch again, and an empty AppendEntries after
                    // the last entry sent: if the follower lacks any, its
                    // rejection tells which (`Progress::fill_hole`).
                    // Otherwise a plain heartbeat at the match.
                    let stuck = pr.match_index == pr.match_at_heartbeat
                        && pr.next_index > pr.match_index + 1;
                    pr.match_at_heartbeat = pr.match_index;
                    let (at, last_sent) = (pr.match_index, pr.next_index - 1);
                    let max = self.cfg.max_entries_per_append as Index;
                    if !stuck {
                        self.send_range(peer, at + 1, at);
                        continue;
                    }
                    let to = (at + max).min(last_sent);
                    self.send_range(peer, at + 1, to);
                    let streaming = self
                        .progress
                        .get(&peer)
                        .is_some_and(|pr| pr.state == ProgressState::Replicate);
                    if to < last_sent && streaming {
                        self.send_range(peer, last_sent + 1, last_sent);
                    }
                    continue;
                }
            }
            self.send_append(peer);
        }
    }

    /// Leaders: "If there exists an N such that N > commitIndex, a majority of
    /// matchIndex[i] ≥ N, and log[N].term == currentTerm: set commitIndex = N".
    fn maybe_commit(&mut self) {
        let config = self.log.config();
        let mut matched: Vec<Index> = config
            .voters
            .iter()
            .map(|v| {
                if *v == self.cfg.id {
                    // Thesis §10.2.1: the leader's own copy counts once durable.
                    self.durable_index
                } else {
                    self.progress.get(v).map_or(0, |p| p.match_index)
                }
            })
            .collect();
        matched.sort_unstable_by(|a, b| b.cmp(a));
        let Some(&n) = matched.get(config.quorum() - 1) else {
            return;
        };
        // §5.4.2: only entries of the current term commit by counting replicas;
        // earlier ones commit with them (Figure 8).
        if n > self.commit_index
            && (self.log.term(n) == Some(self.term) || self.bug(Bug::CommitOldTerm))
        {
            self.commit_index = n;
            // §6.4: reads that waited for this leader's first commit can start.
            for (read_id, requester) in std::mem::take(&mut self.reads_before_commit) {
                self.leader_read(read_id, requester);
            }
            // Thesis §4.2.2: a leader removed from the configuration "steps down
            // (returns to follower state) once the Cnew entry is committed".
            let removed = !self.membership().contains(self.cfg.id);
            if removed && self.log.last_config_index().is_some_and(|i| i <= n) {
                // Its followers learn the commit with the next heartbeat, which
                // it sends before leaving.
                self.broadcast_pending = false;
                for peer in self.peers() {
                    self.send_append(peer);
                }
                self.become_follower(self.term, None);
            }
        }
    }

    // ----- clients --------------------------------------------------------------

    fn append_request(&mut self, request: Request<C>) {
        let key = (request.client, request.seq);
        self.forwarded.remove(&key);
        let index = self.append(Payload::Command(Rc::new(request)));
        self.ready.accepted.push((key.0, key.1, index, self.term));
        // Sent (and, for a leader that is the only voter, committed) at
        // `take_ready`, so that requests arriving together share one
        // AppendEntries (batching).
        self.broadcast_pending = true;
    }

    fn forward(&mut self, leader: NodeId, request: Request<C>) {
        let key = (request.client, request.seq);
        self.ready.forwarded.push(key);
        self.send(
            leader,
            MessageBody::Forward {
                request: request.clone(),
            },
        );
        let sent_ms = self.now_ms;
        self.forwarded.insert(
            key,
            Forwarded {
                to: leader,
                sent_ms,
                accepted: false,
                request,
            },
        );
    }

    fn enqueue(&mut self, request: Request<C>) {
        if self.queued.len() >= self.cfg.max_queued_requests {
            self.ready
                .refused
                .push((request.client, request.seq, FailReason::QueueFull));
        } else {
            self.queued.push_back(request);
        }
    }

    // ----- helpers --------------------------------------------------------------

    /// Every other member, learners included: whom a leader replicates to.
    fn peers(&self) -> impl Iterator<Item = NodeId> + 'static {
        let me = self.cfg.id;
        // In `Membership::members`'s order (ascending, each once), without its
        // merging iterator (600 instructions a heartbeat of a 5-node leader).
        let config = self.membership();
        let mut members: Vec<NodeId> = config.voters.iter().copied().collect();
        for &learner in &config.learners {
            if let Err(at) = members.binary_search(&learner) {
                members.insert(at, learner);
            }
        }
        members.into_iter().filter(move |&v| v != me)
    }

    /// Every other voter: whom a (pre-)candidate asks, and whom a leader asks to
    /// confirm a read.
    fn voter_peers(&self) -> impl Iterator<Item = NodeId> + 'static {
        let me = self.cfg.id;
        let voters: Vec<NodeId> = self.membership().voters.iter().copied().collect();
        voters.into_iter().filter(move |&v| v != me)
    }

    fn send(&mut self, to: NodeId, body: MessageBody<C>) {
        self.ready.messages.push(Message {
            from: self.cfg.id,
            to,
            term: self.term,
            body,
        });
    }

    fn mark_hard_state(&mut self) {
        self.ready.write.hard_state = Some(HardState {
            term: self.term,
            voted_for: self.voted_for,
        });
    }

    /// Appends a new entry of the current term (leaders only).
    fn append(&mut self, payload: Payload<C>) -> Index {
        let index = self.log.last_index() + 1;
        self.push(Entry {
            index,
            term: self.term,
            payload,
        });
        index
    }

    fn push(&mut self, entry: Entry<C>) {
        // Copied into room already made: a copy made first and then pushed
        // went through the stack across the push's possible growth, and was
        // read back across two narrower stores (a store-forwarding stall:
        // half of this function's time under load).
        self.ready
            .write
            .entries
            .extend_from_slice(std::slice::from_ref(&entry));
        self.log.push(entry);
    }

    fn truncate_from(&mut self, index: Index) {
        // With a rule broken on purpose (a bug switch), a leader may lack
        // committed entries and overwrite them: the checker reports it, and
        // a debug build (`trunk serve`) must not panic on it.
        debug_assert!(
            index > self.commit_index || !self.cfg.bugs.is_empty(),
            "§5.4: committed entries are never removed"
        );
        self.log.truncate_from(index);
        let t = &mut self.ready.truncated_from;
        *t = Some(t.map_or(index, |t| t.min(index)));
        let w = &mut self.ready.write;
        w.entries.retain(|e| e.index < index);
        if index <= self.stable_index {
            w.truncate_from = Some(w.truncate_from.map_or(index, |t| t.min(index)));
            self.stable_index = index - 1;
        }
        self.durable_index = self.durable_index.min(index - 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `peers` lists what `Membership::members` does (ascending, each once),
    /// less the node itself: the order messages go out in, which replays rely on.
    #[test]
    fn peers_are_the_members_in_order_less_the_node_itself() {
        let cases = [
            (vec![1, 2, 3, 4, 5], vec![]),
            (vec![1, 3, 5], vec![2, 9]),
            // A learner listed as a voter too is listed once.
            (vec![1, 4, 5], vec![4, 2]),
            (vec![7], vec![]),
        ];
        for (voters, learners) in cases {
            let membership = Membership {
                voters: voters.iter().copied().collect(),
                learners: learners.iter().copied().collect(),
            };
            for me in [1, 4, 7] {
                let raft: Raft<u64> = Raft::new(
                    Config::new(me, 1),
                    PersistedState::bootstrap(membership.clone()),
                    0,
                );
                let expected: Vec<NodeId> = membership.members().filter(|&v| v != me).collect();
                assert_eq!(
                    raft.peers().collect::<Vec<_>>(),
                    expected,
                    "{membership:?}, node {me}"
                );
                let voters: Vec<NodeId> = membership
                    .voters
                    .iter()
                    .copied()
                    .filter(|&v| v != me)
                    .collect();
                assert_eq!(raft.voter_peers().collect::<Vec<_>>(), voters);
            }
        }
    }
}
