//! Component and reducer tests, in headless Chromium (wasm-bindgen-test).
//! Run by `make test` (`make test-components`).

use raftchat_app::components::app::App;
use raftchat_app::components::controls::parse_seed;
use raftchat_app::effect::Effect;
use raftchat_app::settings::Settings;
use raftchat_app::state::{Action, AppState};
use std::rc::Rc;
use std::time::Duration;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use yew::prelude::*;
use yew::Reducible;

wasm_bindgen_test_configure!(run_in_browser);

fn document() -> web_sys::Document {
    web_sys::window().unwrap().document().unwrap()
}

/// Renders the App into a fresh element and lets yew draw.
async fn render_app() -> web_sys::Element {
    let root = document().create_element("div").unwrap();
    document().body().unwrap().append_child(&root).unwrap();
    yew::Renderer::<App>::with_root(root.clone()).render();
    yew::platform::time::sleep(Duration::from_millis(50)).await;
    root
}

fn count(root: &web_sys::Element, selector: &str) -> u32 {
    root.query_selector_all(selector).unwrap().length()
}

fn click(root: &web_sys::Element, selector: &str) {
    let el: web_sys::HtmlElement = root
        .query_selector(selector)
        .unwrap()
        .unwrap()
        .dyn_into()
        .unwrap();
    el.click();
}

#[wasm_bindgen_test]
async fn the_page_has_every_test_hook() {
    let root = render_app().await;
    assert_eq!(
        count(
            &root,
            "g[data-testid^='node-'][data-role][data-term][data-down]"
        ),
        5
    );
    for id in 1..=5 {
        assert_eq!(count(&root, &format!("[data-testid='chat-pane-{id}']")), 1);
        assert_eq!(
            count(&root, &format!("input[data-testid='chat-input-{id}']")),
            1
        );
    }
    assert_eq!(count(&root, "[data-testid='play-pause']"), 1);
    assert_eq!(count(&root, "input[data-testid='seed']"), 1);
    assert_eq!(count(&root, "[data-testid='log-grid']"), 1);
    root.remove();
}

#[wasm_bindgen_test]
async fn the_play_button_pauses_and_resumes() {
    let root = render_app().await;
    let clock_state = |root: &web_sys::Element| {
        root.query_selector("[data-testid='clock']")
            .unwrap()
            .unwrap()
            .get_attribute("data-state")
            .unwrap()
    };
    assert_eq!(clock_state(&root), "running");
    click(&root, "[data-testid='play-pause']");
    yew::platform::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(clock_state(&root), "paused");
    let button = root
        .query_selector("[data-testid='play-pause']")
        .unwrap()
        .unwrap();
    assert_eq!(button.text_content().unwrap(), "Play");
    click(&root, "[data-testid='play-pause']");
    yew::platform::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(clock_state(&root), "running");
    root.remove();
}

#[wasm_bindgen_test]
fn seeds_are_whole_numbers_and_anything_else_says_why() {
    assert_eq!(parse_seed(" 42 "), Ok(42));
    assert_eq!(parse_seed("18446744073709551615"), Ok(u64::MAX));
    for bad in [
        "",
        "banana",
        "-1",
        "1.5",
        "18446744073709551616",
        "<script>",
    ] {
        let err = parse_seed(bad).unwrap_err();
        assert!(err.contains("seed"), "{bad:?}: {err}");
    }
}

fn reduce(state: Rc<AppState>, action: Action) -> Rc<AppState> {
    state.reduce(action)
}

/// The slice of a run's opening that `s` queued for the runner, if any (the
/// other effects are dropped).
fn queued_slice(s: &AppState) -> Option<u64> {
    s.take_effects().into_iter().find_map(|e| match e {
        Effect::OpenMore(n) => Some(n),
        _ => None,
    })
}

/// Opens `run` as the page does: the replay a slice at a time, each slice
/// when the runner would hand it back (after a redraw).
fn open_run(s: Rc<AppState>, run: Result<raftchat_core::recipe::Recipe, String>) -> Rc<AppState> {
    let mut s = reduce(s, Action::OpenRun(run));
    for _ in 0..100_000 {
        match queued_slice(&s) {
            Some(n) => s = reduce(s, Action::OpenMore(n)),
            None => return s,
        }
    }
    panic!("the run was not opened in 100,000 slices");
}

/// Steps the simulation until `done` holds (at most `max` events).
fn step_until(mut s: Rc<AppState>, max: usize, done: impl Fn(&AppState) -> bool) -> Rc<AppState> {
    for _ in 0..max {
        if done(&s) {
            return s;
        }
        s = reduce(s, Action::Step);
    }
    panic!("condition not reached in {max} steps");
}

#[wasm_bindgen_test]
fn a_paused_or_idle_frame_changes_nothing_and_redraws_nothing() {
    let s = Rc::new(AppState::in_memory(Settings::default(), "test"));
    // Less than a virtual millisecond owed: the same state comes back.
    let same = reduce(s.clone(), Action::Frame { real_ms: 1.0 });
    assert!(Rc::ptr_eq(&s, &same));
    let paused = reduce(s, Action::TogglePlay);
    let after = reduce(paused.clone(), Action::Frame { real_ms: 100.0 });
    assert!(Rc::ptr_eq(&paused, &after), "a paused run does not move");
}

/// The status line under node `node`'s chat pane (the test fails without one).
fn pane_status(s: &AppState, node: raftchat_core::NodeId) -> &raftchat_app::state::PaneStatus {
    s.pane_status.get(node).expect("a status under the pane")
}

#[wasm_bindgen_test]
fn bad_chat_input_is_refused_with_a_reason_and_nothing_is_sent() {
    let s = Rc::new(AppState::in_memory(Settings::default(), "test"));
    let events = s.event_count;
    let s = reduce(
        s,
        Action::Send {
            node: 2,
            text: "   ".into(),
        },
    );
    assert!(
        pane_status(&s, 2).text.contains("empty"),
        "{:?}",
        pane_status(&s, 2)
    );
    let s = reduce(
        s,
        Action::Send {
            node: 2,
            text: "y".repeat(501),
        },
    );
    assert!(
        pane_status(&s, 2).text.contains("limit is 500"),
        "{:?}",
        pane_status(&s, 2)
    );
    assert!(!pane_status(&s, 2).ok);
    assert_eq!(s.event_count, events, "nothing reached the cluster");
}

#[wasm_bindgen_test]
fn html_in_a_message_arrives_as_text_on_every_replica() {
    let s = Rc::new(AppState::in_memory(Settings::default(), "test"));
    let s = step_until(s, 20_000, |s| s.view.leader.is_some());
    let text = "<img src=x onerror=alert(1)> & <b>hi</b>";
    let s = reduce(
        s,
        Action::Send {
            node: 3,
            text: text.into(),
        },
    );
    let s = step_until(s, 20_000, |s| {
        s.view.nodes.iter().all(|n| n.chat.len() == 1)
    });
    for n in &s.view.nodes {
        assert_eq!(n.chat[0].text(), text, "node {}", n.id);
        assert_eq!(n.chat[0].author(), "student");
    }
    assert!(
        pane_status(&s, 3).text.contains("committed at index"),
        "{:?}",
        pane_status(&s, 3)
    );
}

