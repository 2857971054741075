//! The simulator and the invariant checker on scripted scenarios.

use raftchat_core::checker::Checker;
use raftchat_core::sim::{Event, EventKind, NetConfig, SimConfig, Simulator};
use raftchat_core::state_machine::{CommandMeta, StateMachine};
use raftchat_core::*;
use std::collections::BTreeMap;

fn chat(author: &str, text: &str) -> ChatCommand {
    ChatCommand::new(author, text).unwrap()
}

fn req(client: ClientId, seq: u64, text: &str) -> Request<ChatCommand> {
    Request {
        client,
        seq,
        command: chat("ada", text),
    }
}

/// Runs to `t_ms`, checking every invariant after every step.
fn run_checked<M>(sim: &mut Simulator<M>, checker: &mut Checker<M::Command>, t_ms: u64)
where
    M: raftchat_core::state_machine::StateMachine + PartialEq + 'static,
{
    while sim.next_event_ms().is_some_and(|t| t <= t_ms) {
        sim.step();
        if let Err(v) = checker.check(sim) {
            panic!("{v}");
        }
    }
    sim.run_until(t_ms);
}

fn chat_of(sim: &Simulator<ChatRoom>, id: NodeId) -> Vec<String> {
    sim.node(id)
        .and_then(|v| v.node)
        .map(|n| {
            n.replica()
                .machine()
                .messages()
                .map(|m| m.text().to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn outcomes(events: &[Event]) -> Vec<(NodeId, ClientId, u64, Outcome)> {
    events
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::ClientOutcome {
                node,
                client,
                seq,
                outcome,
                ..
            } => Some((node, client, seq, outcome)),
            _ => None,
        })
        .collect()
}

/// A scripted run with user actions at fixed virtual times.
fn scripted_trace(seed: u64) -> Vec<Event> {
    let cfg = SimConfig {
        seed,
        net: NetConfig {
            latency_min_ms: 2,
            latency_max_ms: 40,
            drop_rate: 0.1,
            duplicate_rate: 0.1,
        },
        ..SimConfig::default()
    };
    let mut sim = Simulator::<ChatRoom>::new(cfg).unwrap();
    let mut trace = Vec::new();
    for t in (0..6_000).step_by(100) {
        sim.run_until(t);
        match t {
            1_000 => sim.submit(2, req(1, 1, "hello")).unwrap(),
            1_500 => sim.crash(sim.leader().unwrap_or(1)).unwrap(),
            2_000 => sim.isolate(3).unwrap(),
            2_500 => sim.submit(4, req(1, 2, "world")).unwrap(),
            3_000 => sim.heal_all(),
            3_500 => {
                for id in 1..=5 {
                    let _ = sim.restart(id);
                }
            }
            4_000 => sim.timeout_now(5).unwrap(),
            _ => {}
        }
        trace.extend(sim.take_events());
    }
    trace
}

#[test]
fn the_same_seed_and_actions_give_the_same_run_event_for_event() {
    let a = scripted_trace(42);
    let b = scripted_trace(42);
    assert!(a.len() > 1_000, "a real run: {} events", a.len());
    assert_eq!(a, b);
    let c = scripted_trace(43);
    assert_ne!(a, c, "another seed gives another run");
}

#[test]
fn a_message_through_a_follower_reaches_every_replica() {
    let mut sim = Simulator::<ChatRoom>::new(SimConfig::default()).unwrap();
    let mut checker = Checker::new();
    run_checked(&mut sim, &mut checker, 1_000);
    let leader = sim.leader().expect("a leader within a second");
    let follower = (1..=5).find(|&i| i != leader).unwrap();
    sim.submit(follower, req(9, 1, "<script>alert(1)</script>"))
        .unwrap();
    run_checked(&mut sim, &mut checker, 2_000);
    for id in 1..=5 {
        assert_eq!(
            chat_of(&sim, id),
            vec!["<script>alert(1)</script>"],
            "replica {id}"
        );
    }
    let out = outcomes(&sim.take_events());
    assert!(
        matches!(out[..], [(n, 9, 1, Outcome::Committed { .. })] if n == follower),
        "{out:?}"
    );
}

#[test]
fn a_retried_request_is_applied_exactly_once() {
    // Raft thesis §6.3: the state machine tracks the latest serial number per
    // client and does not re-apply a request it has seen.
    let mut sim = Simulator::<ChatRoom>::new(SimConfig::default()).unwrap();
    let mut checker = Checker::new();
    run_checked(&mut sim, &mut checker, 1_000);
    for node in 1..=5 {
        sim.submit(node, req(3, 1, "once")).unwrap(); // the same request, through every node
    }
    run_checked(&mut sim, &mut checker, 3_000);
    sim.submit(2, req(3, 1, "once")).unwrap(); // and a late retry
    run_checked(&mut sim, &mut checker, 4_000);
    for id in 1..=5 {
        assert_eq!(chat_of(&sim, id), vec!["once"], "replica {id}");
    }
    let out = outcomes(&sim.take_events());
    let indexes: Vec<Index> = out
        .iter()
        .map(|o| match o.3 {
            Outcome::Committed { index, .. } => index,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(indexes.len(), 6, "every submission got an answer");
    assert!(
        indexes.windows(2).all(|w| w[0] == w[1]),
        "all report the one index: {indexes:?}"
    );
}

#[test]
fn every_request_ends_with_a_clear_outcome() {
    let cfg = SimConfig {
        request_timeout_ms: 1_000,
        max_queued_requests: 1,
        ..SimConfig::default()
    };
    let mut sim = Simulator::<ChatRoom>::new(cfg).unwrap();
    sim.run_until(1_000);
    let leader = sim.leader().unwrap();
    let others: Vec<NodeId> = (1..=5).filter(|&i| i != leader).collect();
    // Through a down node: fails at once.
    sim.crash(others[0]).unwrap();
    sim.submit(others[0], req(1, 1, "to a down node")).unwrap();
    // A node cut off from everyone knows no leader after its election timeout:
    // it queues one request, refuses the next, and the queued one times out.
    sim.isolate(others[1]).unwrap();
    sim.run_until(2_000);
    sim.submit(others[1], req(1, 2, "queued")).unwrap();
    sim.submit(others[1], req(1, 3, "queue full")).unwrap();
    // A leader cut off from the majority accepts a request that can never commit;
    // once the majority's new leader overwrites it, the request fails.
    sim.isolate(leader).unwrap();
    sim.submit(leader, req(1, 4, "to a deposed leader"))
        .unwrap();
    sim.run_until(2_700);
    sim.heal_all();
    sim.run_until(5_000);
    let out: BTreeMap<u64, Outcome> = outcomes(&sim.take_events())
        .into_iter()
        .map(|o| (o.2, o.3))
        .collect();
    assert_eq!(out[&1], Outcome::Failed(FailReason::NodeCrashed));
    assert_eq!(out[&3], Outcome::Failed(FailReason::QueueFull));
    assert!(
        matches!(
            out[&2],
            Outcome::Failed(FailReason::TimedOut) | Outcome::Committed { .. }
        ),
        "{:?}",
        out[&2]
    );
    assert_eq!(out[&4], Outcome::Failed(FailReason::Overwritten));
    assert!(!chat_of(&sim, leader).contains(&"to a deposed leader".to_string()));
}

#[test]
fn a_crash_loses_writes_that_were_not_yet_durable() {
    // Disk writes take 50 ms here: a node that crashes right after appending keeps
    // only what completed, and its messages for the lost write never left.
    let cfg = SimConfig {
        disk_latency_min_ms: 50,
        disk_latency_max_ms: 50,
        ..SimConfig::default()
    };
    let mut sim = Simulator::<ChatRoom>::new(cfg).unwrap();
    sim.run_until(2_000);
    let leader = sim.leader().unwrap();
    let durable =
        |sim: &Simulator<ChatRoom>, id| sim.node(id).unwrap().storage.load().unwrap().entries.len();
    let before = durable(&sim, leader);
    sim.submit(leader, req(1, 1, "lost")).unwrap();
    sim.run_until(sim.now_ms() + 10);
    assert_eq!(sim.node(leader).unwrap().pending_writes(), 1);
    sim.crash(leader).unwrap();
    assert_eq!(durable(&sim, leader), before, "the write did not complete");
    sim.restart(leader).unwrap();
    let log_len = sim
        .node(leader)
        .unwrap()
        .node
        .unwrap()
        .raft()
        .log()
        .last_index();
    assert_eq!(log_len as usize, before, "rebuilt from storage only");
    sim.run_until(4_000);
    for id in 1..=5 {
        assert!(
            chat_of(&sim, id).is_empty(),
            "the entry never left node {leader}"
        );
    }
}

/// A small key-value machine: the core is generic over the state machine.
#[derive(Default, PartialEq, serde::Serialize, serde::Deserialize)]
struct Kv(BTreeMap<String, String>);

#[derive(Clone, Debug, PartialEq)]
enum KvCommand {
    Set(String, String),
    Delete(String),
}

impl StateMachine for Kv {
    type Command = KvCommand;
    fn apply(&mut self, _meta: CommandMeta, command: &KvCommand) {
        match command {
            KvCommand::Set(k, v) => {
                self.0.insert(k.clone(), v.clone());
            }
            KvCommand::Delete(k) => {
                self.0.remove(k);
            }
        }
    }
}

impl Kv {
    fn get(&self, k: &str) -> Option<&str> {
        self.0.get(k).map(String::as_str)
    }
}

#[test]
fn a_key_value_machine_replicates_too() {
    let cfg = SimConfig {
        nodes: 3,
        net: NetConfig {
            drop_rate: 0.2,
            ..NetConfig::default()
        },
        ..SimConfig::default()
    };
    let mut sim = Simulator::<Kv>::new(cfg).unwrap();
    let mut checker = Checker::new();
    run_checked(&mut sim, &mut checker, 1_000);
    let set = |seq, k: &str, v: &str| Request {
        client: 1,
        seq,
        command: KvCommand::Set(k.into(), v.into()),
    };
    sim.submit(1, set(1, "x", "1")).unwrap();
    sim.submit(2, set(2, "y", "2")).unwrap();
    run_checked(&mut sim, &mut checker, 2_000);
    for id in 1..=3 {
        let kv = sim.node(id).unwrap().node.unwrap().replica().machine();
        assert_eq!(
            (kv.get("x"), kv.get("y")),
            (Some("1"), Some("2")),
            "replica {id}"
        );
    }
    sim.submit(
        3,
        Request {
            client: 1,
            seq: 3,
            command: KvCommand::Delete("x".into()),
        },
    )
    .unwrap();
    sim.submit(3, set(4, "y", "3")).unwrap();
    run_checked(&mut sim, &mut checker, 4_000);
    for id in 1..=3 {
        let kv = sim.node(id).unwrap().node.unwrap().replica().machine();
        assert_eq!(
            (kv.get("x"), kv.get("y")),
            (None, Some("3")),
            "replica {id}"
        );
    }
}

#[test]
fn figure_8_an_earlier_term_entry_on_a_majority_is_not_committed() {
    // Raft paper, Figure 8, played out. Elections happen only when forced.
    let cfg = SimConfig {
        election_timeout_min_ms: 100_000,
        election_timeout_max_ms: 200_000,
        max_entries_per_append: 1,
        disk_latency_min_ms: 0,
        disk_latency_max_ms: 0,
        net: NetConfig {
            latency_min_ms: 5,
            latency_max_ms: 5,
            ..NetConfig::default()
        },
        ..SimConfig::default()
    };
    let mut sim = Simulator::<ChatRoom>::new(cfg).unwrap();
    let mut checker = Checker::new();
    let raft = |sim: &Simulator<ChatRoom>, id| {
        let n = sim.node(id).unwrap().node.unwrap();
        (
            n.raft().role(),
            n.raft().term(),
            n.raft()
                .log()
                .entries()
                .iter()
                .map(|e| e.term)
                .collect::<Vec<_>>(),
        )
    };
    let elect = |sim: &mut Simulator<ChatRoom>, checker: &mut Checker<ChatCommand>, id| {
        for _ in 0..5 {
            sim.timeout_now(id).unwrap();
            let t = sim.now_ms() + 30;
            run_checked(sim, checker, t);
            if raft(sim, id).0 == Role::Leader {
                return;
            }
        }
        let states: Vec<_> = (1..=5)
            .map(|i| {
                (
                    i,
                    sim.node(i).unwrap().node.map(|n| {
                        (
                            n.raft().role(),
                            n.raft().term(),
                            n.raft().voted_for(),
                            n.raft()
                                .log()
                                .entries()
                                .iter()
                                .map(|e| e.term)
                                .collect::<Vec<_>>(),
                        )
                    }),
                )
            })
            .collect();
        panic!("node {id} was not elected: {states:?}");
    };

    // S1 leads term 1; its no-op reaches everyone.
    elect(&mut sim, &mut checker, 1);
    run_checked(&mut sim, &mut checker, 200);
    // (a) S1 replicates entry 2 to S2 only.
    for o in 3..=5 {
        sim.cut_link(1, o).unwrap();
        sim.cut_link(o, 1).unwrap();
    }
    sim.submit(1, req(1, 1, "x")).unwrap();
    run_checked(&mut sim, &mut checker, 300);
    assert_eq!(raft(&sim, 2).2, vec![1, 1]);
    // (b) S1 crashes; S5 is elected by S3, S4 and itself, and appends entry 2 of
    // its own term, which reaches no one.
    sim.crash(1).unwrap();
    sim.heal_all();
    sim.timeout_now(5).unwrap();
    while raft(&sim, 5).0 != Role::Leader {
        sim.step();
        checker.check(&sim).unwrap();
    }
    sim.isolate(5).unwrap();
    let s5_term = raft(&sim, 5).1;
    assert_eq!(raft(&sim, 5).2, vec![1, s5_term]);
    // (c) S5 crashes; S1 restarts, is elected, and brings S3 up to date entry by
    // entry. The moment S3 holds entry 2 (term 1), that entry is on a majority
    // (S1, S2, S3), but it is of an earlier term.
    let t = sim.now_ms() + 20;
    run_checked(&mut sim, &mut checker, t);
    sim.crash(5).unwrap();
    sim.heal_all();
    sim.restart(1).unwrap();
    sim.cut_link(1, 4).unwrap();
    elect(&mut sim, &mut checker, 1);
    let s1_term = raft(&sim, 1).1;
    let s3_match = |sim: &Simulator<ChatRoom>| {
        sim.node(1)
            .unwrap()
            .node
            .unwrap()
            .raft()
            .progress()
            .get(&3)
            .map_or(0, |p| p.match_index)
    };
    while s3_match(&sim) < 2 {
        assert!(sim.step());
        checker.check(&sim).unwrap();
        assert_eq!(raft(&sim, 1).0, Role::Leader);
    }
    assert_eq!(raft(&sim, 3).2, vec![1, 1]);
    // §5.4.2: it must not be committed by counting replicas...
    let s1_commit = sim.node(1).unwrap().node.unwrap().raft().commit_index();
    assert!(
        s1_commit < 2,
        "entry 2 of term 1 was committed by counting replicas in term {s1_term}"
    );
    // ...because S1 may crash before its own entry 3 is on a majority, and then (d)
    // S5 can be elected by S3 and S4 and overwrite entry 2 everywhere.
    sim.cut_link(1, 3).unwrap();
    sim.crash(1).unwrap();
    let t = sim.now_ms() + 20; // what S1 had in flight to S3 meets the cut
    run_checked(&mut sim, &mut checker, t);
    sim.heal_all();
    sim.restart(5).unwrap();
    sim.crash(2).unwrap();
    elect(&mut sim, &mut checker, 5);
    let t = sim.now_ms() + 300;
    run_checked(&mut sim, &mut checker, t);
    assert_eq!(
        raft(&sim, 3).2[..2],
        [1, s5_term],
        "S3's entry 2 was replaced by S5's"
    );
}

#[test]
fn after_faults_heal_a_leader_is_elected_and_every_acknowledged_message_arrives() {
    // Liveness: the bound is checked for every campaign seed too; this is the
    // textbook case of a leader isolated with a minority.
    let cfg = SimConfig {
        nodes: 5,
        ..SimConfig::default()
    };
    let mut sim = Simulator::<ChatRoom>::new(cfg).unwrap();
    let mut checker = Checker::new();
    run_checked(&mut sim, &mut checker, 1_000);
    let old = sim.leader().unwrap();
    let minority = [old, old % 5 + 1];
    for a in minority {
        for b in (1..=5).filter(|b| !minority.contains(b)) {
            sim.cut_link(a, b).unwrap();
            sim.cut_link(b, a).unwrap();
        }
    }
    let majority_node = (1..=5).find(|n| !minority.contains(n)).unwrap();
    for seq in 1..=5 {
        sim.submit(
            majority_node,
            req(4, seq, &format!("during partition {seq}")),
        )
        .unwrap();
        sim.submit(old, req(5, seq, &format!("to old leader {seq}")))
            .unwrap();
    }
    run_checked(&mut sim, &mut checker, 4_000);
    let new = sim.leader().unwrap();
    assert!(
        !minority.contains(&new),
        "the majority elected a leader of its own"
    );
    sim.heal_all();
    let healed = sim.now_ms();
    let acked = || sim.acks().len();
    let _ = acked;
    let mut converged_at = None;
    while sim.now_ms() < healed + 2_000 {
        let t = sim.now_ms() + 10;
        run_checked(&mut sim, &mut checker, t);
        let all = (1..=5).all(|id| {
            let n = sim.node(id).unwrap().node.unwrap();
            sim.acks()
                .iter()
                .all(|&(c, s, _)| n.replica().applied_at(c, s).is_some())
        });
        if all && sim.leader().is_some() {
            converged_at = Some(sim.now_ms() - healed);
            break;
        }
    }
    let ms = converged_at.expect("converged within 2 s of healing");
    assert!(
        sim.acks().len() >= 5,
        "the majority kept committing: {} acks",
        sim.acks().len()
    );
    println!("converged {ms} ms after healing");
}

#[test]
fn a_forwarded_message_enters_the_log_once_in_a_healthy_cluster() {
    // The leader acknowledges a forwarded request, so the follower does not
    // resend it while it is being replicated (a second copy would be applied
    // only once, but would clutter every log).
    let cfg = SimConfig {
        net: NetConfig {
            latency_min_ms: 20,
            latency_max_ms: 40,
            ..NetConfig::default()
        },
        ..SimConfig::default()
    };
    let mut sim = Simulator::<ChatRoom>::new(cfg).unwrap();
    let mut checker = Checker::new();
    run_checked(&mut sim, &mut checker, 2_000);
    let leader = sim.leader().unwrap();
    for (i, follower) in (1..=5).filter(|&n| n != leader).enumerate() {
        sim.submit(follower, req(follower as u64, 1, &format!("m{i}")))
            .unwrap();
    }
    run_checked(&mut sim, &mut checker, 5_000);
    let log = sim
        .node(leader)
        .unwrap()
        .node
        .unwrap()
        .raft()
        .log()
        .entries()
        .to_vec();
    let commands = log
        .iter()
        .filter(|e| matches!(e.payload, Payload::Command(_)))
        .count();
    assert_eq!(commands, 4, "one entry per message: {log:?}");
    for id in 1..=5 {
        assert_eq!(chat_of(&sim, id).len(), 4);
    }
}

/// A driver whose disk confirms every write as soon as it is handed out.
fn run_with_external_disk(seed: u64, until_ms: u64) -> Vec<Event> {
    let cfg = SimConfig {
        seed,
        ..SimConfig::default()
    };
    let mut sim = Simulator::<ChatRoom>::new(cfg).unwrap();
    sim.set_external_disk(true);
    let mut trace = Vec::new();
    let mut sent = false;
    while sim.now_ms() < until_ms {
        for w in sim.take_disk_writes() {
            // Handed out only once virtual time has reached the write's
            // completion: the real disk never holds what is not yet durable.
            assert_eq!(sim.waiting_for_disk(), Some(w.node));
            sim.confirm_write(w.node, w.incarnation, w.write_id);
        }
        if !sent && sim.now_ms() >= 1_000 {
            sim.submit(2, req(1, 1, "through the real disk")).unwrap();
            sent = true;
        }
        let t = (sim.now_ms() + 1).min(until_ms);
        sim.run_until(t);
        trace.extend(sim.take_events());
    }
    trace
}

#[test]
fn an_external_disk_gives_the_same_run_as_the_simulated_one() {
    let cfg = SimConfig {
        seed: 5,
        ..SimConfig::default()
    };
    let mut sim = Simulator::<ChatRoom>::new(cfg).unwrap();
    let mut trace = Vec::new();
    let mut sent = false;
    while sim.now_ms() < 3_000 {
        if !sent && sim.now_ms() >= 1_000 {
            sim.submit(2, req(1, 1, "through the real disk")).unwrap();
            sent = true;
        }
        let t = sim.now_ms() + 1;
        sim.run_until(t);
        trace.extend(sim.take_events());
    }
    let external = run_with_external_disk(5, 3_000);
    assert!(trace.len() > 500);
    assert_eq!(
        trace, external,
        "virtual time does not depend on how fast the real disk is"
    );
}

#[test]
fn virtual_time_waits_for_a_write_the_driver_has_not_made_durable() {
    let mut sim = Simulator::<ChatRoom>::new(SimConfig::default()).unwrap();
    sim.set_external_disk(true);
    sim.run_until(5_000);
    // The first election's term and vote must be written: the run stops there.
    let waiting = sim.waiting_for_disk().expect("waiting for a disk");
    let stopped_at = sim.now_ms();
    assert!(stopped_at < 1_000, "stopped at {stopped_at} ms");
    assert!(!sim.step(), "no event passes an unconfirmed write");
    let writes = sim.take_disk_writes();
    assert!(writes
        .iter()
        .any(|w| w.node == waiting && w.write.hard_state.is_some()));
    for w in &writes {
        sim.confirm_write(w.node, w.incarnation, w.write_id);
    }
    assert!(sim.step(), "confirmed: the run goes on");
    // A crash voids the node's pending writes: nothing waits for them.
    let mut checker = Checker::new();
    for _ in 0..10_000 {
        if let Some(node) = sim.waiting_for_disk() {
            sim.crash(node).unwrap();
            assert!(sim.take_disk_writes().iter().all(|w| w.node != node));
            assert_ne!(sim.waiting_for_disk(), Some(node));
            break;
        }
        for w in sim.take_disk_writes() {
            if w.node != 3 {
                sim.confirm_write(w.node, w.incarnation, w.write_id);
            }
        }
        sim.step();
        checker.check(&sim).unwrap();
    }
}

#[test]
fn restart_from_uses_only_the_state_read_back_from_disk() {
    let mut sim = Simulator::<ChatRoom>::new(SimConfig::default()).unwrap();
    sim.run_until(2_000);
    sim.crash(4).unwrap();
    let mut persisted = sim.node(4).unwrap().storage.load().unwrap();
    persisted.hard_state.term = 42; // as if the database said so
    sim.restart_from(4, persisted).unwrap();
    let view = sim.node(4).unwrap();
    assert_eq!(view.node.unwrap().raft().term(), 42);
    assert_eq!(view.storage.load().unwrap().hard_state.term, 42);
    assert!(
        sim.restart_from(4, view.storage.load().unwrap()).is_err(),
        "already up"
    );
}

/// Isolates a follower for 3 s, heals, and reports (leader before, leader and
/// its term after, the returning node's highest term).
fn isolated_follower_returns(
    pre_vote: bool,
    check_quorum: bool,
) -> ((NodeId, Term), (NodeId, Term)) {
    let cfg = SimConfig {
        seed: 11,
        pre_vote,
        check_quorum,
        ..SimConfig::default()
    };
    let mut sim = Simulator::<ChatRoom>::new(cfg).unwrap();
    let mut checker = Checker::new();
    run_checked(&mut sim, &mut checker, 1_500);
    let leader = sim.leader().unwrap();
    let term = |sim: &Simulator<ChatRoom>, id| sim.node(id).unwrap().node.unwrap().raft().term();
    let before = (leader, term(&sim, leader));
    let lonely = (1..=5).find(|&n| n != leader).unwrap();
    sim.isolate(lonely).unwrap();
    run_checked(&mut sim, &mut checker, 4_500);
    sim.heal_all();
    run_checked(&mut sim, &mut checker, 7_000);
    let now = sim.leader().unwrap();
    (before, (now, term(&sim, now)))
}

#[test]
fn without_pre_vote_a_returning_node_deposes_a_healthy_leader() {
    let (before, after) = isolated_follower_returns(false, false);
    assert!(
        after.1 > before.1,
        "a new term: the healthy leader of term {} was deposed ({after:?})",
        before.1
    );
}

#[test]
fn with_pre_vote_a_returning_node_does_not_disturb_the_leader() {
    let (before, after) = isolated_follower_returns(true, false);
    assert_eq!(after, before, "same leader, same term");
}

#[test]
fn with_check_quorum_a_leader_cut_off_from_the_majority_steps_down() {
    for check_quorum in [false, true] {
        let cfg = SimConfig {
            seed: 3,
            check_quorum,
            ..SimConfig::default()
        };
        let mut sim = Simulator::<ChatRoom>::new(cfg).unwrap();
        let mut checker = Checker::new();
        run_checked(&mut sim, &mut checker, 1_500);
        let leader = sim.leader().unwrap();
        sim.isolate(leader).unwrap();
        run_checked(&mut sim, &mut checker, 3_000);
        let role = sim.node(leader).unwrap().node.unwrap().raft().role();
        if check_quorum {
            // It stepped down (and, still alone, may be campaigning by now).
            assert_ne!(
                role,
                Role::Leader,
                "it stepped down within an election timeout"
            );
        } else {
            assert_eq!(role, Role::Leader, "without CheckQuorum it never notices");
        }
    }
}

fn transfer_events(events: &[Event]) -> Vec<raftchat_core::raft::TransferOutcome> {
    events
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::TransferEnded { outcome, .. } => Some(outcome),
            _ => None,
        })
        .collect()
}

#[test]
fn leadership_moves_to_the_chosen_node_and_held_requests_commit() {
    for check_quorum in [false, true] {
        let cfg = SimConfig {
            check_quorum,
            ..SimConfig::default()
        };
        let mut sim = Simulator::<ChatRoom>::new(cfg).unwrap();
        let mut checker = Checker::new();
        run_checked(&mut sim, &mut checker, 1_500);
        let old = sim.leader().unwrap();
        let target = old % 5 + 1;
        let term = sim.node(old).unwrap().node.unwrap().raft().term();
        sim.take_events();
        sim.transfer_leadership(target).unwrap();
        sim.submit(old, req(8, 1, "sent during the transfer"))
            .unwrap();
        let t = sim.now_ms() + 200;
        run_checked(&mut sim, &mut checker, t);
        assert_eq!(sim.leader(), Some(target), "check_quorum {check_quorum}");
        assert_eq!(
            sim.node(target).unwrap().node.unwrap().raft().term(),
            term + 1
        );
        let t = sim.now_ms() + 1_000;
        run_checked(&mut sim, &mut checker, t);
        let events = sim.take_events();
        assert_eq!(
            transfer_events(&events),
            vec![raftchat_core::raft::TransferOutcome::Done { target }]
        );
        for id in 1..=5 {
            assert_eq!(
                chat_of(&sim, id),
                vec!["sent during the transfer"],
                "node {id}"
            );
        }
    }
}

#[test]
fn a_transfer_to_an_unreachable_node_times_out_and_the_leader_goes_on() {
    let mut sim = Simulator::<ChatRoom>::new(SimConfig::default()).unwrap();
    let mut checker = Checker::new();
    run_checked(&mut sim, &mut checker, 1_500);
    let old = sim.leader().unwrap();
    let target = old % 5 + 1;
    sim.isolate(target).unwrap();
    sim.take_events();
    sim.transfer_leadership(target).unwrap();
    sim.submit(old, req(8, 1, "held, then appended")).unwrap();
    let t = sim.now_ms() + 400;
    run_checked(&mut sim, &mut checker, t);
    assert_eq!(
        transfer_events(&sim.take_events()),
        vec![raftchat_core::raft::TransferOutcome::TimedOut { target }]
    );
    assert_eq!(sim.leader(), Some(old));
    let t = sim.now_ms() + 500;
    run_checked(&mut sim, &mut checker, t);
    assert_eq!(chat_of(&sim, old), vec!["held, then appended"]);
    assert!(
        sim.transfer_leadership(old).is_err(),
        "a leader cannot hand over to itself"
    );
}

fn read_outcome(
    sim: &Simulator<ChatRoom>,
    read_id: u64,
) -> Option<raftchat_core::node::ReadOutcome> {
    sim.read_record(read_id).and_then(|r| r.outcome.clone())
}

#[test]
fn linearizable_reads_through_the_leader_and_through_a_follower() {
    use raftchat_core::node::ReadOutcome;
    let mut sim = Simulator::<ChatRoom>::new(SimConfig::default()).unwrap();
    let mut checker = Checker::new();
    run_checked(&mut sim, &mut checker, 1_000);
    let leader = sim.leader().unwrap();
    let follower = leader % 5 + 1;
    sim.submit(follower, req(1, 1, "written before the reads"))
        .unwrap();
    run_checked(&mut sim, &mut checker, 1_500);
    assert_eq!(sim.acks().len(), 1);
    let by_leader = sim.read(leader).unwrap();
    let by_follower = sim.read(follower).unwrap();
    run_checked(&mut sim, &mut checker, 2_000);
    let ack_index = sim.acks()[0].2;
    match read_outcome(&sim, by_leader) {
        Some(ReadOutcome::Served {
            index,
            applied,
            via: None,
        }) => assert!(index >= ack_index && applied >= index),
        other => panic!("leader read: {other:?}"),
    }
    match read_outcome(&sim, by_follower) {
        Some(ReadOutcome::Served {
            index,
            via: Some(l),
            ..
        }) => assert!(index >= ack_index && l == leader),
        other => panic!("follower read: {other:?}"),
    }
}

#[test]
fn a_deposed_leader_does_not_serve_a_stale_read() {
    // §6.4: the leader "sends a new round of heartbeats" to confirm it still
    // leads before it answers. A leader cut off with a minority cannot, so it must
    // not answer from its stale state while the majority commits new writes.
    use raftchat_core::node::ReadOutcome;
    let mut sim = Simulator::<ChatRoom>::new(SimConfig::default()).unwrap();
    let mut checker = Checker::new();
    run_checked(&mut sim, &mut checker, 1_000);
    let old = sim.leader().unwrap();
    sim.isolate(old).unwrap();
    run_checked(&mut sim, &mut checker, 2_000);
    let new = sim
        .leader()
        .filter(|&l| l != old)
        .expect("the majority elected a new leader");
    sim.submit(new, req(2, 1, "only the majority knows"))
        .unwrap();
    run_checked(&mut sim, &mut checker, 2_500);
    assert_eq!(sim.acks().len(), 1);
    assert_eq!(
        sim.node(old).unwrap().node.unwrap().raft().role(),
        Role::Leader,
        "it still believes it leads"
    );
    let read = sim.read(old).unwrap();
    run_checked(&mut sim, &mut checker, 6_000); // the checker flags a stale read
    assert!(
        matches!(read_outcome(&sim, read), Some(ReadOutcome::Failed(_))),
        "{:?}",
        read_outcome(&sim, read)
    );
}

// ----- membership changes and snapshots ----------------------------------------

/// A 3-node cluster with a leader, `n` chat messages committed, and small
/// snapshot chunks.
fn settled_cluster(seed: u64, n: u64) -> (Simulator<ChatRoom>, Checker<ChatCommand>) {
    let cfg = SimConfig {
        nodes: 3,
        seed,
        snapshot_chunk_bytes: 200,
        ..SimConfig::default()
    };
    let mut sim = Simulator::<ChatRoom>::new(cfg).unwrap();
    let mut checker = Checker::new();
    run_checked(&mut sim, &mut checker, 1_000);
    let leader = sim.leader().expect("a leader");
    for seq in 1..=n {
        sim.submit(leader, req(1, seq, &format!("message {seq}")))
            .unwrap();
    }
    let t = sim.now_ms() + 500;
    run_checked(&mut sim, &mut checker, t);
    (sim, checker)
}

fn members(sim: &Simulator<ChatRoom>, id: NodeId) -> Membership {
    sim.node(id)
        .unwrap()
        .node
        .unwrap()
        .raft()
        .membership()
        .clone()
}

#[test]
fn an_added_node_catches_up_through_a_snapshot_and_becomes_a_voter() {
    let (mut sim, mut checker) = settled_cluster(3, 30);
    let leader = sim.leader().unwrap();
    // The leader compacts: the new node can only get the chat as a snapshot.
    sim.compact(leader).unwrap();
    sim.take_events();
    let new = sim.add_node().unwrap();
    assert_eq!(new, 4);
    assert!(
        members(&sim, leader).learners.contains(&4),
        "a learner first"
    );
    let t = sim.now_ms() + 2_000;
    run_checked(&mut sim, &mut checker, t);
    let m = members(&sim, leader);
    assert!(m.contains(4) && m.learners.is_empty(), "{m:?}");
    assert_eq!(chat_of(&sim, 4), chat_of(&sim, leader));
    assert_eq!(chat_of(&sim, 4).len(), 30);
    let events = sim.take_events();
    let chunks = events
        .iter()
        .filter(|e| {
            matches!(
                e.kind,
                EventKind::MessageSent {
                    to: 4,
                    kind: MessageKind::InstallSnapshot,
                    ..
                }
            )
        })
        .count();
    assert!(chunks > 1, "the snapshot went in chunks ({chunks})");
    assert!(events.iter().any(|e| matches!(
        e.kind,
        EventKind::CatchUpEnded {
            outcome: raftchat_core::raft::CatchUpOutcome::Promoted { node: 4, .. },
            ..
        }
    )));
    // The new voter counts: with two of the four down, nothing commits; with
    // one down, it does.
    let others: Vec<NodeId> = (1..=3).filter(|&i| i != leader).collect();
    sim.crash(others[0]).unwrap();
    sim.submit(leader, req(2, 1, "after the change")).unwrap();
    let t = sim.now_ms() + 1_000;
    run_checked(&mut sim, &mut checker, t);
    assert_eq!(chat_of(&sim, 4).last().unwrap(), "after the change");
}

#[test]
fn a_restarted_node_rebuilds_from_its_snapshot_and_log() {
    let (mut sim, mut checker) = settled_cluster(4, 20);
    let follower = (1..=3).find(|&i| Some(i) != sim.leader()).unwrap();
    sim.compact(follower).unwrap();
    let leader = sim.leader().unwrap();
    for seq in 1..=5 {
        sim.submit(leader, req(2, seq, &format!("later {seq}")))
            .unwrap();
    }
    let t = sim.now_ms() + 500;
    run_checked(&mut sim, &mut checker, t);
    let before = chat_of(&sim, follower);
    let stored = sim.node(follower).unwrap().storage.load().unwrap();
    assert!(stored.base_index >= 20 && stored.snapshot.is_some());
    assert_eq!(before.len(), 25);
    sim.crash(follower).unwrap();
    sim.restart(follower).unwrap();
    // Straight from the snapshot, before hearing from anyone:
    assert_eq!(chat_of(&sim, follower).len() as u64, stored.base_index - 1);
    let t = sim.now_ms() + 500;
    run_checked(&mut sim, &mut checker, t);
    assert_eq!(chat_of(&sim, follower), before);
}

#[test]
fn removing_the_leader_gets_a_new_leader_and_shuts_the_old_one_down() {
    let (mut sim, mut checker) = settled_cluster(5, 5);
    let old = sim.leader().unwrap();
    sim.remove_node(old).unwrap();
    let t = sim.now_ms() + 3_000;
    run_checked(&mut sim, &mut checker, t);
    let new = sim.leader().expect("a new leader");
    assert_ne!(new, old);
    assert!(!members(&sim, new).is_member(old));
    assert!(
        !sim.node_ids().any(|i| i == old),
        "the removed server was shut down"
    );
    assert_eq!(sim.node_ids().count(), 2);
    sim.submit(new, req(3, 1, "two of us")).unwrap();
    let t = sim.now_ms() + 500;
    run_checked(&mut sim, &mut checker, t);
    assert_eq!(chat_of(&sim, new).last().unwrap(), "two of us");
}

#[test]
fn a_removed_server_that_never_learns_it_does_not_depose_the_leader() {
    // Thesis §4.2.3. Node 3 cannot hear the others while it is removed, so it
    // never sees the entry removing it; it then times out again and again
    // (PreVote off) and asks for votes with ever higher terms.
    let (mut sim, mut checker) = settled_cluster(6, 3);
    let leader = sim.leader().unwrap();
    let victim = (1..=3).find(|&i| i != leader).unwrap();
    for other in (1..=3).filter(|&i| i != victim) {
        sim.cut_link(other, victim).unwrap();
    }
    sim.remove_node(victim).unwrap();
    let t = sim.now_ms() + 300;
    run_checked(&mut sim, &mut checker, t);
    let term = sim.node(leader).unwrap().node.unwrap().raft().term();
    sim.heal_all();
    // Until it is shut down (four election timeouts, 1.2 s, after the removal
    // committed), its RequestVotes reach the others.
    assert!(sim.retiring().contains_key(&victim));
    let t = sim.now_ms() + 800;
    run_checked(&mut sim, &mut checker, t);
    let victim_term = sim.node(victim).unwrap().node.map(|n| n.raft().term());
    assert!(
        victim_term.is_some_and(|t| t > term),
        "it campaigned: {victim_term:?} vs {term}"
    );
    assert_eq!(sim.leader(), Some(leader));
    assert_eq!(
        sim.node(leader).unwrap().node.unwrap().raft().term(),
        term,
        "the leader was not deposed"
    );
}

/// A chat whose snapshots drop the last message: a snapshot that loses an
/// applied entry.
#[derive(Default, PartialEq, serde::Deserialize)]
struct LossyChat(ChatRoom);

impl serde::Serialize for LossyChat {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut v = serde_json::to_value(&self.0).map_err(serde::ser::Error::custom)?;
        if let Some(list) = v.get_mut("messages").and_then(|m| m.as_array_mut()) {
            list.pop();
        }
        v.serialize(s)
    }
}

impl StateMachine for LossyChat {
    type Command = ChatCommand;
    fn apply(&mut self, meta: CommandMeta, command: &ChatCommand) {
        self.0.apply(meta, command)
    }
}

#[test]
fn the_checker_catches_a_snapshot_that_loses_an_applied_entry() {
    let mut sim = Simulator::<LossyChat>::new(SimConfig {
        nodes: 3,
        ..SimConfig::default()
    })
    .unwrap();
    let mut checker = Checker::new();
    run_checked(&mut sim, &mut checker, 1_000);
    let leader = sim.leader().unwrap();
    sim.submit(leader, req(1, 1, "kept")).unwrap();
    sim.submit(leader, req(1, 2, "lost")).unwrap();
    run_checked(&mut sim, &mut checker, 1_500);
    sim.compact(leader).unwrap();
    let err = checker.check(&sim).unwrap_err();
    assert_eq!(err.rule, "Snapshot agrees with log", "{err}");
}

#[test]
fn a_configuration_naming_servers_that_are_not_running_does_not_break_a_restored_cluster() {
    // A restored cluster may lack servers its configuration names (node 0 from
    // a damaged disk; nodes 2 and 3 not brought back): messages to them are
    // dropped, nothing panics.
    let (mut sim, mut checker) = settled_cluster(8, 3);
    sim.compact(1).unwrap();
    let t = sim.now_ms() + 100;
    run_checked(&mut sim, &mut checker, t);
    let mut state = sim.node(1).unwrap().storage.load().unwrap();
    assert!(state.base_index > 0);
    state.base_config.voters.insert(0);
    let mut restored =
        Simulator::<ChatRoom>::from_nodes(sim.config().clone(), vec![(1, state)]).unwrap();
    restored.run_until(2_000);
    assert_eq!(restored.node_ids().collect::<Vec<_>>(), vec![1]);
}

#[test]
fn a_node_snapshots_by_itself_once_its_log_passes_the_threshold() {
    let cfg = SimConfig {
        nodes: 3,
        seed: 9,
        snapshot_min_log_bytes: 1_000,
        ..SimConfig::default()
    };
    let mut sim = Simulator::<ChatRoom>::new(cfg).unwrap();
    let mut checker = Checker::new();
    run_checked(&mut sim, &mut checker, 1_000);
    let leader = sim.leader().unwrap();
    sim.take_events();
    // Each entry is about 24 + 16 + 3 + 14 + 16 bytes: 20 of them pass 1,000.
    for seq in 1..=20 {
        sim.submit(leader, req(1, seq, &format!("message {seq:04}")))
            .unwrap();
    }
    let t = sim.now_ms() + 500;
    run_checked(&mut sim, &mut checker, t);
    let taken: Vec<NodeId> = sim
        .take_events()
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::SnapshotTaken { node, .. } => Some(node),
            _ => None,
        })
        .collect();
    for id in 1..=3 {
        assert!(taken.contains(&id), "node {id} snapshotted: {taken:?}");
        let n = sim.node(id).unwrap().node.unwrap();
        assert!(n.raft().log().base().0 > 0, "the log was compacted");
        assert_eq!(chat_of(&sim, id).len(), 20, "nothing lost");
    }
}

