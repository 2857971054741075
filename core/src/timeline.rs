//! Rewinding a run. A timeline holds the recipe of the run on screen, clones
//! of the simulator along it (checkpoints) and the branches left behind.
//!
//! - Playing forward runs the simulator and applies the recipe's steps as
//!   their times come (after a rewind they are the old future, replayed).
//! - Seeking to `t` restarts from the last checkpoint at or before `t` and
//!   re-simulates only from there: at most [`CHECKPOINT_EVERY_MS`] of virtual
//!   time in a run of up to [`MAX_CHECKPOINTS`] × that (64 minutes). Memory
//!   stays bounded in longer runs: past [`MAX_CHECKPOINTS`] a branch keeps
//!   every other checkpoint and doubles its spacing, so a seek re-simulates at
//!   most about 2 × the run's length / [`MAX_CHECKPOINTS`].
//! - Acting at a past moment forks: the old branch, with its whole future, is
//!   kept in the branch list and can be returned to; the new branch shares the
//!   recipe and the checkpoints up to the fork.
//!
//! Checkpoints are immutable and shared (`Rc`) between branches.
//!
//! The invariant checker runs along (the page's safety panel): after every
//! event and every action, with a copy of its state in each checkpoint, so a
//! seek lands with the checker exactly as a straight run would have it. While
//! playing, the run stops at the event that first breaks a property
//! ([`Timeline::take_new_violation`]).

use crate::chat::{ChatCommand, ChatRoom};
use crate::checker::{Checker, Violation};
use crate::recipe::{replay_steps, Action, Recipe, Step};
use crate::sim::{Event, EventKind, SimConfig, Simulator};
use crate::types::{NodeId, Outcome, Role};
use std::rc::Rc;

/// A checkpoint every this much virtual time: a seek re-simulates at most
/// this much.
pub const CHECKPOINT_EVERY_MS: u64 = 30_000;
/// A branch keeps at most this many checkpoints (each a whole simulator:
/// about 0.4 MB in a half-hour lesson with a chat message a second).
pub const MAX_CHECKPOINTS: usize = 128;
/// [`Opening`] counts events after each this much virtual time.
const OPEN_SLICE_MS: u64 = 1_000;

struct Checkpoint {
    at_ms: u64,
    /// The first step not yet applied in `sim`.
    next_step: usize,
    sim: Simulator<ChatRoom>,
    /// The checker's state there (none if checking was off when it was taken).
    checker: Option<Checker<ChatCommand>>,
}

/// Why a recorded run did not open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OpenError {
    /// The recipe is damaged, or a step of it cannot be applied.
    Invalid(String),
    /// Replaying it simulated more than the `max_events` allowed: `events`
    /// by `at_ms` of its `end_ms`.
    TooBusy {
        max_events: u64,
        events: u64,
        at_ms: u64,
        end_ms: u64,
    },
}

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OpenError::Invalid(why) => f.write_str(why),
            OpenError::TooBusy {
                max_events,
                events,
                at_ms,
                end_ms,
            } => write!(
                f,
                "replaying it takes more than {} simulated events ({} by {} of its {})",
                grouped(*max_events),
                grouped(*events),
                span(*at_ms),
                span(*end_ms)
            ),
        }
    }
}

