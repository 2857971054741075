//! The inspector: the selected node's state and actions, or the selected link's.

use crate::state::Dispatch;
use crate::state::{Action, Selection};
use crate::view::ClusterView;
use raftchat_core::NodeId;
use std::rc::Rc;
use yew::prelude::*;

pub struct Props {
    pub view: Rc<ClusterView>,
    pub selection: Selection,
    pub dispatch: Dispatch,
}

pub fn inspector(p: &Props) -> Html {
    let d = &p.dispatch;
    let act =
        |a: fn(NodeId) -> Action, id: NodeId| d.to_callback().reform(move |_: MouseEvent| a(id));
    let body = match p.selection {
        Selection::None => html! {
            <p class="hint">{"Click a node or a link in the cluster to inspect it and to crash, restart, time out, isolate or cut it. Click a message to drop it."}</p>
        },
        Selection::Node(id) => match p.view.node(id) {
            None => html! {},
            Some(n) => {
                let vote =
                    |v: Option<NodeId>| v.map_or("nobody".to_string(), |v| format!("node {v}"));
                let deadline = if n.up && n.role != raftchat_core::Role::Leader {
                    format!(
                        "{} (in {} ms)",
                        crate::text::seconds(n.election_deadline_ms, 3),
                        n.election_deadline_ms.saturating_sub(p.view.now_ms)
                    )
                } else {
                    "—".to_string()
                };
                html! {
                    <>
                    <h2>{ format!("Node {id}") }</h2>
                    <div class="buttons">
                        if n.up {
                            <button data-testid="inspect-crash" onclick={act(Action::Crash, id)}>{"Crash"}</button>
                            <button data-testid="inspect-timeout" onclick={act(Action::TimeoutNow, id)}>{"Time out now"}</button>
                            if n.role != raftchat_core::Role::Leader {
                                <button data-testid="inspect-make-leader" onclick={act(Action::TransferLeadership, id)}
                                    title="§3.10: the leader brings this node up to date, then tells it to start an election">{"Make leader"}</button>
                            }
                        } else {
                            <button data-testid="inspect-restart" onclick={act(Action::Restart, id)}>{"Restart"}</button>
                        }
                        <button data-testid="inspect-isolate" onclick={act(Action::Isolate, id)}>{"Isolate"}</button>
                        <button data-testid="inspect-heal" onclick={act(Action::HealNode, id)}>{"Heal links"}</button>
                        if n.up {
                            <button data-testid="inspect-compact" onclick={act(Action::Compact, id)}
                                title="Thesis ch. 5: snapshot the chat as applied so far and drop the log it covers, in memory and on disk">{"Compact now"}</button>
                        }
                        if n.retiring_at_ms.is_none() {
                            <button data-testid="inspect-remove" onclick={act(Action::RemoveNode, id)}
                                title="Thesis §4.2: the leader appends a configuration without this node; once it commits, the node shuts down">{"Remove from cluster"}</button>
                        }
                    </div>
                    <table class="facts" data-testid="inspector">
                        <tr><th>{"state"}</th><td>{ if n.up { n.role.as_str() } else { "down" } }</td><th>{"on disk"}</th></tr>
                        <tr><th>{"term"}</th><td>{ n.term }</td><td>{ n.disk_term }</td></tr>
                        <tr><th>{"voted for"}</th><td>{ vote(n.voted_for) }</td><td>{ vote(n.disk_voted_for) }</td></tr>
                        <tr><th>{"log length"}</th><td>{ n.last_index() }</td><td>{ n.disk_entries }</td></tr>
                        <tr><th>{"commit index"}</th><td>{ n.commit_index }</td><td class="dim">{"(volatile)"}</td></tr>
                        <tr><th>{"last applied"}</th><td>{ n.last_applied }</td><td class="dim">{"(volatile)"}</td></tr>
                        <tr><th>{"leader known"}</th><td>{ n.leader.map_or("none".into(), |l| format!("node {l}")) }</td><td></td></tr>
                        <tr><th>{"timer deadline"}</th><td colspan="2">{ deadline }</td></tr>
                        <tr><th>{"disk writes"}</th><td colspan="2">{ format!("{} in progress", n.pending_writes) }</td></tr>
                        <tr><th>{"membership"}</th><td colspan="2" data-testid="inspect-member">{
                            match n.retiring_at_ms {
                                Some(at) => format!("removed; shuts down at {}", crate::text::seconds(at, 3)),
                                None => format!("{} — its log says: {}", n.membership.class(), n.config),
                            }
                        }</td></tr>
                        <tr><th>{"snapshot"}</th><td colspan="2" data-testid="inspect-snapshot">{
                            match n.snapshot {
                                Some(s) => format!("up to index {} (term {}), {} bytes; log entries on disk: {}", s.index, s.term, s.bytes, n.disk_log_entries),
                                None => format!("none; log entries on disk: {}", n.disk_log_entries),
                            }
                        }</td></tr>
                        if let Some((learner, round)) = n.catching_up {
                            <tr><th>{"catching up"}</th><td colspan="2">{ format!("node {learner}, round {round} of at most {}", raftchat_core::raft::MAX_CATCH_UP_ROUNDS) }</td></tr>
                        }
                    </table>
                    if !n.progress.is_empty() {
                        <table class="facts progress">
                            <tr><th>{"follower"}</th><th>{"next"}</th><th>{"match"}</th></tr>
                            { for n.progress.iter().map(|pr| html! { <tr><td>{ pr.peer }</td><td>{ pr.next_index }</td><td>{ pr.match_index }</td></tr> }) }
                        </table>
                    }
                    </>
                }
            }
        },
        Selection::Link(a, b) => {
            let cut = |f, t| p.view.cut.contains(&(f, t));
            let link = |from: NodeId, to: NodeId, cut_it: bool| {
                d.to_callback().reform(move |_: MouseEvent| {
                    if cut_it {
                        Action::CutLink { from, to }
                    } else {
                        Action::HealLink { from, to }
                    }
                })
            };
            let both_cut = d
                .to_callback()
                .reform(move |_: MouseEvent| Action::CutLink { from: a, to: b });
            let both_cut2 = d
                .to_callback()
                .reform(move |_: MouseEvent| Action::CutLink { from: b, to: a });
            let (ab, ba) = (cut(a, b), cut(b, a));
            html! {
                <>
                <h2>{ format!("Link {a}–{b}") }</h2>
                <p>{ format!("{a}→{b}: {}; {b}→{a}: {}", if ab { "cut" } else { "up" }, if ba { "cut" } else { "up" }) }</p>
                <div class="buttons">
                    <button data-testid="link-cut-ab" onclick={link(a, b, !ab)}>{ format!("{} {a}→{b}", if ab { "Heal" } else { "Cut" }) }</button>
                    <button data-testid="link-cut-ba" onclick={link(b, a, !ba)}>{ format!("{} {b}→{a}", if ba { "Heal" } else { "Cut" }) }</button>
                    <button data-testid="link-cut-both" onclick={Callback::from(move |e: MouseEvent| { both_cut.emit(e.clone()); both_cut2.emit(e); })}>{"Cut both ways"}</button>
                    <button data-testid="link-heal" onclick={Callback::from({ let (h1, h2) = (link(a, b, false), link(b, a, false)); move |e: MouseEvent| { h1.emit(e.clone()); h2.emit(e); } })}>{"Heal"}</button>
                </div>
                </>
            }
        }
    };
    html! { <section class="inspector" aria-label="inspector">{ body }</section> }
}
