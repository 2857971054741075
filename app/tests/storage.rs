//! The IndexedDB adapter, in headless Chromium (wasm-bindgen-test).

use indexed_db_futures::prelude::*;
use raftchat_app::settings::Settings;
use raftchat_app::storage::{ClusterMeta, Disk, DiskError, SCHEMA_VERSION};
use raftchat_core::sim::{SimConfig, Simulator};
use raftchat_core::storage::{DurableWrite, HardState};
use raftchat_core::{ChatCommand, ChatRoom, Entry, Membership, Payload, Request};
use std::cell::Cell;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

thread_local!(static N: Cell<u32> = const { Cell::new(0) });

/// A fresh database name for each test.
fn fresh_name(what: &str) -> String {
    let now = web_sys::window().unwrap().performance().unwrap().now();
    N.with(|n| {
        n.set(n.get() + 1);
        format!("test-{what}-{}-{}", now as u64, n.get())
    })
}

fn entry(index: u64, term: u64, text: &str) -> Entry<ChatCommand> {
    Entry {
        index,
        term,
        payload: Payload::Command(std::rc::Rc::new(Request {
            client: 1,
            seq: index,
            command: ChatCommand::new("ada", text).unwrap(),
        })),
    }
}

fn write(
    hs: Option<(u64, Option<u32>)>,
    truncate_from: Option<u64>,
    entries: Vec<Entry<ChatCommand>>,
) -> DurableWrite<ChatCommand> {
    DurableWrite {
        hard_state: hs.map(|(term, voted_for)| HardState { term, voted_for }),
        snapshot: None,
        truncate_from,
        entries,
    }
}

fn config() -> Membership {
    Membership::new(1..=3)
}

#[wasm_bindgen_test]
async fn hard_state_and_entries_round_trip() {
    let name = fresh_name("roundtrip");
    let disk = Disk::open(&name).await.unwrap();
    let noop = Entry {
        index: 1,
        term: 2,
        payload: Payload::Noop,
    };
    disk.write(
        2,
        &write(
            Some((2, Some(3))),
            None,
            vec![noop.clone(), entry(2, 2, "<b>hi</b> & ✓")],
        ),
    )
    .await
    .unwrap();
    disk.write(3, &write(Some((5, None)), None, vec![]))
        .await
        .unwrap();
    let p = disk.load_node(2, config()).await.unwrap();
    assert_eq!(
        p.hard_state,
        HardState {
            term: 2,
            voted_for: Some(3)
        }
    );
    assert_eq!(p.entries, vec![noop, entry(2, 2, "<b>hi</b> & ✓")]);
    let other = disk.load_node(3, config()).await.unwrap();
    assert_eq!(other.hard_state.term, 5);
    assert!(other.entries.is_empty(), "nodes' logs are apart");
    let none = disk.load_node(1, config()).await.unwrap();
    assert_eq!(
        (none.hard_state, none.entries.len()),
        (HardState::default(), 0)
    );
    disk.close();
    Disk::delete(&name).await.unwrap();
}

#[wasm_bindgen_test]
async fn an_aborted_write_leaves_neither_term_nor_entries() {
    let name = fresh_name("atomic");
    let disk = Disk::open(&name).await.unwrap();
    disk.write(
        1,
        &write(Some((1, Some(1))), None, vec![entry(1, 1, "kept")]),
    )
    .await
    .unwrap();
    disk.write_and_abort(
        1,
        &write(
            Some((7, Some(2))),
            Some(1),
            vec![entry(1, 7, "lost"), entry(2, 7, "lost")],
        ),
    )
    .await
    .unwrap();
    let p = disk.load_node(1, config()).await.unwrap();
    assert_eq!(
        p.hard_state,
        HardState {
            term: 1,
            voted_for: Some(1)
        },
        "term and vote unchanged"
    );
    assert_eq!(
        p.entries,
        vec![entry(1, 1, "kept")],
        "no truncation, no new entries"
    );
    disk.close();
    Disk::delete(&name).await.unwrap();
}

#[wasm_bindgen_test]
async fn a_conflicting_suffix_is_truncated() {
    let name = fresh_name("truncate");
    let disk = Disk::open(&name).await.unwrap();
    disk.write(
        1,
        &write(None, None, (1..=5).map(|i| entry(i, 1, "old")).collect()),
    )
    .await
    .unwrap();
    disk.write(
        2,
        &write(
            None,
            None,
            (1..=3).map(|i| entry(i, 1, "other node")).collect(),
        ),
    )
    .await
    .unwrap();
    disk.write(
        1,
        &write(Some((3, None)), Some(3), vec![entry(3, 3, "new")]),
    )
    .await
    .unwrap();
    let p = disk.load_node(1, config()).await.unwrap();
    let terms: Vec<u64> = p.entries.iter().map(|e| e.term).collect();
    assert_eq!(terms, vec![1, 1, 3]);
    assert_eq!(
        disk.load_node(2, config()).await.unwrap().entries.len(),
        3,
        "another node's log untouched"
    );
    disk.close();
    Disk::delete(&name).await.unwrap();
}

