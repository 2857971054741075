//! Bug switches (`raftchat_core::bugs`): each breaks one rule of Raft, and the
//! checker must notice. For every switch, the fault campaign — in a profile
//! that reaches the rule often — or a scripted scenario (Figure 8, where random
//! faults rarely go) finds a violation within 200 seeds; with no switch on the
//! same profiles and scenarios find nothing. A run with a rule broken goes on
//! without panicking (the page lets a class play on after the violation).
#![cfg(feature = "cli")]

use raftchat_core::bugs::{Bug, BugSet};
use raftchat_core::campaign::{self, campaign_config, RunConfig};
use raftchat_core::chat::ChatRoom;
use raftchat_core::recipe::{Action, Recipe};
use raftchat_core::sim::{SimConfig, Simulator};
use raftchat_core::timeline::Timeline;
use raftchat_core::types::{NodeId, Role, Term};

const SEEDS: u64 = 200;
const DURATION_MS: u64 = 10_000;

/// The campaign profile each switch is hunted with.
fn profile(bug: Bug) -> fn(&mut RunConfig) {
    match bug {
        // Two changes at once only matter when many changes meet leader changes.
        Bug::TwoConfigChanges => |c| {
            c.faults.churn_rate = 10.0;
            c.faults.transfer_rate = 1.0;
        },
        _ => |_| {},
    }
}

/// Switches random faults rarely reach: each has a scripted scenario below.
/// Every other switch (a new one too) must be found by the campaign.
const BY_SCENARIO: [Bug; 2] = [Bug::CommitOldTerm, Bug::IgnoreHigherTermReply];

/// The first seed (of [`SEEDS`]) whose run with `bugs` breaks an invariant.
fn first_violation(bugs: BugSet, tweak: fn(&mut RunConfig)) -> Option<(u64, String)> {
    (1..=SEEDS).find_map(|seed| {
        let mut cfg = campaign_config(seed, DURATION_MS);
        cfg.sim.bugs = bugs;
        tweak(&mut cfg);
        let report = campaign::run(&cfg).expect("valid campaign config");
        report.violation.map(|v| (seed, v.to_string()))
    })
}

#[test]
fn every_switch_the_campaign_reaches_is_caught_within_200_seeds() {
    for bug in Bug::ALL.into_iter().filter(|b| !BY_SCENARIO.contains(b)) {
        let found = first_violation(BugSet::only(bug), profile(bug));
        let (seed, what) = found.unwrap_or_else(|| {
            panic!(
                "{} ({}) was not caught in {SEEDS} seeds",
                bug.name(),
                bug.rule()
            )
        });
        println!("{:<26} caught at seed {seed:>3}: {what}", bug.name());
    }
}

#[test]
fn the_hunting_profiles_find_nothing_without_a_switch() {
    // The default profile is the fault campaign's own (core/tests/campaign.rs).
    let tweak = profile(Bug::TwoConfigChanges);
    if let Some((seed, what)) = first_violation(BugSet::NONE, tweak) {
        panic!("seed {seed} with no switch on: {what}");
    }
}

#[test]
fn a_run_with_a_rule_broken_goes_on_without_panicking() {
    for bug in Bug::ALL {
        for seed in 1..=10 {
            let mut cfg = campaign_config(seed, DURATION_MS);
            cfg.sim.bugs = BugSet::only(bug);
            cfg.check = false; // play on past the violation, as the page may
            campaign::run(&cfg).expect("valid campaign config");
        }
    }
}

// ----- scripted scenarios -----------------------------------------------------

fn sim(t: &Timeline) -> &Simulator<ChatRoom> {
    t.sim()
}

fn role(t: &Timeline, id: NodeId) -> Option<(Role, Term)> {
    let n = sim(t).node(id)?.node?;
    Some((n.raft().role(), n.raft().term()))
}

fn term_at(t: &Timeline, id: NodeId, index: u64) -> Option<Term> {
    sim(t).node(id)?.node?.raft().log().term(index)
}

/// Runs a millisecond at a time until `done` holds (at most `max_ms`), so that
/// the next action lands at the very moment it does.
fn run_until(
    t: &mut Timeline,
    max_ms: u64,
    what: &str,
    done: impl Fn(&Timeline) -> bool,
) -> Result<(), String> {
    let end = t.now_ms() + max_ms;
    while !done(t) {
        if t.now_ms() >= end {
            return Err(format!("{what}: not reached by {end} ms"));
        }
        t.advance(t.now_ms() + 1)?;
        t.take_events();
    }
    Ok(())
}

