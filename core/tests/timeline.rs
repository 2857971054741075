//! Recipes and the timeline: a run replays from its recipe event for event
//! however its commands fell between frames; seeking anywhere and running on
//! equals running straight through; checkpoints equal recomputing; acting in
//! the past forks and the old branch is kept.

use raftchat_core::chat::ChatRoom;
use raftchat_core::recipe::{Action, Recipe};
use raftchat_core::rng::Rng;
use raftchat_core::sim::{Event, NetConfig, SimConfig, Simulator};
use raftchat_core::timeline::{
    MarkerKind, OpenError, Opening, Timeline, CHECKPOINT_EVERY_MS, MAX_CHECKPOINTS,
};

mod busy;

/// Everything a user sees of a cluster, and more: roles, terms, logs, commit
/// and applied digests, chats, wire, counters.
fn fingerprint(sim: &Simulator<ChatRoom>) -> String {
    let mut out = format!(
        "t={} stats={:?} in_flight={:?} cut={:?}\n",
        sim.now_ms(),
        sim.stats(),
        sim.in_flight().map(|m| m.id).collect::<Vec<_>>(),
        sim.cut_links()
    );
    for id in sim.node_ids() {
        let v = sim.node(id).unwrap();
        match v.node {
            None => out += &format!("{id}: down {:?}\n", v.durable),
            Some(n) => {
                let r = n.raft();
                let chat: Vec<String> = n
                    .replica()
                    .machine()
                    .messages()
                    .map(|m| format!("{}@{}", m.text(), m.index))
                    .collect();
                out += &format!(
                    "{id}: {:?} term {} vote {:?} commit {} log {}..{}:{} digest {} chat {:?}\n",
                    r.role(),
                    r.term(),
                    r.voted_for(),
                    r.commit_index(),
                    r.log().base().0,
                    r.log().last_index(),
                    r.log().last_term(),
                    n.replica().digest(),
                    chat
                );
            }
        }
    }
    out
}

fn below(rng: &mut Rng, n: u64) -> u64 {
    rng.below(n as usize) as u64
}

fn config(seed: u64) -> SimConfig {
    SimConfig {
        seed,
        nodes: 5,
        snapshot_min_log_bytes: 2_048,
        ..SimConfig::default()
    }
}

/// A random user command (some will not apply, e.g. crashing a node that is
/// down: the timeline records only those that do).
fn random_action(rng: &mut Rng, seq: &mut u64, nodes: u32) -> Action {
    let node = 1 + below(rng, nodes as u64) as u32;
    let other = 1 + below(rng, nodes as u64) as u32;
    match below(rng, 14) {
        0 => Action::Crash(node),
        1 | 2 => Action::Restart(node),
        3 => Action::Cut {
            from: node,
            to: other,
        },
        4 => Action::Heal {
            from: node,
            to: other,
        },
        5 => Action::Isolate(node),
        6 => Action::HealAll,
        7 => Action::Timeout(node),
        8 => Action::Read(node),
        9 => Action::Transfer(node),
        10 => Action::Options {
            pre_vote: below(rng, 2) == 0,
            check_quorum: below(rng, 2) == 0,
        },
        11 => Action::SetNet(NetConfig {
            latency_min_ms: 1 + below(rng, 5),
            latency_max_ms: 6 + below(rng, 20),
            ..NetConfig::default()
        }),
        12 => Action::Compact(node),
        _ => {
            *seq += 1;
            Action::Send {
                node,
                client: node as u64,
                seq: *seq,
                author: format!("user{node}"),
                text: format!("message {seq}"),
            }
        }
    }
}

/// A live session: frames of random length, commands at random moments
/// between them. Returns the timeline and every event it produced.
fn live_session(seed: u64, duration_ms: u64) -> (Timeline, Vec<Event>) {
    let mut rng = Rng::new(seed ^ 0x5eed);
    let mut t = Timeline::new(config(seed)).unwrap();
    let mut events = Vec::new();
    let mut seq = 0;
    while t.now_ms() < duration_ms {
        let frame_ms = 1 + below(&mut rng, 40);
        t.advance((t.now_ms() + frame_ms).min(duration_ms)).unwrap();
        events.extend(t.take_events());
        // Several clicks may land in one frame.
        for _ in 0..below(&mut rng, 3) {
            if below(&mut rng, 4) == 0 {
                let action = random_action(&mut rng, &mut seq, 5);
                let _ = t.act(action);
                events.extend(t.take_events());
            }
        }
    }
    (t, events)
}