#[test]
fn a_retry_after_its_session_expired_fails_clearly_and_is_not_applied_again() {
    use raftchat_core::state_machine::SESSION_WINDOW;
    let mut sim = Simulator::<ChatRoom>::new(SimConfig::default()).unwrap();
    let mut checker = Checker::new();
    run_checked(&mut sim, &mut checker, 1_000);
    let leader = sim.leader().expect("a leader after 1 s");
    // Client 3 sends SESSION_WINDOW + 10 messages: its session forgets the
    // first ten (thesis §6.3).
    let n = SESSION_WINDOW as u64 + 10;
    let mut t = 1_000;
    for chunk in (1..=n).collect::<Vec<_>>().chunks(64) {
        let requests = chunk.iter().map(|&s| req(3, s, &format!("m{s}"))).collect();
        sim.submit_many(leader, requests).unwrap();
        t += 20;
        run_checked(&mut sim, &mut checker, t);
    }
    run_checked(&mut sim, &mut checker, t + 1_000);
    let total = |sim: &Simulator<ChatRoom>| {
        sim.node(leader)
            .and_then(|v| v.node)
            .map(|n| n.replica().machine().total_messages())
    };
    assert_eq!(total(&sim), Some(n));
    sim.take_events();
    // Seq 5 again, through every node: each says it is too old.
    for id in 1..=5 {
        sim.submit(id, req(3, 5, "m5 again")).unwrap();
    }
    run_checked(&mut sim, &mut checker, t + 2_000);
    let ends = outcomes(&sim.take_events());
    assert_eq!(ends.len(), 5, "{ends:?}");
    for (_, client, seq, outcome) in ends {
        assert_eq!(
            (client, seq, outcome),
            (3, 5, Outcome::Failed(FailReason::SessionExpired))
        );
    }
    assert_eq!(total(&sim), Some(n), "nothing applied again");
    // A remembered one is still answered with its index.
    sim.submit(leader, req(3, n, "last again")).unwrap();
    run_checked(&mut sim, &mut checker, t + 3_000);
    let ends = outcomes(&sim.take_events());
    assert!(
        matches!(ends[..], [(_, 3, s, Outcome::Committed { .. })] if s == n),
        "{ends:?}"
    );
}

