//! The cluster as an SVG ring: nodes (role by shape and label as well as colour,
//! term, election timer as a shrinking arc, a candidate's votes, a disk mark while
//! writing), links (cut ones drawn as such), and messages in flight moving from
//! sender to receiver in virtual time. Click a node or a link to select it, a
//! message to drop it.

use crate::feed::message_name;
use crate::state::Dispatch;
use crate::state::{Action, Selection};
use crate::view::{ClusterView, Member, MessageInfo, NodeInfo};
use raftchat_core::{MessageKind, NodeId, Role};
use std::f64::consts::PI;
use std::rc::Rc;
use yew::prelude::*;

const SIZE: f64 = 440.0;
const RING: f64 = 165.0;
const NODE_R: f64 = 30.0;

pub struct Props {
    pub view: Rc<ClusterView>,
    pub selection: Selection,
    pub dispatch: Dispatch,
    /// What a lesson's step points at.
    pub pointed: Rc<crate::lesson::Pointed>,
    /// Projector mode: larger labels (at least 18 px at 1280×720), and room
    /// around the ring for them.
    pub projector: bool,
}

/// Where node `id` sits on the ring: the nodes of the view are spread evenly,
/// in id order, so the ring re-lays out when a node joins or leaves. `None`
/// for a node no longer in the cluster.
pub fn position(v: &ClusterView, id: NodeId) -> Option<(f64, f64)> {
    let slot = v.nodes.iter().position(|n| n.id == id)?;
    Some(ring_point(slot, v.nodes.len()))
}

/// The `slot`-th of `n` evenly spaced points on the ring, from the top.
pub fn ring_point(slot: usize, n: usize) -> (f64, f64) {
    let angle = -PI / 2.0 + 2.0 * PI * slot as f64 / n.max(1) as f64;
    (
        // (The browser's sine and cosine: Rust's would add kilobytes of wasm.)
        SIZE / 2.0 + RING * js_sys::Math::cos(angle),
        SIZE / 2.0 + RING * js_sys::Math::sin(angle),
    )
}

pub fn kind_class(kind: MessageKind) -> &'static str {
    match kind {
        MessageKind::RequestVote => "m-vote-req",
        MessageKind::VoteGranted => "m-vote-yes",
        MessageKind::VoteRejected => "m-vote-no",
        MessageKind::PreVote => "m-prevote-req",
        MessageKind::PreVoteGranted => "m-vote-yes",
        MessageKind::PreVoteRejected => "m-prevote-no",
        MessageKind::Heartbeat => "m-heartbeat",
        MessageKind::AppendEntries => "m-append",
        MessageKind::AppendAccepted => "m-append-ok",
        MessageKind::AppendRejected => "m-append-no",
        MessageKind::Forward => "m-forward",
        MessageKind::ForwardAccepted => "m-forward-ok",
        MessageKind::TimeoutNow => "m-timeout-now",
        MessageKind::ReadIndex => "m-read",
        MessageKind::ReadHeartbeat => "m-read-hb",
        MessageKind::ForwardRejected => "m-forward-no",
        MessageKind::InstallSnapshot => "m-snapshot",
        MessageKind::SnapshotAck => "m-snapshot-ok",
    }
}

pub fn cluster_svg(p: &Props) -> Html {
    let v = &p.view;
    let ids: Vec<NodeId> = v.nodes.iter().map(|n| n.id).collect();
    let mut links = Vec::new();
    for (i, &a) in ids.iter().enumerate() {
        for &b in &ids[i + 1..] {
            links.push(link(
                v,
                a,
                b,
                p.selection == Selection::Link(a, b),
                p.pointed.links.contains(&(a, b)),
                &p.dispatch,
            ));
        }
    }
    html! {
        <svg class="cluster" viewBox={if p.projector { format!("-20 -20 {0} {0}", SIZE as u32 + 40) } else { format!("0 0 {0} {0}", SIZE as u32) }} role="img"
             aria-label={if v.nodes.is_empty() { "the cluster: no server is left" } else { "the cluster" }} data-testid="cluster" data-in-flight={v.messages.len().to_string()}>
            <g class="links">{ for links }</g>
            <g class="nodes">{ for v.nodes.iter().map(|node| node_view(v, node, p.selection == Selection::Node(node.id), p.pointed.nodes.contains(&node.id), p.projector, &p.dispatch)) }</g>
            <g class="messages">{ for v.messages.iter().map(|m| message(v, m, &p.dispatch)) }</g>
            { if v.nodes.is_empty() { no_server_left() } else { Html::default() } }
        </svg>
    }
}

