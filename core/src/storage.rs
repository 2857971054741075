//! What a node must make durable, and the `Storage` trait a driver implements
//! (in memory here; IndexedDB in the app).

use crate::types::{Entry, Index, Membership, NodeId, Snapshot, Term};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Figure 2, "Persistent state on all servers" (the log is written separately).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HardState {
    pub term: Term,
    pub voted_for: Option<NodeId>,
}

/// One atomic durable write. The driver applies it in full before any message of
/// the same batch leaves, and a node's writes complete in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DurableWrite<C> {
    /// New term and vote, if they changed.
    pub hard_state: Option<HardState>,
    /// First, store this snapshot and drop every stored entry it covers
    /// (log compaction, or a snapshot installed from the leader). Boxed: rare,
    /// and writes are moved about on every step.
    pub snapshot: Option<Box<Snapshot>>,
    /// Then drop every stored entry at or after this index (a conflicting suffix).
    pub truncate_from: Option<Index>,
    /// Then append these (contiguous, following what is stored).
    pub entries: Vec<Entry<C>>,
}

impl<C> DurableWrite<C> {
    pub fn is_empty(&self) -> bool {
        self.hard_state.is_none()
            && self.snapshot.is_none()
            && self.truncate_from.is_none()
            && self.entries.is_empty()
    }

    /// What this write makes durable, for the node to be told once it has
    /// ([`crate::raft::Raft::persisted`]).
    pub fn done(&self) -> WriteDone {
        WriteDone {
            term: self.hard_state.map(|hs| hs.term),
            last_entry: self.entries.last().map(|e| (e.index, e.term)),
        }
    }
}

/// What one completed write made durable: the driver reports it back to the
/// node ([`crate::raft::Raft::persisted`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriteDone {
    /// The term of its hard state (term and vote), if it had one.
    pub term: Option<Term>,
    /// Its last entry's index and term, if it had entries.
    pub last_entry: Option<(Index, Term)>,
}

impl WriteDone {
    pub fn is_empty(&self) -> bool {
        self.term.is_none() && self.last_entry.is_none()
    }
}

/// Everything a restarted node is rebuilt from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersistedState<C> {
    pub hard_state: HardState,
    /// The log starts after (`base_index`, `base_term`): 0, 0 until a snapshot.
    pub base_index: Index,
    pub base_term: Term,
    /// The configuration as of `base_index` (the bootstrap configuration at first).
    pub base_config: Membership,
    /// The state machine's snapshot at `base_index` (`None` while `base_index` is 0).
    #[serde(default)]
    pub snapshot: Option<Arc<[u8]>>,
    pub entries: Vec<Entry<C>>,
}

impl<C> PersistedState<C> {
    /// The state of a fresh node bootstrapped into `config` (an empty one for a
    /// server that will join an existing cluster).
    pub fn bootstrap(config: Membership) -> Self {
        PersistedState {
            hard_state: HardState::default(),
            base_index: 0,
            base_term: 0,
            base_config: config,
            snapshot: None,
            entries: Vec::new(),
        }
    }

