//! A node as a driver runs it: the Raft core, the replica it applies to, and the
//! client requests submitted through it.

use crate::raft::{CatchUpOutcome, Config, Raft, TransferOutcome};
use crate::state_machine::{Applied, AppliedKind, Replica, SessionLookup, StateMachine};
use crate::storage::{DurableWrite, PersistedState};
use crate::types::*;
use rustc_hash::FxHashMap;
use std::collections::{BTreeMap, VecDeque};

/// A client request submitted through this node and not yet ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PendingRequest {
    pub submitted_ms: u64,
    pub deadline_ms: u64,
    /// Set when this node appended the request to its log as leader (the
    /// latest time, if more than once).
    pub accepted: Option<(Index, Term)>,
    /// Copies of the request this node handed out: appended as leader, or
    /// forwarded to a leader. Each may commit; with one, its death is final.
    pub copies: u32,
}

/// A linearizable read (§6.4) under way at this node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PendingRead {
    pub started_ms: u64,
    pub deadline_ms: u64,
    /// The leader asked for the read index, or `None` if this node led.
    pub via: Option<NodeId>,
    /// Known once confirmed: serve when applied this far.
    pub index: Option<Index>,
}

/// How a read ended.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ReadOutcome {
    /// Served from this replica's state machine, applied up to `applied` (at
    /// least the read index). `via`: the leader that gave the read index, or
    /// `None` when this node was the leader and confirmed it with a heartbeat round.
    Served {
        index: Index,
        applied: Index,
        via: Option<NodeId>,
    },
    Failed(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadReport {
    pub read_id: u64,
    pub started_ms: u64,
    pub outcome: ReadOutcome,
}

/// How a request submitted through this node ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientReport {
    pub client: ClientId,
    pub seq: u64,
    pub submitted_ms: u64,
    pub outcome: Outcome,
}

/// One input's output, for the driver. `write` must be durable before
/// `messages` leave and before `committed` is passed to [`Node::apply_committed`];
/// batches are released in order.
#[derive(Clone, Debug)]
pub struct Batch<C> {
    pub write: DurableWrite<C>,
    pub messages: Vec<Message<C>>,
    pub committed: Vec<Entry<C>>,
    /// Requests that ended now (failures decided at this input).
    pub ended: Vec<ClientReport>,
    /// The lowest in-memory log index removed by this input, if any.
    pub truncated_from: Option<Index>,
    /// A leadership transfer this node led ended.
    pub transfer: Option<TransferOutcome>,
    /// Reads that ended now (served, or failed).
    pub reads: Vec<ReadReport>,
    /// A snapshot from the leader to restore the state machine from, after
    /// `write` and before `committed` (pass it to [`Node::apply_committed`]).
    pub snapshot: Option<Box<Snapshot>>,
    /// A new server's catch-up, led by this node, ended.
    pub catch_up: Option<CatchUpOutcome>,
}

#[derive(Clone)]
pub struct Node<M: StateMachine> {
    raft: Raft<M::Command>,
    replica: Replica<M>,
    /// Requests submitted here and not yet ended. A hash map (the leader's
    /// holds thousands under load, and each is looked up several times); the
    /// few places that walk it sort the keys first, so runs stay deterministic.
    pending: FxHashMap<(ClientId, u64), PendingRequest>,
    /// The pending requests' deadlines, (deadline_ms, client, seq), in the
    /// order submitted — which is deadline order, as every request gets the
    /// same timeout. Entries of requests that ended are skipped, and dropped
    /// from the front by [`Node::prune_deadlines`].
    deadlines: VecDeque<(u64, ClientId, u64)>,
    reads: BTreeMap<u64, PendingRead>,
    request_timeout_ms: u64,
    /// About how many bytes the in-memory log holds (for the snapshot threshold).
    log_bytes: u64,
    /// Pending requests this node appended as leader, by index (ascending,
    /// each index once: a deque, as indexes mostly come in order): once the
    /// replica has applied past the index without applying the request,
    /// that copy is dead ([`Node::settle_dead_copies`]).
    accepted_at: VecDeque<(Index, (ClientId, u64))>,
    /// The record of the snapshot the replica was rebuilt from at start.
    restored: Option<Applied>,
}