#[test]
fn a_long_saturating_run_keeps_the_simulator_and_every_replica_bounded() {
    use raftchat_core::chat::CHAT_WINDOW;
    use raftchat_core::sim::{APPLIED_WINDOW, RECORD_WINDOW};
    // 200,000 messages from one client: past every window (records, applied
    // records, sessions, the chat) and many snapshots.
    let cfg = SimConfig {
        max_queued_requests: 1 << 16,
        request_timeout_ms: 60_000,
        ..SimConfig::default()
    };
    let mut sim = Simulator::<ChatRoom>::new(cfg).unwrap();
    sim.set_record_events(false);
    sim.run_until(1_000);
    let leader = sim.leader().expect("a leader after 1 s");
    let mut checker = Checker::new();
    let (mut seq, mut t) = (0u64, 1_000);
    while seq < 200_000 {
        let requests = (0..1_000)
            .map(|_| {
                seq += 1;
                req(1, seq, "bounded")
            })
            .collect();
        sim.submit_many(leader, requests).unwrap();
        checker.check(&sim).unwrap();
        t += 10;
        run_checked(&mut sim, &mut checker, t);
    }
    run_checked(&mut sim, &mut checker, t + 1_000);
    assert!(sim.history().len() <= 2 * RECORD_WINDOW);
    // The window, and the last step's records (one batch of one node).
    let applied = sim.applied().len();
    assert!(
        applied <= 2 * APPLIED_WINDOW + 1_000,
        "{applied} applied records kept"
    );
    assert!(sim.acks().len() <= 2 * RECORD_WINDOW);
    assert_eq!(sim.acks().end(), 200_000, "every message acknowledged");
    for id in 1..=5 {
        let node = sim.node(id).and_then(|v| v.node).expect("every node up");
        let replica = node.replica();
        assert_eq!(replica.machine().total_messages(), 200_000, "node {id}");
        assert_eq!(replica.machine().messages().count(), CHAT_WINDOW);
        let snapshot = node.raft().snapshot().expect("the log was compacted");
        assert!(
            snapshot.data.len() < 256 * 1024,
            "node {id}'s snapshot holds {} bytes",
            snapshot.data.len()
        );
        assert!(
            node.log_bytes() < 4 * 1024 * 1024,
            "node {id}'s log holds {} bytes",
            node.log_bytes()
        );
    }
}

