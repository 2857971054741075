//! The control bar: play/pause, step, speed, seed and size, network sliders,
//! heal all, author name, projector mode and help.

use crate::settings::{Settings, DEFAULT_SPEED, MIN_NODES, SPEEDS, SPEED_VALUES};
use crate::state::Action;
use crate::state::Dispatch;
use raftchat_core::sim::MAX_NODES;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub settings: Settings,
    pub running: bool,
    pub auto_paused: bool,
    pub now_ms: u64,
    pub event_count: u64,
    pub author: String,
    pub projector: bool,
    /// The cluster is saved: a new run deletes it, after asking.
    pub saved: bool,
    /// Hold mode: new messages wait on their links.
    pub holding: bool,
    pub held: usize,
    pub dispatch: Dispatch,
}

fn input_value(e: &Event) -> String {
    let input: web_sys::HtmlInputElement = e.target_unchecked_into();
    input.value()
}

/// Parses the seed field: a whole number, or a clear reason why not.
pub fn parse_seed(text: &str) -> Result<u64, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("enter a seed: a whole number such as 42".into());
    }
    t.parse::<u64>().map_err(|_| {
        let shown: String = t.chars().take(24).collect();
        format!(
            "\"{shown}\" is not a seed: use a whole number from 0 to {}",
            u64::MAX
        )
    })
}

/// Asks before a new run deletes the saved cluster.
fn confirm_new_run() -> bool {
    web_sys::window()
        .and_then(|w| {
            w.confirm_with_message(
                "A new run deletes the saved cluster: every node's IndexedDB records and its timeline. Start a new run?",
            )
            .ok()
        })
        .unwrap_or(false)
}

/// Full-screen presentation (the F key, the Full screen button).
pub fn toggle_fullscreen() {
    let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    if doc.fullscreen_element().is_some() {
        doc.exit_fullscreen();
    } else if let Some(root) = doc.document_element() {
        let _ = root.request_fullscreen();
    }
}

