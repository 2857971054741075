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
//!   acknowledged index, on every replica that reaches that index; a request
//!   reported as never to commit is applied nowhere (unless its client submits
//!   it again).
//! - Persist before send (checked by the simulator on every message it
//!   releases): a message's term, a granted vote and acknowledged entries are
//!   durable before the message leaves.
//! - Removed servers do not disrupt (thesis §4.2.3, checked by the simulator
//!   on every vote request it delivers): a leader is never deposed by a vote
//!   request from a server outside its configuration.
//! - Snapshots agree with the logs they replaced: a log's base (index, term) is
//!   the committed entry at that index, and a replica restored from a snapshot
//!   has the history digest every other replica had at that index.
//!
//! All of these hold across membership changes: they are stated over every
//! server that ever ran, whatever configuration it was in.

use crate::node_map::NodeMap;
use crate::sim::Simulator;
use crate::state_machine::{AppliedKind, Replica, StateMachine};
use crate::types::*;
use rustc_hash::FxHashMap as HashMap;
use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    pub at_ms: u64,
    pub rule: &'static str,
    pub detail: String,
    /// The nodes involved, and the log index, if the rule is about one.
    pub nodes: Vec<NodeId>,
    pub index: Option<Index>,
    /// Where it started going wrong, if earlier: the moment the entry at
    /// stake was first seen committed (or acknowledged).
    pub since_ms: Option<u64>,
}

impl Violation {
    fn new(at_ms: u64, rule: &'static str, detail: String) -> Self {
        Violation {
            at_ms,
            rule,
            detail,
            nodes: Vec::new(),
            index: None,
            since_ms: None,
        }
    }

    /// Names the nodes and the index involved.
    fn at(mut self, nodes: &[NodeId], index: Option<Index>) -> Self {
        self.nodes = nodes.to_vec();
        self.index = index;
        self
    }

    fn since(mut self, ms: u64) -> Self {
        self.since_ms = Some(ms);
        self
    }
}

/// The properties the checker holds a run to, in the order the page lists
/// them (each violation's `rule` is one of these).
pub const PROPERTIES: [&str; 14] = [
    "Election Safety",
    "Leader Append-Only",
    "Log Matching",
    "Leader Completeness",
    "State Machine Safety",
    "Persist before send",
    "Acknowledged means applied",
    "Exactly once",
    "Linearizable read",
    "Failed means never committed",
    "Commit and apply within the log",
    "Snapshot agrees with log",
    "Removed servers do not disrupt",
    "Checker",
];

/// An entry's payload in a few words: "a no-op", "request 3/7", "a configuration".
fn describe<C>(payload: &Payload<C>) -> String {
    match payload {
        Payload::Noop => "a no-op".into(),
        Payload::Command(r) => format!("request {}/{}", r.client, r.seq),
        Payload::Config(_) => "a configuration".into(),
    }
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
    /// When the checker first saw it committed, and on which node.
    at_ms: u64,
    by: NodeId,
    term: Term,
    /// The lowest current term of a node seen holding it committed: the entry was
    /// committed in this term or earlier.
    commit_term: Term,
}

#[derive(Clone, Default)]
struct NodeState {
    incarnation: u32,
    /// Terms of the log entries last seen, from index 1 (or the log's start).
    log_terms: Vec<Term>,
    log_base: Index,
    /// The log's truncation count when last seen: unchanged (and the same
    /// base), the log has only grown at the end since.
    log_truncations: u64,
    commit_checked: Index,
    /// As leader: the term in which its log was found complete, and how many
    /// entries of `commit_order` were checked.
    completeness: Option<(Term, usize)>,
    /// The index of the last snapshot of this node that was checked.
    snapshot_checked: Index,
    /// The term this node was last seen leading in.
    led: Option<Term>,
}

#[derive(Clone)]
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
    /// Positions in the simulator's acknowledgements, never-commit reports and
    /// reads checked so far.
    acks_checked: u64,
    nevers_checked: u64,
    reads_checked: u64,
    /// Position in the simulator's applied records checked so far.
    applied_checked: u64,
    nodes: NodeMap<NodeState>,
    /// The first violation of each property found so far.
    violations: Vec<Violation>,
}

impl<C: Clone + PartialEq + std::fmt::Debug> Default for Checker<C> {
    fn default() -> Self {
        Checker {
            leaders: BTreeMap::new(),
            ledger: HashMap::default(),
            committed: BTreeMap::new(),
            commit_order: Vec::new(),
            applied: HashMap::default(),
            digests: HashMap::default(),
            first_applied: HashMap::default(),
            acks_checked: 0,
            nevers_checked: 0,
            reads_checked: 0,
            applied_checked: 0,
            nodes: NodeMap::default(),
            violations: Vec::new(),
        }
    }
}

