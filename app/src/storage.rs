//! Each node's stable storage, in IndexedDB: one database per cluster.
//!
//! Layout (schema version [`SCHEMA_VERSION`], which is also the IndexedDB
//! version):
//! - `meta`: the cluster's settings, under the key `"cluster"`;
//! - `hard`: each node's hard state (term, vote), keyed by node id;
//! - `log`: each node's log entries, keyed by `node × 2⁴⁰ + index` (exact in a
//!   JavaScript number), so that a node's entries are one contiguous key range;
//! - `snap` (since version 2): each node's latest snapshot, keyed by node id:
//!   the index and term it covers, the configuration there, and the chat as
//!   JSON text. Storing one drops the log entries it covers.
//!
//! One Raft write (term, vote, snapshot, truncation, appended entries) is one
//! readwrite transaction: all of it or none of it. Nothing but database requests is awaited
//! inside a transaction (IndexedDB commits a transaction as soon as it is idle).

use crate::settings::Settings;
use indexed_db_futures::database::Database;
use indexed_db_futures::prelude::*;
use indexed_db_futures::transaction::TransactionMode;
use indexed_db_futures::KeyRange;
use raftchat_core::storage::{AsyncStorage, DurableWrite, HardState, PersistedState, StorageError};
use raftchat_core::{ChatCommand, Entry, Index, Membership, NodeId, Snapshot, SnapshotMeta, Term};
use serde::{Deserialize, Serialize};
use std::rc::Rc;

/// The layout version. A database of another version is not read.
pub const SCHEMA_VERSION: u32 = 2;
const META: &str = "meta";
const HARD: &str = "hard";
const LOG: &str = "log";
const SNAP: &str = "snap";
const META_KEY: &str = "cluster";
const NODE_SPAN: f64 = 1_099_511_627_776.0; // 2^40

pub type ChatEntry = Entry<ChatCommand>;

/// The name of cluster `id`'s database.
pub fn db_name(cluster: u64) -> String {
    format!("raftchat-cluster-{cluster}")
}

fn log_key(node: NodeId, index: Index) -> f64 {
    node as f64 * NODE_SPAN + index as f64
}

/// Node `node`'s log entries from index `from` on.
fn log_from(node: NodeId, from: Index) -> KeyRange<f64> {
    KeyRange::Bound(log_key(node, from), false, log_key(node + 1, 0), true)
}

/// What is stored about the cluster as a whole.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClusterMeta {
    pub schema: u32,
    pub settings: Settings,
    pub author: String,
    /// The servers of the cluster (added ones included, removed ones not).
    /// Empty in databases of version 1: then 1 to `settings.nodes`.
    #[serde(default)]
    pub node_ids: Vec<NodeId>,
    /// The run's recipe (JSON), where it was last saved: a reload rebuilds the
    /// timeline from it. Absent in databases of earlier versions.
    #[serde(default)]
    pub recipe: Option<String>,
}

impl ClusterMeta {
    pub fn node_ids(&self) -> Vec<NodeId> {
        if self.node_ids.is_empty() {
            (1..=self.settings.nodes).collect()
        } else {
            self.node_ids.clone()
        }
    }
}

/// A stored snapshot. The core's snapshots are binary; IndexedDB keeps their
/// JSON form (which the core restores from as well), so that a stored snapshot
/// is readable in the browser's tools.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct SnapRecord {
    index: Index,
    term: Term,
    config: Membership,
    data: SnapBytes,
}

/// A snapshot's bytes, stored as a `Uint8Array` (the core's binary form).
/// Databases of the previous version hold JSON text here: it reads back as
/// its bytes, and the replica then says it cannot read that format.
#[derive(Clone, Debug)]
struct SnapBytes(Vec<u8>);

impl Serialize for SnapBytes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for SnapBytes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = SnapBytes;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a snapshot's bytes")
            }
            fn visit_bytes<E>(self, v: &[u8]) -> Result<SnapBytes, E> {
                Ok(SnapBytes(v.to_vec()))
            }
            fn visit_byte_buf<E>(self, v: Vec<u8>) -> Result<SnapBytes, E> {
                Ok(SnapBytes(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<SnapBytes, E> {
                Ok(SnapBytes(v.as_bytes().to_vec()))
            }
        }
        d.deserialize_byte_buf(Visitor)
    }
}