/// Records that `key` was appended at `index`, replacing what was recorded
/// at that index: in index order, at the back unless the log was cut short
/// and appended again.
fn accept_at(
    accepted: &mut VecDeque<(Index, (ClientId, u64))>,
    index: Index,
    key: (ClientId, u64),
) {
    match accepted.back() {
        Some(&(last, _)) if last >= index => {
            match accepted.binary_search_by_key(&index, |&(i, _)| i) {
                Ok(at) => accepted[at].1 = key,
                Err(at) => accepted.insert(at, (index, key)),
            }
        }
        _ => accepted.push_back((index, key)),
    }
}

/// About how many bytes `entry` takes in a log.
fn entry_bytes<M: StateMachine>(entry: &Entry<M::Command>) -> u64 {
    24 + match &entry.payload {
        Payload::Noop => 0,
        Payload::Command(r) => 16 + M::command_bytes(&r.command) as u64,
        Payload::Config(m) => 8 * m.members().count() as u64,
    }
}

impl<M: StateMachine> Node<M> {
    /// Starts (or restarts) a node from its persisted state. The replica starts
    /// empty and refills as the commit index is learned again.
    pub fn new(
        cfg: Config,
        persisted: PersistedState<M::Command>,
        request_timeout_ms: u64,
        now_ms: u64,
    ) -> Result<Self, String> {
        let raft = Raft::new(cfg, persisted, now_ms);
        let mut replica = Replica::default();
        // Restart rebuilds from the snapshot, then from the log as the commit
        // index is learned again.
        let restored = match raft.snapshot() {
            Some(snap) => Some(replica.restore(&snap.meta, &snap.data)?),
            None => None,
        };
        let mut node = Node {
            raft,
            replica,
            pending: FxHashMap::default(),
            deadlines: VecDeque::new(),
            reads: BTreeMap::new(),
            request_timeout_ms,
            log_bytes: 0,
            accepted_at: VecDeque::new(),
            restored,
        };
        node.recount_log_bytes();
        Ok(node)
    }

    fn recount_log_bytes(&mut self) {
        self.log_bytes = self.raft.log().entries().iter().map(entry_bytes::<M>).sum();
    }

    /// About how many bytes the in-memory log holds.
    pub fn log_bytes(&self) -> u64 {
        self.log_bytes
    }

    /// Snapshots the state machine as applied so far and drops the log it
    /// covers ("compact now").
    pub fn compact_now(&mut self) -> Result<Batch<M::Command>, String> {
        self.compact()?;
        Ok(self.collect(Vec::new()))
    }

    fn compact(&mut self) -> Result<(), String> {
        let index = self.replica.last_applied();
        let (base, _) = self.raft.log().base();
        if index <= base {
            return Err(format!(
                "nothing to compact: the log already starts after index {base}, the last applied entry"
            ));
        }
        self.raft.compact(index, self.replica.snapshot())
    }

    /// Thesis §5.1.1: snapshot when the log has grown past the threshold, which
    /// scales with the size of the last snapshot.
    fn snapshot_due(&self) -> bool {
        let cfg = self.raft.config();
        let last_snapshot = self.raft.snapshot().map_or(0, |s| s.data.len() as u64);
        let threshold = cfg
            .snapshot_min_log_bytes
            .max(cfg.snapshot_log_ratio.saturating_mul(last_snapshot));
        self.log_bytes >= threshold && self.replica.last_applied() > self.raft.log().base().0
    }

    /// Hands back a batch's emptied message vector: its buffer is reused.
    #[inline]
    pub fn recycle_messages(&mut self, buffer: Vec<Message<M::Command>>) {
        self.raft.recycle_messages(buffer);
    }

