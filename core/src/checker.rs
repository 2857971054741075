//! The invariant checker (Raft paper, Figure 3), callable after every step of a
//! simulation. It keeps what it has seen so that each call checks only what
//! changed, which makes checking after every step affordable.
//!
//! - Election Safety: at most one leader per term.
//! - Log Matching: two entries with the same index and term hold the same
//!   payload and follow the same history. (Checked as: every (index, term) has
//!   one payload and one predecessor term across all logs ever seen; by
//!   induction this is the paper's property.)
//! - Leader Completeness: an entry committed in a term is in the log of every
//!   leader of a later term.
//! - State Machine Safety: no two replicas apply different entries at one index.
//! - Chat: each acknowledged request is applied exactly once, at the
//!   acknowledged index, on every replica that reaches that index.
//! - Persist before send (checked by the simulator on every message it
//!   releases): a message's term, a granted vote and acknowledged entries are
//!   durable before the message leaves.
//! - Snapshots agree with the logs they replaced: a log's base (index, term) is
//!   the committed entry at that index, and a replica restored from a snapshot
//!   has the history digest every other replica had at that index.
//!
//! All of these hold across membership changes: they are stated over every
//! server that ever ran, whatever configuration it was in.

use crate::sim::Simulator;
use crate::state_machine::{AppliedKind, Replica, StateMachine};
use crate::types::*;
use std::collections::{BTreeMap, HashMap};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    pub at_ms: u64,
    pub rule: &'static str,
    pub detail: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "at {} ms: {} violated: {}",
            self.at_ms, self.rule, self.detail
        )
    }
}

#[derive(Clone, Copy)]
struct Committed {
    term: Term,
    /// The lowest current term of a node seen holding it committed: the entry was
    /// committed in this term or earlier.
    commit_term: Term,
}

#[derive(Default)]
struct NodeState {
    incarnation: u32,
    /// Terms of the log entries last seen, from index 1 (or the log's start).
    log_terms: Vec<Term>,
    log_base: Index,
    commit_checked: Index,
    /// Position in the replica's applied history checked so far.
    applied_checked: u64,
    /// As leader: the term in which its log was found complete, and how many
    /// entries of `commit_order` were checked.
    completeness: Option<(Term, usize)>,
    /// The index of the last snapshot of this node that was checked.
    snapshot_checked: Index,
}

pub struct Checker<C> {
    leaders: BTreeMap<Term, NodeId>,
    /// (index, term) → (payload, term of the entry before it).
    ledger: HashMap<(Index, Term), (Payload<C>, Term)>,
    committed: BTreeMap<Index, Committed>,
    /// Committed indexes in the order they were discovered.
    commit_order: Vec<Index>,
    applied: HashMap<Index, (Term, AppliedKind)>,
    /// The history digest of the replicas that applied each index.
    digests: HashMap<Index, u64>,
    first_applied: HashMap<(ClientId, u64), Index>,
    /// Positions in the simulator's acknowledgements and reads checked so far.
    acks_checked: u64,
    reads_checked: u64,
    nodes: BTreeMap<NodeId, NodeState>,
}

impl<C: Clone + PartialEq + std::fmt::Debug> Default for Checker<C> {
    fn default() -> Self {
        Checker {
            leaders: BTreeMap::new(),
            ledger: HashMap::new(),
            committed: BTreeMap::new(),
            commit_order: Vec::new(),
            applied: HashMap::new(),
            digests: HashMap::new(),
            first_applied: HashMap::new(),
            acks_checked: 0,
            reads_checked: 0,
            nodes: BTreeMap::new(),
        }
    }
}

