//! The replicated state machine: a trait, and the layer that applies committed
//! entries exactly once per client request (Raft thesis §6.3).

use crate::types::{ClientId, Entry, Index, Payload, Term};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// Where a command sits in the log, handed to the state machine with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandMeta {
    pub index: Index,
    pub term: Term,
    pub client: ClientId,
    pub seq: u64,
}

/// A deterministic state machine replicated by Raft. `apply` sees each client
/// request once, in log order, on every replica.
pub trait StateMachine: Default {
    type Command: Clone + std::fmt::Debug + PartialEq;
    fn apply(&mut self, meta: CommandMeta, command: &Self::Command);
}

/// What applying one entry did, kept so that the invariant checker can compare
/// replicas.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AppliedKind {
    Noop,
    Config,
    /// A request applied to the state machine.
    Command {
        client: ClientId,
        seq: u64,
    },
    /// A retried request already applied at `original`: skipped.
    Duplicate {
        client: ClientId,
        seq: u64,
        original: Index,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    pub index: Index,
    pub term: Term,
    pub kind: AppliedKind,
}

/// A state machine plus its client sessions and its record of applied entries.
/// Volatile: a restarted node rebuilds it by re-applying the committed log.
#[derive(Debug, Default)]
pub struct Replica<M> {
    machine: M,
    last_applied: Index,
    /// Client sessions (thesis §6.3): per client, where each of its requests was
    /// applied, by sequence number.
    sessions: HashMap<ClientId, BTreeMap<u64, (Index, Term)>>,
    history: Vec<Applied>,
}

impl<M: StateMachine> Replica<M> {
    pub fn machine(&self) -> &M {
        &self.machine
    }

    pub fn last_applied(&self) -> Index {
        self.last_applied
    }

    pub fn history(&self) -> &[Applied] {
        &self.history
    }

    /// Where request (`client`, `seq`) was applied, if it was.
    pub fn applied_at(&self, client: ClientId, seq: u64) -> Option<(Index, Term)> {
        self.sessions.get(&client)?.get(&seq).copied()
    }

    /// Figure 2, all servers: "If commitIndex > lastApplied: increment lastApplied,
    /// apply log[lastApplied] to state machine".
    pub fn apply(&mut self, entry: &Entry<M::Command>) -> Applied {
        assert_eq!(
            entry.index,
            self.last_applied + 1,
            "entries are applied in log order, each once"
        );
        self.last_applied = entry.index;
        let kind = match &entry.payload {
            Payload::Noop => AppliedKind::Noop,
            Payload::Config(_) => AppliedKind::Config,
            Payload::Command(r) => match self.applied_at(r.client, r.seq) {
                Some((original, _)) => AppliedKind::Duplicate {
                    client: r.client,
                    seq: r.seq,
                    original,
                },
                None => {
                    self.sessions
                        .entry(r.client)
                        .or_default()
                        .insert(r.seq, (entry.index, entry.term));
                    let meta = CommandMeta {
                        index: entry.index,
                        term: entry.term,
                        client: r.client,
                        seq: r.seq,
                    };
                    self.machine.apply(meta, &r.command);
                    AppliedKind::Command {
                        client: r.client,
                        seq: r.seq,
                    }
                }
            },
        };
        let applied = Applied {
            index: entry.index,
            term: entry.term,
            kind,
        };
        self.history.push(applied);
        applied
    }
}
