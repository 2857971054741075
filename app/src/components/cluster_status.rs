//! One row per node: role, term, commit index and log length.

use crate::state::NodeSnapshot;
use raftchat_core::NodeId;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub nodes: Vec<NodeSnapshot>,
    /// Crash (if up) or restart (if down) a node.
    pub on_toggle: Callback<NodeId>,
}

#[function_component(ClusterStatus)]
pub fn cluster_status(props: &Props) -> Html {
    html! {
        <table class="nodes">
            <thead>
                <tr><th>{"node"}</th><th>{"role"}</th><th>{"term"}</th><th>{"commit index"}</th><th>{"log length"}</th><th></th></tr>
            </thead>
            <tbody>
                { for props.nodes.iter().map(|n| row(n, &props.on_toggle)) }
            </tbody>
        </table>
    }
}

fn row(n: &NodeSnapshot, on_toggle: &Callback<NodeId>) -> Html {
    let role = if n.up { n.role.as_str() } else { "down" };
    let id = n.id;
    let onclick = on_toggle.reform(move |_: MouseEvent| id);
    html! {
        <tr data-testid={format!("node-{}", n.id)}
            data-role={n.role.as_str()}
            data-term={n.term.to_string()}
            data-down={(!n.up).to_string()}
            class={classes!("node", role)}>
            <td>{ n.id }</td>
            <td class="role">{ role }</td>
            <td>{ n.term }</td>
            <td>{ n.commit_index }</td>
            <td>{ n.log_len }</td>
            <td><button data-testid={format!("toggle-{}", n.id)} {onclick}>{ if n.up { "Crash" } else { "Restart" } }</button></td>
        </tr>
    }
}
