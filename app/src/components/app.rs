//! The page: controls on top, the cluster and the inspector side by side, the
//! chats and the log below. It owns the frame loop, the tab-visibility pause and
//! the keyboard shortcuts.

use crate::components::bug_menu::{self, bug_menu};
use crate::components::chat_pane::ChatPane;
use crate::components::cluster_view::{self, cluster_svg};
use crate::components::controls::Controls;
use crate::components::event_feed::{self, event_feed};
use crate::components::experiments_panel::experiments_panel;
use crate::components::frame_stats;
use crate::components::held_list::held_list;
use crate::components::help::{self, help};
use crate::components::inspector::{self, inspector};
use crate::components::lesson_panel::{author_panel, lesson_caption, lesson_menu};
use crate::components::log_view::{self, log_view};
use crate::components::run_bar::{self, run_bar};
use crate::components::safety_panel::{self, safety_panel};
use crate::components::storage_status::{self, storage_status};
use crate::lesson::Pointed;
use crate::runner::Runner;
use crate::settings::Settings;
use crate::state::{Action, AppState, Dispatch};
use gloo_events::EventListener;
use gloo_render::{request_animation_frame, AnimationFrame};
use raftchat_core::timeline::span;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use wasm_bindgen::JsCast;
use yew::prelude::*;

/// Drives the simulation with animation frames while running. When paused (or
/// the tab is hidden, which pauses) no frame is requested: the page is idle.
#[hook]
fn use_frame_loop(running: bool, dispatch: Dispatch) {
    use_effect_with(running, move |&running| {
        let pending: Rc<RefCell<Option<AnimationFrame>>> = Rc::default();
        if running {
            let last = Rc::new(Cell::new(None::<f64>));
            schedule(pending.clone(), last, dispatch);
        }
        move || {
            pending.borrow_mut().take(); // cancels the requested frame
        }
    });
}

fn schedule(
    pending: Rc<RefCell<Option<AnimationFrame>>>,
    last: Rc<Cell<Option<f64>>>,
    dispatch: Dispatch,
) {
    let next = pending.clone();
    let frame = request_animation_frame(move |timestamp_ms| {
        let real_ms = last.get().map_or(0.0, |l| timestamp_ms - l);
        last.set(Some(timestamp_ms));
        frame_stats::begin();
        dispatch.dispatch(Action::Frame { real_ms });
        schedule(next, last, dispatch);
    });
    *pending.borrow_mut() = Some(frame);
}

/// Pauses when the tab is hidden and resumes when it is shown again.
#[hook]
fn use_visibility_pause(dispatch: Dispatch) {
    use_effect_with((), move |_| {
        let listener = web_sys::window().and_then(|w| w.document()).map(|doc| {
            let target = doc.clone();
            EventListener::new(&target, "visibilitychange", move |_| {
                dispatch.dispatch(Action::Visibility {
                    hidden: doc.hidden(),
                });
            })
        });
        move || drop(listener)
    });
}

/// Keyboard shortcuts (listed in the help overlay, opened with `?`).
#[hook]
fn use_shortcuts(dispatch: Dispatch) {
    use_effect_with((), move |_| {
        let listener = web_sys::window().and_then(|w| w.document()).map(|doc| {
            EventListener::new(&doc, "keydown", move |e| {
                let Some(e) = e.dyn_ref::<web_sys::KeyboardEvent>() else {
                    return;
                };
                if e.ctrl_key() || e.meta_key() || e.alt_key() {
                    return;
                }
                let typing = e
                    .target()
                    .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                    .is_some_and(|el| {
                        matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT")
                    });
                let key = e.key();
                if typing && key != "Escape" {
                    return;
                }
                let action = match key.as_str() {
                    " " | "k" | "PageUp" => Action::TogglePlay,
                    "." | "s" | "ArrowRight" => Action::Step,
                    "PageDown" => Action::Advance,
                    "f" => {
                        crate::components::controls::toggle_fullscreen();
                        e.prevent_default();
                        return;
                    }
                    "," | "b" | "ArrowLeft" => Action::StepBack,
                    "c" => Action::CrashLeader,
                    "r" => Action::RestartAll,
                    "h" => Action::HealAll,
                    "p" => Action::ToggleProjector,
                    "?" => Action::ToggleHelp,
                    "Escape" => Action::CloseHelp,
                    "d" => Action::DeliverNext,
                    "m" => {
                        focus_first_chat_input();
                        e.prevent_default();
                        return;
                    }
                    _ => return,
                };
                e.prevent_default();
                dispatch.dispatch(action);
            })
        });
        move || drop(listener)
    });
}

fn focus_first_chat_input() {
    let input = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| {
            d.query_selector("input[data-testid^='chat-input-']:not([disabled])")
                .ok()
                .flatten()
        })
        .and_then(|el| el.dyn_into::<web_sys::HtmlElement>().ok());
    if let Some(input) = input {
        let _ = input.focus();
    }
}

