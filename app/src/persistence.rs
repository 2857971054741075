//! The driver between the simulator and IndexedDB: it makes each node's writes
//! durable in order (one transaction each), reports them back so that the
//! node's messages may leave, reads a restarting node back from the database,
//! and keeps the cluster's settings saved.
//!
//! The effect runner (`runner.rs`) hands writes over with
//! [`Persistence::submit`]; completions and failures come back as [`Action`]s.

use crate::state::Action;
use crate::storage::{ClusterMeta, Disk, NodeDisk};
use raftchat_core::node_map::NodeMap;
use raftchat_core::sim::DiskWrite;
use raftchat_core::storage::{AsyncStorage, PersistedState};
use raftchat_core::{ChatCommand, Membership, NodeId};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeSet, VecDeque};
use std::rc::Rc;
use wasm_bindgen_futures::spawn_local;
use yew::Callback;

/// How often, at most, the storage estimate is refreshed (real ms).
const ESTIMATE_EVERY_MS: f64 = 2_000.0;

/// What a node's queue holds: writes, in order, and at the end of a removed
/// server's life, the deletion of its records.
enum Job {
    Write(DiskWrite<ChatCommand>),
    /// After a jump in time: the node's records become this state.
    Replace(PersistedState<ChatCommand>),
    Delete,
}

pub struct Persistence {
    disk: RefCell<Option<Rc<Disk>>>,
    /// Each node's writes not yet begun.
    queues: RefCell<NodeMap<VecDeque<Job>>>,
    busy: RefCell<BTreeSet<NodeId>>,
    dispatch: Callback<Action>,
    last_estimate_ms: Cell<f64>,
    /// Bumped at every jump in time: a confirmation of a write handed out
    /// before it is for a run that no longer exists, and is not passed on.
    epoch: Cell<u64>,
}

impl Persistence {
    /// Not attached to a database until [`Persistence::attach`].
    pub fn new(dispatch: Callback<Action>) -> Rc<Self> {
        Rc::new(Persistence {
            disk: RefCell::default(),
            queues: RefCell::default(),
            busy: RefCell::default(),
            dispatch,
            last_estimate_ms: Cell::default(),
            epoch: Cell::default(),
        })
    }

    /// From now on writes go to `disk` (a cluster's database, just opened).
    pub fn attach(&self, disk: Disk) {
        self.queues.borrow_mut().clear();
        *self.disk.borrow_mut() = Some(Rc::new(disk));
    }

    pub fn is_attached(&self) -> bool {
        self.disk.borrow().is_some()
    }

    /// Closes the database (before it is deleted).
    pub fn close(&self) {
        if let Some(disk) = self.disk.borrow_mut().take() {
            disk.close_connection();
        }
        self.queues.borrow_mut().clear();
    }

    /// Stops writing (after a failure): the cluster goes on in memory.
    pub fn detach(&self) {
        self.disk.borrow_mut().take();
        self.queues.borrow_mut().clear();
    }

    /// Queues writes; each node's are made durable one after the other.
    pub fn submit(self: &Rc<Self>, writes: Vec<DiskWrite<ChatCommand>>) {
        if writes.is_empty() || !self.is_attached() {
            return;
        }
        let mut start = Vec::new();
        {
            let mut queues = self.queues.borrow_mut();
            let busy = self.busy.borrow();
            for w in writes {
                let node = w.node;
                queues
                    .or_insert_with(node, VecDeque::new)
                    .push_back(Job::Write(w));
                if !busy.contains(&node) && !start.contains(&node) {
                    start.push(node);
                }
            }
        }
        for node in start {
            self.start_draining(node);
        }
    }

    fn start_draining(self: &Rc<Self>, node: NodeId) {
        self.busy.borrow_mut().insert(node);
        let me = self.clone();
        spawn_local(async move { me.drain(node).await });
    }

    /// A server left the cluster: its records are deleted, after any write of
    /// it already under way.
    pub fn delete_node(self: &Rc<Self>, node: NodeId) {
        if !self.is_attached() {
            return;
        }
        {
            let mut queues = self.queues.borrow_mut();
            let q = queues.or_insert_with(node, VecDeque::new);
            q.clear();
            q.push_back(Job::Delete);
        }
        if !self.busy.borrow().contains(&node) {
            self.start_draining(node);
        }
    }

