//! The replicated state machine: a trait, and the layer that applies committed
//! entries exactly once per client request (Raft thesis §6.3).

use crate::types::{ClientId, Entry, Index, Payload, SnapshotMeta, Term};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Where a command sits in the log, handed to the state machine with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandMeta {
    pub index: Index,
    pub term: Term,
    pub client: ClientId,
    pub seq: u64,
}

/// A deterministic state machine replicated by Raft. `apply` sees each client
/// request once, in log order, on every replica. It serializes, for snapshots
/// (thesis chapter 5).
pub trait StateMachine: Default + Serialize + DeserializeOwned {
    type Command: Clone + std::fmt::Debug + PartialEq;
    fn apply(&mut self, meta: CommandMeta, command: &Self::Command);
    /// About how many bytes `command` takes in a log: the snapshot threshold
    /// compares the log's size with the snapshot's.
    fn command_bytes(_command: &Self::Command) -> usize {
        std::mem::size_of::<Self::Command>()
    }
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
    /// The state was replaced by a snapshot covering the log up to `index`.
    Snapshot,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    pub index: Index,
    pub term: Term,
    pub kind: AppliedKind,
    /// A digest of everything applied up to `index` (indexes, terms and what
    /// each entry did): two replicas at one index agree iff their digests do,
    /// which lets the checker compare a snapshot with the log it replaced.
    pub digest: u64,
}

/// What a snapshot holds: the state machine, the client sessions, and the
/// digest of the history it stands for.
#[derive(Serialize, Deserialize)]
struct ReplicaImage<M> {
    last_applied: Index,
    digest: u64,
    sessions: BTreeMap<ClientId, BTreeMap<u64, (Index, Term)>>,
    machine: M,
}

/// A state machine plus its client sessions and its record of applied entries.
/// Volatile: a restarted node rebuilds it by re-applying the committed log.
#[derive(Debug, Default)]
pub struct Replica<M> {
    machine: M,
    last_applied: Index,
    /// Client sessions (thesis §6.3): per client, where each of its requests was
    /// applied, by sequence number. Ordered maps: a snapshot's bytes depend on
    /// the state only.
    sessions: BTreeMap<ClientId, BTreeMap<u64, (Index, Term)>>,
    digest: u64,
    history: Vec<Applied>,
}

/// One step of the history digest (FNV-1a over the words).
fn fold_digest(digest: u64, words: [u64; 5]) -> u64 {
    let mut h = digest ^ 0xcbf2_9ce4_8422_2325;
    for w in words {
        for b in w.to_le_bytes() {
            h ^= b as u64;
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
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

    pub fn digest(&self) -> u64 {
        self.digest
    }

    /// Serializes the state machine and its sessions (a snapshot's data).
    pub fn snapshot(&self) -> Arc<[u8]> {
        let image = ReplicaImage {
            last_applied: self.last_applied,
            digest: self.digest,
            sessions: self.sessions.clone(),
            machine: &self.machine,
        };
        // Serializing plain data into memory cannot fail.
        serde_json::to_vec(&image)
            .unwrap_or_default()
            .into_boxed_slice()
            .into()
    }

    /// Replaces the state with a snapshot's. On error nothing changes.
    pub fn restore(&mut self, meta: &SnapshotMeta, data: &[u8]) -> Result<(), String> {
        let image: ReplicaImage<M> = serde_json::from_slice(data)
            .map_err(|e| format!("snapshot at index {} is unreadable: {e}", meta.index))?;
        if image.last_applied != meta.index {
            return Err(format!(
                "snapshot labelled index {} holds the state at index {}",
                meta.index, image.last_applied
            ));
        }
        self.machine = image.machine;
        self.sessions = image.sessions;
        self.last_applied = image.last_applied;
        self.digest = image.digest;
        self.history.push(Applied {
            index: meta.index,
            term: meta.term,
            kind: AppliedKind::Snapshot,
            digest: self.digest,
        });
        Ok(())
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
        let (tag, a, b) = match kind {
            AppliedKind::Noop => (0, 0, 0),
            AppliedKind::Config => (1, 0, 0),
            AppliedKind::Command { client, seq } => (2, client, seq),
            AppliedKind::Duplicate { client, seq, .. } => (3, client, seq),
            AppliedKind::Snapshot => (4, 0, 0),
        };
        self.digest = fold_digest(self.digest, [entry.index, entry.term, tag, a, b]);
        let applied = Applied {
            index: entry.index,
            term: entry.term,
            kind,
            digest: self.digest,
        };
        self.history.push(applied);
        applied
    }
}
