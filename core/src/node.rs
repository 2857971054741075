//! A node as a driver runs it: the Raft core, the replica it applies to, and the
//! client requests submitted through it.

use crate::raft::{Config, Raft, Ready, TransferOutcome};
use crate::state_machine::{Applied, AppliedKind, Replica, StateMachine};
use crate::storage::{DurableWrite, PersistedState};
use crate::types::*;
use std::collections::BTreeMap;

/// A client request submitted through this node and not yet ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PendingRequest {
    pub submitted_ms: u64,
    pub deadline_ms: u64,
    /// Set when this node appended the request to its log as leader.
    pub accepted: Option<(Index, Term)>,
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
}

pub struct Node<M: StateMachine> {
    raft: Raft<M::Command>,
    replica: Replica<M>,
    pending: BTreeMap<(ClientId, u64), PendingRequest>,
    reads: BTreeMap<u64, PendingRead>,
    request_timeout_ms: u64,
}

impl<M: StateMachine> Node<M> {
    /// Starts (or restarts) a node from its persisted state. The replica starts
    /// empty and refills as the commit index is learned again.
    pub fn new(
        cfg: Config,
        persisted: PersistedState<M::Command>,
        request_timeout_ms: u64,
        now_ms: u64,
    ) -> Self {
        Node {
            raft: Raft::new(cfg, persisted, now_ms),
            replica: Replica::default(),
            pending: BTreeMap::new(),
            reads: BTreeMap::new(),
            request_timeout_ms,
        }
    }

    pub fn raft(&self) -> &Raft<M::Command> {
        &self.raft
    }
    pub fn replica(&self) -> &Replica<M> {
        &self.replica
    }
    pub fn pending(&self) -> &BTreeMap<(ClientId, u64), PendingRequest> {
        &self.pending
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

    /// Turns PreVote and CheckQuorum on or off.
    pub fn set_options(&mut self, pre_vote: bool, check_quorum: bool) {
        self.raft.set_options(pre_vote, check_quorum);
    }

    /// The next virtual time at which [`Node::tick`] has work to do.
    pub fn next_deadline_ms(&self) -> u64 {
        let requests = self
            .pending
            .values()
            .map(|p| p.deadline_ms)
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
            .pending
            .iter()
            .filter(|(_, p)| p.deadline_ms <= now_ms)
            .map(|(k, _)| *k)
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
        for request in requests {
            let key = (request.client, request.seq);
            if let Some((index, term)) = self.replica.applied_at(key.0, key.1) {
                ended.extend(
                    self.pending
                        .remove(&key)
                        .map(|p| p.submitted_ms)
                        .into_iter()
                        .chain([now_ms])
                        .take(1)
                        .map(|submitted_ms| ClientReport {
                            client: key.0,
                            seq: key.1,
                            submitted_ms,
                            outcome: Outcome::Committed { index, term },
                        }),
                );
                continue;
            }
            self.pending.entry(key).or_insert(PendingRequest {
                submitted_ms: now_ms,
                deadline_ms: now_ms + self.request_timeout_ms,
                accepted: None,
            });
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

    /// Applies entries of a released batch, in order. Returns what each did and
    /// the requests that thereby committed.
    pub fn apply_committed(
        &mut self,
        entries: &[Entry<M::Command>],
    ) -> (Vec<Applied>, Vec<ClientReport>) {
        let mut applied = Vec::with_capacity(entries.len());
        let mut ended = Vec::new();
        for entry in entries {
            let a = self.replica.apply(entry);
            let committed = match a.kind {
                AppliedKind::Command { client, seq } => Some((client, seq, a.index, a.term)),
                AppliedKind::Duplicate {
                    client,
                    seq,
                    original,
                } => self
                    .replica
                    .applied_at(client, seq)
                    .map(|(_, term)| (client, seq, original, term)),
                AppliedKind::Noop | AppliedKind::Config => None,
            };
            if let Some((client, seq, index, term)) = committed {
                ended.extend(self.end((client, seq), Outcome::Committed { index, term }));
            }
            applied.push(a);
        }
        (applied, ended)
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
        self.pending
            .into_iter()
            .map(|((client, seq), p)| ClientReport {
                client,
                seq,
                submitted_ms: p.submitted_ms,
                outcome: Outcome::Failed(FailReason::NodeCrashed),
            })
            .collect()
    }

    fn end(&mut self, key: (ClientId, u64), outcome: Outcome) -> Option<ClientReport> {
        let p = self.pending.remove(&key)?;
        self.raft.forget_request(key.0, key.1);
        Some(ClientReport {
            client: key.0,
            seq: key.1,
            submitted_ms: p.submitted_ms,
            outcome,
        })
    }

    fn collect(&mut self, mut ended: Vec<ClientReport>) -> Batch<M::Command> {
        let Ready {
            write,
            messages,
            committed,
            accepted,
            refused,
            truncated_from,
            transfer,
            reads_ready,
            reads_failed,
        } = self.raft.take_ready();
        let mut reads = Vec::new();
        for (id, index) in reads_ready {
            if let Some(r) = self.reads.get_mut(&id) {
                r.index = Some(index);
            }
        }
        for (id, why) in reads_failed {
            reads.extend(self.end_read(id, ReadOutcome::Failed(why.to_string())));
        }
        reads.extend(self.serve_reads());
        for (client, seq, index, term) in accepted {
            if let Some(p) = self.pending.get_mut(&(client, seq)) {
                p.accepted = Some((index, term));
            }
        }
        for (client, seq, why) in refused {
            ended.extend(self.end((client, seq), Outcome::Failed(why)));
        }
        // An entry this node appended as leader and that is gone from its log was
        // overwritten by a later leader: it can never commit (§5.4).
        let overwritten: Vec<_> = self
            .pending
            .iter()
            .filter(|(_, p)| {
                p.accepted
                    .is_some_and(|(index, term)| self.raft.log().term(index) != Some(term))
            })
            .map(|(k, _)| *k)
            .collect();
        for key in overwritten {
            ended.extend(self.end(key, Outcome::Failed(FailReason::NotLeaderAnyMore)));
        }
        Batch {
            write,
            messages,
            committed,
            ended,
            truncated_from,
            transfer,
            reads,
        }
    }
}