impl<C: Clone + PartialEq + std::fmt::Debug> Checker<C> {
    pub fn new() -> Self {
        Self::default()
    }

    /// How many outcome promises were checked: (committed at an index, never
    /// commits).
    pub fn promises_checked(&self) -> (u64, u64) {
        (self.acks_checked, self.nevers_checked)
    }

    /// The first violation of each property found so far, in the order found.
    pub fn violations(&self) -> &[Violation] {
        &self.violations
    }

    /// Checks every invariant against the simulator's current state. Returns
    /// the first violation of a property not violated before; it goes on
    /// checking the other properties (and later calls go on), so that a run
    /// with a rule broken shows everything that goes wrong.
    pub fn check<M>(&mut self, sim: &Simulator<M>) -> Result<(), Violation>
    where
        M: StateMachine<Command = C> + PartialEq + 'static,
    {
        let at_ms = sim.now_ms();
        let fail = |rule, detail: String| Violation::new(at_ms, rule, detail);
        let mut new: Vec<Violation> = Vec::new();
        macro_rules! found {
            ($v:expr) => {
                new.push($v)
            };
        }
        if let Some((at_ms, what)) = sim.unsafe_send() {
            found!(Violation::new(*at_ms, "Persist before send", what.clone()));
        }
        if let Some((at_ms, what)) = sim.disruption() {
            found!(Violation::new(
                *at_ms,
                "Removed servers do not disrupt",
                what.clone()
            ));
        }
        if let Some((at_ms, what)) = sim.snapshot_fault() {
            found!(Violation::new(
                *at_ms,
                "Snapshot agrees with log",
                what.clone()
            ));
        }
        for id in sim.node_ids() {
            let Some(view) = sim.node(id) else { continue };
            let Some(node) = view.node else { continue };
            let raft = node.raft();
            let log = raft.log();
            let st = self.nodes.or_insert_with(id, NodeState::default);
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
                    found!(fail(
                        "Election Safety",
                        format!(
                            "nodes {first} and {id} are both leader in term {}",
                            raft.term()
                        ),
                    )
                    .at(&[first, id], None));
                }
            }