#[wasm_bindgen_test]
fn the_inspector_commands_reach_the_simulator_only_through_actions() {
    let s = Rc::new(AppState::in_memory(Settings::default(), "test"));
    let s = step_until(s, 20_000, |s| s.view.leader.is_some());
    let (leader, term) = s.view.leader.unwrap();
    let s = reduce(s, Action::Crash(leader));
    assert!(!s.view.node(leader).unwrap().up);
    let s = reduce(s, Action::Crash(leader));
    assert!(
        s.notice.as_deref().unwrap_or("").contains("already down"),
        "a refused command says why"
    );
    let s = step_until(s, 50_000, |s| s.view.leader.is_some_and(|(_, t)| t > term));
    let s = reduce(s, Action::Restart(leader));
    assert!(s.view.node(leader).unwrap().up);
    let s = reduce(s, Action::Isolate(1));
    assert_eq!(s.view.cut.len(), 8, "4 peers × 2 directions");
    let s = reduce(s, Action::HealAll);
    assert!(s.view.cut.is_empty());
}

#[wasm_bindgen_test]
fn a_notice_stays_through_frames_until_the_user_acts() {
    let s = Rc::new(AppState::in_memory(Settings::default(), "test"));
    let s = reduce(s, Action::Crash(1));
    let s = reduce(s, Action::Crash(1));
    assert!(s.notice.as_deref().unwrap_or("").contains("already down"));
    let s = reduce(s, Action::Frame { real_ms: 50.0 });
    let s = reduce(s, Action::Frame { real_ms: 50.0 });
    assert!(s.notice.is_some(), "the animation does not wipe it");
    let s = reduce(s, Action::DismissNotice);
    assert!(s.notice.is_none());
}

#[wasm_bindgen_test]
fn membership_and_compaction_go_through_actions_and_show_in_the_view() {
    use raftchat_app::view::Member;
    let s = Rc::new(AppState::in_memory(Settings::default(), "test"));
    let s = step_until(s, 20_000, |s| s.view.leader.is_some());
    let (leader, _) = s.view.leader.unwrap();
    // Compacting with nothing applied yet beyond what is covered says why not,
    // or compacts: either way the view agrees with the simulator.
    let s = step_until(s, 20_000, |s| {
        s.view.node(leader).is_some_and(|n| n.last_applied >= 1)
    });
    let s = reduce(s, Action::Compact(leader));
    let snap = s.view.node(leader).unwrap().snapshot.expect("a snapshot");
    assert!(snap.index >= 1 && snap.bytes > 0);
    let s = reduce(s, Action::AddNode);
    assert!(s.notice.as_deref().unwrap_or("").contains("node 6 joins"));
    assert_eq!(s.view.nodes.len(), 6);
    let s = step_until(s, 50_000, |s| {
        s.view
            .node(6)
            .is_some_and(|n| n.membership == Member::Voter)
    });
    assert!(
        s.view.node(6).unwrap().snapshot.is_some(),
        "caught up through the snapshot"
    );
    // The promotion may still be uncommitted: a second change is refused with
    // the reason (one change at a time) until it commits.
    let mut s = reduce(s, Action::RemoveNode(6));
    while s
        .notice
        .as_deref()
        .is_some_and(|n| n.contains("not committed"))
    {
        for _ in 0..50 {
            s = reduce(s, Action::Step);
        }
        s = reduce(s, Action::RemoveNode(6));
    }
    assert_eq!(s.notice, None, "the removal was accepted");
    let s = step_until(s, 200_000, |s| s.view.node(6).is_none());
    assert_eq!(s.view.nodes.len(), 5);
    let s = reduce(s, Action::RemoveNode(6));
    assert!(
        s.notice.as_deref().unwrap_or("").contains("removed"),
        "{:?}",
        s.notice
    );
}

/// A cluster saved in IndexedDB, as the runner reports it once the database is
/// open (no database is needed: the reducer only queues effects).
fn saved_cluster() -> Rc<AppState> {
    let s = Rc::new(AppState::new(Settings::default()));
    reduce(
        s,
        Action::Attach {
            cluster: 7,
            settings: Settings::default(),
            author: "t".into(),
        },
    )
}

#[wasm_bindgen_test]
fn a_cluster_in_memory_asks_nothing_of_the_outside_world() {
    let s = Rc::new(AppState::in_memory(Settings::default(), "test"));
    let s = step_until(s, 5_000, |s| s.view.leader.is_some());
    let leader = s.view.leader.unwrap().0;
    let s = reduce(s, Action::Crash(leader));
    let s = reduce(s, Action::Restart(leader));
    assert!(
        s.view.node(leader).unwrap().up,
        "restarted at once, from memory"
    );
    let effects = s.take_effects();
    assert!(effects.is_empty(), "{effects:?}");
}

#[wasm_bindgen_test]
fn a_saved_cluster_queues_its_disk_work_as_effects_in_order() {
    let s = saved_cluster();
    let first = s.take_effects();
    assert!(
        matches!(first.first(), Some(Effect::SaveMeta(m)) if m.node_ids == vec![1, 2, 3, 4, 5]),
        "the new cluster is saved first: {first:?}"
    );
    // Virtual time waits for IndexedDB: the runner confirms each write.
    let mut s = s;
    for _ in 0..5_000 {
        if s.view.leader.is_some() {
            break;
        }
        s = confirm_writes(s);
        s = reduce(s, Action::Step);
    }
    let (leader, _) = s
        .view
        .leader
        .expect("a leader is elected with writes confirmed");
    s.take_effects();
    // A crash drops the node's writes not yet begun; a restart reads it back
    // from IndexedDB, and the node stays down until the runner answers.
    let s = reduce(s, Action::Crash(leader));
    assert!(matches!(s.take_effects()[..], [Effect::Discard(n)] if n == leader));
    let s = reduce(s, Action::Restart(leader));
    assert!(matches!(s.take_effects()[..], [Effect::ReadNode(n, _)] if n == leader));
    assert!(!s.view.node(leader).unwrap().up);
    // A jump back in time: a new epoch, then every node's records rewritten,
    // then the cluster saved (with its recipe).
    let s = reduce(s, Action::Seek(0));
    let effects = s.take_effects();
    assert!(
        matches!(effects.first(), Some(Effect::NewEpoch)),
        "{effects:?}"
    );
    let replaced: Vec<_> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::ReplaceNode(n, _) => Some(*n),
            _ => None,
        })
        .collect();
    assert_eq!(replaced, vec![1, 2, 3, 4, 5]);
    assert!(effects
        .iter()
        .any(|e| matches!(e, Effect::SaveMeta(m) if m.recipe.is_some())));
    // A failed write: the runner stops writing, and nothing more is queued.
    let s = reduce(s, Action::DiskFailed("quota".into()));
    assert!(matches!(s.take_effects()[..], [Effect::Detach]));
    let s = reduce(s, Action::Step);
    let s = reduce(s, Action::Crash(1));
    assert!(s.take_effects().is_empty());
}