    pub fn raft(&self) -> &Raft<M::Command> {
        &self.raft
    }
    pub fn replica(&self) -> &Replica<M> {
        &self.replica
    }
    /// The record of the snapshot the replica was rebuilt from when this node
    /// started (restarted from storage that holds one), for the checker.
    pub fn restored(&self) -> Option<Applied> {
        self.restored
    }
    /// The requests submitted here and not yet ended, in (client, seq) order.
    fn pending_keys(&self) -> Vec<(ClientId, u64)> {
        let mut keys: Vec<_> = self.pending.keys().copied().collect();
        keys.sort_unstable();
        keys
    }

    /// §3.10: hands this leader's leadership to `target`.
    pub fn transfer_leadership(
        &mut self,
        now_ms: u64,
        target: NodeId,
    ) -> Result<Batch<M::Command>, String> {
        self.raft.transfer_leadership(now_ms, target)?;
        Ok(self.collect(Vec::new()))
    }

    /// Adds or removes a server (this node must lead; thesis §4.2).
    pub fn change_membership(
        &mut self,
        now_ms: u64,
        change: ConfChange,
    ) -> Result<Batch<M::Command>, String> {
        self.raft.change_membership(now_ms, change)?;
        Ok(self.collect(Vec::new()))
    }

    /// Switches rules off (or back on) from now on ([`crate::bugs`]).
    pub fn set_bugs(&mut self, bugs: crate::bugs::BugSet) {
        self.raft.set_bugs(bugs);
    }

    /// Turns PreVote and CheckQuorum on or off at `now_ms`.
    pub fn set_options(&mut self, now_ms: u64, pre_vote: bool, check_quorum: bool) {
        self.raft.set_options(now_ms, pre_vote, check_quorum);
    }

    /// The next virtual time at which [`Node::tick`] has work to do.
    pub fn next_deadline_ms(&self) -> u64 {
        let requests = self
            .deadlines
            .front()
            .map(|d| d.0)
            .into_iter()
            .chain(self.reads.values().map(|r| r.deadline_ms))
            .min();
        let raft = self.raft.next_deadline_ms();
        requests.map_or(raft, |r| r.min(raft))
    }

    pub fn step(&mut self, now_ms: u64, msg: Message<M::Command>) -> Batch<M::Command> {
        self.raft.step(now_ms, msg);
        self.collect(Vec::new())
    }

    pub fn tick(&mut self, now_ms: u64) -> Batch<M::Command> {
        self.raft.tick(now_ms);
        let expired: Vec<_> = self
            .deadlines
            .iter()
            .take_while(|d| d.0 <= now_ms)
            .filter(|&&(d, client, seq)| self.pending_deadline(client, seq) == Some(d))
            .map(|&(_, client, seq)| (client, seq))
            .collect();
        let ended = expired
            .into_iter()
            .filter_map(|k| self.end(k, Outcome::Failed(FailReason::TimedOut)))
            .collect();
        let late: Vec<u64> = self
            .reads
            .iter()
            .filter(|(_, r)| r.deadline_ms <= now_ms)
            .map(|(id, _)| *id)
            .collect();
        let mut batch = self.collect(ended);
        for id in late {
            self.raft.forget_read(id);
            batch
                .reads
                .extend(self.end_read(id, ReadOutcome::Failed("timed out".into())));
        }
        batch
    }

    pub fn timeout_now(&mut self, now_ms: u64) -> Batch<M::Command> {
        self.raft.timeout_now(now_ms);
        self.collect(Vec::new())
    }

    /// This node's disk completed a write ([`Raft::persisted`]): what follows,
    /// if anything (a node that is the only voter wins its election, or
    /// commits).
    pub fn persisted(&mut self, done: crate::storage::WriteDone) -> Option<Batch<M::Command>> {
        self.raft.persisted(done);
        self.raft.has_ready().then(|| self.collect(Vec::new()))
    }