/// Replays `live`'s recipe (through JSON, as a file or a link would carry it)
/// on a bare simulator, each step after every event up to its time, and
/// asserts the same events and the same end state; and the page's way, as a
/// timeline rebuilt from the recipe.
fn assert_replays_exactly(seed: u64, live: &Timeline, live_events: &[Event]) {
    let recipe = Recipe::from_json(&live.recipe().to_json()).unwrap();
    let mut sim = Simulator::<ChatRoom>::new(recipe.config.clone()).unwrap();
    let mut replayed = Vec::new();
    for step in &recipe.steps {
        sim.run_until(step.at_ms);
        replayed.extend(sim.take_events());
        step.action.apply(&mut sim).unwrap();
    }
    sim.run_until(recipe.end_ms);
    replayed.extend(sim.take_events());
    let shorter = replayed.len().min(live_events.len());
    if let Some(i) = (0..shorter).find(|&i| replayed[i] != live_events[i]) {
        panic!(
            "seed {seed}: the event traces differ first at event {i}:\n  live:     {:?}\n  replayed: {:?}",
            live_events[i], replayed[i]
        );
    }
    assert_eq!(replayed.len(), live_events.len(), "seed {seed}");
    assert_eq!(fingerprint(&sim), fingerprint(live.sim()), "seed {seed}");
    let rebuilt = Timeline::from_recipe(&recipe).unwrap();
    assert_eq!(
        fingerprint(rebuilt.sim()),
        fingerprint(live.sim()),
        "seed {seed}"
    );
}

#[test]
fn a_recipe_replays_event_for_event_however_its_commands_fell_between_frames() {
    for seed in 1..=12 {
        let (live, live_events) = live_session(seed, 20_000);
        assert!(live.steps().len() > 20, "seed {seed}: a busy session");
        assert_replays_exactly(seed, &live, &live_events);
    }
}

/// The page's disk (IndexedDB) holds virtual time at each write's completion
/// until the write is durable, with the checker on or off. A click must not
/// land before a write due at its moment (a replay, with its simulated disk,
/// runs every event up to an action's moment first): `Timeline::act` refuses
/// while the disk holds the moment, and the page keeps the click until the
/// write is durable. Clicks then land where a replay puts them.
#[test]
fn a_click_while_the_pages_disk_holds_the_moment_waits_and_replays_exactly() {
    let end_ms = 8_000;
    for (seed, checking) in (1..=6).flat_map(|seed| [(seed, true), (seed, false)]) {
        let mut rng = Rng::new(seed ^ 0xd15c);
        let mut t = Timeline::new(config(seed)).unwrap();
        t.set_checking(checking).unwrap();
        t.sim_mut().set_external_disk(true);
        let confirm_writes = |t: &mut Timeline| {
            for w in t.sim_mut().take_disk_writes() {
                t.sim_mut().confirm_write(w.node, w.incarnation, w.write_id);
            }
        };
        let (mut events, mut seq, mut frames) = (Vec::new(), 0, 0);
        let (mut refused_while_held, mut applied_with_events_due) = (0, 0);
        while t.now_ms() < end_ms {
            frames += 1;
            assert!(
                frames < 100_000,
                "seed {seed}: the run stopped moving at {} ms",
                t.now_ms()
            );
            let frame_ms = 1 + below(&mut rng, 20);
            t.advance((t.now_ms() + frame_ms).min(end_ms)).unwrap();
            events.extend(t.take_events());
            let held = t.sim().waiting_for_disk().is_some();
            let action = if held && below(&mut rng, 2) == 0 {
                random_action(&mut rng, &mut seq, 5)
            } else if below(&mut rng, 3) == 0 {
                // Chat keeps the disks writing.
                seq += 1;
                let node = 1 + below(&mut rng, 5) as u32;
                Action::Send {
                    node,
                    client: u64::from(node),
                    seq,
                    author: format!("user{node}"),
                    text: format!("message {seq}"),
                }
            } else {
                confirm_writes(&mut t);
                continue;
            };
            let now = t.now_ms();
            let due = t.sim().next_event_ms().is_some_and(|at| at <= now);
            // The click waits, as in the page, until the disk has made every
            // write due by now durable; acting before that is refused and
            // changes nothing.
            for _ in 0..100 {
                if t.held_at_now().is_none() {
                    break;
                }
                let steps = t.steps().len();
                assert!(t.act(action.clone()).is_err(), "seed {seed}");
                assert_eq!(t.steps().len(), steps, "seed {seed}");
                refused_while_held += 1;
                confirm_writes(&mut t);
            }
            assert_eq!(t.now_ms(), now, "seed {seed}: waiting moved time");
            if t.act(action).is_ok() && due {
                applied_with_events_due += 1;
            }
            events.extend(t.take_events());
            confirm_writes(&mut t);
        }
        assert!(
            refused_while_held >= 10 && applied_with_events_due >= 10,
            "seed {seed}, checking {checking}: {refused_while_held} clicks refused while the disk held the moment, {applied_with_events_due} applied that met events due at their moment"
        );
        assert!(
            t.violations().is_empty(),
            "seed {seed}: {:?}",
            t.violations()
        );
        t.sim_mut().set_external_disk(false);
        assert_replays_exactly(seed, &t, &events);
    }
}