#[wasm_bindgen_test]
fn a_new_run_replaces_a_saved_cluster_through_the_runner() {
    let s = saved_cluster();
    s.take_effects();
    let s = reduce(s, Action::Reset { seed: 9, nodes: 3 });
    let effects = s.take_effects();
    assert!(
        matches!(&effects[..], [Effect::Boot { settings, replacing: Some(7), .. }] if settings.seed == 9 && settings.nodes == 3),
        "{effects:?}"
    );
    assert!(s.starting(), "the new run waits for its database");
}

#[wasm_bindgen_test]
fn effects_queued_without_a_change_on_screen_still_cause_a_redraw() {
    // Hiding the tab saves the cluster; the state must be new so that the
    // page redraws and the runner (which runs after a redraw) saves it.
    let s = saved_cluster();
    s.take_effects();
    let paused = reduce(s, Action::TogglePlay);
    let hidden = reduce(paused.clone(), Action::Visibility { hidden: true });
    assert!(!Rc::ptr_eq(&paused, &hidden));
    assert!(matches!(hidden.take_effects()[..], [Effect::SaveMeta(_)]));
}

#[wasm_bindgen_test]
fn a_run_too_long_for_the_page_is_refused_and_the_cluster_kept() {
    use raftchat_app::state::MAX_OPENED_RUN_MS;
    use raftchat_core::recipe::Recipe;
    let s = Rc::new(AppState::in_memory(Settings::default(), "test"));
    let s = step_until(s, 5_000, |s| s.view.leader.is_some());
    let before = (s.view.now_ms, s.view.leader);
    let mut long = Recipe::new(Settings::default().sim_config());
    long.end_ms = MAX_OPENED_RUN_MS + 1;
    let s = reduce(s, Action::OpenRun(Ok(long)));
    assert_eq!(s.opening(), None, "refused before any replay");
    let why = s.import_error.clone().expect("refused");
    assert!(why.contains("raftchat-sim --replay"), "{why}");
    assert_eq!((s.view.now_ms, s.view.leader), before);
}

#[wasm_bindgen_test]
fn a_run_opens_a_slice_at_a_time_under_the_cluster_on_screen_and_a_cancel_keeps_that_cluster() {
    use raftchat_app::state::OPEN_SLICE_EVENTS;
    use raftchat_core::recipe::Recipe;
    let s = Rc::new(AppState::in_memory(Settings::default(), "test"));
    let s = step_until(s, 5_000, |s| s.view.leader.is_some());
    let before = (s.view.now_ms, s.view.leader, s.settings.seed);
    // Half an hour of another cluster: about 600,000 events, several slices.
    let mut config = Settings::default().sim_config();
    config.seed = 77;
    let mut long = Recipe::new(config);
    long.end_ms = 1_800_000;
    long.at_ms = 1_200_000;
    let s = reduce(s, Action::OpenRun(Ok(long.clone())));
    assert_eq!(s.opening(), Some((0, 1_800_000)));
    let first = queued_slice(&s).expect("the first slice is queued for after a redraw");
    let s = reduce(s, Action::OpenMore(first));
    let (at_ms, _) = s.opening().expect("still opening after one slice");
    assert!(
        at_ms > 0 && at_ms < 1_800_000,
        "one slice replayed {at_ms} ms"
    );
    assert_eq!((s.view.now_ms, s.view.leader, s.settings.seed), before);
    // The cluster on screen still answers meanwhile.
    let n = queued_slice(&s).expect("the next slice");
    let s = reduce(s, Action::Step);
    assert!(
        s.view.now_ms > before.0,
        "a step while opening moves the cluster on screen"
    );
    assert_eq!(
        s.opening().map(|(at, _)| at),
        Some(at_ms),
        "a step replays nothing"
    );
    // A cancel keeps the cluster, says so, and a slice already on its way
    // does nothing.
    let cancelled = reduce(s.clone(), Action::CancelOpen);
    assert_eq!(cancelled.opening(), None);
    assert_eq!(
        cancelled.notice.as_deref(),
        Some("Stopped opening the run: the cluster on screen is as it was.")
    );
    let late = reduce(cancelled.clone(), Action::OpenMore(n));
    assert!(Rc::ptr_eq(&late, &cancelled), "a cancelled opening went on");
    // A new run drops it too.
    let reset = reduce(s.clone(), Action::Reset { seed: 5, nodes: 3 });
    assert_eq!(reset.opening(), None);
    assert_eq!(queued_slice(&reset), None);
    let late = reduce(reset.clone(), Action::OpenMore(n));
    assert!(
        Rc::ptr_eq(&late, &reset),
        "an opening went on past a new run"
    );
    // A second opening takes the place of the first, whose slices then do nothing.
    let mut short = Recipe::new(Settings::default().sim_config());
    short.end_ms = 2_000;
    short.at_ms = 2_000;
    let second = reduce(s.clone(), Action::OpenRun(Ok(short)));
    assert_eq!(second.opening(), Some((0, 2_000)));
    let its_own = queued_slice(&second).expect("the second opening's first slice");
    assert_ne!(its_own, n);
    let stale = reduce(second.clone(), Action::OpenMore(n));
    assert!(Rc::ptr_eq(&stale, &second), "the first opening went on");
    // Let alone, the first opening ends with the run opened where it was paused.
    let mut s = s;
    let mut slices = 1;
    let mut next = Some(n);
    while let Some(n) = next {
        let at = s.opening().map(|(at, _)| at);
        s = reduce(s, Action::OpenMore(n));
        assert!(
            s.opening().is_none() || s.opening().map(|(at, _)| at) > at,
            "no progress"
        );
        slices += 1;
        assert!(slices < 1_000, "the opening does not end");
        next = queued_slice(&s);
    }
    assert!(slices >= 3, "{slices} slices of {OPEN_SLICE_EVENTS} events");
    assert_eq!(s.opening(), None);
    assert_eq!(s.import_error, None);
    assert_eq!((s.view.now_ms, s.settings.seed), (1_200_000, 77));
    assert_eq!(
        s.notice.as_deref(),
        Some("Opened a run of 0 steps, paused at 1200.0 s.")
    );
}

#[wasm_bindgen_test]
fn a_run_linked_while_storage_opens_shows_as_opening_and_can_be_cancelled() {
    use raftchat_core::recipe::Recipe;
    let s = Rc::new(AppState::new(Settings::default()));
    assert!(s.starting());
    let mut run = Recipe::new(Settings::default().sim_config());
    run.end_ms = 60_000;
    run.at_ms = 60_000;
    let s = reduce(s, Action::OpenRun(Ok(run)));
    assert_eq!(
        s.opening(),
        Some((0, 60_000)),
        "waiting for storage, shown at 0"
    );
    assert_eq!(queued_slice(&s), None, "no replay before storage is open");
    let s = reduce(s, Action::CancelOpen);
    assert_eq!(s.opening(), None);
    assert!(s.notice.is_some());
}