/// A disk tail (the experiments' "paper" disk) makes writes slower by its
/// extra time; without one nothing changes (no random draw is added), and a
/// bad one is refused.
#[test]
fn a_disk_tail_slows_writes_by_its_extra_time() {
    use raftchat_core::sim::DiskTail;
    // One node: a chat message commits once its entry is on disk, so the
    // tail delays its acknowledgement by exactly the extra time.
    let commit_ms = |tail: Option<DiskTail>| {
        let cfg = SimConfig {
            nodes: 1,
            disk_latency_min_ms: 1,
            disk_latency_max_ms: 1,
            disk_tail: tail,
            ..SimConfig::default()
        };
        let mut sim = Simulator::<ChatRoom>::new(cfg).unwrap();
        sim.run_until(1_000);
        assert!(sim.leader().is_some());
        sim.submit(1, req(1, 1, "slow disk?")).unwrap();
        for _ in 0..10_000 {
            if let Some(done) = sim.history().iter().find_map(|r| r.complete_ms) {
                return done - 1_000;
            }
            sim.step();
        }
        panic!("not committed in 10,000 steps");
    };
    let always = |extra| DiskTail {
        chance: 1.0,
        extra_min_ms: extra,
        extra_max_ms: extra,
    };
    let plain = commit_ms(None);
    assert_eq!(commit_ms(Some(always(40))), plain + 40);
    let never = DiskTail {
        chance: 0.0,
        ..always(40)
    };
    assert_eq!(commit_ms(Some(never)), plain);
    for bad in [
        DiskTail {
            chance: 1.5,
            ..always(1)
        },
        DiskTail {
            extra_min_ms: 5,
            extra_max_ms: 4,
            chance: 0.5,
        },
    ] {
        let cfg = SimConfig {
            disk_tail: Some(bad),
            ..SimConfig::default()
        };
        assert!(cfg.validate().unwrap_err().contains("disk tail"));
    }
    // Recipes carry a tail only when there is one.
    let json = raftchat_core::recipe::Recipe::new(SimConfig::default()).to_json();
    assert!(!json.contains("disk_tail"));
    let mut recipe = raftchat_core::recipe::Recipe::new(SimConfig::default());
    recipe.config.disk_tail = Some(always(7));
    let back = raftchat_core::recipe::Recipe::from_json(&recipe.to_json()).unwrap();
    assert_eq!(back.config.disk_tail, Some(always(7)));
}

