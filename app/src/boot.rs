//! Start-up: which cluster this tab shows, whether another tab has it open,
//! and bringing it back from IndexedDB.
//!
//! Each tab remembers its cluster in `sessionStorage` (kept across reloads of
//! that tab); a new tab takes the last cluster used (`localStorage`). Two tabs
//! must not both write one cluster: a tab that owns a cluster answers on a
//! `BroadcastChannel`, and a tab that hears an answer runs in memory instead and
//! offers a separate cluster of its own.

use crate::settings::{bootstrap_config, Settings};
use crate::state::Action;
use crate::storage::{db_name, Disk, DiskError};
use gloo_events::EventListener;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use wasm_bindgen::JsCast;

const KEY: &str = "raftchat.cluster";
const CHANNEL: &str = "raftchat";
/// How long a new tab waits for another tab to say it owns the cluster.
const ASK_MS: u32 = 250;

thread_local! {
    /// The channel on which this tab answers for the cluster it owns.
    static OWNER: RefCell<Option<(web_sys::BroadcastChannel, EventListener)>> = const { RefCell::new(None) };
}

fn session() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok()?
}

fn local() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

/// The cluster this tab shows, or a new one.
pub fn current_cluster() -> u64 {
    let read = |s: Option<web_sys::Storage>| s?.get_item(KEY).ok()??.parse::<u64>().ok();
    read(session())
        .or_else(|| read(local()))
        .unwrap_or_else(new_cluster_id)
}

/// Makes `cluster` this tab's (and the one new tabs open).
pub fn remember(cluster: u64) {
    for s in [session(), local()].into_iter().flatten() {
        let _ = s.set_item(KEY, &cluster.to_string());
    }
}

/// Makes `cluster` this tab's only (another tab owns the last one).
pub fn remember_for_this_tab(cluster: u64) {
    if let Some(s) = session() {
        let _ = s.set_item(KEY, &cluster.to_string());
    }
}

pub fn new_cluster_id() -> u64 {
    js_sys::Date::now() as u64
}

/// Asks other tabs whether one of them has `cluster` open.
async fn open_elsewhere(cluster: u64) -> bool {
    let Ok(channel) = web_sys::BroadcastChannel::new(CHANNEL) else {
        return false; // no BroadcastChannel: cannot tell, go on
    };
    let heard = Rc::new(Cell::new(false));
    let listener = {
        let heard = heard.clone();
        EventListener::new(&channel, "message", move |e| {
            let data = e
                .dyn_ref::<web_sys::MessageEvent>()
                .and_then(|m| m.data().as_string());
            if data.as_deref() == Some(&format!("taken:{cluster}")) {
                heard.set(true);
            }
        })
    };
    let _ = channel.post_message(&format!("hello:{cluster}").into());
    gloo_timers::future::TimeoutFuture::new(ASK_MS).await;
    drop(listener);
    channel.close();
    heard.get()
}

/// From now on, tell tabs that ask that this tab owns `cluster`.
pub fn claim(cluster: u64) {
    let Ok(channel) = web_sys::BroadcastChannel::new(CHANNEL) else {
        return;
    };
    let reply = channel.clone();
    let listener = EventListener::new(&channel, "message", move |e| {
        let data = e
            .dyn_ref::<web_sys::MessageEvent>()
            .and_then(|m| m.data().as_string());
        if data.as_deref() == Some(&format!("hello:{cluster}")) {
            let _ = reply.post_message(&format!("taken:{cluster}").into());
        }
    });
    OWNER.with(|o| {
        if let Some((old, _)) = o.borrow_mut().replace((channel, listener)) {
            old.close();
        }
    });
}

/// Opens `cluster`'s database and reads it back: what happened, for the
/// reducer (restore it, or start it with `settings`), and the database if it
/// opened (for the effect runner to write to).
pub async fn boot(cluster: u64, settings: Settings, author: String) -> (Action, Option<Disk>) {
    if open_elsewhere(cluster).await {
        return (Action::OpenElsewhere { cluster }, None);
    }
    match load(cluster).await {
        Ok((disk, Some((meta, nodes)))) => {
            claim(cluster);
            remember(cluster);
            let action = Action::Restore {
                cluster,
                settings: meta.settings,
                author: meta.author,
                nodes,
                recipe: meta.recipe,
            };
            (action, Some(disk))
        }
        Ok((disk, None)) => {
            claim(cluster);
            remember(cluster);
            let action = Action::Attach {
                cluster,
                settings,
                author,
            };
            (action, Some(disk))
        }
        Err(e) => (Action::DiskUnavailable(e.to_string()), None),
    }
}

type Loaded = (
    crate::storage::ClusterMeta,
    Vec<(
        raftchat_core::NodeId,
        raftchat_core::storage::PersistedState<raftchat_core::ChatCommand>,
    )>,
);

async fn load(cluster: u64) -> Result<(Disk, Option<Loaded>), DiskError> {
    let disk = Disk::open(&db_name(cluster)).await?;
    let Some(meta) = disk.load_meta().await? else {
        return Ok((disk, None));
    };
    let n = meta.settings.nodes;
    if !(1..=raftchat_core::sim::MAX_NODES).contains(&n) {
        return Err(DiskError::Corrupt(format!(
            "the saved cluster has {n} nodes"
        )));
    }
    let ids = meta.node_ids();
    if ids.is_empty() || ids.len() > raftchat_core::sim::MAX_NODES as usize || ids.contains(&0) {
        return Err(DiskError::Corrupt(format!(
            "the saved cluster lists nodes {ids:?}"
        )));
    }
    let mut nodes = Vec::new();
    for id in ids {
        let state = disk.load_node(id, bootstrap_config(n, id)).await?;
        nodes.push((id, state));
    }
    Ok((disk, Some((meta, nodes))))
}

/// Deletes cluster `cluster`'s database (after the user confirmed).
pub async fn wipe(cluster: u64) -> Result<(), DiskError> {
    Disk::delete(&db_name(cluster)).await
}