/// Makes `id` leader: fires its election timer until it wins (each failed
/// round teaches it the newer term). A leader elected meanwhile elsewhere, in
/// a newer term, spoils the scenario.
fn elect(t: &mut Timeline, id: NodeId) -> Result<(), String> {
    let newest = |t: &Timeline| {
        (1..=5)
            .filter_map(|x| role(t, x))
            .map(|r| r.1)
            .max()
            .unwrap_or(0)
    };
    let before = newest(t);
    let other_won = |t: &Timeline| {
        (1..=5).any(|x| {
            x != id && role(t, x).is_some_and(|(r, term)| r == Role::Leader && term > before)
        })
    };
    let won =
        |t: &Timeline| role(t, id).is_some_and(|(r, term)| r == Role::Leader && term > before);
    for _ in 0..5 {
        t.act(Action::Timeout(id))?;
        let r = run_until(t, 400, "an election", |t| won(t) || other_won(t));
        if won(t) {
            return Ok(());
        }
        if other_won(t) {
            return Err(format!("node {id} was meant to win, another did"));
        }
        r?;
    }
    Err(format!("node {id} did not win an election"))
}

fn cut_both(t: &mut Timeline, a: NodeId, b: NodeId) -> Result<(), String> {
    t.act(Action::Cut { from: a, to: b })?;
    t.act(Action::Cut { from: b, to: a })
}

/// A run of `cfg` (five servers, checker off while a scenario is authored:
/// the checks come after) up to its first leader, whose no-op every server
/// has committed. Returns the run and the leader.
fn settled(cfg: SimConfig) -> Result<(Timeline, NodeId), String> {
    let mut t = Timeline::new(cfg)?;
    t.set_checking(false)?;
    run_until(&mut t, 5_000, "a first leader", |t| {
        sim(t).leader().is_some()
    })?;
    let leader = sim(&t).leader().unwrap();
    run_until(&mut t, 2_000, "the first no-op committed everywhere", |t| {
        (1..=5).all(|x| {
            sim(t)
                .node(x)
                .and_then(|v| v.node)
                .is_some_and(|n| n.raft().commit_index() >= 1)
        })
    })?;
    Ok((t, leader))
}

/// Figure 8 of the Raft paper, staged on five servers. Returns the run and
/// the index at stake.
fn figure_8(bugs: BugSet) -> Result<(Timeline, u64), String> {
    let cfg = SimConfig {
        nodes: 5,
        seed: 8,
        // One entry per AppendEntries, so that an old entry can reach a
        // majority before the leader's own (the moment Figure 8 is about).
        max_entries_per_append: 1,
        bugs,
        ..SimConfig::default()
    };
    let (mut t, s1) = settled(cfg)?;
    let others: Vec<NodeId> = (1..=5).filter(|&i| i != s1).collect();
    let (s2, rest) = (others[0], &others[1..]);
    // (a) S1 replicates a new entry to S2 only.
    for &x in rest {
        cut_both(&mut t, s1, x)?;
    }
    t.act(Action::Send {
        node: s1,
        client: s1 as u64,
        seq: 1,
        author: "S1".into(),
        text: "from S1, term 1".into(),
    })?;
    let i = sim(&t)
        .node(s1)
        .unwrap()
        .node
        .unwrap()
        .raft()
        .log()
        .last_index();
    let t1 = role(&t, s1).unwrap().1;
    run_until(&mut t, 1_000, "S2 holding the entry", |t| {
        term_at(t, s2, i) == Some(t1)
    })?;
    // (b) S1 and S2 crash; one of the other three (S5 in the paper) is
    // elected, appends its own entry at the same index, and is cut off
    // before it sends it.
    t.act(Action::Crash(s1))?;
    t.act(Action::Crash(s2))?;
    run_until(&mut t, 2_000, "a leader among the other three", |t| {
        rest.iter()
            .any(|&x| role(t, x).is_some_and(|(r, _)| r == Role::Leader))
    })?;
    let s5 = *rest
        .iter()
        .find(|&&x| role(&t, x).is_some_and(|(r, _)| r == Role::Leader))
        .unwrap();
    t.act(Action::Isolate(s5))?;
    // (c) S1 and S2 restart, S1 is elected again and sends its old entry on.
    t.act(Action::Restart(s1))?;
    t.act(Action::Restart(s2))?;
    for &x in rest.iter().filter(|&&x| x != s5) {
        t.act(Action::Heal { from: s1, to: x })?;
        t.act(Action::Heal { from: x, to: s1 })?;
    }
    elect(&mut t, s1)?;
    // With the rule broken, S1 counts the old entry as committed as soon as a
    // majority holds it (without the rule, the same moment passes quietly).
    let commit = |t: &Timeline| {
        sim(t)
            .node(s1)
            .and_then(|v| v.node)
            .map_or(0, |n| n.raft().commit_index())
    };
    run_until(&mut t, 1_000, "the old entry on a majority", |t| {
        commit(t) >= i
            || (1..=5).filter(|&x| term_at(t, x, i) == Some(t1)).count() >= 3
                && !bugs.has(Bug::CommitOldTerm)
    })?;
    let t3 = role(&t, s1).unwrap().1;
    if (1..=5)
        .filter(|&x| term_at(&t, x, i + 1) == Some(t3))
        .count()
        >= 3
    {
        return Err("S1's own entry reached a majority first".into());
    }
    // (d) S1 crashes before its own entry (the no-op of its term) reaches a
    // majority.
    t.act(Action::Isolate(s1))?;
    t.act(Action::Crash(s1))?;
    // (e) S5 comes back and is elected by the others: it overwrites index i.
    // (S1's links stay cut: what it sent before crashing never arrives.)
    for x in (1..=5).filter(|&x| x != s1 && x != s5) {
        t.act(Action::Heal { from: s5, to: x })?;
        t.act(Action::Heal { from: x, to: s5 })?;
    }
    run_until(&mut t, 200, "S5 hearing of the newer term", |t| {
        role(t, s5).is_some_and(|(r, _)| r != Role::Leader)
    })?;
    elect(&mut t, s5)?;
    let end = t.now_ms() + 3_000;
    t.advance(end)?;
    t.take_events();
    Ok((t, i))
}