/// A hand-edited recipe with an enormous duration gets a clear error (virtual
/// time adds durations up; it must not overflow), and nothing runs.
#[test]
fn durations_longer_than_an_hour_are_refused() {
    use raftchat_core::recipe::Recipe;
    let good = Recipe::new(SimConfig::default()).to_json();
    for (field, name) in [
        ("\"latency_max_ms\":15", "message latency"),
        ("\"disk_latency_max_ms\":3", "disk latency"),
        ("\"request_timeout_ms\":3000", "request timeout"),
        ("\"election_timeout_max_ms\":300", "election timeout"),
    ] {
        let key = field.split(':').next().unwrap();
        let compact = good.replace(": ", ":");
        assert!(compact.contains(field), "{field} in {compact}");
        let bad = compact.replace(field, &format!("{key}:18446744073709551615"));
        let err = Recipe::from_json(&bad).unwrap_err();
        assert!(
            err.contains(name) && err.contains("an hour"),
            "{name}: {err}"
        );
    }
    let ok = good
        .replace(": ", ":")
        .replace("\"latency_max_ms\":15", "\"latency_max_ms\":3600000");
    Recipe::from_json(&ok).unwrap();
}

/// The checker reads what the replicas applied from the simulator, which
/// keeps only the last step's records and a window before: a checker called
/// too rarely says so rather than passing what it never saw.
#[test]
fn a_checker_called_too_rarely_says_so() {
    use raftchat_core::sim::APPLIED_WINDOW;
    let cfg = SimConfig {
        max_queued_requests: 1 << 16,
        ..SimConfig::default()
    };
    let mut sim = Simulator::<ChatRoom>::new(cfg).unwrap();
    sim.set_record_events(false);
    let mut every_step = Checker::new();
    run_checked(&mut sim, &mut every_step, 1_000);
    let mut rarely = every_step.clone();
    let leader = sim.leader().expect("a leader after 1 s");
    let requests = (1..=4 * APPLIED_WINDOW as u64)
        .map(|seq| req(1, seq, "rarely"))
        .collect();
    sim.submit_many(leader, requests).unwrap();
    every_step.check(&sim).unwrap();
    rarely.check(&sim).unwrap();
    // Far more applied than the simulator keeps: one checker checks after
    // every step, the other only at the end.
    run_checked(&mut sim, &mut every_step, 2_000);
    assert!(sim.applied().start() > 0, "the oldest records are gone");
    let v = rarely
        .check(&sim)
        .expect_err("records it never saw were dropped");
    assert_eq!(v.rule, "Checker", "{v}");
    assert!(
        v.detail.contains("call the checker after every step"),
        "{v}"
    );
}