#[path = "../../core/tests/busy/mod.rs"]
mod busy;
use busy::busy_run;

#[wasm_bindgen_test]
fn a_run_too_busy_for_the_page_is_refused_by_its_events_and_the_cluster_kept() {
    use raftchat_app::state::{MAX_OPENED_RUN_EVENTS, MAX_OPENED_RUN_MS};
    let s = Rc::new(AppState::in_memory(Settings::default(), "test"));
    let s = step_until(s, 5_000, |s| s.view.leader.is_some());
    let before = (s.view.now_ms, s.view.leader);
    let busy = busy_run(600_000);
    assert!(busy.end_ms < MAX_OPENED_RUN_MS);
    let s = open_run(s, Ok(busy));
    assert_eq!(s.opening(), None);
    let why = s.import_error.clone().expect("refused");
    assert!(why.contains("too busy"), "{why}");
    // The core's count, as it writes it (8,000,000).
    let limit = MAX_OPENED_RUN_EVENTS.to_string();
    assert!(
        why.replace(',', "")
            .contains(&format!("more than {limit} simulated events")),
        "{why}"
    );
    assert!(why.contains("raftchat-sim --replay"), "{why}");
    assert_eq!((s.view.now_ms, s.view.leader), before);
}

#[wasm_bindgen_test]
fn a_saved_run_too_busy_or_damaged_at_a_reload_restores_the_cluster_from_its_records_and_says_why()
{
    use raftchat_core::storage::PersistedState;
    use raftchat_core::types::Membership;
    // A reload of a 9-node cluster whose saved run is `recipe`.
    let restore = |recipe: String| {
        let nodes = (1..=9)
            .map(|id| (id, PersistedState::bootstrap(Membership::new(1..=9))))
            .collect();
        let s = Rc::new(AppState::in_memory(Settings::default(), "test"));
        reduce(
            s,
            Action::Restore {
                cluster: 7,
                settings: Settings {
                    nodes: 9,
                    ..Settings::default()
                },
                author: "test".into(),
                nodes,
                recipe: Some(recipe),
            },
        )
    };
    let busy = raftchat_app::json::recipe_to_json(&busy_run(600_000)).unwrap();
    let damaged = busy[..busy.len() / 2].to_string();
    for (recipe, why) in [
        (busy, "was not replayed: replaying it takes more than"),
        (damaged, "could not be read ("),
    ] {
        let s = restore(recipe);
        let notice = s.notice.clone().expect("a notice");
        assert!(
            notice.starts_with("Restored the saved cluster: 9 nodes"),
            "{notice}"
        );
        assert!(
            notice.contains(&format!("Its recorded run {why}")),
            "{notice}"
        );
        assert!(
            notice.ends_with("its timeline starts at this reload."),
            "{notice}"
        );
        // The nodes as read back, at the start of a new timeline (the
        // recorded one ended at 10 min).
        assert_eq!(s.view.nodes.len(), 9);
        assert_eq!(s.view.now_ms, 0);
    }
}

#[wasm_bindgen_test]
fn a_line_repeated_in_a_row_is_one_line_in_the_feed_with_its_count() {
    use raftchat_app::feed::{push, FeedKind};
    // The rule: the same line as the newest one of its kind is a repeat of
    // it, counted there and moved to the front; lines of other kinds between
    // them do not split the run, another line of the same kind does.
    let mut feed = std::collections::VecDeque::new();
    let line = |kind, text: &str| (kind, vec![1, 2], text.to_string());
    push(&mut feed, 1, 10, line(FeedKind::Drop, "a"));
    push(&mut feed, 2, 20, line(FeedKind::Drop, "a"));
    push(&mut feed, 3, 25, line(FeedKind::Commit, "c"));
    push(&mut feed, 4, 30, line(FeedKind::Drop, "a"));
    push(&mut feed, 5, 40, line(FeedKind::Drop, "b"));
    push(&mut feed, 6, 50, line(FeedKind::Drop, "a"));
    let got: Vec<_> = feed
        .iter()
        .map(|f| (f.text.as_str(), f.repeats, f.first_ms, f.at_ms, f.seq))
        .collect();
    assert_eq!(
        got,
        [
            ("a", 1, 50, 50, 6),
            ("b", 1, 40, 40, 5),
            ("a", 3, 10, 30, 1),
            ("c", 1, 25, 25, 3)
        ]
    );
    // In the page: a crashed follower, to which the leader's messages are
    // lost at every heartbeat interval: one line, counted.
    let s = Rc::new(AppState::in_memory(Settings::default(), "test"));
    let s = step_until(s, 5_000, |s| s.view.leader.is_some());
    let (leader, _) = s.view.leader.expect("a leader");
    let follower = if leader == 1 { 2 } else { 1 };
    let until_ms = s.view.now_ms + 500;
    let s = reduce(s, Action::Crash(follower));
    let s = step_until(s, 10_000, |s| s.view.now_ms >= until_ms);
    let lost = format!("{leader}→{follower} lost: the receiver is down");
    let texts = || s.feed.iter().map(|f| &f.text).collect::<Vec<_>>();
    let line = s
        .feed
        .iter()
        .find(|f| f.text.ends_with(&lost))
        .unwrap_or_else(|| panic!("no line \"… {lost}\" in {:?}", texts()));
    assert!(line.repeats > 1 && line.first_ms < line.at_ms, "{line:?}");
    // No line says the same as the next one of its kind.
    let feed: Vec<_> = s.feed.iter().collect();
    for (i, f) in feed.iter().enumerate() {
        let next = feed[i + 1..].iter().find(|g| g.kind == f.kind);
        assert!(
            next.is_none_or(|g| g.text != f.text),
            "two lines in a row say the same: {:?}",
            texts()
        );
    }
}