/// Something worth a mark on the timeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MarkerKind {
    Leader {
        node: NodeId,
        term: u64,
    },
    Crash {
        node: NodeId,
    },
    Restart {
        node: NodeId,
    },
    /// A link cut, a node isolated.
    Partition,
    Heal,
    /// A configuration change appended, a node added or retired.
    Membership,
    /// A chat message acknowledged as committed.
    Committed {
        index: u64,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Marker {
    pub at_ms: u64,
    pub kind: MarkerKind,
}

/// A branch of the run: its steps, how far it ran, and where it came from.
struct Branch {
    id: u32,
    /// (branch id, virtual ms) it was forked from.
    parent: Option<(u32, u64)>,
    steps: Vec<Step>,
    end_ms: u64,
    /// Where the user last was on it.
    position_ms: u64,
    checkpoints: Vec<Rc<Checkpoint>>,
    /// The spacing of checkpoints taken from now on: [`CHECKPOINT_EVERY_MS`],
    /// doubled each time the branch reaches [`MAX_CHECKPOINTS`].
    checkpoint_every_ms: u64,
    markers: Vec<Marker>,
    /// Markers are complete up to here (re-simulated events add none).
    markers_through_ms: u64,
}

impl Branch {
    /// Adds a checkpoint; past [`MAX_CHECKPOINTS`], keeps the first and those
    /// on a boundary of twice the spacing, and takes them that far apart from
    /// now on.
    fn push_checkpoint(&mut self, cp: Rc<Checkpoint>) {
        self.checkpoints.push(cp);
        if self.checkpoints.len() <= MAX_CHECKPOINTS {
            return;
        }
        self.checkpoint_every_ms *= 2;
        let every = self.checkpoint_every_ms;
        let mut i = 0;
        self.checkpoints.retain(|c| {
            i += 1;
            i == 1 || c.at_ms % every == 0
        });
    }
}

/// What the branch list shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BranchInfo {
    pub id: u32,
    pub parent: Option<(u32, u64)>,
    pub end_ms: u64,
    pub steps: usize,
    pub current: bool,
}

pub struct Timeline {
    config: SimConfig,
    /// The run started from a fresh cluster (its recipe replays it), not from
    /// a cluster restored from storage of an older version.
    from_start: bool,
    branches: Vec<Branch>,
    current: usize,
    sim: Simulator<ChatRoom>,
    /// The first step of the current branch not yet applied to `sim`.
    next_step: usize,
    /// The invariant checker, run after every event and action while on.
    checker: Option<Checker<ChatCommand>>,
    /// A property broken for the first time while playing: the run stopped
    /// at the event that broke it.
    new_violation: Option<Violation>,
}

impl Timeline {
    /// A new run: the simulator at time 0 and an empty recipe.
    pub fn new(config: SimConfig) -> Result<Timeline, String> {
        Ok(Self::starting_from(Simulator::new(config)?, true))
    }

    /// A timeline whose first moment is `sim` as it is. Unless `from_start`
    /// (a fresh cluster), its recipe does not replay it: the steps start from
    /// a cluster restored from storage.
    pub fn starting_from(sim: Simulator<ChatRoom>, from_start: bool) -> Timeline {
        let config = sim.config().clone();
        let mut first = sim.clone();
        first.take_events();
        let checker = Checker::new();
        let first = Rc::new(Checkpoint {
            at_ms: sim.now_ms(),
            next_step: 0,
            sim: first,
            checker: Some(checker.clone()),
        });
        Timeline {
            config,
            from_start,
            branches: vec![Branch {
                id: 1,
                parent: None,
                steps: Vec::new(),
                end_ms: 0,
                position_ms: 0,
                checkpoints: vec![first],
                checkpoint_every_ms: CHECKPOINT_EVERY_MS,
                markers: Vec::new(),
                markers_through_ms: 0,
            }],
            current: 0,
            sim,
            next_step: 0,
            checker: Some(checker),
            new_violation: None,
        }
    }

    /// Turns the invariant checker on or off (it is on in a new timeline).
    /// Turned on again, it catches up by re-simulating from the last
    /// checkpoint that has its state.
    pub fn set_checking(&mut self, on: bool) -> Result<(), String> {
        match (on, self.checker.is_some()) {
            (false, _) => {
                self.checker = None;
                Ok(())
            }
            (true, true) => Ok(()),
            (true, false) => {
                let now = self.now_ms();
                self.restore(now, true)?;
                self.run_to(now, false)
            }
        }
    }

    pub fn checking(&self) -> bool {
        self.checker.is_some()
    }

    /// The first violation of each property so far (with the checker on).
    pub fn violations(&self) -> &[Violation] {
        self.checker.as_ref().map_or(&[], |c| c.violations())
    }

    /// The property broken while playing, if one was: the run stopped at the
    /// event that broke it. Taken once.
    pub fn take_new_violation(&mut self) -> Option<Violation> {
        self.new_violation.take()
    }

    /// Whether [`Timeline::recipe`] rebuilds this run (false for a cluster
    /// restored from an older version's storage).
    pub fn replayable(&self) -> bool {
        self.from_start
    }

