//! Guided lessons: the menu (the built-in lessons, or a lesson file) and, while
//! one is open, its caption: where it is, what to look at, the question (pick
//! an answer, then play on to see it), and Next (PageDown on a presenter
//! remote).

use crate::lesson::{Draft, LessonPlay};
use crate::state::{Action, Dispatch};
use raftchat_core::lesson::BUILT_IN;
use yew::prelude::*;

/// The lessons menu (opened by hand, like "Break Raft…"). Plain functions,
/// not components: they have no state of their own, and each component
/// type costs the page's wasm a few kilobytes.
pub fn lesson_menu(dispatch: &Dispatch) -> Html {
    let on_file = {
        let d = dispatch.clone();
        Callback::from(move |e: Event| {
            let input: web_sys::HtmlInputElement = e.target_unchecked_into();
            let Some(file) = input.files().and_then(|f| f.get(0)) else {
                return;
            };
            input.set_value("");
            close_menu(input.as_ref());
            let d = d.clone();
            wasm_bindgen_futures::spawn_local(async move {
                d.dispatch(Action::OpenLesson(
                    crate::share::lesson_from_file(&file).await,
                ));
            });
        })
    };
    html! {
        <details class="lessons" data-testid="lessons">
            <summary>{"Lessons…"}</summary>
            <ol>
                { for BUILT_IN.iter().map(|&(id, title)| {
                    let onclick = dispatch.to_callback().reform(move |e: MouseEvent| {
                        if let Some(t) = e.target() {
                            close_menu(&t);
                        }
                        Action::LoadLesson(id.to_string())
                    });
                    html! { <li><button data-testid={format!("lesson-{id}")} {onclick}>{ title }</button></li> }
                }) }
            </ol>
            <button data-testid="lesson-author" onclick={dispatch.to_callback().reform(|e: MouseEvent| {
                if let Some(t) = e.target() {
                    close_menu(&t);
                }
                Action::ToggleAuthoring
            })}>{"Write a lesson from this run…"}</button>{" "}
            <label class="import">{"Open a lesson file "}
                <input type="file" accept=".json,application/json" data-testid="lesson-file" onchange={on_file} />
            </label>
        </details>
    }
}

/// Closes the `<details>` menu an element is in.
fn close_menu(target: &web_sys::EventTarget) {
    use wasm_bindgen::JsCast;
    let details = target
        .dyn_ref::<web_sys::Element>()
        .and_then(|el| el.closest("details").ok().flatten());
    if let Some(d) = details {
        let _ = d.remove_attribute("open");
    }
}

/// The open lesson's caption. `off_script`: the user changed the run (a new
/// branch), so what the lesson says may no longer be what happens.
pub fn lesson_caption(l: &LessonPlay, off_script: bool, d: &Dispatch) -> Html {
    let on_next = d.to_callback().reform(|_: MouseEvent| Action::LessonNext);
    let on_skip = d.to_callback().reform(|_: MouseEvent| Action::LessonSkip);
    let on_close = d.to_callback().reform(|_: MouseEvent| Action::CloseLesson);
    let parts = l.lesson.parts.len();
    let where_ = format!(
        "{}step {} of {}",
        if parts > 1 {
            format!("part {} of {parts}, ", l.part + 1)
        } else {
            String::new()
        },
        l.step + 1,
        l.steps_in_part()
    );
    let step = l.current();
    let next_label = if l.done {
        "Close"
    } else if l.heading_to.is_some() {
        "Play on ▶"
    } else if l.following().is_some() {
        if step.question.is_some() {
            "Play on to see ▶"
        } else {
            "Next ▶"
        }
    } else if !l.last_part() {
        "Next part ▶"
    } else {
        "Finish"
    };
    html! {
        <section class="lesson-caption" data-testid="lesson-caption" aria-live="polite"
                 data-step={(l.step + 1).to_string()} data-part={(l.part + 1).to_string()}
                 data-playing={l.heading_to.is_some().to_string()}>
            <header>
                <strong>{ &l.lesson.title }</strong>
                <span class="where">{ where_ }</span>
                <button class="dismiss" data-testid="lesson-close" aria-label="close the lesson" onclick={on_close}>{"×"}</button>
            </header>
            if let Some(r) = &l.reveal {
                    <p class={classes!("reveal", r.right.map(|ok| if ok { "right" } else { "wrong" }))} data-testid="lesson-reveal">
                        { match r.right {
                            Some(true) => "Right! ",
                            Some(false) => "Not quite. ",
                            None => "",
                        } }
                        <b>{ format!("The answer: {}.", r.answer) }</b>{" "}{ &r.explain }
                    </p>
            }
            if off_script {
                <p class="hint" data-testid="lesson-off-script">{"You changed the run: from here on it may not do what the lesson says (reopen the lesson to start again)."}</p>
            }
            if l.done {
                <p class="done" data-testid="lesson-done">{"Lesson complete. Replay any moment with the timeline below, or pick another lesson."}</p>
            } else {
                <p class="caption" data-testid="lesson-text">{ &step.caption }</p>
                if let Some(q) = &step.question {
                    <div class="question" role="group" aria-label={q.ask.clone()}>
                        <p><b>{ &q.ask }</b></p>
                        { for q.choices.iter().enumerate().map(|(i, c)| {
                            let onclick = d.to_callback().reform(move |_: MouseEvent| Action::LessonChoose(i));
                            let chosen = l.choice == Some(i);
                            html! {
                                <button class={classes!("choice", chosen.then_some("chosen"))} data-testid={format!("lesson-choice-{i}")}
                                    aria-pressed={chosen.to_string()} disabled={l.heading_to.is_some()} {onclick}>{ c }</button>
                            }
                        }) }
                    </div>
                }
            }
            <div class="buttons">
                <button class="primary" data-testid="lesson-next" onclick={on_next} title="PageDown">{ next_label }</button>
                if !l.done && (l.heading_to.is_some() || l.following().is_some() || !l.last_part()) {
                    <button data-testid="lesson-skip" onclick={on_skip} title="jump straight to the next stop">{"Skip ⇥"}</button>
                }
            </div>
        </section>
    }
}

