//! Every command the page can give, at random: a teacher's clicks, fuzzed.
//!
//! The fault campaign (`campaign.rs`) injects faults the way a network and a
//! power supply would. A user does more: holds messages and delivers them in any
//! order, duplicates or drops one by hand, times a node out, hands leadership
//! over, adds and removes servers, compacts a log, changes the network and the
//! options mid-run, rewinds, steps back, returns to another branch and acts
//! in the past (forking the run) — and clicks on things that are not there (a
//! node that never existed, a message already delivered, settings out of
//! range). Each seed here drives a
//! [`Timeline`], as the page does, through such a session with the safety
//! checker on, and asserts:
//!
//! - no rule breaks (no bug switch is on): the checker finds nothing, after
//!   every event and every command;
//! - a command that fails changes nothing and is not recorded;
//! - nothing panics, and no message storm fills memory;
//! - once the faults are undone (links healed, nodes restarted, messages
//!   released), the cluster converges within a bound: a leader everyone
//!   follows, every acknowledged write applied on every member;
//! - the recorded run, shared as a link, replays to the same state.
//!
//! A second test plays the same sessions with a rule of Raft broken (a bug
//! switch on from the start, and the *Break Raft* menu among the clicks): the
//! checker then finds what it finds, and the rest must hold all the same —
//! nothing panics, no storm, a refused command changes nothing, the run
//! replays — except convergence, which a broken rule may prevent.
//!
//! `RAFTCHAT_SEEDS=N` runs N seeds; `RAFTCHAT_SEED=N` one.

use raftchat_core::bugs::{Bug, BugSet};
use raftchat_core::campaign::converged;
use raftchat_core::chat::ChatRoom;
use raftchat_core::recipe::{Action, Recipe};
use raftchat_core::rng::Rng;
use raftchat_core::sim::{DiskTail, NetConfig, SimConfig, Simulator};
use raftchat_core::timeline::Timeline;
use raftchat_core::*;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

mod common;
use common::{run_seeds, seeds_from_env};

/// Virtual time of clicking, per seed; then up to `CONVERGE_MS` to converge.
const SESSION_MS: u64 = 20_000;
const CONVERGE_MS: u64 = 60_000;

fn below(rng: &mut Rng, n: u64) -> u64 {
    rng.below(n as usize) as u64
}

fn config(seed: u64, rng: &mut Rng) -> SimConfig {
    let mut c = SimConfig {
        seed,
        nodes: 1 + below(rng, 9) as u32,
        // Small snapshots, so that compaction and InstallSnapshot happen.
        snapshot_min_log_bytes: 1_024,
        pre_vote: below(rng, 2) == 0,
        check_quorum: below(rng, 2) == 0,
        ..SimConfig::default()
    };
    // Half the clusters are set up otherwise than the page's default (timings
    // still such that elections succeed soon: broadcast time ≪ election
    // timeout, §5.6, and timeouts spread widely enough that split votes do
    // not repeat for long — Figure 16: 150–151 ms can take many seconds).
    if below(rng, 2) == 0 {
        let min_ms = 60 + below(rng, 240);
        c.election_timeout_min_ms = min_ms;
        c.election_timeout_max_ms = min_ms + 50 + below(rng, 300);
        c.heartbeat_interval_ms = min_ms / (2 + below(rng, 4));
        c.disk_latency_min_ms = below(rng, 3);
        c.disk_latency_max_ms = c.disk_latency_min_ms + below(rng, 4);
        if below(rng, 4) == 0 {
            c.disk_tail = Some(DiskTail {
                chance: 0.05,
                extra_min_ms: 5,
                extra_max_ms: 50,
            });
        }
        c.max_entries_per_append = 1 + below(rng, 64) as usize;
        c.max_queued_requests = 1 + below(rng, 64) as usize;
        c.request_timeout_ms = 500 + below(rng, 5_000);
        c.snapshot_chunk_bytes = 64 << below(rng, 6);
        c.snapshot_log_ratio = 1 + below(rng, 8);
    }
    c
}