    /// A shared or saved run: replayed to its end (taking checkpoints on the
    /// way), then positioned where it was paused.
    pub fn from_recipe(recipe: &Recipe) -> Result<Timeline, String> {
        Timeline::from_recipe_within(recipe, u64::MAX).map_err(|e| e.to_string())
    }

    /// [`Timeline::from_recipe`], refused once the replay has simulated more
    /// than `max_events` events: a run's virtual length says little of its
    /// cost (9 nodes with 1 ms heartbeats and no latency simulate about 250
    /// times as many events a second as the default cluster), and a page
    /// must not freeze for minutes on a link. Counted in events, not in real
    /// time, so that a run opens on every machine or on none.
    pub fn from_recipe_within(recipe: &Recipe, max_events: u64) -> Result<Timeline, OpenError> {
        Opening::new(recipe, max_events)?.finish()
    }

    /// The run on screen, as a recipe: the current branch up to its end, and
    /// where it is now.
    pub fn recipe(&self) -> Recipe {
        let b = self.branch();
        Recipe {
            steps: b.steps.clone(),
            end_ms: b.end_ms.max(self.now_ms()),
            at_ms: self.now_ms(),
            ..Recipe::new(self.config.clone())
        }
    }

    pub fn sim(&self) -> &Simulator<ChatRoom> {
        &self.sim
    }

    /// The simulator, for what does not change the run: taking its events,
    /// confirming durable writes. Everything that changes the run goes through
    /// [`Timeline::act`], so that it is recorded.
    pub fn sim_mut(&mut self) -> &mut Simulator<ChatRoom> {
        &mut self.sim
    }

    pub fn now_ms(&self) -> u64 {
        self.sim.now_ms()
    }

    /// How far the current branch has run.
    pub fn end_ms(&self) -> u64 {
        self.branch().end_ms.max(self.now_ms())
    }

    /// True when the run is at a past moment of its branch: acting now forks.
    pub fn is_rewound(&self) -> bool {
        self.next_step < self.branch().steps.len() || self.branch().end_ms > self.now_ms()
    }

    pub fn markers(&self) -> &[Marker] {
        &self.branch().markers
    }

    pub fn steps(&self) -> &[Step] {
        &self.branch().steps
    }

    pub fn checkpoints(&self) -> usize {
        self.branches.iter().map(|b| b.checkpoints.len()).sum()
    }

    fn branch(&self) -> &Branch {
        &self.branches[self.current]
    }

    fn branch_mut(&mut self) -> &mut Branch {
        &mut self.branches[self.current]
    }

    /// Runs forward to `t_ms`, applying the branch's recorded steps as their
    /// times come and taking a checkpoint at every boundary of the branch's
    /// spacing not yet checkpointed.
    pub fn advance(&mut self, t_ms: u64) -> Result<(), String> {
        self.run_to(t_ms, true)
    }

    /// [`Timeline::advance`]; with `stop`, it stops at the event that breaks
    /// a property for the first time (playing), else it goes on (seeking).
    fn run_to(&mut self, t_ms: u64, stop: bool) -> Result<(), String> {
        while self.now_ms() < t_ms
            || self.pending_step_at_or_before(t_ms)
            || self.events_due_at_or_before(t_ms)
        {
            let every = self.branch().checkpoint_every_ms;
            let last_cp = self.branch().checkpoints.last().map_or(0, |c| c.at_ms);
            let next_cp = (last_cp / every + 1) * every;
            let target = t_ms.min(next_cp);
            if !self.run_steps_until(target, stop)? {
                // Stopped at a violation, or waiting for the driver's disk
                // (IndexedDB): go on later.
                break;
            }
            if target == next_cp {
                let mut sim = self.sim.clone();
                sim.take_events();
                let cp = Rc::new(Checkpoint {
                    at_ms: next_cp,
                    next_step: self.next_step,
                    sim,
                    checker: self.checker.clone(),
                });
                self.branch_mut().push_checkpoint(cp);
            }
            if target == t_ms {
                break;
            }
        }
        let now = self.now_ms();
        let b = self.branch_mut();
        b.end_ms = b.end_ms.max(now);
        b.position_ms = now;
        Ok(())
    }