#[wasm_bindgen_test]
fn a_refused_vote_and_a_rejected_append_show_in_the_feed_with_their_reasons() {
    let lesson = raftchat_app::json::lesson_from_json(include_str!(
        "../../core/lessons/election-restriction.json"
    ))
    .unwrap();
    // The feed of the lesson's part `part` opened at `at_ms`.
    let feed_at = |part: usize, at_ms: u64| -> Vec<String> {
        let mut run = lesson.parts[part].run.clone();
        run.at_ms = at_ms;
        let s = open_run(
            Rc::new(AppState::in_memory(Settings::default(), "test")),
            Ok(run),
        );
        s.feed.iter().map(|f| f.text.clone()).collect()
    };
    // At 1.2 s: node 2, missing three committed entries, stood for term 2
    // and was refused on its log.
    let feed = feed_at(0, 1_200);
    for voter in [1, 4, 5] {
        let line = format!(
            "node {voter} refuses node 2 in term 2: node 2's log (last entry: index 1, term 1) is behind its own (index 4, term 1), §5.4.1"
        );
        assert!(feed.contains(&line), "{line} in {feed:#?}");
    }
    // Node 4 won term 3; its first AppendEntries to node 2 finds no entry
    // where it starts, and the leader backs up.
    assert!(
        feed.iter().any(|l| l
            .starts_with("node 2 rejects node 4's AppendEntries: no entry at index ")
            && l.ends_with(" (its log ends at 1); the leader backs up, §5.3")),
        "{feed:#?}"
    );
    // With vote-for-stale-log on, node 2 wins term 2 and its log replaces the
    // others': they delete their entries from index 2, committed ones too.
    let feed = feed_at(1, 910);
    for node in [1, 4, 5] {
        let line = format!("node {node} deletes its log from index 2 on: those entries conflict with the leader's, §5.3");
        assert!(feed.contains(&line), "{line} in {feed:#?}");
    }
}

#[wasm_bindgen_test]
fn an_opened_run_shows_in_the_feed_what_happened_up_to_its_moment() {
    // A run whose leader has been elected, opened as a link or a lesson opens
    // it: the feed tells the events re-run to reach its moment (the election
    // among them), as it does after a seek, instead of starting empty.
    let s = Rc::new(AppState::in_memory(Settings::default(), "test"));
    let s = step_until(s, 5_000, |s| s.view.leader.is_some());
    let (leader, term) = s.view.leader.expect("a leader");
    let recipe = s.recipe().expect("a shareable run");
    let opened = open_run(s, Ok(recipe.clone()));
    assert!(opened.import_error.is_none(), "{:?}", opened.import_error);
    assert_eq!(opened.view.now_ms, recipe.at_ms);
    let won = format!("node {leader} wins the election: leader of term {term}");
    assert!(
        opened.feed.iter().any(|f| f.text.starts_with(&won)),
        "the opened run's feed tells of the election: {:?}",
        opened.feed.iter().map(|f| &f.text).collect::<Vec<_>>()
    );
    assert!(opened.feed.iter().all(|f| f.at_ms <= recipe.at_ms));
    // A seek back within the opened run starts the feed again from the
    // events re-run to reach the new moment: none from after it.
    let back = reduce(opened, Action::Seek(recipe.at_ms / 2));
    assert!(back.feed.iter().all(|f| f.at_ms <= recipe.at_ms / 2));
}

#[wasm_bindgen_test]
async fn a_link_round_trips_and_damaged_links_say_why() {
    use raftchat_app::share::{from_fragment, link};
    use raftchat_core::recipe::{Action as Run, Recipe, Step};
    let mut recipe = Recipe::new(Settings::default().sim_config());
    for i in 1..=300u64 {
        let node = 1 + (i % 5) as u32;
        let action = Run::Send {
            node,
            client: node as u64,
            seq: i.div_ceil(5),
            author: "class".into(),
            text: format!("message {i}"),
        };
        recipe.steps.push(Step {
            at_ms: i * 1_000 + i % 7,
            action,
        });
    }
    recipe.steps.push(Step {
        at_ms: 301_000,
        action: Run::Crash(2),
    });
    recipe.end_ms = 302_000;
    recipe.at_ms = 150_000;
    let url = link(&recipe).await.expect("a link");
    let fragment = &url[url.find('#').expect("a fragment")..];
    assert!(fragment.starts_with("#run=v2."), "{fragment}");
    assert_eq!(from_fragment(fragment).await, Ok(recipe));
    for (bad, says) in [
        ("#run=v2.AAAA", "damaged or cut short"),
        ("#run=v2.%%%", "damaged"),
        ("#run=v9.abc", "\"v9\""),
    ] {
        let err = from_fragment(bad).await.expect_err(bad);
        assert!(err.contains(says), "{bad}: {err}");
    }
    let cut = &fragment[..fragment.len() / 2];
    assert!(from_fragment(cut).await.is_err(), "half a link");
}

/// The runner's part: confirms every write the reducer handed out (and those
/// the confirmations lead to), as IndexedDB would.
fn confirm_writes(mut s: Rc<AppState>) -> Rc<AppState> {
    for _ in 0..10_000 {
        let writes: Vec<_> = s
            .take_effects()
            .into_iter()
            .flat_map(|e| match e {
                Effect::Write(w) => w,
                _ => Vec::new(),
            })
            .collect();
        if writes.is_empty() {
            return s;
        }
        for w in writes {
            let durable = Action::Durable {
                node: w.node,
                incarnation: w.incarnation,
                write_id: w.write_id,
            };
            s = reduce(s, durable);
        }
    }
    panic!("writes kept coming");
}

/// What the page shows of each node, and more: up or down, role, term,
/// commit, log end, applied digest and chat.
fn cluster_state(sim: &raftchat_core::sim::Simulator<raftchat_core::chat::ChatRoom>) -> String {
    let mut out = format!("t={}\n", sim.now_ms());
    for id in sim.node_ids() {
        match sim.node(id).and_then(|v| v.node) {
            None => out += &format!("{id}: down\n"),
            Some(n) => {
                let r = n.raft();
                let chat: Vec<String> = n
                    .replica()
                    .machine()
                    .messages()
                    .map(|m| format!("{}@{}", m.text(), m.index))
                    .collect();
                out += &format!(
                    "{id}: {:?} term {} commit {} log {}:{} digest {} chat {chat:?}\n",
                    r.role(),
                    r.term(),
                    r.commit_index(),
                    r.log().last_index(),
                    r.log().last_term(),
                    n.replica().digest()
                );
            }
        }
    }
    out
}

