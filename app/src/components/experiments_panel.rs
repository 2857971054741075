//! The Experiments panel: choose an experiment and its trials, run it (in a
//! worker: the cluster keeps running smoothly), watch the figure fill in,
//! cancel, download the CSV, and open a trial as a run in the cluster view.
//! A plain function, like the other panels without state of their own.

use crate::experiments::{Experiment, KINDS};
use crate::state::{Action, Dispatch};
use wasm_bindgen::JsCast;
use yew::prelude::*;

/// The value of the form's first `<input>` or `<select>` (`tag`).
fn value_in(form: &web_sys::Element, tag: &str) -> String {
    let Some(el) = form.query_selector(tag).ok().flatten() else {
        return String::new();
    };
    match el.dyn_ref::<web_sys::HtmlSelectElement>() {
        Some(select) => select.value(),
        None => el.unchecked_into::<web_sys::HtmlInputElement>().value(),
    }
}

pub fn experiments_panel(e: &Experiment, dispatch: &Dispatch) -> Html {
    // The panel's two forms: run, and (in the worker's results) open a trial.
    let submit = {
        let recipes = e.recipes.clone();
        dispatch.to_callback().reform(move |ev: SubmitEvent| {
            ev.prevent_default();
            let form: web_sys::Element = ev.target_unchecked_into();
            if !form.has_attribute("data-open-trial") {
                return Action::RunExperiment {
                    trials: value_in(&form, "input"),
                };
            }
            let chosen = value_in(&form, "select").parse::<usize>().ok();
            Action::OpenRun(
                chosen
                    .and_then(|i| recipes.get(i))
                    .ok_or_else(|| "choose a trial to open".to_string())
                    .and_then(|json| crate::json::recipe_from_json(json)),
            )
        })
    };
    let choose = dispatch.to_callback().reform(|ev: Event| {
        let select: web_sys::HtmlSelectElement = ev.target_unchecked_into();
        Action::ExperimentKind(select.value())
    });
    html! {
        <section class="experiments" data-testid="experiments" aria-label="experiments" onsubmit={submit}>
            <form class="experiment-form" novalidate=true>
                <label>{"Experiment "}
                    <select data-testid="experiment-kind" onchange={choose} disabled={e.running}>
                        { for KINDS.iter().map(|&(value, label)| html! {
                            <option {value} selected={e.kind == value}>{ label }</option>
                        }) }
                    </select>
                </label>
                // Nothing typed runs the default (the placeholder).
                <label>{ if e.kind == KINDS[0].0 { "Trials per range " } else { "Runs per point " } }
                    <input type="number" min="1" placeholder={e.trials.to_string()}
                        data-testid="experiment-trials" disabled={e.running} />
                </label>
                <button type="submit" data-testid="run-experiment" disabled={e.running}>{"Run"}</button>
                <button type="button" data-testid="cancel-experiment" disabled={!e.running}
                    onclick={dispatch.to_callback().reform(|_: MouseEvent| Action::CancelExperiment)}>{"Cancel"}</button>
                if !e.csv_url.is_empty() {
                    <a class="button" href={e.csv_url.clone()} download={format!("raftchat-{}-{}-trials.csv", e.kind, e.trials)}
                        data-testid="experiment-csv">{"Download CSV"}</a>
                }
            </form>
            if let Some(why) = &e.error {
                <p class="error" role="alert" data-testid="experiment-error">{ why }</p>
            }
            // The worker's results: HTML it made from numbers and labels of
            // its own (nothing typed by a user), with raftchat-core's figure.
            { Html::from_html_unchecked(e.html.clone()) }
        </section>
    }
}