    /// Runs to `target`: every event, checked, and the branch's recorded steps
    /// as their times come (each after every event up to its time, as when it
    /// was recorded). False if it stopped early: at a violation (with `stop`),
    /// or at a write the driver's disk has not yet made durable.
    fn run_steps_until(&mut self, target: u64, stop: bool) -> Result<bool, String> {
        loop {
            let due = self.branches[self.current]
                .steps
                .get(self.next_step)
                .filter(|s| s.at_ms <= target)
                .cloned();
            let until = due.as_ref().map_or(target, |s| s.at_ms);
            if self.run_checked(until, stop) {
                return Ok(false);
            }
            let held = self.sim.next_event_ms().is_some_and(|t| t <= until);
            if self.now_ms() < until || held {
                return Ok(false); // waiting for the disk
            }
            let Some(step) = due else {
                return Ok(true);
            };
            step.apply(self.next_step, &mut self.sim)?;
            self.next_step += 1;
            if self.check(stop) {
                return Ok(false);
            }
        }
    }

    /// Events at or before `t_ms` not yet run: only when a driver's disk held
    /// virtual time at a write's completion, now confirmed.
    fn events_due_at_or_before(&self, t_ms: u64) -> bool {
        self.sim.next_event_ms().is_some_and(|t| t <= t_ms) && self.sim.waiting_for_disk().is_none()
    }

    /// Runs the simulator to `target`, checking after every event (with the
    /// checker on). Returns true if it stopped early at a violation.
    fn run_checked(&mut self, target: u64, stop: bool) -> bool {
        if self.checker.is_none() {
            self.sim.run_until(target);
            return false;
        }
        while let Some(next) = self.sim.next_event_ms().filter(|&t| t <= target) {
            if !self.sim.step() {
                // Waiting for the driver's disk: as in `Simulator::run_until`,
                // virtual time stands at the write's completion, whether or
                // not the checker is on.
                self.sim.run_until(next);
                return false;
            }
            if self.check(stop) {
                return true;
            }
        }
        self.sim.run_until(target);
        false
    }

    /// Checks the run as it is now; true if a property broke for the first
    /// time and `stop` asks to stop there.
    fn check(&mut self, stop: bool) -> bool {
        let Some(checker) = self.checker.as_mut() else {
            return false;
        };
        match checker.check(&self.sim) {
            Err(v) if stop => {
                self.new_violation = Some(v);
                true
            }
            _ => false,
        }
    }

    fn pending_step_at_or_before(&self, t_ms: u64) -> bool {
        self.branch()
            .steps
            .get(self.next_step)
            .is_some_and(|s| s.at_ms <= t_ms)
    }

    /// Runs every event up to now (checked, with the checker on), as a replay
    /// does before an action at this moment; returns the node whose write,
    /// due by now, the driver's disk has not confirmed yet, if any. An action
    /// must wait for it: applied now, it would land before that write's
    /// completion, where a replay (with its simulated disk) puts it after.
    pub fn held_at_now(&mut self) -> Option<NodeId> {
        let now = self.now_ms();
        self.run_checked(now, false);
        disk_holds(&self.sim)
    }

    /// What [`Timeline::held_at_now`] would answer, without running anything
    /// here (the moment's events run on a copy): whether an action now would
    /// be refused for a write the driver's disk has not confirmed.
    pub fn would_hold_now(&self) -> Option<NodeId> {
        if !due_now(&self.sim) {
            return None;
        }
        let mut sim = self.sim.clone();
        sim.run_until(self.now_ms());
        disk_holds(&sim)
    }