#[wasm_bindgen_test]
async fn a_reopened_database_holds_what_was_written() {
    let name = fresh_name("reopen");
    let disk = Disk::open(&name).await.unwrap();
    let meta = ClusterMeta {
        schema: SCHEMA_VERSION,
        settings: Settings {
            seed: 99,
            nodes: 7,
            ..Settings::default()
        },
        author: "Ada".into(),
        node_ids: vec![1, 2, 4, 8],
        recipe: None,
    };
    disk.save_meta(&meta).await.unwrap();
    disk.write(
        4,
        &write(Some((9, Some(4))), None, vec![entry(1, 9, "durable")]),
    )
    .await
    .unwrap();
    disk.close();
    let disk = Disk::open(&name).await.unwrap();
    assert_eq!(disk.load_meta().await.unwrap(), Some(meta));
    let p = disk.load_node(4, config()).await.unwrap();
    assert_eq!((p.hard_state.term, p.entries.len()), (9, 1));
    disk.close();
    Disk::delete(&name).await.unwrap();
}

#[wasm_bindgen_test]
async fn a_restarted_node_is_rebuilt_from_the_database() {
    // Write through one handle, reopen the database, restart from the reopened
    // handle: the node's term and log come from what IndexedDB returns.
    let name = fresh_name("restart");
    let disk = Disk::open(&name).await.unwrap();
    let mut sim = Simulator::<ChatRoom>::new(SimConfig {
        nodes: 3,
        ..SimConfig::default()
    })
    .unwrap();
    sim.set_external_disk(true);
    for _ in 0..2_000 {
        for w in sim.take_disk_writes() {
            disk.write(w.node, &w.write).await.unwrap();
            sim.confirm_write(w.node, w.incarnation, w.write_id);
        }
        let t = sim.now_ms() + 5;
        sim.run_until(t);
    }
    let leader = sim.leader().expect("a leader");
    let term = sim.node(leader).unwrap().node.unwrap().raft().term();
    sim.crash(leader).unwrap();
    disk.close();
    let reopened = Disk::open(&name).await.unwrap();
    let persisted = reopened
        .load_node(leader, Membership::new(1..=3))
        .await
        .unwrap();
    assert_eq!(persisted.hard_state.term, term);
    assert!(!persisted.entries.is_empty());
    sim.restart_from(leader, persisted.clone()).unwrap();
    let node = sim.node(leader).unwrap().node.unwrap();
    assert_eq!(node.raft().term(), term);
    assert_eq!(node.raft().log().entries(), &persisted.entries[..]);
    reopened.close();
    Disk::delete(&name).await.unwrap();
}

#[wasm_bindgen_test]
async fn a_database_of_a_newer_schema_is_refused_with_a_clear_error() {
    let name = fresh_name("schema");
    // A future raftchat made this database with a higher version.
    let newer = indexed_db_futures::database::Database::open(&name)
        .with_version(SCHEMA_VERSION + 1)
        .await
        .unwrap();
    newer.close();
    match Disk::open(&name).await {
        Err(e @ DiskError::Schema(_)) => {
            assert!(e.to_string().contains("another version of raftchat"), "{e}")
        }
        Err(e) => panic!("wrong error: {e:?}"),
        Ok(_) => panic!("a newer database must not be opened"),
    }
    Disk::delete(&name).await.unwrap();
}

#[wasm_bindgen_test]
async fn a_damaged_record_is_reported_not_read() {
    let name = fresh_name("corrupt");
    let disk = Disk::open(&name).await.unwrap();
    disk.write(1, &write(Some((1, None)), None, vec![entry(1, 1, "fine")]))
        .await
        .unwrap();
    disk.put_raw_log_record(1, 2, "not an entry").await.unwrap();
    match disk.load_node(1, config()).await {
        Err(e @ DiskError::Corrupt(_)) => assert!(e.to_string().contains("damaged"), "{e}"),
        other => panic!("expected a damaged-data error, got {other:?}"),
    }
    // A gap in the log is damage too.
    disk.put_raw_log_record(1, 2, "x").await.unwrap();
    disk.write(1, &write(None, Some(2), vec![])).await.unwrap();
    disk.write(3, &write(None, None, vec![entry(1, 1, "a")]))
        .await
        .unwrap();
    disk.put_raw_log_record(3, 3, "gap").await.unwrap();
    assert!(matches!(
        disk.load_node(3, config()).await,
        Err(DiskError::Corrupt(_))
    ));
    disk.close();
    Disk::delete(&name).await.unwrap();
}