    /// A client submits `request` through this node. A request already applied
    /// (a retry) ends at once with its original index: it is not appended again.
    pub fn submit(&mut self, now_ms: u64, request: Request<M::Command>) -> Batch<M::Command> {
        self.submit_many(now_ms, vec![request])
    }

    /// Several requests arrive together; a leader sends them in one batch.
    pub fn submit_many(
        &mut self,
        now_ms: u64,
        requests: Vec<Request<M::Command>>,
    ) -> Batch<M::Command> {
        let mut ended = Vec::new();
        self.raft.reserve(requests.len());
        for request in requests {
            let key = (request.client, request.seq);
            let known = match self.replica.session_lookup(key.0, key.1) {
                SessionLookup::Applied(index, term) => Some(Outcome::Committed { index, term }),
                SessionLookup::Expired => Some(Outcome::Failed(FailReason::SessionExpired)),
                SessionLookup::New => None,
            };
            if let Some(outcome) = known {
                let submitted_ms = self.pending.remove(&key).map_or(now_ms, |p| p.submitted_ms);
                self.raft.forget_request(key.0, key.1);
                ended.push(ClientReport {
                    client: key.0,
                    seq: key.1,
                    submitted_ms,
                    outcome,
                });
                continue;
            }
            if !self.pending.contains_key(&key) {
                let deadline_ms = now_ms + self.request_timeout_ms;
                self.deadlines.push_back((deadline_ms, key.0, key.1));
                let p = PendingRequest {
                    submitted_ms: now_ms,
                    deadline_ms,
                    accepted: None,
                    copies: 0,
                };
                self.pending.insert(key, p);
            }
            self.raft.propose(now_ms, request);
        }
        self.collect(ended)
    }

    /// §6.4: a linearizable read of the state machine through this node.
    pub fn read(&mut self, now_ms: u64, read_id: u64) -> Batch<M::Command> {
        let via = match self.raft.role() {
            crate::types::Role::Leader => None,
            _ => self.raft.leader(),
        };
        self.reads.insert(
            read_id,
            PendingRead {
                started_ms: now_ms,
                deadline_ms: now_ms + self.request_timeout_ms,
                via,
                index: None,
            },
        );
        self.raft.read(now_ms, read_id);
        self.collect(Vec::new())
    }

    /// Serves every read whose index this replica has applied (§6.4 step 4:
    /// "waits for its state machine to advance at least as far as the readIndex").
    pub fn serve_reads(&mut self) -> Vec<ReadReport> {
        if self.reads.is_empty() {
            return Vec::new(); // (most calls: this runs after every input)
        }
        let applied = self.replica.last_applied();
        let ready: Vec<(u64, Index, Option<NodeId>)> = self
            .reads
            .iter()
            .filter_map(|(id, r)| Some((*id, r.index?, r.via)).filter(|(_, i, _)| *i <= applied))
            .collect();
        ready
            .into_iter()
            .filter_map(|(id, index, via)| {
                self.end_read(
                    id,
                    ReadOutcome::Served {
                        index,
                        applied,
                        via,
                    },
                )
            })
            .collect()
    }

    fn end_read(&mut self, read_id: u64, outcome: ReadOutcome) -> Option<ReadReport> {
        let r = self.reads.remove(&read_id)?;
        Some(ReadReport {
            read_id,
            started_ms: r.started_ms,
            outcome,
        })
    }