            // Log Matching, on the part of the log that changed since the last call.
            let (base, _) = log.base();
            let terms = log.entries().iter().map(|e| e.term);
            let changed_from = if st.log_base != base {
                0
            } else if st.log_truncations == log.truncations() {
                // Only appended since (entries change only by truncation,
                // appending and compaction): compare what is new.
                st.log_terms.len().min(log.entries().len())
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
                        found!(fail(
                            "Log Matching",
                            format!(
                                "node {id} holds entry {}@{} ({}) after term {prev}, elsewhere it is {} after term {prev_term}",
                                e.index, e.term, describe(&e.payload), describe(payload)
                            ),
                        )
                        .at(&[id], Some(e.index)));
                    }
                    Some(_) => {}
                    None => {
                        self.ledger
                            .insert((e.index, e.term), (e.payload.clone(), prev));
                    }
                }
            }
            let only_appended = changed_from == st.log_terms.len();
            // Leader Append-Only: a leader never overwrites or deletes entries
            // in its log; it only appends (a snapshot may drop a prefix).
            let leading = (raft.role() == Role::Leader).then(|| raft.term());
            if leading.is_some() && st.led == leading && st.log_base == base && !only_appended {
                let from = base + changed_from as Index + 1;
                found!(fail(
                    "Leader Append-Only",
                    format!(
                        "leader {id} of term {} removed or replaced its entries from index {from}",
                        raft.term()
                    ),
                )
                .at(&[id], Some(from)));
            }
            st.led = leading;
            st.log_terms.truncate(changed_from);
            st.log_terms
                .extend(log.entries()[changed_from..].iter().map(|e| e.term));
            st.log_base = base;
            st.log_truncations = log.truncations();

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
                        found!(fail(
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
                        found!(fail(
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
                found!(fail(
                    "Commit and apply within the log",
                    format!(
                        "node {id} commit index {commit} is past its last entry {}",
                        log.last_index()
                    ),
                ));
            }
            // (Past the end of the log there is nothing to compare.)
            for index in (st.commit_checked + 1).max(base + 1)..=commit.min(log.last_index()) {
                let term = log.term(index).unwrap_or(0);
                match self.committed.get_mut(&index) {
                    Some(c) if c.term != term => {
                        found!(fail(
                            "State Machine Safety",
                            format!(
                                "entry {index} was committed with term {} (node {} first), node {id} commits it with term {term}",
                                c.term, c.by
                            ),
                        )
                        .at(&[c.by, id], Some(index))
                        .since(c.at_ms));
                    }
                    Some(c) => c.commit_term = c.commit_term.min(raft.term()),
                    None => {
                        self.committed.insert(
                            index,
                            Committed {
                                at_ms,
                                by: id,
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
                        found!(fail(
                            "Leader Completeness",
                            format!(
                                "leader {id} of term {} lacks entry {index}@{} committed in term {}",
                                raft.term(),
                                c.term,
                                c.commit_term
                            ),
                        )
                        .at(&[c.by, id], Some(index))
                        .since(c.at_ms));
                    }
                }
                st.completeness = Some((raft.term(), self.commit_order.len()));
            } else {
                st.completeness = None;
            }

            // Entries are applied only once committed.
            let replica = node.replica();
            if replica.last_applied() > commit {
                found!(fail(
                    "Commit and apply within the log",
                    format!(
                        "node {id} applied {} past its commit index {commit}",
                        replica.last_applied()
                    ),
                ));
            }
        }

        // State Machine Safety and exactly-once application, on every record
        // the replicas applied since the last call.
        let applied = sim.applied();
        let unchecked = applied.since(self.applied_checked).or_else(|| {
            found!(fail(
                "Checker",
                format!(
                    "the replicas applied more entries between two checks than the simulator keeps (those of the last step and {} before): call the checker after every step",
                    crate::sim::APPLIED_WINDOW
                ),
            ));
            applied.since(applied.start())
        });
        for &(a, id) in unchecked.into_iter().flatten() {
            // Every replica at one index has applied the same history.
            match self.digests.get(&a.index) {
                Some(&d) if d != a.digest => {
                    let rule = if a.kind == AppliedKind::Snapshot {
                        "Snapshot agrees with log"
                    } else {
                        "State Machine Safety"
                    };
                    found!(fail(
                        rule,
                        format!(
                            "node {id} at index {} ({:?}) has history digest {:x}, other replicas had {d:x} there",
                            a.index, a.kind, a.digest
                        ),
                    )
                    .at(&[id], Some(a.index)));
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
                    found!(fail(
                        "State Machine Safety",
                        format!(
                            "node {id} applied {:?} at index {} (term {}), another replica applied {kind:?} (term {term})",
                            a.kind, a.index, a.term
                        ),
                    )
                    .at(&[id], Some(a.index)));
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
                if sim.never_promised(client, seq) {
                    found!(fail(
                        "Failed means never committed",
                        format!(
                            "request {client}/{seq} was reported as never to commit, and node {id} applied it at index {}",
                            a.index
                        ),
                    )
                    .at(&[id], Some(a.index)));
                }
                let here = match a.kind {
                    AppliedKind::Duplicate { original, .. } => original,
                    _ => a.index,
                };
                if first != here {
                    found!(fail(
                        "Exactly once",
                        format!(
                            "request {client}/{seq} applied at index {here} on node {id} and at index {first} before"
                        ),
                    )
                    .at(&[id], Some(here)));
                }
            }
        }
        self.applied_checked = applied.end();

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
                    found!(fail(
                        "Acknowledged means applied",
                        format!(
                            "request {client}/{seq} acknowledged at index {index} but applied at {other:?}"
                        ),
                    )
                    .at(&[], Some(index)));
                }
            }
        }
        self.acks_checked = acks.end();

        // A request reported as never to commit has not been applied anywhere
        // (and, above, is not applied later unless submitted again).
        let nevers = sim.nevers();
        for &(client, seq, node) in nevers
            .since(self.nevers_checked)
            .ok_or_else(|| behind("never-commit reports"))?
        {
            if let Some(index) = self.first_applied.get(&(client, seq)) {
                if sim.never_promised(client, seq) {
                    found!(fail(
                        "Failed means never committed",
                        format!(
                            "node {node} reported request {client}/{seq} as never to commit, but it was applied at index {index}"
                        ),
                    )
                    .at(&[node], Some(*index)));
                }
            }
        }
        self.nevers_checked = nevers.end();

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
                    found!(fail(
                        "Linearizable read",
                        format!(
                            "read {} through node {} saw the chat up to index {applied}, but request {client}/{seq} was acknowledged at index {index} before the read began",
                            r.read_id, r.node
                        ),
                    )
                    .at(&[r.node], Some(index))
                    .since(r.invoke_ms));
                }
            }
            self.reads_checked += 1;
        }
        let mut first_new = None;
        for v in new {
            if self.violations.iter().all(|o| o.rule != v.rule) {
                first_new.get_or_insert_with(|| v.clone());
                self.violations.push(v);
            }
        }
        first_new.map_or(Ok(()), Err)
    }
}