#[wasm_bindgen_test]
async fn benchmark_durable_appends_per_second() {
    let name = fresh_name("bench");
    let disk = Disk::open(&name).await.unwrap();
    let perf = web_sys::window().unwrap().performance().unwrap();
    for batch in [1usize, 64] {
        let writes = if batch == 1 { 200 } else { 40 };
        let start = perf.now();
        let mut next = 1u64;
        for _ in 0..writes {
            let entries: Vec<_> = (0..batch)
                .map(|i| entry(next + i as u64, 1, "a chat message of typical length"))
                .collect();
            next += batch as u64;
            disk.write(1, &write(Some((1, Some(1))), None, entries))
                .await
                .unwrap();
        }
        let ms = perf.now() - start;
        let appended = (writes * batch) as f64;
        console_log!(
            "IndexedDB: {writes} durable writes of {batch} entries in {ms:.0} ms: {:.0} appends/s, {:.2} ms per write",
            appended / (ms / 1000.0),
            ms / writes as f64
        );
        assert_eq!(
            disk.load_node(1, config()).await.unwrap().entries.len() as u64,
            next - 1
        );
        disk.write(1, &write(None, Some(1), vec![])).await.unwrap();
    }
    disk.close();
    Disk::delete(&name).await.unwrap();
}

fn entries_1_to_7() -> Vec<Entry<ChatCommand>> {
    (1..=7).map(|i| entry(i, 1, &format!("m{i}"))).collect()
}

#[wasm_bindgen_test]
async fn a_snapshot_replaces_the_entries_it_covers_and_comes_back_on_load() {
    let name = fresh_name("snapshot");
    let disk = Disk::open(&name).await.unwrap();
    let entries: Vec<_> = (1..=10).map(|i| entry(i, 1, &format!("m{i}"))).collect();
    disk.write(2, &write(Some((1, None)), None, entries))
        .await
        .unwrap();
    assert_eq!(disk.stored_entries(2).await.unwrap(), 10);
    // The core's snapshot of the chat up to index 7 (binary).
    let mut replica = raftchat_core::state_machine::Replica::<raftchat_core::ChatRoom>::default();
    for e in &entries_1_to_7() {
        replica.apply(e);
    }
    let data = replica.snapshot().to_vec();
    let snap = raftchat_core::Snapshot {
        meta: raftchat_core::SnapshotMeta {
            index: 7,
            term: 1,
            config: config(),
        },
        data: data.clone().into(),
    };
    let mut w = write(None, None, vec![entry(11, 1, "m11")]);
    w.snapshot = Some(Box::new(snap));
    disk.write(2, &w).await.unwrap();
    // Entries 1..=7 are gone; 8, 9, 10 and the new 11 remain.
    assert_eq!(disk.stored_entries(2).await.unwrap(), 4);
    disk.close();
    let disk = Disk::open(&name).await.unwrap();
    let p = disk.load_node(2, config()).await.unwrap();
    assert_eq!((p.base_index, p.base_term), (7, 1));
    // IndexedDB holds the binary form as is; it restores to the same chat.
    let stored = p.snapshot.clone().expect("a snapshot");
    assert_eq!(&stored[..], &data[..], "stored byte for byte");
    let mut back = raftchat_core::state_machine::Replica::<raftchat_core::ChatRoom>::default();
    back.restore(
        &raftchat_core::SnapshotMeta {
            index: 7,
            term: 1,
            config: config(),
        },
        &stored,
    )
    .unwrap();
    assert_eq!(back.machine(), replica.machine());
    assert_eq!(back.digest(), replica.digest());
    assert_eq!(
        p.entries.iter().map(|e| e.index).collect::<Vec<_>>(),
        vec![8, 9, 10, 11]
    );
    // A removed node's records are deleted.
    disk.delete_node(2).await.unwrap();
    assert_eq!(disk.stored_entries(2).await.unwrap(), 0);
    let p = disk.load_node(2, config()).await.unwrap();
    assert_eq!((p.base_index, p.snapshot, p.entries.len()), (0, None, 0));
    disk.close();
    Disk::delete(&name).await.unwrap();
}

#[wasm_bindgen_test]
async fn a_version_1_database_is_upgraded_in_place() {
    let name = fresh_name("upgrade");
    // What raftchat before snapshots created: three stores, version 1.
    let old = indexed_db_futures::database::Database::open(&name)
        .with_version(1u32)
        .with_on_upgrade_needed(|_, db| {
            for store in ["meta", "hard", "log"] {
                db.create_object_store(store).build()?;
            }
            Ok(())
        })
        .await
        .unwrap();
    old.close();
    let disk = Disk::open(&name).await.expect("upgraded");
    disk.write(1, &write(Some((3, None)), None, vec![entry(1, 3, "kept")]))
        .await
        .unwrap();
    let p = disk.load_node(1, config()).await.unwrap();
    assert_eq!(
        (p.hard_state.term, p.entries.len(), p.snapshot),
        (3, 1, None)
    );
    disk.close();
    Disk::delete(&name).await.unwrap();
}