/// What a session did, summed over the seeds (printed, and asserted to be
/// more than nothing, so the test cannot pass by doing nothing).
#[derive(Default)]
struct Tally {
    applied: AtomicU64,
    refused: AtomicU64,
    forks: AtomicU64,
    delivered_by_hand: AtomicU64,
    acks: AtomicU64,
    /// Properties the checker found broken (with a rule broken on purpose).
    violations: AtomicU64,
}

/// A user at the page: what it clicks next.
struct User {
    rng: Rng,
    /// Each chat pane's client: the texts it sent, by sequence number (the
    /// first is 1), to retry one.
    sent: BTreeMap<ClientId, Vec<String>>,
    /// Whether the *Break Raft* menu is among the clicks.
    breaks_rules: bool,
}

impl User {
    /// A node id: mostly one that exists, sometimes 0 or one past the last.
    fn node(&mut self, sim: &Simulator<ChatRoom>) -> NodeId {
        let ids: Vec<NodeId> = sim.node_ids().collect();
        match below(&mut self.rng, 20) {
            0 => 0,
            1 => ids.iter().max().map_or(1, |m| m + 1),
            // Every server removed (a rule broken can get there): one that
            // is gone.
            _ if ids.is_empty() => 1,
            _ => ids[below(&mut self.rng, ids.len() as u64) as usize],
        }
    }

    /// A message id: mostly one on the wire (held ones first when there are
    /// any), sometimes one that is not.
    fn message(&mut self, sim: &Simulator<ChatRoom>) -> u64 {
        let held: Vec<u64> = sim.in_flight().filter(|m| m.held).map(|m| m.id).collect();
        let all: Vec<u64> = sim.in_flight().map(|m| m.id).collect();
        let pool = if held.is_empty() { &all } else { &held };
        if pool.is_empty() || below(&mut self.rng, 10) == 0 {
            return below(&mut self.rng, 1 << 20);
        }
        pool[below(&mut self.rng, pool.len() as u64) as usize]
    }

    fn net(&mut self) -> NetConfig {
        let r = &mut self.rng;
        let min = below(r, 20);
        let mut net = NetConfig {
            latency_min_ms: min,
            latency_max_ms: min + below(r, 30),
            drop_rate: below(r, 30) as f64 / 100.0,
            duplicate_rate: below(r, 30) as f64 / 100.0,
        };
        // Settings out of range, as a hand-edited recipe might hold.
        match below(r, 12) {
            0 => net.latency_max_ms = net.latency_min_ms.wrapping_sub(1),
            1 => net.drop_rate = f64::NAN,
            2 => net.duplicate_rate = 1.5,
            3 => net.drop_rate = -0.1,
            _ => {}
        }
        net
    }

    fn action(&mut self, sim: &Simulator<ChatRoom>) -> Action {
        let menu = if self.breaks_rules { 25 } else { 24 };
        match below(&mut self.rng, menu) {
            0 => Action::Crash(self.node(sim)),
            1 | 2 => Action::Restart(self.node(sim)),
            3 => Action::Timeout(self.node(sim)),
            4 => Action::Cut {
                from: self.node(sim),
                to: self.node(sim),
            },
            5 => Action::Heal {
                from: self.node(sim),
                to: self.node(sim),
            },
            6 => Action::Isolate(self.node(sim)),
            7 => Action::HealAll,
            8 => Action::Hold(below(&mut self.rng, 3) != 0),
            9..=11 => Action::Deliver(self.message(sim)),
            12 => Action::Duplicate(self.message(sim)),
            13 => Action::DropMessage(self.message(sim)),
            14 => Action::SetNet(self.net()),
            15 => Action::Options {
                pre_vote: below(&mut self.rng, 2) == 0,
                check_quorum: below(&mut self.rng, 2) == 0,
            },
            16 => Action::Read(self.node(sim)),
            17 => Action::Transfer(self.node(sim)),
            18 => Action::AddNode,
            19 => Action::RemoveNode(self.node(sim)),
            20 => Action::Compact(self.node(sim)),
            24 => Action::Bugs(match below(&mut self.rng, Bug::ALL.len() as u64 + 1) {
                0 => BugSet::NONE,
                i => BugSet::only(Bug::ALL[i as usize - 1]),
            }),
            _ => self.send(sim),
        }
    }

