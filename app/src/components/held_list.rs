//! Hold mode's list of the messages waiting on their links, in send order:
//! deliver, drop or duplicate each (the DSLabs/Oddity debuggers' move).

use crate::feed::message_name;
use crate::state::{Action, Dispatch};
use crate::view::ClusterView;
use yew::prelude::*;

/// (A plain function, not a component: it has no state of its own.)
pub fn held_list(view: &ClusterView, dispatch: &Dispatch, pointed: bool) -> Html {
    let held: Vec<_> = view.messages.iter().filter(|m| m.held).collect();
    if !view.holding && held.is_empty() {
        return Html::default();
    }
    let button = |label: &'static str, testid: String, action: fn(u64) -> Action, id: u64| {
        let onclick = dispatch
            .to_callback()
            .reform(move |_: MouseEvent| action(id));
        html! { <button data-testid={testid} {onclick}>{ label }</button> }
    };
    html! {
        <section class={classes!("held", pointed.then_some("pointed"))} data-testid="held-list" aria-label="held messages">
            <h2>{ format!("Held messages ({})", held.len()) }</h2>
            if held.is_empty() {
                <p class="hint">{"Every new message will wait here until you deliver, drop or duplicate it."}</p>
            }
            <ol>
                { for held.iter().map(|m| {
                    let id = m.id;
                    html! {
                        <li key={id} data-testid={format!("held-{id}")}>
                            <span class="what">{ format!("{} {}→{}{}", message_name(m.kind), m.from, m.to,
                                if m.entries > 0 { format!(" ({} entries)", m.entries) } else { String::new() }) }</span>
                            { button("Deliver", format!("held-deliver-{id}"), Action::DeliverMessage, id) }
                            { button("Drop", format!("held-drop-{id}"), Action::DropMessage, id) }
                            { button("Duplicate", format!("held-duplicate-{id}"), Action::DuplicateMessage, id) }
                        </li>
                    }
                }) }
            </ol>
        </section>
    }
}