/// Why storage could not be used. Each says what happened in words for the page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DiskError {
    /// No IndexedDB here (private window, blocked storage, old browser).
    Unavailable(String),
    /// The database was written by another version of raftchat.
    Schema(String),
    /// A record could not be read back.
    Corrupt(String),
    /// The browser refused the write: storage is full.
    QuotaExceeded,
    Other(String),
}

impl std::fmt::Display for DiskError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DiskError::Unavailable(why) => write!(f, "IndexedDB is not available ({why})"),
            DiskError::Schema(why) => write!(
                f,
                "the saved cluster was written by another version of raftchat ({why})"
            ),
            DiskError::Corrupt(why) => write!(f, "the saved cluster is damaged ({why})"),
            DiskError::QuotaExceeded => write!(f, "the browser's storage is full"),
            DiskError::Other(why) => write!(f, "storage failed ({why})"),
        }
    }
}

fn other(e: impl std::fmt::Display) -> DiskError {
    let text = e.to_string();
    if text.contains("QuotaExceeded") {
        DiskError::QuotaExceeded
    } else {
        DiskError::Other(text)
    }
}

/// An open cluster database.
pub struct Disk {
    db: Database,
    name: String,
}

impl Disk {
    /// Opens (creating if need be) the database `name`.
    pub async fn open(name: &str) -> Result<Disk, DiskError> {
        let db = Database::open(name)
            .with_version(SCHEMA_VERSION)
            .with_on_upgrade_needed(|event, db| {
                // Version 0 is "no database yet"; version 1 had no snapshots.
                // (A database of a newer schema fails to open with a
                // VersionError instead.)
                let old = event.old_version() as u64;
                if old == 0 {
                    db.create_object_store(META).build()?;
                    db.create_object_store(HARD).build()?;
                    db.create_object_store(LOG).build()?;
                }
                if old < 2 {
                    db.create_object_store(SNAP).build()?;
                }
                Ok(())
            })
            .await
            .map_err(|e| {
                let text = e.to_string();
                if text.contains("VersionError") || text.contains("version") {
                    DiskError::Schema(text)
                } else if text.contains("factory")
                    || text.contains("Unsupported")
                    || text.contains("indexedDB")
                {
                    DiskError::Unavailable(text)
                } else {
                    DiskError::Other(text)
                }
            })?;
        Ok(Disk {
            db,
            name: name.to_string(),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// A readwrite transaction over `stores`; it rolls back unless committed.
    fn writing<S: indexed_db_futures::database::ObjectStoreName>(
        &self,
        stores: S,
    ) -> Result<indexed_db_futures::transaction::Transaction<'_>, DiskError> {
        self.db
            .transaction(stores)
            .with_mode(TransactionMode::Readwrite)
            .build()
            .map_err(other)
    }

    pub async fn load_meta(&self) -> Result<Option<ClusterMeta>, DiskError> {
        let tx = self.db.transaction(META).build().map_err(other)?;
        let store = tx.object_store(META).map_err(other)?;
        let meta: Option<ClusterMeta> = store
            .get(META_KEY)
            .serde()
            .map_err(other)?
            .await
            .map_err(|e| DiskError::Corrupt(format!("cluster settings: {e}")))?;
        if let Some(m) = &meta {
            if !(1..=SCHEMA_VERSION).contains(&m.schema) {
                return Err(DiskError::Schema(format!(
                    "schema {} recorded, {SCHEMA_VERSION} expected",
                    m.schema
                )));
            }
        }
        Ok(meta)
    }

    pub async fn save_meta(&self, meta: &ClusterMeta) -> Result<(), DiskError> {
        let tx = self.writing(META)?;
        let store = tx.object_store(META).map_err(other)?;
        store
            .put(meta)
            .with_key(META_KEY.to_string())
            .serde()
            .map_err(other)?;
        tx.commit().await.map_err(other)
    }

    /// Makes one Raft write durable, atomically.
    pub async fn write(
        &self,
        node: NodeId,
        write: &DurableWrite<ChatCommand>,
    ) -> Result<(), DiskError> {
        let tx = self.writing([HARD, LOG, SNAP])?;
        stage(&tx, node, write)?;
        tx.commit().await.map_err(other)
    }

    /// Replaces everything stored about node `node` with `state`, atomically
    /// (a rewind: the node's records become what it had made durable then).
    pub async fn replace_node(
        &self,
        node: NodeId,
        state: &PersistedState<ChatCommand>,
    ) -> Result<(), DiskError> {
        let tx = self.writing([HARD, LOG, SNAP])?;
        unstage_node(&tx, node)?;
        let write = DurableWrite {
            hard_state: Some(state.hard_state),
            snapshot: state.snapshot.as_ref().map(|data| {
                Box::new(Snapshot {
                    meta: SnapshotMeta {
                        index: state.base_index,
                        term: state.base_term,
                        config: state.base_config.clone(),
                    },
                    data: data.clone(),
                })
            }),
            truncate_from: None,
            entries: state.entries.clone(),
        };
        stage(&tx, node, &write)?;
        tx.commit().await.map_err(other)
    }

    /// Deletes everything stored about node `node` (removed from the cluster).
    pub async fn delete_node(&self, node: NodeId) -> Result<(), DiskError> {
        let tx = self.writing([HARD, LOG, SNAP])?;
        unstage_node(&tx, node)?;
        tx.commit().await.map_err(other)
    }

    /// How many log entries node `node` has stored (tests).
    pub async fn stored_entries(&self, node: NodeId) -> Result<u32, DiskError> {
        let tx = self.db.transaction(LOG).build().map_err(other)?;
        let range = log_from(node, 0);
        tx.object_store(LOG)
            .map_err(other)?
            .count()
            .with_query::<f64, _>(range)
            .primitive()
            .map_err(other)?
            .await
            .map_err(other)
    }

    /// Stages a write in a transaction and drops it without committing: what a
    /// crash in the middle of a write does. (Tests use it to show atomicity.)
    pub async fn write_and_abort(
        &self,
        node: NodeId,
        write: &DurableWrite<ChatCommand>,
    ) -> Result<(), DiskError> {
        let tx = self.writing([HARD, LOG, SNAP])?;
        stage(&tx, node, write)?;
        tx.abort().await.map_err(other)
    }

    /// Reads node `node`'s persisted state back.
    pub async fn load_node(
        &self,
        node: NodeId,
        config: Membership,
    ) -> Result<PersistedState<ChatCommand>, DiskError> {
        let tx = self
            .db
            .transaction([HARD, LOG, SNAP])
            .build()
            .map_err(other)?;
        let snap: Option<SnapRecord> = tx
            .object_store(SNAP)
            .map_err(other)?
            .get(node)
            .serde()
            .map_err(other)?
            .await
            .map_err(|e| DiskError::Corrupt(format!("node {node}'s snapshot: {e}")))?;
        let hard: Option<HardState> = tx
            .object_store(HARD)
            .map_err(other)?
            .get(node)
            .serde()
            .map_err(other)?
            .await
            .map_err(|e| DiskError::Corrupt(format!("node {node}'s term and vote: {e}")))?;
        let range = log_from(node, 0);
        let records = tx
            .object_store(LOG)
            .map_err(other)?
            .get_all::<ChatEntry>()
            .with_query::<f64, _>(range)
            .serde()
            .map_err(other)?
            .await
            .map_err(|e| DiskError::Corrupt(format!("node {node}'s log: {e}")))?;
        let mut entries = Vec::new();
        for (i, record) in records.enumerate() {
            let entry = record.map_err(|e| {
                DiskError::Corrupt(format!("node {node}'s log entry {}: {e}", i + 1))
            })?;
            let expected = snap.as_ref().map_or(0, |s| s.index) + i as Index + 1;
            if entry.index != expected {
                return Err(DiskError::Corrupt(format!(
                    "node {node}'s log has entry {} where entry {expected} belongs",
                    entry.index
                )));
            }
            entries.push(entry);
        }
        let mut state = PersistedState::bootstrap(config);
        state.hard_state = hard.unwrap_or_default();
        state.entries = entries;
        if let Some(s) = snap {
            state.base_index = s.index;
            state.base_term = s.term;
            state.base_config = s.config;
            state.snapshot = Some(s.data.0.into());
        }
        Ok(state)
    }

    /// Writes a raw value into node `node`'s log (tests of damaged data).
    pub async fn put_raw_log_record(
        &self,
        node: NodeId,
        index: Index,
        value: &str,
    ) -> Result<(), DiskError> {
        let tx = self.writing(LOG)?;
        tx.object_store(LOG)
            .map_err(other)?
            .put(value)
            .with_key(log_key(node, index))
            .primitive()
            .map_err(other)?;
        tx.commit().await.map_err(other)
    }

    pub fn close(self) {
        self.db.close();
    }

    /// Closes the connection (the handle may still be shared).
    pub fn close_connection(&self) {
        self.db.clone().close();
    }

    /// Deletes database `name` (the "New cluster" action).
    pub async fn delete(name: &str) -> Result<(), DiskError> {
        Database::delete_by_name(name)
            .map_err(other)?
            .await
            .map_err(other)
    }
}

/// Deletes, in `tx`, everything stored about node `node`.
fn unstage_node(
    tx: &indexed_db_futures::transaction::Transaction<'_>,
    node: NodeId,
) -> Result<(), DiskError> {
    for store in [HARD, SNAP] {
        tx.object_store(store)
            .map_err(other)?
            .delete(node)
            .primitive()
            .map_err(other)?;
    }
    tx.object_store(LOG)
        .map_err(other)?
        .delete::<f64, _>(log_from(node, 0))
        .primitive()
        .map_err(other)?;
    Ok(())
}

fn stage(
    tx: &indexed_db_futures::transaction::Transaction<'_>,
    node: NodeId,
    write: &DurableWrite<ChatCommand>,
) -> Result<(), DiskError> {
    if let Some(hs) = write.hard_state {
        tx.object_store(HARD)
            .map_err(other)?
            .put(hs)
            .with_key(node)
            .serde()
            .map_err(other)?;
    }
    let log = tx.object_store(LOG).map_err(other)?;
    if let Some(snap) = &write.snapshot {
        let record = SnapRecord {
            index: snap.meta.index,
            term: snap.meta.term,
            config: snap.meta.config.clone(),
            data: SnapBytes(snap.data.to_vec()),
        };
        tx.object_store(SNAP)
            .map_err(other)?
            .put(&record)
            .with_key(node)
            .serde()
            .map_err(other)?;
        // The entries it covers go (log compaction).
        let covered = KeyRange::Bound(
            log_key(node, 0),
            false,
            log_key(node, snap.meta.index),
            false,
        );
        log.delete::<f64, _>(covered).primitive().map_err(other)?;
    }
    if let Some(from) = write.truncate_from {
        let range = log_from(node, from);
        log.delete::<f64, _>(range).primitive().map_err(other)?;
    }
    for e in &write.entries {
        log.put(e)
            .with_key(log_key(node, e.index))
            .serde()
            .map_err(other)?;
    }
    Ok(())
}

/// One node's storage in the cluster's database: the core's [`AsyncStorage`].
pub struct NodeDisk {
    pub disk: Rc<Disk>,
    pub node: NodeId,
    /// The configuration a node starts with (the cluster's nodes).
    pub config: Membership,
}

impl From<DiskError> for StorageError {
    fn from(e: DiskError) -> Self {
        match e {
            DiskError::Corrupt(_) | DiskError::Schema(_) => StorageError::Corrupt(e.to_string()),
            _ => StorageError::Unavailable(e.to_string()),
        }
    }
}

impl AsyncStorage<ChatCommand> for NodeDisk {
    async fn load(&self) -> Result<PersistedState<ChatCommand>, StorageError> {
        Ok(self.disk.load_node(self.node, self.config.clone()).await?)
    }

    async fn write(&self, write: &DurableWrite<ChatCommand>) -> Result<(), StorageError> {
        Ok(self.disk.write(self.node, write).await?)
    }
}