    /// A chat message from a pane: a new one, or a retry of an earlier one
    /// (same client, seq and text) through any node.
    fn send(&mut self, sim: &Simulator<ChatRoom>) -> Action {
        let node = self.node(sim);
        let client = 1 + below(&mut self.rng, 4);
        let texts = self.sent.entry(client).or_default();
        let (seq, text) = if !texts.is_empty() && below(&mut self.rng, 5) == 0 {
            let i = below(&mut self.rng, texts.len() as u64) as usize;
            (i as u64 + 1, texts[i].clone())
        } else {
            let text = format!("message {} from pane {client}", texts.len() + 1);
            texts.push(text.clone());
            (texts.len() as u64, text)
        };
        Action::Send {
            node,
            client,
            seq,
            author: format!("pane{client}"),
            text,
        }
    }
}

/// What the user sees of the cluster: each node's state and replica, and the
/// messages on the wire. Equal fingerprints, equal runs for every purpose here.
fn fingerprint(sim: &Simulator<ChatRoom>) -> String {
    let mut out = format!("t={} ", sim.now_ms());
    for id in sim.node_ids() {
        let view = sim.node(id).expect("listed node");
        match view.node {
            Some(n) => {
                let r = n.raft();
                out += &format!(
                    "[{id} {:?} term {} commit {} last {} applied {} digest {:x}] ",
                    r.role(),
                    r.term(),
                    r.commit_index(),
                    r.log().last_index(),
                    n.replica().last_applied(),
                    n.replica().digest()
                );
            }
            None => out += &format!("[{id} down, durable {:?}] ", view.durable),
        }
    }
    for m in sim.in_flight() {
        out += &format!(
            "{}:{}>{}@{} ",
            m.id, m.message.from, m.message.to, m.deliver_ms
        );
    }
    out
}

/// Messages on the wire at once: far more than any run needs (a 9-node
/// cluster under load has a few hundred), far less than would exhaust memory.
const MAX_IN_FLIGHT: usize = 20_000;

/// The run's memory stays bounded: no message storm.
fn bounded(t: &Timeline) -> Result<(), String> {
    let n = t.sim().in_flight().count();
    if n > MAX_IN_FLIGHT {
        let mut kinds = BTreeMap::new();
        for m in t.sim().in_flight() {
            *kinds.entry(format!("{:?}", m.message.kind())).or_insert(0) += 1;
        }
        return Err(format!(
            "{n} messages in flight at {} ms (more than {MAX_IN_FLIGHT}): {kinds:?}",
            t.now_ms()
        ));
    }
    Ok(())
}

/// One seed: a session of random commands, then the faults undone and the
/// cluster left to converge. Err says what went wrong, and where the run was
/// saved (a recipe: open it in the page with *Import*, or replay it).
/// With `broken`, that rule is broken from the start.
fn session(seed: u64, tally: &Tally, broken: Option<Bug>) -> Result<(), String> {
    let mut rng = Rng::new(seed ^ 0xc1_1c5);
    let mut cfg = config(seed, &mut rng);
    cfg.bugs = broken.map_or(BugSet::NONE, BugSet::only);
    let mut t = Timeline::new(cfg)?;
    t.set_checking(true)?;
    let mut user = User {
        rng,
        sent: BTreeMap::new(),
        breaks_rules: broken.is_some(),
    };
    drive(&mut t, &mut user, tally).map_err(|e| {
        let path = std::env::temp_dir().join(format!("raftchat-user-actions-seed-{seed}.json"));
        match std::fs::write(&path, t.recipe().to_json()) {
            Ok(()) => format!("{e}\n  the run: {}", path.display()),
            Err(w) => format!("{e}\n  (the run could not be saved: {w})"),
        }
    })
}

