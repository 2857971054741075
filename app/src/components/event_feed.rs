//! The event feed, newest first, filterable by kind and by node.

use crate::feed::{FeedItem, FeedKind};
use raftchat_core::NodeId;
use std::collections::{BTreeSet, VecDeque};
use std::rc::Rc;
use yew::prelude::*;

/// Lines shown at once.
const SHOWN: usize = 80;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub feed: Rc<VecDeque<FeedItem>>,
    pub nodes: u32,
}

#[function_component(EventFeed)]
pub fn event_feed(p: &Props) -> Html {
    // Terms and commits are frequent: off until asked for.
    let hidden = use_state(|| BTreeSet::from([FeedKind::Term, FeedKind::Commit]));
    let node = use_state(|| None::<NodeId>);
    let toggle = |kind: FeedKind| {
        let hidden = hidden.clone();
        Callback::from(move |_: Event| {
            let mut h = (*hidden).clone();
            if !h.remove(&kind) {
                h.insert(kind);
            }
            hidden.set(h);
        })
    };
    let on_node = {
        let node = node.clone();
        Callback::from(move |e: Event| {
            let s: web_sys::HtmlSelectElement = e.target_unchecked_into();
            node.set(s.value().parse().ok());
        })
    };
    let items = p
        .feed
        .iter()
        .filter(|i| !hidden.contains(&i.kind))
        .filter(|i| node.is_none_or(|n| i.nodes.contains(&n)))
        .take(SHOWN);
    html! {
        <section class="feed" aria-label="events">
            <h2>{"Events"}</h2>
            <div class="filters">
                { for FeedKind::ALL.iter().map(|&k| html! {
                    <label><input type="checkbox" checked={!hidden.contains(&k)} onchange={toggle(k)} data-testid={format!("feed-kind-{}", k.label())} />{ k.label() }</label>
                }) }
                <select onchange={on_node} aria-label="node" data-testid="feed-node">
                    <option value="" selected={node.is_none()}>{"all nodes"}</option>
                    { for (1..=p.nodes).map(|n| html! { <option value={n.to_string()} selected={*node == Some(n)}>{ format!("node {n}") }</option> }) }
                </select>
            </div>
            <ol class="feed-list" data-testid="feed">
                { for items.map(|i| html! {
                    <li key={i.seq} class={format!("feed-{}", i.kind.label())}>
                        <span class="t">{ crate::text::seconds(i.at_ms, 3) }</span>{" "}{ &i.text }
                    </li>
                }) }
            </ol>
        </section>
    }
}