#[test]
fn seeking_anywhere_then_running_on_equals_running_straight_through() {
    for seed in 20..=35 {
        let end = 25_000;
        let (mut t, _) = live_session(seed, end);
        let straight = fingerprint(t.sim());
        let mut rng = Rng::new(seed);
        for _ in 0..4 {
            let target = below(&mut rng, end + 1);
            t.seek(target).unwrap();
            assert_eq!(t.now_ms(), target);
            // A checkpoint equals recomputing from the start.
            let recomputed = t.recipe().replay(target).unwrap();
            assert_eq!(
                fingerprint(t.sim()),
                fingerprint(&recomputed),
                "seed {seed} at {target}"
            );
            assert!(t.is_rewound() || target == end);
            // A jump forward from there lands on the same state as well.
            let later = target + below(&mut rng, end - target + 1);
            t.seek(later).unwrap();
            let recomputed = t.recipe().replay(later).unwrap();
            assert_eq!(
                fingerprint(t.sim()),
                fingerprint(&recomputed),
                "seed {seed} at {later}"
            );
            t.seek(target).unwrap();
            // Play on in frames: the same future.
            while t.now_ms() < end {
                let next = (t.now_ms() + 1 + below(&mut rng, 300)).min(end);
                t.advance(next).unwrap();
                t.take_events();
            }
            assert_eq!(
                fingerprint(t.sim()),
                straight,
                "seed {seed}: seek to {target}"
            );
        }
    }
}

#[test]
fn acting_in_the_past_forks_and_the_old_branch_can_be_returned_to() {
    let (mut t, _) = live_session(41, 30_000);
    let old_end = fingerprint(t.sim());
    let old_steps = t.steps().len();
    t.seek(12_345).unwrap();
    let kept = t.steps().iter().filter(|s| s.at_ms <= 12_345).count();
    // A misclick that fails changes nothing and forks nothing.
    assert!(t.act(Action::Crash(42)).is_err());
    assert_eq!(t.branches().len(), 1);
    let node = t
        .sim()
        .node_ids()
        .find(|&id| t.sim().node(id).unwrap().is_up())
        .unwrap();
    t.act(Action::Crash(node)).unwrap();
    let branches = t.branches();
    assert_eq!(branches.len(), 2);
    assert_eq!(branches[1].parent, Some((1, 12_345)));
    assert!(branches[1].current);
    assert_eq!(
        t.steps().len(),
        kept + 1,
        "the old future is not on the new branch"
    );
    assert!(!t.is_rewound());
    t.advance(20_000).unwrap();
    let new_branch = fingerprint(t.sim());
    // Back to the old branch: it resumes where it was left (the fork), and
    // its future is intact.
    t.switch_branch(1).unwrap();
    assert_eq!(t.now_ms(), 12_345);
    assert_eq!(t.steps().len(), old_steps);
    t.advance(30_000).unwrap();
    assert_eq!(fingerprint(t.sim()), old_end);
    // And forward again to the new one, where it was left.
    t.switch_branch(2).unwrap();
    assert_eq!(t.now_ms(), 20_000);
    assert_eq!(fingerprint(t.sim()), new_branch);
    assert!(t.switch_branch(9).is_err());
}

