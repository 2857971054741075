//! The page: a simulated five-node cluster electing a leader, with play/pause
//! and a seed. (The full classroom interface grows from here.)

use crate::components::cluster_status::ClusterStatus;
use crate::state::{Action, ClusterState, DEFAULT_SPEED};
use gloo_timers::callback::Interval;
use yew::prelude::*;

/// Real milliseconds between two advances of the simulation while running.
const FRAME_MS: u32 = 50;

#[function_component(App)]
pub fn app() -> Html {
    let state = use_reducer(|| ClusterState::new(1));
    let seed_text = use_state(|| "1".to_string());
    let seed_error = use_state(|| None::<String>);

    // Advance only while running: when paused no timer fires at all.
    {
        let dispatcher = state.dispatcher();
        use_effect_with(state.running, move |running| {
            let interval = running.then(|| {
                let virtual_ms = (FRAME_MS as f64 * DEFAULT_SPEED).round() as u64;
                Interval::new(FRAME_MS, move || {
                    dispatcher.dispatch(Action::Advance { virtual_ms })
                })
            });
            move || drop(interval)
        });
    }

    let on_play = {
        let dispatcher = state.dispatcher();
        Callback::from(move |_| dispatcher.dispatch(Action::TogglePlay))
    };
    let on_seed_input = {
        let seed_text = seed_text.clone();
        Callback::from(move |e: InputEvent| {
            let input: web_sys::HtmlInputElement = e.target_unchecked_into();
            seed_text.set(input.value());
        })
    };
    let on_reset = {
        let dispatcher = state.dispatcher();
        let seed_text = seed_text.clone();
        let seed_error = seed_error.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            match seed_text.trim().parse::<u64>() {
                Ok(seed) => {
                    seed_error.set(None);
                    dispatcher.dispatch(Action::Reset { seed });
                }
                Err(_) => seed_error.set(Some(format!(
                    "\"{}\" is not a seed: use a whole number from 0 to {}",
                    seed_text.as_str(),
                    u64::MAX
                ))),
            }
        })
    };

    let on_toggle = {
        let dispatcher = state.dispatcher();
        let nodes = state.nodes.clone();
        Callback::from(move |id| {
            let up = nodes.iter().any(|n| n.id == id && n.up);
            dispatcher.dispatch(if up {
                Action::Crash(id)
            } else {
                Action::Restart(id)
            });
        })
    };
    let leader = match state.leader {
        Some((id, term)) => format!("Leader: node {id} in term {term}"),
        None => "No leader yet: an election is under way".to_string(),
    };
    html! {
        <main>
            <h1>{"raftchat"}</h1>
            <p class="leader" data-testid="leader">{ leader }</p>
            <p class="clock">{ format!("virtual time {:.1} s", state.now_ms as f64 / 1000.0) }</p>
            <div class="controls">
                <button data-testid="play-pause" onclick={on_play}>
                    { if state.running { "Pause" } else { "Play" } }
                </button>
                <form onsubmit={on_reset}>
                    <label>{"Seed "}
                        <input data-testid="seed" value={(*seed_text).clone()} oninput={on_seed_input} inputmode="numeric" />
                    </label>
                    <button type="submit">{"Reset"}</button>
                </form>
                if let Some(err) = &*seed_error {
                    <p class="error" role="alert">{ err }</p>
                }
            </div>
            <ClusterStatus nodes={state.nodes.clone()} {on_toggle} />
        </main>
    }
}