/// Every server shut down: correct Raft never gets here (the last voter
/// cannot be removed), a broken rule can. Say why, and what to do.
fn no_server_left() -> Html {
    const LINES: [&str; 6] = [
        "No server is left.",
        "Each was shut down once a configuration",
        "without it was seen committed: with a rule",
        "broken, replicas disagree on which one did.",
        "\u{a0}",
        "Rewind on the timeline, or start a New run.",
    ];
    let top = SIZE / 2.0 - 22.0 * (LINES.len() as f64 - 1.0) / 2.0;
    html! {
        <text class="no-server" data-testid="no-server" x={fmt(SIZE / 2.0)} y={fmt(top)} text-anchor="middle">
            { for LINES.iter().enumerate().map(|(i, line)| html! {
                <tspan x={fmt(SIZE / 2.0)} dy={if i == 0 { "0".to_string() } else { "22".to_string() }}
                       class={if i == 0 { "head" } else { "" }}>{ *line }</tspan>
            }) }
        </text>
    }
}

fn link(
    v: &ClusterView,
    a: NodeId,
    b: NodeId,
    selected: bool,
    pointed: bool,
    d: &Dispatch,
) -> Html {
    let (Some((x1, y1)), Some((x2, y2))) = (position(v, a), position(v, b)) else {
        return Html::default();
    };
    let (ab, ba) = (v.cut.contains(&(a, b)), v.cut.contains(&(b, a)));
    let state = match (ab, ba) {
        (false, false) => "up",
        (true, true) => "cut",
        _ => "one-way",
    };
    let onclick = d
        .to_callback()
        .reform(move |_: MouseEvent| Action::Select(Selection::Link(a, b)));
    // A cut direction is marked with a cross near its receiving end.
    let cross = |from: (f64, f64), to: (f64, f64)| {
        let (x, y) = (to.0 + (from.0 - to.0) * 0.25, to.1 + (from.1 - to.1) * 0.25);
        html! { <text class="cut-mark" x={fmt(x)} y={fmt(y + 5.0)} text-anchor="middle">{"✕"}</text> }
    };
    html! {
        <g class={classes!("link", state, selected.then_some("selected"), pointed.then_some("pointed"))} data-testid={format!("link-{a}-{b}")} data-state={state} {onclick}>
            <line class="wire" x1={fmt(x1)} y1={fmt(y1)} x2={fmt(x2)} y2={fmt(y2)} />
            <line class="hit" x1={fmt(x1)} y1={fmt(y1)} x2={fmt(x2)} y2={fmt(y2)}>
                <title>{ format!("link {a}–{b}: click to cut or heal") }</title>
            </line>
            if ab { { cross((x1, y1), (x2, y2)) } }
            if ba { { cross((x2, y2), (x1, y1)) } }
        </g>
    }
}