impl<C: Clone + PartialEq + std::fmt::Debug> Checker<C> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Checks every invariant against the simulator's current state.
    pub fn check<M>(&mut self, sim: &Simulator<M>) -> Result<(), Violation>
    where
        M: StateMachine<Command = C> + PartialEq + 'static,
    {
        let at_ms = sim.now_ms();
        let fail = |rule, detail: String| Violation {
            at_ms,
            rule,
            detail,
        };
        if let Some((at_ms, what)) = sim.unsafe_send() {
            return Err(Violation {
                at_ms: *at_ms,
                rule: "Persist before send",
                detail: what.clone(),
            });
        }
        if let Some((at_ms, what)) = sim.snapshot_fault() {
            return Err(Violation {
                at_ms: *at_ms,
                rule: "Snapshot agrees with log",
                detail: what.clone(),
            });
        }
        for id in sim.node_ids() {
            let Some(view) = sim.node(id) else { continue };
            let Some(node) = view.node else { continue };
            let raft = node.raft();
            let log = raft.log();
            let st = self.nodes.entry(id).or_default();
            if st.incarnation != view.incarnation {
                *st = NodeState {
                    incarnation: view.incarnation,
                    ..NodeState::default()
                };
            }

            // Election Safety.
            if raft.role() == Role::Leader {
                let first = *self.leaders.entry(raft.term()).or_insert(id);
                if first != id {
                    return Err(fail(
                        "Election Safety",
                        format!(
                            "nodes {first} and {id} are both leader in term {}",
                            raft.term()
                        ),
                    ));
                }
            }

            // Log Matching, on the part of the log that changed since the last call.
            let (base, _) = log.base();
            let terms = log.entries().iter().map(|e| e.term);
            let changed_from = if st.log_base != base {
                0
            } else {
                st.log_terms
                    .iter()
                    .zip(terms.clone())
                    .position(|(a, b)| *a != b)
                    .unwrap_or(st.log_terms.len().min(log.entries().len()))
            };
            for e in &log.entries()[changed_from..] {
                let prev = log.term(e.index - 1).unwrap_or(0);
                match self.ledger.get(&(e.index, e.term)) {
                    Some((payload, prev_term)) if *payload != e.payload || *prev_term != prev => {
                        return Err(fail(
                            "Log Matching",
                            format!(
                                "node {id} holds entry {}@{} = {:?} after term {prev}, elsewhere it is {:?} after term {prev_term}",
                                e.index, e.term, e.payload, payload
                            ),
                        ));
                    }
                    Some(_) => {}
                    None => {
                        self.ledger
                            .insert((e.index, e.term), (e.payload.clone(), prev));
                    }
                }
            }
            let only_appended = changed_from == st.log_terms.len();
            st.log_terms.truncate(changed_from);
            st.log_terms
                .extend(log.entries()[changed_from..].iter().map(|e| e.term));
            st.log_base = base;

            // A snapshot this node just took holds exactly its state machine,
            // which is still at the snapshot's index.
            if let Some(snap) = raft.snapshot() {
                let replica = node.replica();
                if snap.meta.index > st.snapshot_checked
                    && replica.last_applied() == snap.meta.index
                {
                    st.snapshot_checked = snap.meta.index;
                    let mut restored = Replica::<M>::default();
                    let same = restored.restore(&snap.meta, &snap.data).is_ok()
                        && restored.machine() == replica.machine()
                        && restored.digest() == replica.digest();
                    if !same {
                        return Err(fail(
                            "Snapshot agrees with log",
                            format!(
                                "node {id}'s snapshot at index {} does not restore to the state it applied up to there",
                                snap.meta.index
                            ),
                        ));
                    }
                }
            }

            // A log that starts after a snapshot starts after a committed entry.
            let (_, base_term) = log.base();
            if base > 0 {
                if let Some(c) = self.committed.get(&base) {
                    if c.term != base_term {
                        return Err(fail(
                            "Snapshot agrees with log",
                            format!(
                                "node {id}'s log starts after a snapshot at {base}@{base_term}, but entry {base} committed with term {}",
                                c.term
                            ),
                        ));
                    }
                }
            }

            // Committed entries never change.
            let commit = raft.commit_index();
            if commit > log.last_index() {
                return Err(fail(
                    "Commit",
                    format!(
                        "node {id} commit index {commit} is past its last entry {}",
                        log.last_index()
                    ),
                ));
            }
            for index in (st.commit_checked + 1).max(base + 1)..=commit {
                let term = log.term(index).unwrap_or(0);
                match self.committed.get_mut(&index) {
                    Some(c) if c.term != term => {
                        return Err(fail(
                            "State Machine Safety",
                            format!(
                                "entry {index} committed with term {} earlier, node {id} commits it with term {term}",
                                c.term
                            ),
                        ));
                    }
                    Some(c) => c.commit_term = c.commit_term.min(raft.term()),
                    None => {
                        self.committed.insert(
                            index,
                            Committed {
                                term,
                                commit_term: raft.term(),
                            },
                        );
                        self.commit_order.push(index);
                    }
                }
            }
            st.commit_checked = st.commit_checked.max(commit);

            // Leader Completeness: every entry committed in an earlier term is in
            // the leader's log. Checked in full when a node becomes leader, then
            // for entries discovered since and for any change to its log.
            if raft.role() == Role::Leader {
                let from = match st.completeness {
                    Some((t, n)) if t == raft.term() && only_appended => n,
                    _ => 0,
                };
                for &index in &self.commit_order[from..] {
                    let c = self.committed[&index];
                    if c.commit_term < raft.term()
                        && index > base
                        && log.term(index) != Some(c.term)
                    {
                        return Err(fail(
                            "Leader Completeness",
                            format!(
                                "leader {id} of term {} lacks entry {index}@{} committed in term {}",
                                raft.term(),
                                c.term,
                                c.commit_term
                            ),
                        ));
                    }
                }
                st.completeness = Some((raft.term(), self.commit_order.len()));
            } else {
                st.completeness = None;
            }

            // State Machine Safety and exactly-once application.
            let replica = node.replica();
            if replica.last_applied() > commit {
                return Err(fail(
                    "Apply",
                    format!(
                        "node {id} applied {} past its commit index {commit}",
                        replica.last_applied()
                    ),
                ));
            }
            let Some(unchecked) = replica.history().since(st.applied_checked) else {
                return Err(fail(
                    "Checker",
                    format!(
                        "node {id} applied more than {} entries between two checks: call the checker more often",
                        crate::state_machine::HISTORY_WINDOW
                    ),
                ));
            };
            for a in unchecked {
                // Every replica at one index has applied the same history.
                match self.digests.get(&a.index) {
                    Some(&d) if d != a.digest => {
                        let rule = if a.kind == AppliedKind::Snapshot {
                            "Snapshot agrees with log"
                        } else {
                            "State Machine Safety"
                        };
                        return Err(fail(
                            rule,
                            format!(
                                "node {id} at index {} ({:?}) has history digest {:x}, other replicas had {d:x} there",
                                a.index, a.kind, a.digest
                            ),
                        ));
                    }
                    Some(_) => {}
                    None => {
                        self.digests.insert(a.index, a.digest);
                    }
                }
                if a.kind == AppliedKind::Snapshot {
                    continue;
                }
                match self.applied.get(&a.index) {
                    Some(&(term, kind)) if (term, kind) != (a.term, a.kind) => {
                        return Err(fail(
                            "State Machine Safety",
                            format!(
                                "node {id} applied {:?} at index {} (term {}), another replica applied {kind:?} (term {term})",
                                a.kind, a.index, a.term
                            ),
                        ));
                    }
                    Some(_) => {}
                    None => {
                        self.applied.insert(a.index, (a.term, a.kind));
                    }
                }
                let first = match a.kind {
                    AppliedKind::Command { client, seq } => Some((
                        client,
                        seq,
                        *self.first_applied.entry((client, seq)).or_insert(a.index),
                    )),
                    AppliedKind::Duplicate {
                        client,
                        seq,
                        original,
                    } => Some((
                        client,
                        seq,
                        *self.first_applied.entry((client, seq)).or_insert(original),
                    )),
                    _ => None,
                };
                if let Some((client, seq, first)) = first {
                    let here = match a.kind {
                        AppliedKind::Duplicate { original, .. } => original,
                        _ => a.index,
                    };
                    if first != here {
                        return Err(fail(
                            "Exactly once",
                            format!(
                                "request {client}/{seq} applied at index {here} on node {id} and at index {first} before"
                            ),
                        ));
                    }
                }
            }
            st.applied_checked = replica.history().end();
        }

        // Every acknowledged request was applied exactly once, at its index.
        let behind = |what| {
            fail(
                "Checker",
                format!("more {what} ended between two checks than the simulator keeps: call the checker more often"),
            )
        };
        let acks = sim.acks();
        for &(client, seq, index) in acks
            .since(self.acks_checked)
            .ok_or_else(|| behind("acknowledgements"))?
        {
            match self.first_applied.get(&(client, seq)) {
                Some(&first) if first == index => {}
                other => {
                    return Err(fail(
                        "Acknowledged means applied",
                        format!(
                            "request {client}/{seq} acknowledged at index {index} but applied at {other:?}"
                        ),
                    ));
                }
            }
        }
        self.acks_checked = acks.end();

        // §6.4: a linearizable read sees every write acknowledged before it began.
        // (Reads end out of order: check each once it has ended.)
        let reads = sim.reads();
        if self.reads_checked < reads.start() {
            return Err(behind("reads"));
        }
        while let Some(r) = reads.get(self.reads_checked) {
            let Some(outcome) = &r.outcome else { break };
            if let crate::node::ReadOutcome::Served { applied, .. } = outcome {
                if let Some((client, seq, index)) = r.acked_before.filter(|a| a.2 > *applied) {
                    return Err(fail(
                        "Linearizable read",
                        format!(
                            "read {} through node {} saw the chat up to index {applied}, but request {client}/{seq} was acknowledged at index {index} before the read began",
                            r.read_id, r.node
                        ),
                    ));
                }
            }
            self.reads_checked += 1;
        }
        Ok(())
    }
}
