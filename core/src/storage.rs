//! What a node must make durable, and the `Storage` trait a driver implements
//! (in memory here; IndexedDB in the app).

use crate::types::{Entry, Index, Membership, NodeId, Term};
use serde::{Deserialize, Serialize};

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
    /// Drop every stored entry at or after this index first (a conflicting suffix).
    pub truncate_from: Option<Index>,
    /// Then append these (contiguous, following what is stored).
    pub entries: Vec<Entry<C>>,
}

impl<C> DurableWrite<C> {
    pub fn is_empty(&self) -> bool {
        self.hard_state.is_none() && self.truncate_from.is_none() && self.entries.is_empty()
    }
}

/// Everything a restarted node is rebuilt from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersistedState<C> {
    pub hard_state: HardState,
    /// The log starts after (`base_index`, `base_term`): 0, 0 until snapshots exist.
    pub base_index: Index,
    pub base_term: Term,
    /// The configuration as of `base_index` (the bootstrap configuration at first).
    pub base_config: Membership,
    pub entries: Vec<Entry<C>>,
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
            state: PersistedState {
                hard_state: HardState::default(),
                base_index: 0,
                base_term: 0,
                base_config: config,
                entries: Vec::new(),
            },
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

impl<C: Clone> Storage<C> for MemStorage<C> {
    fn load(&self) -> Result<PersistedState<C>, StorageError> {
        Ok(self.state.clone())
    }

    fn write(&mut self, write: &DurableWrite<C>) -> Result<(), StorageError> {
        let s = &mut self.state;
        // Validate first, so that a bad write changes nothing (atomicity).
        let mut kept = s.entries.len();
        if let Some(from) = write.truncate_from {
            kept = kept.min(from.saturating_sub(s.base_index + 1) as usize);
        }
        if let Some(first) = write.entries.first() {
            let next = s.base_index + kept as Index + 1;
            if first.index != next {
                return Err(StorageError::Corrupt(format!(
                    "write of entry {} does not follow the stored log ending at {}",
                    first.index,
                    next - 1
                )));
            }
        }
        s.entries.truncate(kept);
        s.entries.extend(write.entries.iter().cloned());
        if let Some(hs) = write.hard_state {
            s.hard_state = hs;
        }
        Ok(())
    }
}
