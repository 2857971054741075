//! Hold mode: the user is the network. Every message waits on its link until
//! it is delivered, dropped or duplicated by hand, and the run, recorded as a
//! recipe, replays exactly.

use raftchat_core::recipe::{Action, Recipe};
use raftchat_core::sim::{SimConfig, Simulator};
use raftchat_core::timeline::Timeline;
use raftchat_core::*;

fn three_nodes() -> SimConfig {
    SimConfig {
        nodes: 3,
        seed: 11,
        // Long election timeouts: only the elections the test starts happen.
        election_timeout_min_ms: 5_000,
        election_timeout_max_ms: 6_000,
        heartbeat_interval_ms: 1_000,
        ..SimConfig::default()
    }
}

/// The held messages, in send order: (id, from, to, kind).
fn held(sim: &Simulator<ChatRoom>) -> Vec<(u64, NodeId, NodeId, MessageKind)> {
    sim.in_flight()
        .filter(|m| m.held)
        .map(|m| (m.id, m.message.from, m.message.to, m.message.kind()))
        .collect()
}

fn role(sim: &Simulator<ChatRoom>, id: NodeId) -> Role {
    sim.node(id)
        .and_then(|v| v.node)
        .map(|n| n.raft().role())
        .expect("the node is up")
}

fn term(sim: &Simulator<ChatRoom>, id: NodeId) -> Term {
    sim.node(id)
        .and_then(|v| v.node)
        .map(|n| n.raft().term())
        .expect("the node is up")
}

/// The held message from `from` to `to` of `kind`.
fn find(sim: &Simulator<ChatRoom>, from: NodeId, to: NodeId, kind: MessageKind) -> u64 {
    held(sim)
        .into_iter()
        .find(|&(_, f, t, k)| (f, t, k) == (from, to, kind))
        .map(|(id, ..)| id)
        .unwrap_or_else(|| panic!("no held {kind:?} {from}→{to}: {:?}", held(sim)))
}

#[test]
fn held_messages_wait_until_delivered_one_at_a_time() {
    let mut t = Timeline::new(three_nodes()).unwrap();
    t.act(Action::Hold(true)).unwrap();
    t.act(Action::Timeout(1)).unwrap();
    // The candidate's vote is durable within the disk latency; then it asks.
    t.advance(100).unwrap();
    let asks = held(t.sim());
    assert_eq!(
        asks.iter()
            .map(|&(_, f, to, k)| (f, to, k))
            .collect::<Vec<_>>(),
        vec![
            (1, 2, MessageKind::RequestVote),
            (1, 3, MessageKind::RequestVote)
        ],
        "both vote requests wait on their links"
    );
    // Time passes; nothing moves by itself.
    t.advance(2_000).unwrap();
    assert_eq!(held(t.sim()), asks);
    assert_eq!(role(t.sim(), 1), Role::Candidate);
    assert_eq!(term(t.sim(), 2), 0, "node 2 has not heard of term 1");

    // Deliver the request to node 2 only; its vote comes back held.
    t.act(Action::Deliver(asks[0].0)).unwrap();
    t.advance(2_100).unwrap();
    assert_eq!(term(t.sim(), 2), 1);
    let vote = find(t.sim(), 2, 1, MessageKind::VoteGranted);
    // A duplicate of the vote: two copies wait.
    t.act(Action::Duplicate(vote)).unwrap();
    let copies: Vec<u64> = held(t.sim())
        .iter()
        .filter(|m| m.3 == MessageKind::VoteGranted)
        .map(|m| m.0)
        .collect();
    assert_eq!(copies.len(), 2, "{:?}", held(t.sim()));
    t.act(Action::Deliver(vote)).unwrap();
    assert_eq!(role(t.sim(), 1), Role::Leader, "2 of 3 votes elect node 1");
    // The second copy is harmless; node 3 still has not heard of term 1.
    t.act(Action::Deliver(copies[1])).unwrap();
    assert_eq!(role(t.sim(), 1), Role::Leader);
    assert_eq!(term(t.sim(), 3), 0);
    // Drop the stale request to node 3.
    t.act(Action::DropMessage(asks[1].0)).unwrap();
    assert!(held(t.sim())
        .iter()
        .all(|&(id, ..)| id != asks[1].0 && id != vote));

    // Errors are clear and change nothing.
    let before = held(t.sim());
    let e = t.act(Action::Deliver(asks[1].0)).unwrap_err();
    assert!(e.contains("not in flight"), "{e}");
    assert_eq!(held(t.sim()), before);

    // Hold off: what waits sets out, and the cluster converges.
    t.advance(2_500).unwrap();
    t.act(Action::Hold(false)).unwrap();
    t.advance(4_000).unwrap();
    assert!(held(t.sim()).is_empty());
    assert_eq!(term(t.sim(), 3), 1, "node 3 heard from the leader");
    assert_eq!(t.sim().leader(), Some(1));
    assert!(t.violations().is_empty(), "{:?}", t.violations());

    // The run replays exactly from its recipe (JSON, and a link's form).
    let recipe = t.recipe();
    for json in [recipe.to_json(), recipe.to_link_json()] {
        let again = Recipe::from_json(&json).unwrap();
        let mut replay = Timeline::from_recipe(&again).unwrap();
        replay.seek(4_000).unwrap();
        assert_eq!(replay.sim().leader(), Some(1));
        assert_eq!(
            replay.sim().stats().messages_sent,
            t.sim().stats().messages_sent
        );
        assert_eq!(term(replay.sim(), 3), 1);
    }
}

#[test]
fn a_message_that_is_not_held_cannot_be_delivered_by_hand() {
    let mut sim = Simulator::<ChatRoom>::new(three_nodes()).unwrap();
    sim.timeout_now(1).unwrap();
    sim.run_until(4);
    let Some(m) = sim.in_flight().next().map(|m| m.id) else {
        panic!("a vote request is in flight");
    };
    let e = sim.deliver_now(m).unwrap_err();
    assert!(e.contains("not held"), "{e}");
    assert_eq!(
        sim.deliver_now(999_999).unwrap_err(),
        "message 999999 is not in flight"
    );
    assert!(sim.next_held().is_none());
}

#[test]
fn a_held_message_on_a_link_cut_later_is_lost_when_delivered() {
    let mut sim = Simulator::<ChatRoom>::new(three_nodes()).unwrap();
    sim.set_hold(true);
    sim.timeout_now(1).unwrap();
    sim.run_until(100);
    let id = find(&sim, 1, 2, MessageKind::RequestVote);
    sim.cut_link(1, 2).unwrap();
    sim.deliver_now(id).unwrap();
    assert_eq!(term(&sim, 2), 0, "the cut link lost it");
    // A message sent on a cut link is never held.
    sim.timeout_now(1).unwrap();
    sim.run_until(200);
    assert!(held(&sim).iter().all(|&(_, f, t, _)| (f, t) != (1, 2)));
    assert_eq!(
        sim.next_held(),
        Some(find(&sim, 1, 3, MessageKind::RequestVote))
    );
}
