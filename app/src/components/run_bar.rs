//! The timeline under the cluster: a scrubber over virtual time with marks
//! for leader changes, crashes, partitions, membership changes and committed
//! messages; step back; the branches; and sharing (link, export, import).

use crate::state::Action;
use crate::state::Dispatch;
use crate::view::TimelineView;
use std::rc::Rc;
use yew::prelude::*;

pub struct Props {
    pub timeline: Rc<TimelineView>,
    pub share_link: Option<String>,
    pub import_error: Option<String>,
    pub dispatch: Dispatch,
}

fn seconds(ms: u64) -> String {
    crate::text::seconds(ms, 1)
}

pub fn run_bar(p: &Props) -> Html {
    let t = &p.timeline;
    let d = &p.dispatch;
    let on_seek = d.to_callback().reform(|e: InputEvent| {
        let input: web_sys::HtmlInputElement = e.target_unchecked_into();
        Action::Seek(input.value().parse().unwrap_or(0))
    });
    let on_change = d.to_callback().reform(|e: Event| {
        let input: web_sys::HtmlInputElement = e.target_unchecked_into();
        Action::Seek(input.value().parse().unwrap_or(0))
    });
    let on_back = d.to_callback().reform(|_: MouseEvent| Action::StepBack);
    let on_link = d.to_callback().reform(|_: MouseEvent| Action::CopyLink);
    let on_export = d.to_callback().reform(|_: MouseEvent| Action::ExportRun);
    let on_import = {
        let d = d.clone();
        Callback::from(move |e: Event| {
            let input: web_sys::HtmlInputElement = e.target_unchecked_into();
            let Some(file) = input.files().and_then(|f| f.get(0)) else {
                return;
            };
            input.set_value("");
            let d = d.clone();
            wasm_bindgen_futures::spawn_local(async move {
                d.dispatch(Action::OpenRun(crate::share::from_file(&file).await));
            });
        })
    };
    // The recorded part of the slider (to the branch's end), shaded.
    let recorded = t.end_ms as f64 * 100.0 / t.span_ms.max(1) as f64;
    let style = format!("--recorded: {}%", crate::text::tenths(recorded));
    html! {
        <section class="run-bar" aria-label="timeline">
            <div class="scrubber">
                <button data-testid="step-back" title="Step back to the previous event (←)" onclick={on_back}>{"← Back"}</button>
                <div class="track" style={style}>
                    <input type="range" data-testid="timeline" aria-label="virtual time"
                        min="0" max={t.span_ms.to_string()} step="1"
                        value={t.now_ms.to_string()} oninput={on_seek} onchange={on_change} />
                    { Html::from_html_unchecked(t.marks.clone()) }
                </div>
                <span class="when" data-testid="timeline-time">
                    { format!("{} of {}", seconds(t.now_ms), seconds(t.end_ms)) }
                    if t.rewound { {" · rewound: acting here starts a new branch"} }
                </span>
            </div>
            <div class="run-tools">
                <ul class="branches" data-testid="branches" aria-label="branches">
                    { for t.branches.iter().map(|b| {
                        let id = b.id;
                        let from = b.parent.map(|(p, at)| format!(" from branch {p} at {}", seconds(at))).unwrap_or_default();
                        let onclick = d.to_callback().reform(move |_: MouseEvent| Action::SwitchBranch(id));
                        html! {
                            <li>
                                <button data-testid={format!("branch-{id}")} class={classes!(b.current.then_some("current"))}
                                    aria-pressed={b.current.to_string()} {onclick}
                                    title={format!("{} steps, runs to {}", b.steps, seconds(b.end_ms))}>
                                    { format!("branch {id}{from}") }
                                </button>
                            </li>
                        }
                    }) }
                </ul>
                <button data-testid="copy-link" onclick={on_link}>{"Copy link"}</button>
                <button data-testid="export-run" onclick={on_export}>{"Export"}</button>
                <label class="import">{"Import "}
                    <input type="file" accept=".json,application/json" data-testid="import-run" onchange={on_import} />
                </label>
            </div>
            if let Some(link) = &p.share_link {
                <p class="share-link">{"Link: "}<a data-testid="share-link" href={link.clone()}>{ link.clone() }</a></p>
            }
            if let Some(err) = &p.import_error {
                <p class="import-error" role="alert" data-testid="import-error">{ format!("Could not open the run: {err}. The cluster on screen is unchanged.") }</p>
            }
        </section>
    }
}