/// The shipped copy (`tests/scenarios/figure-8.json`, used by the page's
/// end-to-end test and as a lesson) is the scenario as built here.
fn shipped(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/scenarios")
        .join(name)
}

#[test]
fn figure_8_an_old_term_entry_committed_by_counting_is_overwritten() {
    let (t, i) = figure_8(BugSet::only(Bug::CommitOldTerm)).expect("the scenario stages");
    let recipe = t.recipe();
    let path = shipped("figure-8.json");
    if std::env::var_os("RAFTCHAT_WRITE_SCENARIOS").is_some() {
        std::fs::write(&path, recipe.to_json() + "\n").expect("scenario written");
    }
    let file = std::fs::read_to_string(&path).expect("tests/scenarios/figure-8.json");
    assert_eq!(
        Recipe::from_json(&file).expect("a valid recipe"),
        recipe,
        "the shipped scenario is stale: rerun with RAFTCHAT_WRITE_SCENARIOS=1"
    );
    // With the rule broken: a violation, about index i.
    let report = campaign::replay(&recipe).expect("replays");
    let v = report
        .violation
        .expect("Figure 8 breaks State Machine Safety");
    println!("with commit-old-term: {v}");
    assert!(
        v.rule == "State Machine Safety" || v.rule == "Leader Completeness",
        "{v}"
    );
    assert!(v.detail.contains(&format!("{i}")), "{v}");
    // The same run with the rule kept: S1 never counts its old entry as
    // committed, so S5 may overwrite it, and every invariant holds.
    let mut kept = recipe.clone();
    kept.config.bugs = BugSet::NONE;
    let report = campaign::replay(&kept).expect("replays");
    assert_eq!(report.violation, None);
    assert!(
        report.sim.leader().is_some(),
        "the cluster ends with a leader"
    );
}

/// A leader cut off from everyone, deposed meanwhile; when the others' replies
/// reach it again (but not the new leader's messages) a read arrives.
fn deposed_leader_read(bugs: BugSet) -> Result<Timeline, String> {
    let cfg = SimConfig {
        nodes: 5,
        seed: 3,
        bugs,
        ..SimConfig::default()
    };
    // Its first entry committed: it may serve reads (§6.4 step 1).
    let (mut t, old) = settled(cfg)?;
    t.act(Action::Isolate(old))?;
    run_until(&mut t, 3_000, "a new leader", |t| {
        (1..=5).any(|x| x != old && role(t, x).is_some_and(|(r, _)| r == Role::Leader))
    })?;
    let new = (1..=5)
        .find(|&x| x != old && role(&t, x).is_some_and(|(r, _)| r == Role::Leader))
        .unwrap();
    t.act(Action::Send {
        node: new,
        client: new as u64,
        seq: 1,
        author: "class".into(),
        text: "written after the old leader was cut off".into(),
    })?;
    run_until(&mut t, 2_000, "the message acknowledged", |t| {
        sim(t).acks().iter().any(|a| a.0 == new as u64 && a.1 == 1)
    })?;
    // The old leader hears the others again — all but the new leader.
    for x in (1..=5).filter(|&x| x != old && x != new) {
        t.act(Action::Heal { from: old, to: x })?;
        t.act(Action::Heal { from: x, to: old })?;
    }
    t.act(Action::Read(old))?;
    let end = t.now_ms() + 1_000;
    t.advance(end)?;
    t.take_events();
    Ok(t)
}