#[test]
fn step_back_goes_to_the_previous_moment_something_happened() {
    let (mut t, _) = live_session(7, 15_000);
    let mut times = Vec::new();
    for _ in 0..5 {
        assert!(t.step_back().unwrap());
        times.push(t.now_ms());
        let recomputed = t.recipe().replay(t.now_ms()).unwrap();
        assert_eq!(fingerprint(t.sim()), fingerprint(&recomputed));
    }
    assert!(times.windows(2).all(|w| w[1] < w[0]), "{times:?}");
    t.seek(0).unwrap();
    assert!(!t.step_back().unwrap(), "nothing before the start");
}

#[test]
fn markers_show_leaders_crashes_and_committed_messages() {
    let (t, _) = live_session(3, 20_000);
    let m = t.markers();
    assert!(m
        .iter()
        .any(|m| matches!(m.kind, MarkerKind::Leader { .. })));
    assert!(m
        .iter()
        .any(|m| matches!(m.kind, MarkerKind::Committed { .. })));
    let crashes = t
        .steps()
        .iter()
        .filter(|s| matches!(s.action, Action::Crash { .. }))
        .count();
    let crash_marks = m
        .iter()
        .filter(|m| matches!(m.kind, MarkerKind::Crash { .. }))
        .count();
    assert_eq!(crashes, crash_marks);
    // A timeline rebuilt from the recipe has the same markers.
    let rebuilt = Timeline::from_recipe(&t.recipe()).unwrap();
    let mut a = m.to_vec();
    let mut b = rebuilt.markers().to_vec();
    a.sort_by_key(|m| (m.at_ms, format!("{:?}", m.kind)));
    b.sort_by_key(|m| (m.at_ms, format!("{:?}", m.kind)));
    assert_eq!(a, b);
    assert!(t.checkpoints() >= (20_000 / CHECKPOINT_EVERY_MS) as usize);
}

#[test]
fn a_long_run_keeps_a_bounded_number_of_checkpoints_and_still_seeks_exactly() {
    // Two and a half times what MAX_CHECKPOINTS covers at the first spacing.
    let end = (MAX_CHECKPOINTS as u64 * CHECKPOINT_EVERY_MS) * 5 / 2;
    let mut t = Timeline::new(config(3)).unwrap();
    let mut seq = 0;
    while t.now_ms() < end {
        t.advance((t.now_ms() + 60_000).min(end)).unwrap();
        t.take_events();
        seq += 1;
        t.act(Action::Send {
            node: 1 + (seq % 5) as u32,
            client: 1,
            seq,
            author: "t".into(),
            text: format!("minute {seq}"),
        })
        .unwrap();
        assert!(
            t.checkpoints() <= MAX_CHECKPOINTS,
            "{} checkpoints at {} ms",
            t.checkpoints(),
            t.now_ms()
        );
    }
    assert!(
        t.checkpoints() >= MAX_CHECKPOINTS / 2,
        "{}",
        t.checkpoints()
    );
    let mut rng = Rng::new(11);
    for target in [end / 3, end - 1, below(&mut rng, end), 7_000] {
        t.seek(target).unwrap();
        let recomputed = t.recipe().replay(target).unwrap();
        assert_eq!(
            fingerprint(t.sim()),
            fingerprint(&recomputed),
            "at {target}"
        );
    }
}