fn drive(t: &mut Timeline, user: &mut User, tally: &Tally) -> Result<(), String> {
    let breaks_rules = user.breaks_rules;
    let broken = |t: &Timeline, what: &str| match t.violations().first() {
        Some(v) if !breaks_rules => Err(format!("{what} at {} ms: {v}", t.now_ms())),
        _ => Ok(()),
    };
    while t.now_ms() < SESSION_MS {
        let frame_ms = 1 + below(&mut user.rng, 50);
        t.advance((t.now_ms() + frame_ms).min(SESSION_MS))?;
        broken(t, "a rule broke while running")?;
        bounded(t)?;
        for _ in 0..below(&mut user.rng, 4) {
            // Messages sent at this very moment (latency 0) arrive before any
            // command now, as in a replay: run them first.
            t.advance(t.now_ms())?;
            // With a rule broken, that stops at a property's first violation,
            // maybe mid-moment, as the page pauses: a click that succeeds then
            // first runs the rest of the moment (`Timeline::act`, as a replay
            // does); one that fails must change nothing, those events included.
            let action = user.action(t.sim());
            let before = (fingerprint(t.sim()), t.steps().len(), t.branch_id());
            let deliver = matches!(action, Action::Deliver(_));
            match t.act(action.clone()) {
                Ok(()) => {
                    tally.applied.fetch_add(1, Ordering::Relaxed);
                    if deliver {
                        tally.delivered_by_hand.fetch_add(1, Ordering::Relaxed);
                    }
                }
                Err(why) => {
                    tally.refused.fetch_add(1, Ordering::Relaxed);
                    let after = (fingerprint(t.sim()), t.steps().len(), t.branch_id());
                    if after != before {
                        return Err(format!(
                            "{action:?} failed at {} ms ({why}) but changed the run:\n  before {before:?}\n  after  {after:?}",
                            t.now_ms()
                        ));
                    }
                }
            }
            broken(t, &format!("a rule broke after {action:?}"))?;
        }
        // Now and then, travel in time: rewind (the next command forks the
        // run there), step back, or go back to another branch.
        // (A few seconds back at most: the session still moves forward.)
        match below(&mut user.rng, 600) {
            0..=3 => {
                let back_ms = below(&mut user.rng, t.now_ms().min(3_000) + 1);
                t.seek(t.now_ms() - back_ms)?;
                tally.forks.fetch_add(1, Ordering::Relaxed);
            }
            4 | 5 => {
                t.step_back()?;
            }
            6 => {
                let ids: Vec<u32> = t.branches().iter().map(|b| b.id).collect();
                let id = ids[below(&mut user.rng, ids.len() as u64) as usize];
                t.switch_branch(id)?;
            }
            _ => {}
        }
        broken(t, "a rule broke after travelling in time")?;
    }
    if breaks_rules {
        // What is due now has run (the last clicks' own writes and messages),
        // as at the end of a replay.
        t.advance(t.now_ms())?;
        // The checker stopped the run at each property's first violation,
        // as the page pauses; it went on at the next frame.
        tally
            .violations
            .fetch_add(t.violations().len() as u64, Ordering::Relaxed);
        return replays_the_same(t);
    }
    // Undo every fault the user made, as a teacher would before moving on.
    let mut undo = vec![
        Action::Hold(false),
        Action::HealAll,
        Action::SetNet(NetConfig::default()),
    ];
    undo.extend(
        t.sim()
            .node_ids()
            .filter(|&id| t.sim().node(id).is_some_and(|v| !v.is_up()))
            .map(Action::Restart),
    );
    for action in undo {
        t.act(action.clone())
            .map_err(|e| format!("undoing the faults: {action:?} failed: {e}"))?;
    }
    let deadline = t.now_ms() + CONVERGE_MS;
    loop {
        t.advance(t.now_ms() + 100)?;
        broken(t, "a rule broke while converging")?;
        match converged(t.sim()) {
            Ok(()) => break,
            Err(e) if t.now_ms() >= deadline => {
                return Err(format!(
                    "not converged {CONVERGE_MS} ms after the faults were undone: {e}"
                ))
            }
            Err(_) => {}
        }
    }
    tally
        .acks
        .fetch_add(t.sim().acks().len() as u64, Ordering::Relaxed);
    replays_the_same(t)
}