#[test]
fn a_refused_vote_or_append_says_why_and_the_reason_is_what_the_receiver_holds() {
    use raftchat_core::sim::{AppendRefusal, VoteRefusal};
    // The election-restriction lesson: node 2 missed three committed entries
    // and stands for term 2; nodes 1, 4 and 5 (log to index 4, term 1) refuse
    // it on its log (Figure 2, RequestVote receiver rule 2; §5.4.1).
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("lessons");
    let text = std::fs::read_to_string(dir.join("election-restriction.json")).unwrap();
    let lesson = raftchat_core::lesson::Lesson::from_json(&text).unwrap();
    let events = lesson.parts[0].run.replay(1_000).unwrap().take_events();
    let mut refusals: Vec<(NodeId, NodeId, Term, VoteRefusal)> = events
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::VoteRefused {
                voter,
                candidate,
                term,
                why,
                pre_vote: false,
            } => Some((voter, candidate, term, why)),
            _ => None,
        })
        .filter(|r| r.1 == 2 && r.2 == 2)
        .collect();
    refusals.sort_by_key(|r| r.0);
    let behind = VoteRefusal::LogBehind {
        candidate_last: (1, 1),
        voter_last: (4, 1),
    };
    assert_eq!(
        refusals,
        vec![(1, 2, 2, behind), (4, 2, 2, behind), (5, 2, 2, behind)]
    );
    // Then node 4 leads term 3, and node 2 has no entry where node 4's first
    // AppendEntries to it starts: the leader backs up (§5.3).
    let events = lesson.parts[0].run.replay(1_200).unwrap().take_events();
    assert!(
        events.iter().any(|e| matches!(
            e.kind,
            EventKind::AppendRejected {
                follower: 2,
                leader: 4,
                term: 3,
                why: AppendRefusal::Missing { last_index: 1, .. },
            }
        )),
        "node 2 rejects node 4's first AppendEntries"
    );

    // A follower crashes and misses three entries; then the leader crashes as
    // the follower comes back (a stale candidate, and split votes); later a
    // follower is cut off for 1.5 s and returns with a higher term while the
    // others hear their leader; last the leader is cut off with five new
    // entries, the next leader commits three and crashes, and the one after
    // it finds the old leader's entries in conflict with its own (§5.3).
    // Every reason given is what the receiver holds when it answers.
    let mut seen = BTreeMap::new();
    for seed in 1..=60 {
        let cfg = SimConfig {
            seed,
            // A third of the runs ask for pre-votes first (thesis §9.6).
            pre_vote: seed % 3 == 0,
            ..SimConfig::default()
        };
        let mut sim = Simulator::<ChatRoom>::new(cfg).unwrap();
        let (mut follower, mut leader, mut isolated) = (None, None, None);
        let (mut cut_leader, mut second) = (None, None);
        let up = |sim: &Simulator<ChatRoom>, not: Option<NodeId>| {
            (1..=5).find(|&id| Some(id) != not && sim.node(id).and_then(|v| v.node).is_some())
        };
        while sim.now_ms() < 9_500 {
            assert!(sim.step(), "seed {seed}: nothing scheduled");
            let now = sim.now_ms();
            if follower.is_none() && now >= 2_000 {
                let f = up(&sim, sim.leader()).unwrap();
                sim.crash(f).unwrap();
                follower = Some(f);
                leader = sim.leader();
                for seq in 1..=3 {
                    if let Some(l) = leader {
                        let _ = sim.submit(l, req(l as ClientId, seq, "while one is down"));
                    }
                }
            }
            if now >= 2_500 {
                if let Some(f) = follower.filter(|&f| sim.node(f).unwrap().node.is_none()) {
                    if let Some(l) = leader.take() {
                        sim.crash(l).unwrap();
                    }
                    sim.restart(f).unwrap();
                }
            }
            if isolated.is_none() && now >= 3_500 {
                let n = up(&sim, sim.leader()).unwrap();
                sim.isolate(n).unwrap();
                isolated = Some(n);
            }
            if (5_000..5_500).contains(&now) && !sim.cut_links().is_empty() {
                sim.heal_all();
            }
            if cut_leader.is_none() && now >= 6_000 {
                if let Some(l) = sim.leader() {
                    cut_leader = Some(l);
                    sim.isolate(l).unwrap();
                    for seq in 10..15 {
                        let _ = sim.submit(l, req(l as ClientId, seq, "never to commit"));
                    }
                }
            }
            if second.is_none() && now >= 7_000 {
                if let Some(l) = sim.leader().filter(|&l| Some(l) != cut_leader) {
                    second = Some(l);
                    for seq in 20..23 {
                        let _ = sim.submit(l, req(l as ClientId, seq, "committed"));
                    }
                }
            }
            if (7_300..8_000).contains(&now) {
                if let Some(l) = second.filter(|&l| sim.node(l).unwrap().node.is_some()) {
                    sim.crash(l).unwrap();
                }
            }
            if now >= 8_000 && !sim.cut_links().is_empty() {
                sim.heal_all();
                if let Some(l) = second.filter(|&l| sim.node(l).unwrap().node.is_none()) {
                    sim.restart(l).unwrap();
                }
            }
            for e in sim.take_events() {
                if let EventKind::AppendRejected {
                    follower,
                    term,
                    why,
                    ..
                } = e.kind
                {
                    let raft = sim.node(follower).and_then(|v| v.node).unwrap().raft();
                    assert_eq!(raft.term(), term, "seed {seed}: checked as it happens");
                    match why {
                        AppendRefusal::Missing {
                            prev_index,
                            last_index,
                        } => {
                            assert_eq!(raft.log().last_index(), last_index, "seed {seed}");
                            assert!(prev_index > last_index, "seed {seed}: {why:?}");
                        }
                        AppendRefusal::Conflict {
                            prev_index,
                            prev_term,
                            has_term,
                        } => {
                            assert_eq!(raft.log().term(prev_index), Some(has_term), "seed {seed}");
                            assert_ne!(has_term, prev_term, "seed {seed}: {why:?}");
                        }
                        AppendRefusal::StaleTerm => {}
                    }
                    let reason: String = format!("{why:?}").chars().take(5).collect();
                    *seen.entry(format!("append {reason}")).or_insert(0) += 1;
                    continue;
                }
                let EventKind::VoteRefused {
                    voter,
                    candidate,
                    term,
                    why,
                    pre_vote,
                } = e.kind
                else {
                    continue;
                };
                let raft = sim.node(voter).and_then(|v| v.node).unwrap().raft();
                assert_eq!(raft.term(), term, "seed {seed}: checked as it happens");
                match why {
                    VoteRefusal::AlreadyVoted(_) if pre_vote => {
                        panic!(
                            "seed {seed}: a pre-vote binds no one, so none is refused for a vote"
                        )
                    }
                    VoteRefusal::InLease { request_term } if pre_vote => {
                        assert!(raft.in_lease(), "seed {seed}: {why:?}");
                        assert!(request_term > term, "seed {seed}: {why:?}");
                    }
                    VoteRefusal::AlreadyVoted(other) => {
                        assert_ne!(other, candidate, "seed {seed}");
                        assert_eq!(raft.voted_for(), Some(other), "seed {seed}");
                    }
                    VoteRefusal::LogBehind {
                        candidate_last: (ci, ct),
                        voter_last: (vi, vt),
                    } => {
                        assert!((ct, ci) < (vt, vi), "seed {seed}: {why:?}");
                        let log = raft.log();
                        assert_eq!((log.last_index(), log.last_term()), (vi, vt), "seed {seed}");
                    }
                    VoteRefusal::StaleTerm => {}
                    VoteRefusal::InLease { request_term } => {
                        assert!(term < request_term, "seed {seed}: {why:?}");
                        assert!(
                            raft.leader().is_some(),
                            "seed {seed}: in a lease, a leader is known"
                        );
                    }
                }
                let reason: String = format!("{why:?}").chars().take(5).collect();
                *seen
                    .entry(if pre_vote {
                        format!("pre-vote {reason}")
                    } else {
                        reason
                    })
                    .or_insert(0) += 1;
            }
        }
    }
    println!("refusals by reason: {seen:?}");
    for reason in [
        "Alrea",
        "LogBe",
        "InLea",
        "Stale",
        "pre-vote InLea",
        "pre-vote LogBe",
        "append Missi",
        "append Stale",
        "append Confl",
    ] {
        assert!(seen.contains_key(reason), "{reason}… occurs: {seen:?}");
    }
}