#[test]
fn a_run_opened_a_slice_at_a_time_is_the_run_opened_in_one_go() {
    // A live session with commands (crashes, partitions, chat, compaction),
    // paused half-way: what a page opens from a link, in slices of random
    // event counts with a frame drawn between them.
    for seed in [3, 17, 42] {
        let (mut live, _) = live_session(seed, 40_000);
        live.seek(25_000).unwrap();
        let recipe = live.recipe();
        let straight = Timeline::from_recipe(&recipe).unwrap();
        let mut rng = Rng::new(seed);
        let mut opening = Opening::new(&recipe, u64::MAX).unwrap();
        assert_eq!((opening.at_ms(), opening.end_ms()), (0, 40_000));
        let mut slices = 0;
        loop {
            let (at_ms, events) = (opening.at_ms(), opening.events());
            let slice_events = 1 + below(&mut rng, 2_000);
            let done = opening.advance(slice_events).unwrap();
            slices += 1;
            assert!(opening.at_ms() > at_ms, "seed {seed}: no progress");
            if done {
                assert_eq!(opening.at_ms(), 40_000);
                break;
            }
            // A slice stops once it has its events, not before.
            assert!(
                opening.events() >= events + slice_events,
                "seed {seed}: a slice of {} events for {slice_events} asked",
                opening.events() - events
            );
            assert!(slices < 10_000, "seed {seed}: the opening does not end");
        }
        assert!(slices > 5, "seed {seed}: only {slices} slices");
        assert!(opening.advance(1).unwrap(), "an opened run stays opened");
        let opened = opening.finish().unwrap();
        assert_eq!(opened.now_ms(), 25_000);
        assert_eq!(fingerprint(opened.sim()), fingerprint(straight.sim()));
        assert_eq!(opened.markers(), straight.markers());
        assert_eq!(opened.checkpoints(), straight.checkpoints());
        assert_eq!(opened.recipe(), recipe);
    }
    // A damaged recipe is refused before any replay.
    let mut damaged = Recipe::new(config(1));
    damaged.end_ms = 1_000;
    damaged.at_ms = 2_000;
    assert!(matches!(
        Opening::new(&damaged, u64::MAX),
        Err(OpenError::Invalid(_))
    ));
}

#[test]
fn a_run_too_busy_to_open_is_refused_by_its_event_count_not_its_length() {
    // A quiet minute of the default cluster, and 10 s of 9 nodes with 1 ms
    // heartbeats and no latency: shorter, but many times the events.
    let mut quiet = Recipe::new(SimConfig::default());
    quiet.end_ms = 60_000;
    quiet.at_ms = 60_000;
    let busy = busy::busy_run(10_000);
    let events = |r: &Recipe| Timeline::from_recipe(r).unwrap().sim().stats().events;
    let (quiet_events, busy_events) = (events(&quiet), events(&busy));
    assert!(
        busy_events > 10 * quiet_events,
        "busy {busy_events}, quiet {quiet_events}"
    );
    // A budget the quiet run fits in opens it as the unbounded replay does.
    let budget = 2 * quiet_events;
    let opened = Timeline::from_recipe_within(&quiet, budget).expect("within the budget");
    let straight = Timeline::from_recipe(&quiet).unwrap();
    assert_eq!(fingerprint(opened.sim()), fingerprint(straight.sim()));
    // The busy run is refused in its first virtual second past the budget,
    // and says where it got to.
    let why = Timeline::from_recipe_within(&busy, budget)
        .err()
        .expect("over the budget");
    let OpenError::TooBusy {
        max_events,
        events,
        at_ms,
        end_ms,
    } = why
    else {
        panic!("{why}")
    };
    assert_eq!((max_events, end_ms), (budget, 10_000));
    assert!(events > budget && at_ms < 10_000, "{why}");
    // Within one slice (a virtual second) of the first to overrun.
    let mut to_budget = Simulator::<ChatRoom>::new(busy.config.clone()).unwrap();
    while to_budget.stats().events <= budget {
        assert!(to_budget.step(), "no disk to wait for in a simulator");
    }
    assert!(
        at_ms <= to_budget.now_ms().div_ceil(1_000) * 1_000,
        "refused at {at_ms} ms, over the budget at {} ms",
        to_budget.now_ms()
    );
    // What the page shows.
    let shown = OpenError::TooBusy {
        max_events: 5_000_000,
        events: 5_043_210,
        at_ms: 734_000,
        end_ms: 21_600_000,
    };
    assert_eq!(
        shown.to_string(),
        "replaying it takes more than 5,000,000 simulated events (5,043,210 by 12.2 min of its 6.0 h)"
    );
}