/// IndexedDB holds virtual time at a write's completion until the write is
/// durable. A click then would land before that write, where a replay (with
/// its simulated disk) puts it after: the click waits for the write, and the
/// run's recipe replays to exactly what is on screen. No click is lost.
#[wasm_bindgen_test]
fn a_click_while_indexeddb_holds_the_moment_waits_for_it_and_the_run_replays_exactly() {
    let mut s = saved_cluster();
    s.take_effects();
    let mut writes = std::collections::VecDeque::new();
    let take_writes = |s: &Rc<AppState>, writes: &mut std::collections::VecDeque<_>| {
        for e in s.take_effects() {
            if let Effect::Write(w) = e {
                writes.extend(w);
            }
        }
    };
    let (mut sent, mut owed_clicks) = (0, 0);
    for frame in 0..600u32 {
        s = reduce(s, Action::Frame { real_ms: 40.0 });
        take_writes(&s, &mut writes);
        if frame % 3 == 0 {
            let steps = s.timeline().steps().len();
            let held = s.waiting_for_disk().is_some();
            sent += 1;
            s = reduce(
                s,
                Action::Send {
                    node: 1 + frame % 5,
                    text: format!("click {sent}"),
                },
            );
            if held && s.timeline().steps().len() == steps {
                owed_clicks += 1;
            }
            take_writes(&s, &mut writes);
        }
        // A slow disk: one write made durable a frame.
        if let Some(w) = writes.pop_front() {
            s = reduce(
                s,
                Action::Durable {
                    node: w.node,
                    incarnation: w.incarnation,
                    write_id: w.write_id,
                },
            );
            take_writes(&s, &mut writes);
        }
    }
    for w in std::mem::take(&mut writes) {
        s = reduce(
            s,
            Action::Durable {
                node: w.node,
                incarnation: w.incarnation,
                write_id: w.write_id,
            },
        );
    }
    let s = confirm_writes(s);
    assert!(
        owed_clicks >= 10,
        "only {owed_clicks} of {sent} clicks came while IndexedDB held the moment"
    );
    assert!(s.notice.is_none(), "{:?}", s.notice);
    let t = s.timeline();
    let clicks = t
        .recipe()
        .steps
        .iter()
        .filter(|step| matches!(step.action, raftchat_core::recipe::Action::Send { .. }))
        .count();
    assert_eq!(clicks, sent as usize, "every click was applied, once");
    let replayed = cluster_state(&t.recipe().replay(t.now_ms()).unwrap());
    let live = cluster_state(t.sim());
    if let Some((l, r)) = live.lines().zip(replayed.lines()).find(|(l, r)| l != r) {
        panic!("the replay differs from the run on screen:\n  live:     {l}\n  replayed: {r}");
    }
    assert_eq!(live, replayed);
}

#[wasm_bindgen_test]
fn each_step_counts_however_slow_the_disk_so_a_saved_run_steps_like_one_in_memory() {
    let presses = 60;
    let mut memory = Rc::new(AppState::in_memory(Settings::default(), "test"));
    for _ in 0..presses {
        memory = reduce(memory, Action::Step);
    }
    let mut saved = saved_cluster();
    for i in 0..presses {
        saved = reduce(saved, Action::Step);
        // A slow disk: confirmations come every third press.
        if i % 3 == 2 {
            saved = confirm_writes(saved);
        }
    }
    let saved = confirm_writes(saved);
    assert_eq!(saved.view.now_ms, memory.view.now_ms);
    assert_eq!(saved.event_count, memory.event_count);
    assert_eq!(saved.view.leader, memory.view.leader);
}