    /// The stored snapshot, if the log starts after one.
    pub fn stored_snapshot(&self) -> Option<Snapshot> {
        let data = self.snapshot.clone()?;
        Some(Snapshot {
            meta: crate::types::SnapshotMeta {
                index: self.base_index,
                term: self.base_term,
                config: self.base_config.clone(),
            },
            data,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StorageError {
    /// The stored data cannot be read back (corrupt record, wrong schema, ...).
    Corrupt(String),
    /// The write could not be done (quota, unavailable, ...).
    Unavailable(String),
}

impl std::fmt::Display for StorageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StorageError::Corrupt(why) => write!(f, "stored data is unreadable: {why}"),
            StorageError::Unavailable(why) => write!(f, "storage is unavailable: {why}"),
        }
    }
}

impl std::error::Error for StorageError {}

/// A node's stable storage.
pub trait Storage<C> {
    /// The state to rebuild the node from after a (re)start.
    fn load(&self) -> Result<PersistedState<C>, StorageError>;
    /// Makes `write` durable, atomically: all of it or none of it.
    fn write(&mut self, write: &DurableWrite<C>) -> Result<(), StorageError>;
}

/// A node's stable storage whose operations complete later (IndexedDB in the
/// browser). Same contract as [`Storage`]: `write` is atomic, and a node's
/// writes are issued one after the other. A driver using it runs the simulator
/// with an external disk (`Simulator::set_external_disk`).
#[allow(async_fn_in_trait)] // used within one thread (wasm); no `Send` bound wanted
pub trait AsyncStorage<C> {
    async fn load(&self) -> Result<PersistedState<C>, StorageError>;
    async fn write(&self, write: &DurableWrite<C>) -> Result<(), StorageError>;
}

/// Storage in memory: what the simulator and the tests use. It survives a
/// simulated crash because the simulator keeps it apart from the node.
#[derive(Clone, Debug)]
pub struct MemStorage<C> {
    state: PersistedState<C>,
}

impl<C: Clone> MemStorage<C> {
    /// Fresh storage of a node bootstrapped into `config`.
    pub fn new(config: Membership) -> Self {
        MemStorage {
            state: PersistedState::bootstrap(config),
        }
    }

    /// Storage holding `state` (read back from another store).
    pub fn from_state(state: PersistedState<C>) -> Self {
        MemStorage { state }
    }

    pub fn state(&self) -> &PersistedState<C> {
        &self.state
    }
}

impl<C> MemStorage<C> {
    /// Checks `write` against what is stored; returns the entries to keep
    /// (after the snapshot's and the truncation's drops) without changing
    /// anything, so that a bad write changes nothing (atomicity).
    fn check(&self, write: &DurableWrite<C>) -> Result<(usize, usize), StorageError> {
        let s = &self.state;
        let (base_index, dropped) = match &write.snapshot {
            Some(snap) if snap.meta.index < s.base_index => {
                return Err(StorageError::Corrupt(format!(
                    "snapshot at {} is older than the stored one at {}",
                    snap.meta.index, s.base_index
                )));
            }
            Some(snap) => (
                snap.meta.index,
                ((snap.meta.index - s.base_index) as usize).min(s.entries.len()),
            ),
            None => (s.base_index, 0),
        };
        let mut kept = s.entries.len() - dropped;
        if let Some(from) = write.truncate_from {
            kept = kept.min(from.saturating_sub(base_index + 1) as usize);
        }
        if let Some(first) = write.entries.first() {
            let next = base_index + kept as Index + 1;
            if first.index != next {
                return Err(StorageError::Corrupt(format!(
                    "write of entry {} does not follow the stored log ending at {}",
                    first.index,
                    next - 1
                )));
            }
        }
        Ok((dropped, kept))
    }

    /// Applies a checked write, all but its entries.
    fn apply_checked(&mut self, write: &DurableWrite<C>, dropped: usize, kept: usize) {
        let s = &mut self.state;
        if let Some(snap) = &write.snapshot {
            s.entries.drain(..dropped);
            s.base_index = snap.meta.index;
            s.base_term = snap.meta.term;
            s.base_config = snap.meta.config.clone();
            s.snapshot = Some(snap.data.clone());
        }
        s.entries.truncate(kept);
        if let Some(hs) = write.hard_state {
            s.hard_state = hs;
        }
    }

    /// [`Storage::write`] of a write the caller hands over: its entries are
    /// moved in, not copied (the simulator's disks).
    pub fn write_owned(&mut self, mut write: DurableWrite<C>) -> Result<(), StorageError> {
        let (dropped, kept) = self.check(&write)?;
        self.apply_checked(&write, dropped, kept);
        self.state.entries.append(&mut write.entries);
        Ok(())
    }
}

impl<C: Clone> Storage<C> for MemStorage<C> {
    fn load(&self) -> Result<PersistedState<C>, StorageError> {
        Ok(self.state.clone())
    }

    fn write(&mut self, write: &DurableWrite<C>) -> Result<(), StorageError> {
        let (dropped, kept) = self.check(write)?;
        self.apply_checked(write, dropped, kept);
        self.state.entries.extend(write.entries.iter().cloned());
        Ok(())
    }
}