    /// Applies `action` now and records it. At a past moment this forks: the
    /// old branch keeps its future. An action that fails changes nothing (not
    /// even the rest of the moment's events, which run before one that
    /// succeeds) and is not recorded; one made while the driver's disk holds
    /// this moment ([`Timeline::held_at_now`]) fails.
    pub fn act(&mut self, action: Action) -> Result<(), String> {
        let now = self.now_ms();
        // Stopped mid-moment (at a violation, or at a write the driver's
        // disk has not confirmed): the rest of the moment runs before the
        // action, as in a replay. Kept, so that an action that fails changes
        // nothing, not even by those events.
        let kept = due_now(&self.sim).then(|| (self.sim.clone(), self.checker.clone()));
        let applied = match self.held_at_now() {
            Some(node) => Err(format!(
                "node {node}'s disk has not yet confirmed a write due at {now} ms: an action now would land before it, and a replay would not repeat the run; act once the write is durable"
            )),
            None => action.apply(&mut self.sim),
        };
        if let Err(e) = applied {
            if let Some((sim, checker)) = kept {
                self.sim = sim;
                self.checker = checker;
            }
            return Err(e);
        }
        self.check(true);
        if self.is_rewound() {
            self.fork(now);
        }
        let step = Step { at_ms: now, action };
        if let Some(kind) = step_marker(&step.action) {
            self.branch_mut().markers.push(Marker { at_ms: now, kind });
        }
        self.branch_mut().steps.push(step);
        self.next_step += 1;
        Ok(())
    }

    /// Starts a new branch at `now`, sharing everything up to it.
    fn fork(&mut self, now: u64) {
        let old = self.branch();
        let keep_cps = old.checkpoints.partition_point(|c| c.at_ms <= now);
        let branch = Branch {
            id: self.branches.iter().map(|b| b.id).max().unwrap_or(0) + 1,
            parent: Some((old.id, now)),
            steps: old.steps[..self.next_step].to_vec(),
            end_ms: now,
            position_ms: now,
            checkpoints: old.checkpoints[..keep_cps].to_vec(),
            checkpoint_every_ms: old.checkpoint_every_ms,
            markers: old
                .markers
                .iter()
                .filter(|m| m.at_ms <= now)
                .cloned()
                .collect(),
            markers_through_ms: old.markers_through_ms.min(now),
        };
        self.branches.push(branch);
        self.current = self.branches.len() - 1;
    }

    /// Jumps to `t_ms` on the current branch (clamped to its end): re-simulates
    /// from the last checkpoint at or before it.
    pub fn seek(&mut self, t_ms: u64) -> Result<(), String> {
        let end = self.end_ms();
        if end > self.branch().end_ms {
            // Keep what was reached live before leaving it.
            let b = self.branch_mut();
            b.end_ms = end;
        }
        let t = t_ms.min(end);
        self.restore(t, self.checker.is_some())?;
        self.run_to(t, false)?;
        // `advance` records a new end only when it goes further; a seek back
        // keeps the branch's end.
        self.branch_mut().position_ms = t;
        Ok(())
    }

    /// Puts the run back at the last checkpoint at or before `t` (one with
    /// the checker's state, if `checked`).
    fn restore(&mut self, t: u64, checked: bool) -> Result<(), String> {
        let b = self.branch();
        let cp = b
            .checkpoints
            .iter()
            .rev()
            .find(|c| c.at_ms <= t && (!checked || c.checker.is_some()))
            .or(b.checkpoints.first())
            .ok_or("the timeline has no checkpoint")?
            .clone();
        let checker = match (checked, &cp.checker) {
            (false, _) => None,
            (true, Some(c)) => Some(c.clone()),
            // Not reached: the first checkpoint always has a checker
            // (`starting_from`) and is never thinned out. A checker made
            // here would start mid-run and report what it never saw.
            (true, None) => {
                return Err("no checkpoint at or before this moment has the checker's state".into())
            }
        };
        self.sim = cp.sim.clone();
        // Re-simulated writes complete in virtual time; a driver with its own
        // disk turns it back on (and is handed the writes still pending).
        self.sim.set_external_disk(false);
        self.next_step = cp.next_step;
        self.checker = checker;
        self.new_violation = None;
        Ok(())
    }