    /// Applies a released batch: its snapshot (if one was installed), then its
    /// committed entries, in order. Adds what each did to `applied` (a buffer
    /// the caller reuses) and returns the requests that thereby committed. An
    /// error means the snapshot could not be restored: the replica is
    /// unchanged and the node must stop.
    pub fn apply_committed(
        &mut self,
        snapshot: Option<&Snapshot>,
        entries: &[Entry<M::Command>],
        applied: &mut Vec<Applied>,
    ) -> Result<Vec<ClientReport>, String> {
        applied.reserve(entries.len() + 1);
        let mut ended = Vec::new();
        if let Some(snap) = snapshot {
            if snap.meta.index > self.replica.last_applied() {
                applied.push(self.replica.restore(&snap.meta, &snap.data)?);
                // Requests the snapshot shows applied have committed.
                for (client, seq) in self.pending_keys() {
                    if let Some((index, term)) = self.replica.applied_at(client, seq) {
                        let outcome = Outcome::Committed { index, term };
                        ended.extend(self.end((client, seq), outcome));
                    }
                }
            }
        }
        for entry in entries {
            if entry.index <= self.replica.last_applied() {
                continue; // covered by the snapshot just restored
            }
            let a = self.replica.apply(entry);
            let outcome = match a.kind {
                AppliedKind::Command { client, seq } => Some((
                    client,
                    seq,
                    Outcome::Committed {
                        index: a.index,
                        term: a.term,
                    },
                )),
                AppliedKind::Duplicate {
                    client,
                    seq,
                    original,
                } => self.replica.applied_at(client, seq).map(|(_, term)| {
                    (
                        client,
                        seq,
                        Outcome::Committed {
                            index: original,
                            term,
                        },
                    )
                }),
                AppliedKind::Expired { client, seq } => {
                    Some((client, seq, Outcome::Failed(FailReason::SessionExpired)))
                }
                AppliedKind::Noop | AppliedKind::Config | AppliedKind::Snapshot => None,
            };
            if let Some((client, seq, outcome)) = outcome {
                ended.extend(self.end((client, seq), outcome));
            }
            applied.push(a);
        }
        ended.extend(self.settle_dead_copies());
        self.prune_deadlines();
        Ok(ended)
    }

    /// Requests whose copy appended here died: the replica has applied past
    /// its index without applying it, so another entry committed there (§5.4:
    /// a committed entry is never replaced). If that was the only copy this
    /// node handed out, the request will never commit, and says so. If there
    /// were more (it was forwarded to a leader too, or appended again), another
    /// may still commit: the request waits, and commits or times out saying
    /// that it may still commit.
    fn settle_dead_copies(&mut self) -> Vec<ClientReport> {
        let applied = self.replica.last_applied();
        let mut ended = Vec::new();
        while let Some(&(index, key)) = self.accepted_at.front() {
            if index > applied {
                break;
            }
            self.accepted_at.pop_front();
            let Some(p) = self.pending.get(&key) else {
                continue; // ended already (committed, most often)
            };
            if p.accepted.map(|a| a.0) != Some(index) {
                continue; // appended again since, at another index
            }
            let outcome = match self.replica.session_lookup(key.0, key.1) {
                SessionLookup::Applied(index, term) => Outcome::Committed { index, term },
                SessionLookup::Expired => Outcome::Failed(FailReason::SessionExpired),
                SessionLookup::New if p.copies == 1 => Outcome::Failed(FailReason::Overwritten),
                SessionLookup::New => continue,
            };
            ended.extend(self.end(key, outcome));
        }
        ended
    }

    /// The node crashes: every read it held fails.
    pub fn crash_reads(&mut self) -> Vec<ReadReport> {
        let ids: Vec<u64> = self.reads.keys().copied().collect();
        ids.into_iter()
            .filter_map(|id| self.end_read(id, ReadOutcome::Failed("the node crashed".into())))
            .collect()
    }

    /// The node crashes: every request it held fails.
    pub fn crash(self) -> Vec<ClientReport> {
        self.pending_keys()
            .into_iter()
            .map(|(client, seq)| ClientReport {
                client,
                seq,
                submitted_ms: self.pending[&(client, seq)].submitted_ms,
                outcome: Outcome::Failed(FailReason::NodeCrashed),
            })
            .collect()
    }