fn node_view(
    v: &ClusterView,
    node: &NodeInfo,
    selected: bool,
    pointed: bool,
    projector: bool,
    d: &Dispatch,
) -> Html {
    // Where the id, the term and the role label sit (below the centre).
    let (id_dy, term_dy, label_dy) = if projector {
        (-1.0, 23.0, NODE_R + 26.0)
    } else {
        (2.0, 18.0, NODE_R + 20.0)
    };
    let (x, y) = position(v, node.id).unwrap_or((SIZE / 2.0, SIZE / 2.0));
    let id = node.id;
    let onclick = d
        .to_callback()
        .reform(move |_: MouseEvent| Action::Select(Selection::Node(id)));
    let role = node.role.as_str();
    let label = if !node.up {
        "down".to_string()
    } else {
        match node.role {
            Role::Leader => "LEADER".to_string(),
            Role::Candidate => format!("candidate {}/{}", node.votes, node.quorum),
            Role::PreCandidate => format!("pre-vote {}/{}", node.votes, node.quorum),
            Role::Follower if node.membership == Member::Learner => "learner".to_string(),
            Role::Follower if node.membership == Member::Removed => "removed".to_string(),
            Role::Follower if node.membership == Member::Joining => "joining".to_string(),
            Role::Follower => "follower".to_string(),
        }
    };
    // The election timer: the arc shrinks as the deadline nears.
    let timer = (node.up && node.role != Role::Leader).then(|| {
        let left = node.election_deadline_ms.saturating_sub(v.now_ms) as f64;
        let frac = (left / v.election_timeout_max_ms.max(1) as f64).clamp(0.0, 1.0);
        let r = NODE_R + 6.0;
        let c = 2.0 * PI * r;
        html! {
            <circle class="timer" cx={fmt(x)} cy={fmt(y)} r={fmt(r)}
                stroke-dasharray={format!("{} {}", fmt(c * frac), fmt(c))}
                transform={format!("rotate(-90 {} {})", fmt(x), fmt(y))} />
        }
    });
    let shape = match (node.up, node.role) {
        // A leader is a square, a candidate a diamond, a follower a circle.
        (true, Role::Leader) => html! {
            <rect class="body" x={fmt(x - NODE_R)} y={fmt(y - NODE_R)} width={fmt(2.0 * NODE_R)} height={fmt(2.0 * NODE_R)} rx="6" />
        },
        (true, Role::Candidate | Role::PreCandidate) => html! {
            <polygon class="body" points={format!("{},{} {},{} {},{} {},{}", fmt(x), fmt(y - NODE_R - 4.0), fmt(x + NODE_R + 4.0), fmt(y), fmt(x), fmt(y + NODE_R + 4.0), fmt(x - NODE_R - 4.0), fmt(y))} />
        },
        _ => html! { <circle class="body" cx={fmt(x)} cy={fmt(y)} r={fmt(NODE_R)} /> },
    };
    html! {
        <g class={classes!("node", role, (!node.up).then_some("down"), selected.then_some("selected"), pointed.then_some("pointed"), node.membership.class())}
           data-testid={format!("node-{id}")} data-role={role} data-term={node.term.to_string()}
           data-member={node.membership.class()}
           data-down={(!node.up).to_string()} {onclick}>
            <title>{ format!("node {id}: {label}, term {}. Click to inspect.", node.term) }</title>
            { timer.unwrap_or_default() }
            { shape }
            if !node.up {
                <text class="down-x" x={fmt(x)} y={fmt(y + 12.0)} text-anchor="middle">{"✕"}</text>
            }
            <text class="id" x={fmt(x)} y={fmt(y + id_dy)} text-anchor="middle">{ id }</text>
            <text class="term" x={fmt(x)} y={fmt(y + term_dy)} text-anchor="middle">{ format!("t{}", node.term) }</text>
            <text class="role-label" x={fmt(x)} y={fmt(y + label_dy)} text-anchor="middle">{ label }</text>
            if node.pending_writes > 0 {
                <g class="disk" data-testid={format!("disk-{id}")}>
                    <rect x={fmt(x + NODE_R - 6.0)} y={fmt(y - NODE_R - 6.0)} width="13" height="13" rx="2" />
                    <rect class="label" x={fmt(x + NODE_R - 3.0)} y={fmt(y - NODE_R - 6.0)} width="7" height="5" />
                    <title>{ format!("{} write(s) to disk in progress", node.pending_writes) }</title>
                </g>
            }
        </g>
    }
}

fn message(v: &ClusterView, m: &MessageInfo, d: &Dispatch) -> Html {
    // A message from or to a server that has left the cluster is not drawn.
    let (Some((x1, y1)), Some((x2, y2))) = (position(v, m.from), position(v, m.to)) else {
        return Html::default();
    };
    // A held message waits a third of the way along its link.
    let t = if m.held {
        0.33
    } else {
        let span = m.deliver_ms.saturating_sub(m.sent_ms).max(1) as f64;
        (v.now_ms.saturating_sub(m.sent_ms) as f64 / span).clamp(0.0, 1.0)
    };
    // Offset to the right of the direction of travel, so that the two directions
    // of one link do not overlap.
    let (dx, dy) = (x2 - x1, y2 - y1);
    let len = (dx * dx + dy * dy).sqrt().max(1.0);
    let (ox, oy) = (-dy / len * 6.0, dx / len * 6.0);
    let (x, y) = (x1 + dx * t + ox, y1 + dy * t + oy);
    let (id, held) = (m.id, m.held);
    let onclick = d.to_callback().reform(move |e: MouseEvent| {
        e.stop_propagation();
        if held {
            Action::DeliverMessage(id)
        } else {
            Action::DropMessage(id)
        }
    });
    let r = match m.kind {
        MessageKind::Heartbeat => 5.0,
        MessageKind::AppendEntries => 9.0,
        _ => 7.0,
    };
    html! {
        <g class={classes!("msg", kind_class(m.kind), held.then_some("held"))} data-testid="message" data-kind={message_name(m.kind)}
           data-held={held.then_some("true")} data-id={id.to_string()} {onclick}>
            <title>{ format!("{} {}→{}{} — click to {}", message_name(m.kind), m.from, m.to,
                if m.entries > 0 { format!(" ({} entries)", m.entries) } else { String::new() },
                if held { "deliver it" } else { "drop it" }) }</title>
            <circle cx={fmt(x)} cy={fmt(y)} r={fmt(r)} />
            if m.entries > 0 {
                <text x={fmt(x)} y={fmt(y + 3.5)} text-anchor="middle">{ m.entries }</text>
            }
        </g>
    }
}

fn fmt(v: f64) -> String {
    crate::text::tenths(v)
}