    /// The latest moment before now at which something happened (an event),
    /// if any: where "step back" goes.
    pub fn previous_event_ms(&self) -> Option<u64> {
        let now = self.now_ms();
        let b = self.branch();
        // Look back one checkpoint interval at a time.
        let mut i = b.checkpoints.partition_point(|c| c.at_ms < now);
        while i > 0 {
            i -= 1;
            let cp = &b.checkpoints[i];
            let mut sim = cp.sim.clone();
            sim.set_record_events(true);
            let _ = replay_steps(&mut sim, &b.steps, cp.next_step, now.saturating_sub(1));
            sim.run_until(now.saturating_sub(1));
            if let Some(e) = sim.take_events().iter().rev().find(|e| e.at_ms < now) {
                return Some(e.at_ms);
            }
        }
        None
    }

    /// Moves back to the previous moment at which something happened.
    pub fn step_back(&mut self) -> Result<bool, String> {
        match self.previous_event_ms() {
            Some(t) => self.seek(t).map(|_| true),
            None => Ok(false),
        }
    }

    pub fn branches(&self) -> Vec<BranchInfo> {
        self.branches
            .iter()
            .enumerate()
            .map(|(i, b)| BranchInfo {
                id: b.id,
                parent: b.parent,
                end_ms: b.end_ms,
                steps: b.steps.len(),
                current: i == self.current,
            })
            .collect()
    }

    pub fn branch_id(&self) -> u32 {
        self.branch().id
    }

    /// Returns to branch `id`, at the moment it was left.
    pub fn switch_branch(&mut self, id: u32) -> Result<(), String> {
        let i = self
            .branches
            .iter()
            .position(|b| b.id == id)
            .ok_or_else(|| format!("there is no branch {id}"))?;
        let now = self.now_ms();
        let end = self.end_ms();
        let b = self.branch_mut();
        b.end_ms = end;
        b.position_ms = now;
        self.current = i;
        let position = self.branch().position_ms;
        self.seek(position)
    }

    /// Takes the simulator's new events (for the page's feed), and marks the
    /// timeline with those worth a marker.
    pub fn take_events(&mut self) -> Vec<Event> {
        let events = self.sim.take_events();
        self.mark(&events);
        events
    }

    fn mark(&mut self, events: &[Event]) {
        let b = &mut self.branches[self.current];
        for e in events {
            if e.at_ms <= b.markers_through_ms && b.markers_through_ms > 0 {
                continue;
            }
            if let Some(kind) = event_marker(&e.kind) {
                b.markers.push(Marker {
                    at_ms: e.at_ms,
                    kind,
                });
            }
        }
        if let Some(last) = events.last() {
            b.markers_through_ms = b.markers_through_ms.max(last.at_ms);
        }
    }
}

/// A recorded run being opened a slice at a time ([`Opening::advance`]), so
/// that a page can draw its progress and stay responsive in between; the
/// replay is the one [`Timeline::from_recipe_within`] makes in one go.
pub struct Opening {
    timeline: Timeline,
    recipe: Recipe,
    at_ms: u64,
    max_events: u64,
}

impl Opening {
    /// Checks `recipe` and starts its replay at virtual time 0, to be refused
    /// once it has simulated more than `max_events` events.
    pub fn new(recipe: &Recipe, max_events: u64) -> Result<Opening, OpenError> {
        recipe.validate().map_err(OpenError::Invalid)?;
        let mut timeline = Timeline::new(recipe.config.clone()).map_err(OpenError::Invalid)?;
        timeline.branch_mut().steps = recipe.steps.clone();
        Ok(Opening {
            timeline,
            recipe: recipe.clone(),
            at_ms: 0,
            max_events,
        })
    }

    /// How far the replay has come, in virtual time.
    pub fn at_ms(&self) -> u64 {
        self.at_ms
    }

    /// Where the replay ends: the run's end.
    pub fn end_ms(&self) -> u64 {
        self.recipe.run_end_ms()
    }

    /// Events simulated so far.
    pub fn events(&self) -> u64 {
        self.timeline.sim.stats().events
    }