#[test]
fn a_leader_that_ignores_a_higher_term_in_replies_serves_a_stale_read() {
    let t = deposed_leader_read(BugSet::only(Bug::IgnoreHigherTermReply)).expect("stages");
    let recipe = t.recipe();
    let path = shipped("deposed-leader-read.json");
    if std::env::var_os("RAFTCHAT_WRITE_SCENARIOS").is_some() {
        std::fs::write(&path, recipe.to_json() + "\n").expect("scenario written");
    }
    let file = std::fs::read_to_string(&path).expect("tests/scenarios/deposed-leader-read.json");
    assert_eq!(
        Recipe::from_json(&file).expect("a valid recipe"),
        recipe,
        "the shipped scenario is stale: rerun with RAFTCHAT_WRITE_SCENARIOS=1"
    );
    let report = campaign::replay(&recipe).expect("replays");
    let v = report.violation.expect("a stale read");
    println!("with ignore-higher-term-reply: {v}");
    assert_eq!(v.rule, "Linearizable read", "{v}");
    // Kept: the first reply with the newer term deposes it; the read fails.
    let mut kept = recipe.clone();
    kept.config.bugs = BugSet::NONE;
    let report = campaign::replay(&kept).expect("replays");
    assert_eq!(report.violation, None);
    let read = report.sim.reads().iter().last().expect("the read");
    assert!(
        matches!(
            read.outcome,
            Some(raftchat_core::node::ReadOutcome::Failed(_))
        ),
        "{:?}",
        read.outcome
    );
    // Played on for a minute past the violation, as the page can: the deposed
    // leader keeps leading its stale term, its heartbeats rejected, and the
    // network carries about what the kept run's does (before the leader
    // stopped probing where the follower already matched: 10 million
    // messages, where the kept run sends 9,000).
    let minute = |r: &Recipe| r.replay(60_000).expect("replays").stats().messages_sent;
    let (broken, kept) = (minute(&recipe), minute(&kept));
    println!("messages in a minute: {broken} with the rule broken, {kept} kept");
    assert!(
        broken <= 2 * kept,
        "{broken} messages in a minute with the rule broken, {kept} with it kept"
    );
}

#[test]
fn the_command_line_lists_the_switches_and_refuses_an_unknown_one() {
    let sim = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_raftchat-sim"))
            .args(args)
            .output()
            .expect("raftchat-sim runs")
    };
    let out = sim(&["--list-bugs"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let names: Vec<&str> = text
        .lines()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    let all: Vec<&str> = Bug::ALL.iter().map(|b| b.name()).collect();
    assert_eq!(names, all);
    let out = sim(&["--bug", "figure-9"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no bug switch \"figure-9\""));
    // A switch on: the run reports the violation and fails.
    let out = sim(&["--bug", "vote-before-durable", "--duration", "5s"]);
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("BUG SWITCHES ON       vote-before-durable"),
        "{text}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("Persist before send"));
}

#[test]
fn played_in_a_timeline_figure_8_stops_at_the_first_violation_and_shows_every_broken_property() {
    let file = std::fs::read_to_string(shipped("figure-8.json")).expect("the scenario");
    let recipe = Recipe::from_json(&file).expect("valid");
    // Opened (as a link opens it), every broken property is listed.
    let mut t = Timeline::from_recipe(&recipe).unwrap();
    let rules: Vec<&str> = t.violations().iter().map(|v| v.rule).collect();
    assert!(rules.contains(&"Leader Completeness"), "{rules:?}");
    assert!(rules.contains(&"State Machine Safety"), "{rules:?}");
    let first = t.violations()[0].clone();
    assert!(first.since_ms.is_some_and(|s| s < first.at_ms), "{first:?}");
    assert!(
        !first.nodes.is_empty() && first.index.is_some(),
        "{first:?}"
    );
    // Played from the start in frames (the recorded steps replayed as their
    // times come), the run stops at the very event of the first violation.
    t.seek(0).unwrap();
    assert!(t.violations().is_empty(), "a seek back forgets the future");
    let end = recipe.run_end_ms();
    let stopped = loop {
        assert!(t.now_ms() < end, "no violation while playing");
        let frame_end = (t.now_ms() + 16).min(end);
        t.advance(frame_end).unwrap();
        t.take_events();
        if let Some(v) = t.take_new_violation() {
            break v;
        }
    };
    assert_eq!(stopped, first);
    assert_eq!(t.now_ms(), first.at_ms);
    // Played on, the next property breaks later.
    t.advance(end).unwrap();
    let second = t.take_new_violation().expect("State Machine Safety, later");
    assert!(second.at_ms > first.at_ms, "{second:?}");
}
