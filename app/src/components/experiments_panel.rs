//! The Experiments panel: choose an experiment and its trials, run it (in a
//! worker: the cluster keeps running smoothly), watch the figure fill in,
//! cancel, download the CSV, and open a trial as a run in the cluster view.
//! A plain function, like the other panels without state of their own.

use crate::experiments::{Experiment, KINDS};
use crate::state::{Action, Dispatch};
use wasm_bindgen::JsCast;
use yew::prelude::*;

/// The value of the `<select>` inside `form`.
fn selected_in(form: &web_sys::Element) -> String {
    form.query_selector("select")
        .ok()
        .flatten()
        .and_then(|el| el.dyn_into::<web_sys::HtmlSelectElement>().ok())
        .map(|s| s.value())
        .unwrap_or_default()
}

pub fn experiments_panel(e: &Experiment, dispatch: &Dispatch) -> Html {
    let run = dispatch.to_callback().reform(|ev: SubmitEvent| {
        ev.prevent_default();
        Action::RunExperiment
    });
    let typed = dispatch.to_callback().reform(|ev: InputEvent| {
        let input: web_sys::HtmlInputElement = ev.target_unchecked_into();
        Action::ExperimentTrials(input.value())
    });
    let choose = dispatch.to_callback().reform(|ev: Event| {
        let select: web_sys::HtmlSelectElement = ev.target_unchecked_into();
        Action::ExperimentKind(select.value())
    });
    let open = {
        let choices = e.choices.clone();
        dispatch.to_callback().reform(move |ev: SubmitEvent| {
            ev.prevent_default();
            let form: web_sys::Element = ev.target_unchecked_into();
            let chosen = selected_in(&form).parse::<usize>().ok();
            Action::OpenRun(
                chosen
                    .and_then(|i| choices.get(i))
                    .ok_or_else(|| "choose a trial to open".to_string())
                    .and_then(|(_, json)| crate::json::recipe_from_json(json)),
            )
        })
    };
    let elections = e.kind == KINDS[0].0;
    html! {
        <section class="experiments" data-testid="experiments" aria-label="experiments">
            <form class="experiment-form" onsubmit={run} novalidate=true>
                <label>{"Experiment "}
                    <select data-testid="experiment-kind" onchange={choose} disabled={e.running}>
                        { for KINDS.iter().map(|&(value, label)| html! {
                            <option {value} selected={e.kind == value}>{ label }</option>
                        }) }
                    </select>
                </label>
                <label>{ if elections { "Trials per range " } else { "Runs per point " } }
                    <input type="number" min="1" max={e.max_trials().to_string()} value={e.trials_text.clone()}
                        oninput={typed} data-testid="experiment-trials" disabled={e.running} />
                </label>
                <button type="submit" data-testid="run-experiment" disabled={e.running}>{"Run"}</button>
                <button type="button" data-testid="cancel-experiment" disabled={!e.running}
                    onclick={dispatch.to_callback().reform(|_: MouseEvent| Action::CancelExperiment)}>{"Cancel"}</button>
                <button type="button" data-testid="experiment-csv" disabled={e.csv.is_empty()}
                    onclick={dispatch.to_callback().reform(|_: MouseEvent| Action::DownloadExperimentCsv)}>{"Download CSV"}</button>
                <button type="button" class="dismiss" aria-label="close the experiments"
                    onclick={dispatch.to_callback().reform(|_: MouseEvent| Action::ToggleExperiments)}>{"×"}</button>
            </form>
            <p class="experiment-status">
                <progress data-testid="experiment-progress" data-done={e.done.to_string()} data-total={e.total.to_string()}
                    max={e.total.max(1).to_string()} value={e.done.to_string()} />
                { format!(" {} of {} trials{}", e.done, e.total, if e.running { " (running)" } else { "" }) }
            </p>
            if let Some(why) = &e.error {
                <p class="error" role="alert" data-testid="experiment-error">{ why }</p>
            }
            if !e.choices.is_empty() {
                <form class="experiment-form" onsubmit={open}>
                    <label>{"Open a trial as a run "}
                        <select data-testid="trial-choice">
                            { for e.choices.iter().enumerate().map(|(i, (label, _))| html! {
                                <option value={i.to_string()}>{ label }</option>
                            }) }
                        </select>
                    </label>
                    <button type="submit" data-testid="open-trial">{"Open"}</button>
                </form>
            }
            <div class="plot-box">
                // The worker's figure: SVG text made by raftchat-core's plot
                // module from numbers alone (nothing typed by a user).
                { Html::from_html_unchecked(e.svg.clone()) }
            </div>
            <p class="explain">{ if elections {
                "Figure 16 of the Raft paper: five servers; the leader crashes at a random moment within its heartbeat interval; each curve shows how soon a new leader was elected, one curve per election-timeout range. Without randomness (150-150 ms) votes split again and again."
            } else {
                "A chat through random nodes at rising offered loads, for 1 to 9 replicas: each point is one load, its commit latency against the messages committed per second."
            } }</p>
        </section>
    }
}