    /// Replays on, a virtual second at a time, until at least `slice_events`
    /// more events are simulated or the run's end is reached; true at the
    /// end. The event budget is checked after each virtual second, so it is
    /// overrun by at most one second's events.
    pub fn advance(&mut self, slice_events: u64) -> Result<bool, OpenError> {
        let end_ms = self.end_ms();
        let until = self.events().saturating_add(slice_events);
        loop {
            if self.at_ms == end_ms {
                return Ok(true);
            }
            self.at_ms = (self.at_ms + OPEN_SLICE_MS).min(end_ms);
            let t = &mut self.timeline;
            t.run_to(self.at_ms, false).map_err(OpenError::Invalid)?;
            t.take_events();
            let events = self.events();
            if events > self.max_events {
                return Err(OpenError::TooBusy {
                    max_events: self.max_events,
                    events,
                    at_ms: self.at_ms,
                    end_ms,
                });
            }
            if events >= until {
                return Ok(self.at_ms == end_ms);
            }
        }
    }

    /// The opened run: replayed to its end (the rest of it in one go),
    /// with the steps' marks, positioned where it was paused.
    pub fn finish(mut self) -> Result<Timeline, OpenError> {
        self.advance(u64::MAX)?;
        let recipe = &self.recipe;
        let mut t = self.timeline;
        let step_markers: Vec<Marker> = recipe
            .steps
            .iter()
            .filter_map(|s| {
                step_marker(&s.action).map(|kind| Marker {
                    at_ms: s.at_ms,
                    kind,
                })
            })
            .collect();
        // Both lists are in time order (a recipe's steps are): merged, the
        // run's own marks first at a tie, as a stable sort would.
        let b = t.branch_mut();
        let mut steps = step_markers.into_iter().peekable();
        let mut merged = Vec::with_capacity(b.markers.len() + steps.len());
        for m in std::mem::take(&mut b.markers) {
            while let Some(s) = steps.next_if(|s| s.at_ms < m.at_ms) {
                merged.push(s);
            }
            merged.push(m);
        }
        merged.extend(steps);
        debug_assert!(merged.windows(2).all(|w| w[0].at_ms <= w[1].at_ms));
        b.markers = merged;
        t.seek(recipe.at_ms).map_err(OpenError::Invalid)?;
        Ok(t)
    }
}

fn step_marker(action: &Action) -> Option<MarkerKind> {
    match *action {
        Action::Crash(node) => Some(MarkerKind::Crash { node }),
        Action::Restart(node) => Some(MarkerKind::Restart { node }),
        Action::Cut { .. } | Action::Isolate { .. } => Some(MarkerKind::Partition),
        Action::Heal { .. } | Action::HealAll => Some(MarkerKind::Heal),
        _ => None,
    }
}

fn event_marker(kind: &EventKind) -> Option<MarkerKind> {
    match *kind {
        EventKind::RoleChanged {
            node,
            role: Role::Leader,
            term,
        } => Some(MarkerKind::Leader { node, term }),
        EventKind::ConfigChanged { .. }
        | EventKind::NodeAdded { .. }
        | EventKind::NodeRetired { .. } => Some(MarkerKind::Membership),
        EventKind::ClientOutcome {
            outcome: Outcome::Committed { index, .. },
            ..
        } => Some(MarkerKind::Committed { index }),
        _ => None,
    }
}

/// Whether events are due at `sim`'s current moment (it stopped mid-moment).
fn due_now(sim: &Simulator<ChatRoom>) -> bool {
    sim.next_event_ms().is_some_and(|t| t <= sim.now_ms())
}

/// The node whose write, due now, the driver's disk has not confirmed: an
/// action must wait for it (see [`Timeline::held_at_now`]).
fn disk_holds(sim: &Simulator<ChatRoom>) -> Option<NodeId> {
    sim.waiting_for_disk().filter(|_| due_now(sim))
}

/// A count with its thousands separated: 5,000,000.
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(d);
    }
    out
}

/// A virtual duration for a message, to a tenth of its unit: seconds up to
/// two minutes, minutes up to two hours, then hours ("12.2 min"). In integers
/// (the float formatter is kilobytes of the page's wasm).
pub fn span(ms: u64) -> String {
    let (unit_ms, unit) = match ms {
        0..120_000 => (1_000, "s"),
        120_000..7_200_000 => (60_000, "min"),
        _ => (3_600_000, "h"),
    };
    let tenths = (ms + unit_ms / 20) / (unit_ms / 10);
    format!("{}.{} {unit}", tenths / 10, tenths % 10)
}
