//! The event feed, newest first, filterable by kind and by node.

use crate::feed::{FeedItem, FeedKind};
use crate::state::{Action, Dispatch};
use raftchat_core::NodeId;
use std::collections::VecDeque;
use std::rc::Rc;
use yew::prelude::*;

/// Lines shown at once.
const SHOWN: usize = 80;

pub struct Props {
    pub feed: Rc<VecDeque<FeedItem>>,
    pub nodes: u32,
    /// The kinds not shown (a bit per [`FeedKind`]) and the node shown alone.
    pub hidden: u16,
    pub node: Option<NodeId>,
    pub dispatch: Dispatch,
}

/// A plain function (the filters live in the page's state): a component
/// type costs the page's wasm about a kilobyte.
pub fn event_feed(p: &Props) -> Html {
    let on_node = p.dispatch.to_callback().reform(|e: Event| {
        let s: web_sys::HtmlSelectElement = e.target_unchecked_into();
        Action::FeedNode(s.value().parse().ok())
    });
    let items = p
        .feed
        .iter()
        .filter(|i| !i.kind.is_in(p.hidden))
        .filter(|i| p.node.is_none_or(|n| i.nodes.contains(&n)))
        .take(SHOWN);
    html! {
        <section class="feed" aria-label="events">
            <h2>{"Events"}</h2>
            <div class="filters">
                { for FeedKind::ALL.iter().map(|&k| html! {
                    <label><input type="checkbox" checked={!k.is_in(p.hidden)}
                        onchange={p.dispatch.to_callback().reform(move |_: Event| Action::ToggleFeedKind(k))}
                        data-testid={format!("feed-kind-{}", k.label())} />{ k.label() }</label>
                }) }
                <select onchange={on_node} aria-label="node" data-testid="feed-node">
                    <option value="" selected={p.node.is_none()}>{"all nodes"}</option>
                    { for (1..=p.nodes).map(|n| html! { <option value={n.to_string()} selected={p.node == Some(n)}>{ format!("node {n}") }</option> }) }
                </select>
            </div>
            <ol class="feed-list" data-testid="feed">
                { for items.map(|i| html! {
                    <li key={i.seq} class={format!("feed-{}", i.kind.label())}>
                        <span class="t">{ crate::text::seconds(i.at_ms, 3) }</span>{" "}{ &i.text }
                        if i.repeats > 1 {
                            <span class="repeats" data-testid="feed-repeats">{ format!(" ×{} since {}", i.repeats, crate::text::seconds(i.first_ms, 3)) }</span>
                        }
                    </li>
                }) }
            </ol>
        </section>
    }
}