#[wasm_bindgen_test]
fn the_browsers_json_reads_and_writes_the_same_recipes_as_the_core() {
    use raftchat_app::json::{recipe_from_json, recipe_to_json};
    use raftchat_core::bugs::{Bug, BugSet};
    use raftchat_core::recipe::{Action as Run, Recipe, Step};
    // A seed beyond what a JavaScript number holds exactly, a float, a bug
    // switch, unit and struct actions.
    let mut config = Settings::default().sim_config();
    config.seed = u64::MAX - 6;
    config.net.drop_rate = 0.125;
    config.bugs = BugSet::only(Bug::StaleReads);
    let mut recipe = Recipe::new(config);
    recipe.steps = vec![
        Step {
            at_ms: 5,
            action: Run::Crash(2),
        },
        Step {
            at_ms: 9,
            action: Run::HealAll,
        },
        Step {
            at_ms: 12,
            action: Run::Send {
                node: 1,
                client: 1,
                seq: 1,
                author: "ada".into(),
                text: "héllo \"quoted\"".into(),
            },
        },
        Step {
            at_ms: 20,
            action: Run::Bugs(BugSet::NONE),
        },
    ];
    recipe.end_ms = 30;
    recipe.at_ms = 25;
    let text = recipe_to_json(&recipe).expect("written");
    assert!(
        text.contains(&format!("\"seed\":{}", u64::MAX - 6)),
        "{text}"
    );
    assert_eq!(
        Recipe::from_json(&text),
        Ok(recipe.clone()),
        "the core reads the page's text"
    );
    assert_eq!(
        recipe_from_json(&recipe.to_json()),
        Ok(recipe.clone()),
        "the page reads the core's"
    );
    assert_eq!(recipe_from_json(&text), Ok(recipe.clone()));
    // The link form too.
    let link = recipe_to_json(&recipe.to_link_form()).unwrap();
    assert_eq!(recipe_from_json(&link), Ok(recipe));
    // Bad text gets the same messages as the core gives.
    for (bad, says) in [
        ("{not json", "damaged or cut short"),
        ("[1, 2]", "not a raftchat run"),
        (r#"{"steps": []}"#, "no \"version\""),
        (r#"{"version": 7}"#, "version 7"),
        (
            r#"{"version": 1, "config": {"nodes": "five"}, "steps": []}"#,
            "damaged",
        ),
    ] {
        let err = recipe_from_json(bad).expect_err(bad);
        assert!(err.contains(says), "{bad}: {err}");
    }
    // A huge file is refused before it is parsed, and says the limit.
    let huge = format!("{{\"version\": 1, \"pad\": \"{}\"}}", "x".repeat(17 << 20));
    let err = recipe_from_json(&huge).unwrap_err();
    assert!(err.contains("the limit is 16 MB"), "{err}");
}

/// The built-in lessons, as the page fetches them.
const LESSONS: [(&str, &str); 4] = [
    (
        "first-election",
        include_str!("../../core/lessons/first-election.json"),
    ),
    ("figure-8", include_str!("../../core/lessons/figure-8.json")),
    (
        "linearizable-reads",
        include_str!("../../core/lessons/linearizable-reads.json"),
    ),
    (
        "election-restriction",
        include_str!("../../core/lessons/election-restriction.json"),
    ),
];

#[wasm_bindgen_test]
fn the_pages_lesson_reader_agrees_with_the_core_on_what_the_page_plays() {
    use raftchat_app::json::lesson_from_json;
    use raftchat_core::lesson::Lesson;
    for (id, text) in LESSONS {
        let page = lesson_from_json(text).unwrap_or_else(|e| panic!("{id}: {e}"));
        let core = Lesson::from_json(text).unwrap();
        assert_eq!(
            (&page.id, &page.title, &page.summary),
            (&core.id, &core.title, &core.summary)
        );
        assert_eq!(page.parts.len(), core.parts.len());
        for (p, c) in page.parts.iter().zip(&core.parts) {
            assert_eq!(p.run, c.run, "{id}: the run");
            assert_eq!(p.steps.len(), c.steps.len());
            for (ps, cs) in p.steps.iter().zip(&c.steps) {
                assert_eq!(ps.stop_ms, cs.stop_ms);
                assert_eq!(ps.caption, cs.caption);
                assert_eq!(ps.point, cs.point);
                assert_eq!(ps.question, cs.question);
            }
        }
    }
}

#[path = "../../core/tests/mutate/mod.rs"]
mod mutate;

#[wasm_bindgen_test]
fn a_damaged_link_file_or_lesson_is_refused_with_a_message_or_opens_and_never_panics() {
    // As `core/tests/damaged_input.rs` does natively, through the page's own
    // path: the browser's JSON parser, the page's readers, the reducer. (A
    // panic here fails the test: wasm cannot catch one.)
    use raftchat_app::json::{lesson_from_json, recipe_from_json};
    const PLAY_LIMIT_MS: u64 = 20_000;
    let sources = [
        include_str!("../../tests/scenarios/figure-8.json"),
        include_str!("../../tests/scenarios/deposed-leader-read.json"),
        LESSONS[0].1,
        LESSONS[1].1,
        LESSONS[2].1,
    ];
    let fresh = Rc::new(AppState::in_memory(Settings::default(), "test"));
    let (mut refused, mut opened) = (0, 0);
    for seed in 1..=1_000u64 {
        let source = sources[seed as usize % sources.len()];
        let is_lesson = source.contains("\"parts\"");
        let text = mutate::damaged(source, seed);
        let action = if is_lesson {
            let lesson = lesson_from_json(&text);
            let long = lesson.as_ref().is_ok_and(|l| {
                l.parts[0]
                    .steps
                    .iter()
                    .any(|s| s.stop_ms.unwrap_or(0) > PLAY_LIMIT_MS)
            });
            if long {
                continue;
            }
            Action::OpenLesson(lesson)
        } else {
            let recipe = recipe_from_json(&text);
            if recipe
                .as_ref()
                .is_ok_and(|r| r.run_end_ms() > PLAY_LIMIT_MS)
            {
                continue;
            }
            Action::OpenRun(recipe)
        };
        let s = match action {
            Action::OpenRun(run) => open_run(fresh.clone(), run),
            action => reduce(fresh.clone(), action),
        };
        match &s.import_error {
            Some(why) => {
                assert!(!why.is_empty(), "seed {seed}: an empty message");
                assert!(
                    s.view == fresh.view,
                    "seed {seed}: a refused input changed the cluster"
                );
                refused += 1;
            }
            None if is_lesson => {
                assert!(
                    s.lesson.is_some(),
                    "seed {seed}: neither refused nor opened"
                );
                opened += 1;
            }
            None => {
                let notice = s.notice.as_deref().unwrap_or_default();
                assert!(notice.contains("Opened a run"), "seed {seed}: {notice:?}");
                opened += 1;
            }
        }
    }
    web_sys::console::log_1(&format!("damaged inputs: {refused} refused, {opened} opened").into());
    assert!(
        refused > 10 && opened > 10,
        "{refused} refused, {opened} opened"
    );
}

#[wasm_bindgen_test]
fn a_lesson_stops_exactly_at_each_step_playing_on_or_skipping() {
    use raftchat_app::json::lesson_from_json;
    let lesson = lesson_from_json(LESSONS[0].1).unwrap();
    let stops: Vec<u64> = lesson.parts[0]
        .steps
        .iter()
        .map(|s| s.stop_ms.unwrap())
        .collect();
    let s = Rc::new(AppState::in_memory(Settings::default(), "test"));
    let s = reduce(s, Action::SetSpeed(1.0));
    let mut s = reduce(s, Action::OpenLesson(Ok(lesson)));
    let at = |s: &AppState| (s.lesson.as_ref().unwrap().step, s.view.now_ms, s.running);
    assert_eq!(at(&s), (0, stops[0], false));
    // Play on: frames of 16 ms real time until the run stops by itself.
    s = reduce(s, Action::LessonNext);
    assert!(s.running);
    for _ in 0..10_000 {
        if !s.running {
            break;
        }
        s = reduce(s, Action::Frame { real_ms: 16.0 });
    }
    assert_eq!(at(&s), (1, stops[1], false), "stopped at step 2's moment");
    // Choose, then skip: the answer is revealed at the next stop.
    s = reduce(s, Action::LessonChoose(0));
    s = reduce(s, Action::LessonSkip);
    assert_eq!(at(&s), (2, stops[2], false));
    assert_eq!(
        s.lesson.as_ref().unwrap().reveal.as_ref().unwrap().right,
        Some(true)
    );
    // PageDown goes on; at the end the lesson is done, then closes.
    s = reduce(s, Action::Advance);
    s = reduce(s, Action::LessonSkip);
    s = reduce(s, Action::LessonSkip);
    assert_eq!(at(&s), (4, stops[4], false));
    s = reduce(s, Action::LessonNext);
    assert!(s.lesson.as_ref().unwrap().done);
    s = reduce(s, Action::LessonNext);
    assert!(s.lesson.is_none());
}

#[wasm_bindgen_test]
fn a_lesson_written_in_the_page_reads_back_and_bad_stops_say_why() {
    use raftchat_app::json::{lesson_from_json, lesson_json};
    use raftchat_app::lesson::{Draft, DraftStop};
    assert!(Draft::stop(5, "  ", "", "", "")
        .unwrap_err()
        .contains("caption"));
    assert!(Draft::stop(5, "c", "q?", "only one", "1")
        .unwrap_err()
        .contains("2 to 6 choices"));
    assert!(Draft::stop(5, "c", "q?", "a\nb", "0")
        .unwrap_err()
        .contains("1 to 2"));
    let mut d = Draft::default();
    d.add(Draft::stop(900, "later", "q?", "a\n b \n", "2").unwrap());
    d.add(Draft::stop(100, "first", "", "", "").unwrap());
    assert_eq!(
        d.stops
            .iter()
            .map(|s: &DraftStop| s.at_ms)
            .collect::<Vec<_>>(),
        vec![100, 900]
    );
    let s = AppState::in_memory(Settings::default(), "test");
    let recipe = s.recipe().unwrap();
    let text = lesson_json(&recipe, "mine", "Mine", &d.stops).unwrap();
    let back = lesson_from_json(&text).unwrap();
    assert_eq!(back.id, "mine");
    assert_eq!(back.parts[0].run.config, recipe.config);
    assert_eq!(back.parts[0].run.end_ms, 900);
    let steps = &back.parts[0].steps;
    assert_eq!(steps[1].question.as_ref().unwrap().choices, vec!["a", "b"]);
    assert_eq!(steps[1].question.as_ref().unwrap().answer, 1);
    assert_eq!((steps[0].stop_ms, steps[1].stop_ms), (Some(100), Some(900)));
}

/// The Experiments panel's decisions: bad trials are refused with a reason
/// and start nothing; a run queues its worker; the worker's replies are
/// shown; Cancel stops the worker once. The worker itself is tested end to
/// end (`tests/e2e/experiments.test.mjs`).
#[wasm_bindgen_test]
fn the_experiments_panel_decides_and_the_runner_runs_the_worker() {
    use raftchat_app::experiments::Reply;
    let s = Rc::new(AppState::in_memory(Settings::default(), "test"));
    s.take_effects();
    for bad in ["0", "1001", "ten", "-3", "2.5"] {
        let t = reduce(s.clone(), Action::RunExperiment { trials: bad.into() });
        let err = t.experiment.error.clone().unwrap_or_default();
        assert!(err.contains("from 1 to 1000"), "{bad:?}: {err}");
        assert!(!t.experiment.running);
        assert!(t.take_effects().is_empty(), "{bad:?} started something");
    }
    // Nothing typed: the default, 200 trials per range.
    let s = reduce(s, Action::RunExperiment { trials: " ".into() });
    assert!(s.experiment.running && s.experiment.error.is_none());
    assert!(matches!(
        s.take_effects()[..],
        [Effect::RunExperiment {
            kind: "elections",
            trials: 200
        }]
    ));
    // The kind cannot change under a running experiment.
    let s = reduce(s, Action::ExperimentKind("replicas".into()));
    assert_eq!(s.experiment.kind, "elections");
    let s = reduce(
        s,
        Action::ExperimentReply(Reply::Progress {
            html: "<p>3 of 2000</p>".into(),
            csv_url: "blob:x".into(),
            recipes: None,
        }),
    );
    assert!(s.experiment.running, "progress is not the end");
    assert_eq!(s.experiment.html.as_str(), "<p>3 of 2000</p>");
    let s = reduce(s, Action::CancelExperiment);
    assert!(!s.experiment.running);
    assert_eq!(s.experiment.error.as_deref(), Some("cancelled"));
    assert!(matches!(s.take_effects()[..], [Effect::StopExperiment]));
    let again = reduce(s.clone(), Action::CancelExperiment);
    assert!(again.take_effects().is_empty(), "nothing left to stop");
    assert_eq!(
        again.experiment.csv_url.as_str(),
        "blob:x",
        "what ran stays downloadable"
    );
    // Replicas: runs per point, 1 by default, at most 10.
    let r = reduce(s, Action::ExperimentKind("replicas".into()));
    assert_eq!((r.experiment.kind, r.experiment.trials), ("replicas", 1));
    let refused = reduce(
        r.clone(),
        Action::RunExperiment {
            trials: "11".into(),
        },
    );
    assert!(refused
        .experiment
        .error
        .clone()
        .unwrap_or_default()
        .contains("from 1 to 10"));
    let r = reduce(r, Action::RunExperiment { trials: "2".into() });
    assert!(matches!(
        r.take_effects()[..],
        [Effect::RunExperiment {
            kind: "replicas",
            trials: 2
        }]
    ));
    // The last reply ends the run and offers its trials.
    let r = reduce(
        r,
        Action::ExperimentReply(Reply::Progress {
            html: String::new(),
            csv_url: "blob:y".into(),
            recipes: Some(vec!["{}".into()]),
        }),
    );
    assert!(!r.experiment.running);
    assert_eq!(r.experiment.recipes.len(), 1);
    let failed = reduce(r, Action::ExperimentReply(Reply::Failed("it broke".into())));
    assert_eq!(failed.experiment.error.as_deref(), Some("it broke"));
}

#[wasm_bindgen_test]
fn the_feed_filters_are_the_pages_state() {
    use raftchat_app::feed::FeedKind;
    let s = Rc::new(AppState::in_memory(Settings::default(), "test"));
    assert!(FeedKind::Term.is_in(s.feed_hidden) && FeedKind::Commit.is_in(s.feed_hidden));
    assert!(!FeedKind::Election.is_in(s.feed_hidden));
    let s = reduce(s, Action::ToggleFeedKind(FeedKind::Commit));
    assert!(!FeedKind::Commit.is_in(s.feed_hidden));
    let s = reduce(s, Action::ToggleFeedKind(FeedKind::Election));
    assert!(FeedKind::Election.is_in(s.feed_hidden));
    let s = reduce(s, Action::FeedNode(Some(3)));
    assert_eq!(s.feed_node, Some(3));
    assert!(
        s.take_effects().is_empty(),
        "filters ask nothing of the world"
    );
}

#[derive(Properties, PartialEq)]
struct LogsProps {
    view: Rc<raftchat_app::view::ClusterView>,
}

/// The log grid alone, as the page draws it.
#[function_component]
fn Logs(p: &LogsProps) -> Html {
    use raftchat_app::components::log_view::{log_view, Props};
    log_view(&Props {
        view: p.view.clone(),
        highlight: None,
        pointed: Rc::default(),
    })
}

#[wasm_bindgen_test]
async fn the_log_grid_says_no_entries_yet_then_the_indexes_it_shows() {
    let heading = |view: Rc<raftchat_app::view::ClusterView>| async move {
        let document = web_sys::window().unwrap().document().unwrap();
        let root = document.create_element("div").unwrap();
        document.body().unwrap().append_child(&root).unwrap();
        yew::Renderer::<Logs>::with_root_and_props(root.clone(), LogsProps { view }).render();
        yew::platform::time::sleep(Duration::from_millis(10)).await;
        let text = root
            .query_selector("h2")
            .unwrap()
            .unwrap()
            .text_content()
            .unwrap();
        root.remove();
        text
    };
    let s = Rc::new(AppState::in_memory(Settings::default(), "test"));
    let empty = heading(s.view.clone()).await;
    assert!(empty.starts_with("Logs no entries yet;"), "{empty}");
    // A leader's first entry (its no-op) on every log.
    let s = step_until(s, 5_000, |s| {
        s.view.nodes.iter().all(|n| n.last_index() >= 1)
    });
    let shown = heading(s.view.clone()).await;
    assert!(shown.starts_with("Logs indexes 1–"), "{shown}");
}

#[wasm_bindgen_test]
fn a_refused_click_at_a_violation_pause_changes_nothing_not_even_the_rest_of_the_moment() {
    // Figure 8 with its rule broken, opened at its start and played: the run
    // pauses at the event that first breaks a property (at 744 ms), before
    // the other events of that millisecond have run.
    let mut recipe =
        raftchat_app::json::recipe_from_json(include_str!("../../tests/scenarios/figure-8.json"))
            .unwrap();
    recipe.at_ms = 0;
    let s = Rc::new(AppState::in_memory(Settings::default(), "test"));
    let s = open_run(s, Ok(recipe));
    assert!(s.violations.is_empty(), "opened before the violation");
    let mut s = reduce(s, Action::TogglePlay);
    for _ in 0..10_000 {
        if !s.running {
            break;
        }
        s = reduce(s, Action::Frame { real_ms: 16.0 });
    }
    assert!(!s.violations.is_empty(), "paused at a violation");
    let seen = |s: &AppState| (s.view.clone(), s.event_count, s.violations.clone());
    let before = seen(&s);
    // A click on a node that does not exist is refused, and shown as such.
    let s = reduce(s, Action::Crash(42));
    assert_eq!(seen(&s), before, "a refused click moved the run");
    // A click that succeeds runs the rest of the moment first, as a replay does.
    let s = reduce(s, Action::Crash(1));
    assert!(s.view.nodes.iter().any(|n| n.id == 1 && !n.up));
    assert!(s.event_count > before.1);
}