#[function_component(Controls)]
pub fn controls(p: &Props) -> Html {
    let seed_text = use_state(|| p.settings.seed.to_string());
    let nodes = use_state(|| p.settings.nodes);
    let seed_error = use_state(|| None::<String>);
    // A reset from elsewhere (keyboard) shows the seed in use.
    {
        let seed_text = seed_text.clone();
        use_effect_with(p.settings.seed, move |seed| seed_text.set(seed.to_string()));
    }
    let d = &p.dispatch;
    let on_play = d.to_callback().reform(|_: MouseEvent| Action::TogglePlay);
    let on_step = d.to_callback().reform(|_: MouseEvent| Action::Step);
    let on_heal = d.to_callback().reform(|_: MouseEvent| Action::HealAll);
    let on_projector = d
        .to_callback()
        .reform(|_: MouseEvent| Action::ToggleProjector);
    let on_help = d.to_callback().reform(|_: MouseEvent| Action::ToggleHelp);
    let on_speed = d.to_callback().reform(|e: Event| {
        let chosen = input_value_select(&e);
        let v = SPEED_VALUES
            .iter()
            .position(|&s| s == chosen)
            .map_or(DEFAULT_SPEED, |i| SPEEDS[i].0);
        Action::SetSpeed(v)
    });
    let on_reset = {
        let (d, seed_text, nodes, seed_error, saved) = (
            d.clone(),
            seed_text.clone(),
            nodes.clone(),
            seed_error.clone(),
            p.saved,
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            match parse_seed(&seed_text) {
                Ok(_) if saved && !confirm_new_run() => {}
                Ok(seed) => {
                    seed_error.set(None);
                    d.dispatch(Action::Reset {
                        seed,
                        nodes: *nodes,
                    });
                }
                Err(why) => seed_error.set(Some(why)),
            }
        })
    };
    let on_seed = {
        let seed_text = seed_text.clone();
        Callback::from(move |e: InputEvent| {
            let input: web_sys::HtmlInputElement = e.target_unchecked_into();
            seed_text.set(input.value());
        })
    };
    let on_nodes = {
        let nodes = nodes.clone();
        Callback::from(move |e: Event| {
            nodes.set(input_value_select(&e).parse().unwrap_or(5));
        })
    };
    let s = &p.settings;
    let (lat_min, lat_max) = (s.latency_min_ms, s.latency_max_ms);
    let on_lat_min = d.to_callback().reform(move |e: Event| {
        let v = input_value(&e).parse().unwrap_or(lat_min);
        Action::SetLatency {
            min_ms: v,
            max_ms: lat_max.max(v),
        }
    });
    let on_lat_max = d.to_callback().reform(move |e: Event| {
        let v = input_value(&e).parse().unwrap_or(lat_max);
        Action::SetLatency {
            min_ms: lat_min.min(v),
            max_ms: v,
        }
    });
    let on_drop = d.to_callback().reform(|e: Event| {
        Action::SetDropRate(input_value(&e).parse::<u32>().unwrap_or(0) as f64 / 100.0)
    });
    let (pre_vote, check_quorum) = (s.pre_vote, s.check_quorum);
    let on_pre_vote = d.to_callback().reform(move |_: Event| Action::SetOptions {
        pre_vote: !pre_vote,
        check_quorum,
    });
    let on_check_quorum = d.to_callback().reform(move |_: Event| Action::SetOptions {
        pre_vote,
        check_quorum: !check_quorum,
    });
    let on_author = d.to_callback().reform(|e: InputEvent| {
        let input: web_sys::HtmlInputElement = e.target_unchecked_into();
        Action::SetAuthor(input.value())
    });
    let holding = p.holding;
    let on_hold = d
        .to_callback()
        .reform(move |_: Event| Action::SetHold(!holding));
    let on_deliver_next = d.to_callback().reform(|_: MouseEvent| Action::DeliverNext);
    let state_label = match (p.running, p.auto_paused) {
        (true, _) => "running",
        (false, true) => "paused (tab hidden)",
        (false, false) => "paused",
    };
    html! {
        <div class="controls">
            <div class="group">
                <button data-testid="play-pause" class="primary" onclick={on_play} title="space">
                    { if p.running { "Pause" } else { "Play" } }
                </button>
                <button data-testid="step" onclick={on_step} title="→ or PageDown">{"Step"}</button>
                <label>{"Speed "}
                    <select data-testid="speed" onchange={on_speed}>
                        { for SPEEDS.iter().zip(SPEED_VALUES).map(|((v, label), value)| html! {
                            <option {value} selected={(*v - s.speed).abs() < 1e-9}>{ *label }</option>
                        }) }
                    </select>
                </label>
                <span class="clock" data-testid="clock" data-state={state_label}>
                    { format!("{} virtual · {state_label}", crate::text::seconds(p.now_ms, 3)) }
                </span>
                <span class="events" data-testid="event-count">{ format!("{} events", p.event_count) }</span>
            </div>
            <form class="group secondary" onsubmit={on_reset}>
                <label>{"Seed "}
                    <input data-testid="seed" class="seed" value={(*seed_text).clone()} oninput={on_seed} inputmode="numeric" aria-invalid={seed_error.is_some().to_string()} />
                </label>
                <label>{"Nodes "}
                    <select data-testid="node-count" onchange={on_nodes}>
                        { for (MIN_NODES..=MAX_NODES).map(|n| html! { <option value={n.to_string()} selected={n == *nodes}>{ n }</option> }) }
                    </select>
                </label>
                <button type="submit" data-testid="reset">{"New run"}</button>
                if let Some(err) = &*seed_error {
                    <span class="error" role="alert" data-testid="seed-error">{ err }</span>
                }
            </form>
            <div class="group secondary">
                <label>{ format!("Latency {lat_min}–{lat_max} ms ") }
                    <input type="range" min="1" max="500" value={lat_min.to_string()} onchange={on_lat_min} aria-label="minimum latency" data-testid="latency-min" />
                    <input type="range" min="1" max="500" value={lat_max.to_string()} onchange={on_lat_max} aria-label="maximum latency" data-testid="latency-max" />
                </label>
                <label>{ format!("Drop {}% ", (s.drop_rate * 100.0).round() as u32) }
                    <input type="range" min="0" max="50" value={((s.drop_rate * 100.0).round() as u32).to_string()} onchange={on_drop} data-testid="drop-rate" />
                </label>
            </div>
            <div class="group">
                <button onclick={on_heal} data-testid="heal-all" title="h">{"Heal all links"}</button>
                <label title="You are the network: every new message waits on its link until you deliver it (click it, or Deliver next), drop it or duplicate it. Timers still run while playing.">
                    <input type="checkbox" data-testid="hold-messages" checked={holding} onchange={on_hold} />{" Hold messages"}
                </label>
                if holding || p.held > 0 {
                    <button data-testid="deliver-next" onclick={on_deliver_next} disabled={p.held == 0} title="d: deliver the held message sent first">
                        { format!("Deliver next ({})", p.held) }
                    </button>
                }
            </div>
            <div class="group secondary">
                <button onclick={d.to_callback().reform(|_: MouseEvent| Action::AddNode)} data-testid="add-node"
                    title="Thesis §4.2: a new, empty server joins; it catches up as a learner, then becomes a voter">{"Add node"}</button>
                <label title="Thesis §9.6: ask for pre-votes first, so that a node cut off from the others does not raise its term and depose the leader when it returns">
                    <input type="checkbox" data-testid="pre-vote" checked={pre_vote} onchange={on_pre_vote} />{" PreVote"}
                </label>
                <label title="Thesis §6.2: a leader that cannot reach a majority for an election timeout steps down">
                    <input type="checkbox" data-testid="check-quorum" checked={check_quorum} onchange={on_check_quorum} />{" CheckQuorum"}
                </label>
                <label>{"Your name "}
                    <input data-testid="author" class="author" value={p.author.clone()} oninput={on_author} maxlength="40" />
                </label>
            </div>
            <div class="group">
                <button onclick={on_projector} aria-pressed={p.projector.to_string()} title="p" data-testid="projector">{"Projector"}</button>
                <button onclick={Callback::from(|_: MouseEvent| toggle_fullscreen())} title="f" data-testid="fullscreen">{"Full screen"}</button>
                <button onclick={on_help} title="?" class="secondary">{"? Keys"}</button>
            </div>
        </div>
    }
}

fn input_value_select(e: &Event) -> String {
    let select: web_sys::HtmlSelectElement = e.target_unchecked_into();
    select.value()
}