    /// After a jump in time: drops the node's writes not yet begun and
    /// rewrites its records to `state` (after a write already under way).
    pub fn replace_node(self: &Rc<Self>, node: NodeId, state: PersistedState<ChatCommand>) {
        if !self.is_attached() {
            return;
        }
        {
            let mut queues = self.queues.borrow_mut();
            let q = queues.or_insert_with(node, VecDeque::new);
            q.clear();
            q.push_back(Job::Replace(state));
        }
        if !self.busy.borrow().contains(&node) {
            self.start_draining(node);
        }
    }

    /// Starts a new epoch: confirmations of earlier writes are dropped.
    pub fn new_epoch(&self) {
        self.epoch.set(self.epoch.get() + 1);
    }

    /// A crash: writes of this node not yet begun are lost. (One in progress
    /// completes or not, as on a real disk; its confirmation is then ignored.)
    pub fn discard(&self, node: NodeId) {
        if let Some(q) = self.queues.borrow_mut().get_mut(node) {
            q.clear();
        }
    }

    async fn drain(self: Rc<Self>, node: NodeId) {
        loop {
            let next = self
                .queues
                .borrow_mut()
                .get_mut(node)
                .and_then(VecDeque::pop_front);
            let (Some(job), Some(disk)) = (next, self.disk.borrow().clone()) else {
                self.busy.borrow_mut().remove(&node);
                return;
            };
            let epoch = self.epoch.get();
            let w = match job {
                Job::Write(w) => w,
                Job::Replace(state) => {
                    if let Err(e) = disk.replace_node(node, &state).await {
                        self.send(Action::DiskFailed(e.to_string()));
                    }
                    continue;
                }
                Job::Delete => {
                    if let Err(e) = disk.delete_node(node).await {
                        self.send(Action::DiskFailed(e.to_string()));
                    }
                    continue;
                }
            };
            // (Only `load` reads the configuration.)
            let nd = NodeDisk {
                disk,
                node,
                config: Membership::new([node]),
            };
            let result = nd.write(&w.write).await;
            let action = match result {
                Ok(()) => Action::Durable {
                    node,
                    incarnation: w.incarnation,
                    write_id: w.write_id,
                },
                Err(e) => Action::DiskFailed(e.to_string()),
            };
            let failed = matches!(action, Action::DiskFailed(_));
            if failed || epoch == self.epoch.get() {
                self.send(action);
            }
            if failed {
                self.busy.borrow_mut().remove(&node);
                return;
            }
            self.maybe_estimate();
        }
    }

    /// Reads node `node` back from the database, then restarts it from that.
    pub fn restart_from_disk(self: &Rc<Self>, node: NodeId, config: Membership) {
        let Some(disk) = self.disk.borrow().clone() else {
            return;
        };
        let me = self.clone();
        spawn_local(async move {
            let action = match (NodeDisk { disk, node, config }).load().await {
                Ok(persisted) => Action::RestartFrom { node, persisted },
                Err(e) => Action::DiskFailed(format!("node {node} could not be read back: {e}")),
            };
            me.send(action);
        });
    }

    pub fn save_meta(self: &Rc<Self>, meta: ClusterMeta) {
        let Some(disk) = self.disk.borrow().clone() else {
            return;
        };
        let me = self.clone();
        spawn_local(async move {
            if let Err(e) = disk.save_meta(&meta).await {
                me.send(Action::DiskFailed(e.to_string()));
            }
        });
    }

    fn send(&self, action: Action) {
        self.dispatch.emit(action);
    }

    /// Asks the browser how much storage the site uses, now and then.
    fn maybe_estimate(self: &Rc<Self>) {
        let now = js_sys::Date::now();
        if now - self.last_estimate_ms.get() < ESTIMATE_EVERY_MS {
            return;
        }
        self.last_estimate_ms.set(now);
        let me = self.clone();
        spawn_local(async move {
            if let Some(bytes) = estimate_usage().await {
                me.send(Action::StorageUsage(bytes));
            }
        });
    }
}

/// The Storage API's estimate of the bytes this site stores.
pub async fn estimate_usage() -> Option<f64> {
    let storage = web_sys::window()?.navigator().storage();
    let promise = storage.estimate().ok()?;
    let estimate: web_sys::StorageEstimate = wasm_bindgen_futures::JsFuture::from(promise)
        .await
        .ok()?
        .into();
    estimate.get_usage()
}