/// The text typed in the field `id` (an input or a text area), or "".
fn typed(id: &str) -> String {
    use wasm_bindgen::JsCast;
    let el = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id(id));
    match el {
        Some(el) => match el.dyn_into::<web_sys::HtmlTextAreaElement>() {
            Ok(t) => t.value(),
            Err(el) => el
                .dyn_into::<web_sys::HtmlInputElement>()
                .map(|i| i.value())
                .unwrap_or_default(),
        },
        None => String::new(),
    }
}

/// Writing a lesson from the run on screen: move to a moment (play, step,
/// the timeline), write what to say there — and perhaps a question — and add
/// it; export the lesson when done. It opens like any lesson file.
pub fn author_panel(draft: &Draft, now_ms: u64, d: &Dispatch) -> Html {
    let on_add = d.to_callback().reform(|_: MouseEvent| Action::AuthorAdd {
        caption: typed("author-caption"),
        ask: typed("author-ask"),
        choices: typed("author-choices"),
        answer: typed("author-answer"),
    });
    let on_remove = d
        .to_callback()
        .reform(|_: MouseEvent| Action::AuthorRemoveLast);
    let on_export = d
        .to_callback()
        .reform(|_: MouseEvent| Action::AuthorExport {
            title: typed("author-title"),
        });
    let on_close = d
        .to_callback()
        .reform(|_: MouseEvent| Action::ToggleAuthoring);
    html! {
        <section class="lesson-caption author" data-testid="author">
            <header>
                <strong>{"Write a lesson"}</strong>
                <span class="where">{ format!("{} stop(s)", draft.stops.len()) }</span>
                <button class="dismiss" aria-label="stop writing" onclick={on_close}>{"×"}</button>
            </header>
            <p class="hint">{"Go to a moment of the run, say what to look at, optionally ask a question, and add the stop. The lesson replays this run and stops at each."}</p>
            <label>{"Title "}<input id="author-title" data-testid="author-title" placeholder="e.g. My first partition" /></label>
            <textarea id="author-caption" data-testid="author-caption" rows="2" placeholder="What happens here, what to look at" />
            <input id="author-ask" data-testid="author-ask" placeholder="A question (optional): Which node wins?" />
            <textarea id="author-choices" data-testid="author-choices" rows="2" placeholder="Its choices, one a line" />
            <label>{"Right choice (number) "}<input id="author-answer" data-testid="author-answer" size="2" /></label>
            <div class="buttons">
                <button class="primary" data-testid="author-add" onclick={on_add}>{ format!("Add a stop at {}", crate::text::seconds(now_ms, 3)) }</button>
                <button data-testid="author-remove" onclick={on_remove} disabled={draft.stops.is_empty()}>{"Remove the last"}</button>
                <button data-testid="author-export" onclick={on_export}>{"Export lesson"}</button>
            </div>
            <ol class="stops">
                { for draft.stops.iter().map(|s| html! {
                    <li>{ format!("{}: {}{}", crate::text::seconds(s.at_ms, 3), s.caption, if s.question.is_some() { " (question)" } else { "" }) }</li>
                }) }
            </ol>
        </section>
    }
}
