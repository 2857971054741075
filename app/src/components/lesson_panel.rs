//! Guided lessons: the menu (the built-in lessons, or a lesson file) and, while
//! one is open, its caption: where it is, what to look at, the question (pick
//! an answer, then play on to see it), and Next (PageDown on a presenter
//! remote).

use crate::lesson::LessonPlay;
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

/// The open lesson's caption.
pub fn lesson_caption(l: &LessonPlay, d: &Dispatch) -> Html {
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
            if l.done {
                <p class="done" data-testid="lesson-done">{"Lesson complete. Replay any moment with the timeline below, or pick another lesson."}</p>
            } else {
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