#[function_component(App)]
pub fn app() -> Html {
    let state = use_reducer(|| AppState::new(Settings::default()));
    use_frame_loop(state.running, state.dispatcher());
    use_visibility_pause(state.dispatcher());
    use_shortcuts(state.dispatcher());
    // The effect runner: opens IndexedDB and shared runs at the start, then
    // after every redraw carries out what the reducer queued.
    let runner = {
        let dispatch = state.dispatcher();
        use_memo((), move |_| Runner::new(dispatch.to_callback()))
    };
    {
        let (runner, settings, author) =
            (runner.clone(), state.settings.clone(), state.author.clone());
        use_effect_with((), move |_| runner.start(settings, author));
    }
    {
        let state = state.clone();
        use_effect(move || {
            for effect in state.take_effects() {
                runner.run(effect);
            }
        });
    }
    // Runs after every redraw: closes the frame measurement.
    use_effect(frame_stats::end);

    let dispatch = state.dispatcher();
    let view = state.view.clone();
    // The first broken property that names an index: its log cells and chat
    // messages are marked, and the panes of the nodes involved.
    let broken = state.violations.iter().find(|v| v.index.is_some());
    let highlight = broken.and_then(|v| v.index);
    let involved: Vec<raftchat_core::NodeId> = broken.map(|v| v.nodes.clone()).unwrap_or_default();
    let class = classes!(
        "page",
        state.projector.then_some("projector"),
        state.lesson.is_some().then_some("with-lesson")
    );
    // What the lesson's step points at.
    let pointed = Rc::new(
        state
            .lesson
            .as_ref()
            .map(|l| Pointed::of(l.targets()))
            .unwrap_or_default(),
    );
    html! {
        <div {class}>
            <header>
                <h1>{"raftchat"}</h1>
                <p class="leader-line" data-testid="leader">
                    { match view.leader {
                        Some((id, term)) => format!("Leader: node {id} in term {term}"),
                        None if view.nodes.is_empty() => "No server left".to_string(),
                        None => "No leader: an election is needed".to_string(),
                    } }
                </p>
                <Controls
                    settings={state.settings.clone()}
                    running={state.running}
                    auto_paused={state.auto_paused}
                    now_ms={view.now_ms}
                    event_count={state.event_count}
                    author={state.author.clone()}
                    projector={state.projector}
                    saved={matches!(state.storage, crate::state::StorageState::Saved { .. })}
                    holding={view.holding}
                    held={view.messages.iter().filter(|m| m.held).count()}
                    dispatch={dispatch.clone()} />
                <div class="menus">
                    { lesson_menu(&dispatch) }
                    <button data-testid="experiments-toggle" aria-pressed={state.experiments_open.to_string()}
                        onclick={dispatch.to_callback().reform(|_: MouseEvent| Action::ToggleExperiments)}>{"Experiments…"}</button>
                    { bug_menu(&bug_menu::Props { bugs: view.bugs, dispatch: dispatch.clone() }) }
                    { storage_status(&storage_status::Props { storage: state.storage.clone(), waiting_for: state.waiting_for_disk(), dispatch: dispatch.clone() }) }
                </div>
                if let Some((at_ms, end_ms)) = state.opening() {
                    <p class="notice opening" role="status" data-testid="opening">
                        { format!("Opening the run: {} of {} replayed ", span(at_ms), span(end_ms)) }
                        <progress max={end_ms.to_string()} value={at_ms.to_string()} aria-hidden="true" />{" "}
                        <button data-testid="cancel-open" onclick={dispatch.to_callback().reform(|_: MouseEvent| Action::CancelOpen)}>{"Cancel"}</button>
                    </p>
                }
                if let Some(notice) = &state.notice {
                    <p class="notice" role="status" data-testid="notice">
                        { notice }{" "}
                        <button class="dismiss" aria-label="dismiss" onclick={dispatch.to_callback().reform(|_: MouseEvent| Action::DismissNotice)}>{"×"}</button>
                    </p>
                }
            </header>
            if state.experiments_open {
                { experiments_panel(&state.experiment, &dispatch) }
            }
            <div class="stage">
                { cluster_svg(&cluster_view::Props { view: view.clone(), selection: state.selection, dispatch: dispatch.clone(), pointed: pointed.clone(), projector: state.projector }) }
                <aside class="side">
                    if let Some(lesson) = &state.lesson {
                        { lesson_caption(lesson, state.marks.branches.iter().any(|b| b.current && b.id != 1), &dispatch) }
                    }
                    if let Some(draft) = &state.draft {
                        { author_panel(draft, view.now_ms, &dispatch) }
                    }
                    { held_list(&view, &dispatch, pointed.held) }
                    { inspector(&inspector::Props { view: view.clone(), selection: state.selection, dispatch: dispatch.clone() }) }
                    { event_feed(&event_feed::Props { feed: state.feed.clone(), nodes: state.settings.nodes,
                        hidden: state.feed_hidden, node: state.feed_node, dispatch: dispatch.clone() }) }
                </aside>
            </div>
            { log_view(&log_view::Props { view: view.clone(), highlight, pointed: pointed.clone() }) }
            <div class={classes!("safety-wrap", pointed.safety.then_some("pointed"))}>
                { safety_panel(&safety_panel::Props { violations: state.violations.clone(), checking: state.checking, dispatch: dispatch.clone() }) }
            </div>
            <section class="chats" aria-label="chat replicas">
                { for view.nodes.iter().map(|n| html! {
                    <ChatPane key={n.id} node={n.clone()}
                        status={state.pane_status.get(n.id).cloned()}
                        {highlight} violated={involved.contains(&n.id)}
                        pointed={pointed.chats.contains(&n.id)}
                        starting={state.starting()}
                        dispatch={dispatch.clone()} />
                }) }
            </section>
            { run_bar(&run_bar::Props { timeline: state.marks.clone(), share_link: state.share_link.clone(),
                import_error: state.import_error.clone(), dispatch: dispatch.clone() }) }
            if state.help {
                { help(&help::Props { dispatch: dispatch.clone() }) }
            }
        </div>
    }
}
