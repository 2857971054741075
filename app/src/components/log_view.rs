//! The log grid: one row per node, one cell per index, coloured by term;
//! committed cells solid, uncommitted ones hatched; the leader's next and match
//! index for each follower marked; indexes compacted into a snapshot shown as
//! such, with the boundary marked.

use crate::view::{CellKind, ClusterView};
use raftchat_core::{Index, Role};
use std::rc::Rc;
use yew::prelude::*;

/// Indexes shown: the most recent ones.
const COLUMNS: u64 = 32;

pub struct Props {
    pub view: Rc<ClusterView>,
    /// An index a broken safety property is about: its cells are marked.
    pub highlight: Option<Index>,
    /// What a lesson's step points at.
    pub pointed: Rc<crate::lesson::Pointed>,
}

/// A colour per term, far apart for neighbouring terms.
pub fn term_colour(term: u64) -> String {
    format!("hsl({}, 65%, 62%)", (term * 67) % 360)
}

pub fn log_view(p: &Props) -> Html {
    let v = &p.view;
    let last = v.nodes.iter().map(|n| n.last_index()).max().unwrap_or(0);
    let first: Index = last.saturating_sub(COLUMNS - 1).max(1);
    let leader = v
        .nodes
        .iter()
        .find(|n| n.up && n.role == Role::Leader && Some((n.id, n.term)) == v.leader);
    html! {
        <section class={classes!("log-view", p.pointed.log.then_some("pointed"))} aria-label="logs">
            <h2>{"Logs"}<span class="hint">{ format!(" {}; solid = committed, hatched = not yet; grey S = in the node's snapshot; n/m = leader's next/match index",
                if last == 0 { "no entries yet".to_string() } else { format!("indexes {first}–{last}") }) }</span></h2>
            <table class="log-grid" data-testid="log-grid">
                <thead><tr><th></th>{ for (first..=last.max(first)).map(|i| html! { <th>{ i }</th> }) }</tr></thead>
                <tbody>
                { for v.nodes.iter().map(|n| {
                    let progress = leader.and_then(|l| l.progress.iter().find(|pr| pr.peer == n.id).copied());
                    html! {
                        <tr class={classes!((!n.up).then_some("down"))} data-testid={format!("log-row-{}", n.id)}
                            data-disk-term={n.disk_term.to_string()} data-disk-entries={n.disk_log_entries.to_string()}
                            data-disk-last={n.disk_entries.to_string()}>
                            <th>{ format!("node {}", n.id) }
                                if let Some(s) = n.snapshot {
                                    <span class="snap-label" data-testid={format!("snap-{}", n.id)} data-index={s.index.to_string()}>{ format!(" snapshot ≤ {}", s.index) }</span>
                                }
                            </th>
                            { for (first..=last.max(first)).map(|i| {
                                let cell = n.log.iter().rev().find(|c| c.index == i);
                                let mut marks = String::new();
                                if progress.is_some_and(|pr| pr.next_index == i) { marks.push('n'); }
                                if progress.is_some_and(|pr| pr.match_index == i) { marks.push('m'); }
                                match cell {
                                    Some(c) => {
                                        let committed = i <= n.commit_index;
                                        let style = format!("--term: {}", term_colour(c.term));
                                        let kind = match c.kind { CellKind::Noop => "noop", CellKind::Chat => "chat", CellKind::Config => "config" };
                                        html! {
                                            <td class={classes!("cell", kind, if committed { "committed" } else { "uncommitted" }, (p.highlight == Some(i)).then_some("violated"), p.pointed.cells.contains(&(n.id, i)).then_some("pointed"))} {style}
                                                title={format!("index {i}, term {}, {kind}{}", c.term, if committed { ", committed" } else { ", not known committed" })}>
                                                { c.term }{ if marks.is_empty() { html!{} } else { html! { <sub class="marks">{ marks }</sub> } } }
                                            </td>
                                        }
                                    }
                                    None if n.snapshot.is_some_and(|s| i <= s.index) => {
                                        let edge = n.snapshot.is_some_and(|s| i == s.index);
                                        html! {
                                            <td class={classes!("cell", "snap", edge.then_some("snap-edge"))}
                                                title={format!("index {i}: compacted into node {}'s snapshot", n.id)}>{"S"}</td>
                                        }
                                    }
                                    None => html! { <td class="cell empty">{ if marks.is_empty() { html!{} } else { html! { <sub class="marks">{ marks }</sub> } } }</td> },
                                }
                            }) }
                        </tr>
                    }
                }) }
                </tbody>
            </table>
        </section>
    }
}