fn replays_the_same(t: &Timeline) -> Result<(), String> {
    // The run as recorded (the current branch), shared as a link (its compact
    // form, read back as the page reads one), replays to the same state.
    let link = Recipe::from_json(&t.recipe().to_link_json())?;
    let replayed = Timeline::from_recipe(&link)?;
    let (live, again) = (fingerprint(t.sim()), fingerprint(replayed.sim()));
    if live != again {
        return Err(format!(
            "the recorded run replays differently:\n  live   {live}\n  replay {again}"
        ));
    }
    Ok(())
}

fn load(c: &AtomicU64) -> u64 {
    c.load(Ordering::Relaxed)
}

/// Runs a session for each seed (on every core; 256 unless the environment
/// says), with the rule `broken(seed)` broken; prints what they did (`label`,
/// then `what`) and fails on any failed seed, naming each. Returns how many
/// seeds ran and their tally.
fn sessions(
    label: &str,
    broken: impl Fn(u64) -> Option<Bug> + Sync,
    what: impl Fn(&Tally) -> String,
) -> (u64, Tally) {
    let seeds = seeds_from_env(256);
    let count = seeds.end - seeds.start;
    let tally = Tally::default();
    let started = std::time::Instant::now();
    let failures = run_seeds(seeds, |seed| {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            session(seed, &tally, broken(seed))
        }));
        let why = match outcome {
            Ok(Ok(())) => return None,
            Ok(Err(e)) => e,
            Err(panic) => format!(
                "panicked: {}",
                panic
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| panic.downcast_ref::<&str>().copied())
                    .unwrap_or("(no message)")
            ),
        };
        Some(format!("seed {seed} FAILED (RAFTCHAT_SEED={seed}): {why}"))
    });
    println!(
        "{label}: {count} seeds × {} s virtual in {:.1} s: {}",
        SESSION_MS / 1000,
        started.elapsed().as_secs_f64(),
        what(&tally)
    );
    assert!(
        failures.is_empty(),
        "{} of {count} seeds failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    (count, tally)
}

#[test]
fn random_user_commands_break_no_rule_and_the_cluster_recovers() {
    let (count, tally) = sessions(
        "user commands",
        |_| None,
        |t| {
            format!(
            "{} commands applied, {} refused (each changed nothing), {} messages delivered by hand, {} rewinds, {} acknowledged writes, every one applied on every member at the end",
            load(&t.applied),
            load(&t.refused),
            load(&t.delivered_by_hand),
            load(&t.forks),
            load(&t.acks),
        )
        },
    );
    if count >= 16 {
        assert!(
            load(&tally.applied) > 0
                && load(&tally.refused) > 0
                && load(&tally.delivered_by_hand) > 0
                && load(&tally.forks) > 0
                && load(&tally.acks) > 0,
            "the sessions applied and refused commands, delivered by hand, rewound and committed"
        );
    }
}

#[test]
fn with_a_rule_broken_random_user_commands_never_panic_storm_or_replay_differently() {
    // Seed n breaks switch n mod 10 from the start; the clicks may switch
    // to another (or none) at any time, as the Break Raft menu does.
    let (count, tally) = sessions(
        "user commands with a rule broken",
        |seed| Some(Bug::ALL[seed as usize % Bug::ALL.len()]),
        |t| {
            format!(
                "{} commands applied, {} refused (each changed nothing), {} rewinds, {} properties found broken",
                load(&t.applied),
                load(&t.refused),
                load(&t.forks),
                load(&t.violations),
            )
        },
    );
    if count >= 16 {
        assert!(
            load(&tally.applied) > 0 && load(&tally.violations) > 0,
            "the sessions applied commands and the checker found broken rules"
        );
    }
}
