//! The safety panel: the invariant checker runs live, after every event, and
//! each property Raft promises shows green, or red with what went wrong in
//! plain words (nodes, terms, indexes) and a jump to where it began.

use crate::state::{Action, Dispatch};
use crate::text::seconds;
use raftchat_core::checker::{Violation, PROPERTIES};
use std::rc::Rc;
use yew::prelude::*;

pub struct Props {
    pub violations: Rc<Vec<Violation>>,
    pub checking: bool,
    pub dispatch: Dispatch,
}

/// `Election Safety` → `election-safety` (the test hook).
pub fn slug(property: &str) -> String {
    property
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

pub fn safety_panel(p: &Props) -> Html {
    // The hooks say what the checker found (`ok` / `violated`); whether it
    // is checking now is `data-checking` (off: the rows are greyed, not green).
    let state = if p.violations.is_empty() {
        "ok"
    } else {
        "violated"
    };
    let checking = p.checking;
    let toggle = p
        .dispatch
        .to_callback()
        .reform(move |_: Event| Action::SetChecking(!checking));
    html! {
        <section class={classes!("safety", (!p.checking).then_some("off"))} data-testid="safety" data-state={state} data-checking={p.checking.to_string()} aria-label="safety">
            <h2>{"Safety"}
                <label class="hint"><input type="checkbox" data-testid="safety-on" checked={checking} onchange={toggle} />{" check every event"}</label>
            </h2>
            <ul>
            { for PROPERTIES.iter().filter(|&&rule| rule != "Checker" || p.violations.iter().any(|v| v.rule == rule)).map(|&rule| {
                let v = p.violations.iter().find(|v| v.rule == rule);
                let row = if v.is_some() { "violated" } else { "ok" };
                html! {
                    <li class={classes!("property", row)} data-testid={format!("safety-{}", slug(rule))} data-state={row}>
                        <span class="dot" aria-hidden="true"></span>{ rule }
                        if let Some(v) = v {
                            <p class="why">{ format!("at {}: {}", seconds(v.at_ms, 3), v.detail) }</p>
                            if let Some(since) = v.since_ms.filter(|&s| s < v.at_ms) {
                                <button data-testid={format!("safety-jump-{}", slug(rule))}
                                    onclick={p.dispatch.to_callback().reform(move |_: MouseEvent| Action::Seek(since))}>
                                    { format!("Jump to {} (where it began)", seconds(since, 3)) }
                                </button>
                            }
                        }
                    </li>
                }
            }) }
            </ul>
        </section>
    }
}