    fn end(&mut self, key: (ClientId, u64), outcome: Outcome) -> Option<ClientReport> {
        if self.pending.is_empty() {
            return None; // (a follower applying what others' clients sent)
        }
        let p = self.pending.remove(&key)?;
        self.raft.forget_request(key.0, key.1);
        Some(ClientReport {
            client: key.0,
            seq: key.1,
            submitted_ms: p.submitted_ms,
            outcome,
        })
    }

    fn pending_deadline(&self, client: ClientId, seq: u64) -> Option<u64> {
        self.pending.get(&(client, seq)).map(|p| p.deadline_ms)
    }

    /// Drops the deadlines of ended requests from the front, so that the
    /// front is the earliest deadline of a pending request.
    fn prune_deadlines(&mut self) {
        while let Some(&(d, client, seq)) = self.deadlines.front() {
            if self.pending_deadline(client, seq) == Some(d) {
                break;
            }
            self.deadlines.pop_front();
        }
    }

    fn collect(&mut self, mut ended: Vec<ClientReport>) -> Batch<M::Command> {
        use std::mem::take;
        if self.snapshot_due() {
            // Cannot fail: due only when there are applied entries to cover.
            let _ = self.compact();
        }
        // Field by field, in place (see `Raft::ready_to_take`); not through
        // `Ready::take_fields`, which assembles a `Ready` that the compiler
        // then copies with a `memcpy` call (measured: +5 % idle time).
        let ready = self.raft.ready_to_take();
        let write = DurableWrite {
            hard_state: ready.write.hard_state.take(),
            snapshot: ready.write.snapshot.take(),
            truncate_from: ready.write.truncate_from.take(),
            entries: take(&mut ready.write.entries),
        };
        let messages = take(&mut ready.messages);
        let committed = take(&mut ready.committed);
        let accepted = take(&mut ready.accepted);
        let forwarded = take(&mut ready.forwarded);
        let refused = take(&mut ready.refused);
        let truncated_from = ready.truncated_from.take();
        let transfer = ready.transfer.take();
        let reads_ready = take(&mut ready.reads_ready);
        let reads_failed = take(&mut ready.reads_failed);
        let snapshot_installed = ready.snapshot_installed.take();
        let catch_up = ready.catch_up.take();
        if truncated_from.is_some() || write.snapshot.is_some() {
            self.recount_log_bytes();
        } else {
            self.log_bytes += write.entries.iter().map(entry_bytes::<M>).sum::<u64>();
        }
        for (client, seq, index, term) in accepted {
            if let Some(p) = self.pending.get_mut(&(client, seq)) {
                p.accepted = Some((index, term));
                p.copies += 1;
                accept_at(&mut self.accepted_at, index, (client, seq));
            }
        }
        for key in forwarded {
            if let Some(p) = self.pending.get_mut(&key) {
                p.copies += 1;
            }
        }
        for (client, seq, why) in refused {
            ended.extend(self.end((client, seq), Outcome::Failed(why)));
        }
        self.prune_deadlines();
        // Built where it is returned (a batch assembled first and returned
        // after is copied with a `memcpy` call, on every input).
        Batch {
            write,
            messages,
            committed,
            ended,
            truncated_from,
            transfer,
            reads: if self.reads.is_empty() {
                Vec::new() // no read open here (most inputs): nothing to do
            } else {
                self.settle_reads(reads_ready, reads_failed)
            },
            snapshot: snapshot_installed,
            catch_up,
        }
    }

    /// The reads that ended with this input: failed, or now servable.
    #[inline(never)]
    fn settle_reads(
        &mut self,
        ready: Vec<(u64, Index)>,
        failed: Vec<(u64, &'static str)>,
    ) -> Vec<ReadReport> {
        for (id, index) in ready {
            if let Some(r) = self.reads.get_mut(&id) {
                r.index = Some(index);
            }
        }
        let mut reads = Vec::new();
        for (id, why) in failed {
            reads.extend(self.end_read(id, ReadOutcome::Failed(why.to_string())));
        }
        reads.extend(self.serve_reads());
        reads
    }
}
