//! One replica's chat: what it has applied, in order, then its log entries not
//! yet known to be committed (greyed). The input sends through this node.

use crate::state::Dispatch;
use crate::state::{Action, PaneStatus};
use crate::view::NodeInfo;
use raftchat_core::chat::MAX_TEXT_CHARS;
use std::rc::Rc;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub node: Rc<NodeInfo>,
    pub status: Option<PaneStatus>,
    /// Storage is still opening: the input waits.
    pub starting: bool,
    pub dispatch: Dispatch,
    /// An index a broken safety property is about (its message is marked),
    /// and whether this node is one it names (the pane is marked).
    #[prop_or_default]
    pub highlight: Option<raftchat_core::Index>,
    #[prop_or_default]
    pub violated: bool,
    /// A lesson's step points at it.
    #[prop_or_default]
    pub pointed: bool,
}

#[function_component(ChatPane)]
pub fn chat_pane(p: &Props) -> Html {
    let draft = use_state(String::new);
    let n = &p.node;
    let id = n.id;
    let on_input = {
        let draft = draft.clone();
        Callback::from(move |e: InputEvent| {
            let input: web_sys::HtmlInputElement = e.target_unchecked_into();
            draft.set(input.value());
        })
    };
    let on_key = {
        let (draft, d) = (draft.clone(), p.dispatch.clone());
        Callback::from(move |e: KeyboardEvent| {
            if e.key() == "Enter" {
                e.prevent_default();
                let text = (*draft).clone();
                // Keep the text if it cannot be sent, so nothing typed is lost.
                let sendable =
                    !text.trim().is_empty() && text.trim().chars().count() <= MAX_TEXT_CHARS;
                d.dispatch(Action::Send { node: id, text });
                if sendable {
                    draft.set(String::new());
                }
            }
        })
    };
    let on_read = p
        .dispatch
        .to_callback()
        .reform(move |_: MouseEvent| Action::Read(id));
    let chars = draft.trim().chars().count();
    let role = if n.up { n.role.as_str() } else { "down" };
    html! {
        <section class={classes!("pane", (!n.up).then_some("down"), p.violated.then_some("violated"), p.pointed.then_some("pointed"))} data-testid={format!("chat-pane-{id}")} data-violated={p.violated.to_string()} aria-label={format!("chat as seen by node {id}")}>
            <h3>{ format!("node {id}") }<span class={classes!("badge", role)}>{ role }</span><span class="term">{ format!("term {}", n.term) }</span></h3>
            if !n.up {
                <p class="down-note">{"This node is down. After a restart it refills as it learns the commit index again."}</p>
            }
            <div class="scroll">
                <ol class="messages">
                    { for n.chat.iter().map(|m| html! {
                        <li data-testid="chat-message" data-index={m.index.to_string()} class={classes!((p.highlight == Some(m.index)).then_some("violated"))} title={format!("index {}, term {}, client {} #{}", m.index, m.term, m.client, m.seq)}>
                            <b>{ m.author() }</b>{": "}{ m.text() }
                        </li>
                    }) }
                    { for n.tail.iter().map(|m| html! {
                        <li class="tail" data-testid="chat-tail" title={format!("index {}: in this node's log, not yet known to be committed", m.index)}>
                            <b>{ m.words.author() }</b>{": "}{ m.words.text() }
                        </li>
                    }) }
                </ol>
            </div>
            <div class="pane-input">
            <input data-testid={format!("chat-input-{id}")} placeholder={format!("message through node {id}, Enter sends")}
                value={(*draft).clone()} oninput={on_input} onkeydown={on_key} disabled={!n.up || p.starting}
                aria-label={format!("message through node {id}")} />
            <button data-testid={format!("chat-read-{id}")} onclick={on_read} disabled={!n.up || p.starting}
                title="§6.4 ReadIndex: a linearizable read of the chat through this node">{"Read"}</button>
            </div>
            <div class="pane-foot">
                if chars > MAX_TEXT_CHARS {
                    <div class="error">{ format!("{chars}/{MAX_TEXT_CHARS} characters: too long to send") }</div>
                }
                if let Some(s) = &p.status {
                    <div class={if s.ok { "ok" } else { "error" }} data-testid={format!("chat-status-{id}")}>{ &s.text }</div>
                }
            </div>
        </section>
    }
}
