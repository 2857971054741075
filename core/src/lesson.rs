//! Guided lessons: a run (a recipe: settings and the teacher's moves) plus
//! the moments to stop at, each with a caption, things to point at, perhaps a
//! question, and what must hold there.
//!
//! The format (JSON, version [`LESSON_VERSION`], documented in the README):
//!
//! ```json
//! {"version": 1, "id": "first-election", "title": "The first election",
//!  "summary": "…",
//!  "parts": [{"run": {recipe}, "steps": [
//!    {"at_ms": 0, "caption": "…", "point": [{"node": 1}]},
//!    {"when": {"role": {"role": "candidate"}}, "caption": "…",
//!     "question": {"ask": "Which node wins?", "choices": ["1", "2"], "answer": 0},
//!     "expect": [{"role": {"node": 1, "role": "candidate"}}]}]}]}
//! ```
//!
//! A step stops the run at `at_ms`, or at the first whole millisecond after
//! the previous stop at which `when` holds (within `within_ms`), or, with
//! both, at the first moment from `at_ms` on at which `when` holds. Its
//! `expect` conditions must hold there: [`plan`] checks them, the tests play
//! every built-in lesson through it, and the page warns when one fails. A
//! lesson has one part or more (a second part replays a variation, such as
//! the same moves with a rule mended); each part is its own run.

use crate::chat::ChatRoom;
use crate::checker::{Violation, PROPERTIES};
use crate::recipe::Recipe;
use crate::sim::Simulator;
use crate::timeline::Timeline;
use crate::types::{ClientId, Index, NodeId, Outcome, Role, Term};
use serde::{Deserialize, Serialize};

pub const LESSON_VERSION: u32 = 1;
/// A step waits at most this long for its `when` unless it says otherwise.
pub const DEFAULT_WITHIN_MS: u64 = 30_000;
/// A lesson's runs are short: no stop later than this.
pub const MAX_LESSON_MS: u64 = 10 * 60_000;
pub const MAX_LESSON_BYTES: usize = 1 << 20;

/// The lessons shipped with raftchat (`core/lessons/{id}.json`), in teaching
/// order: id and title.
pub const BUILT_IN: [(&str, &str); 11] = [
    ("first-election", "1. The first election"),
    ("replication", "2. Replication and commitment"),
    ("leader-crash", "3. The leader crashes"),
    ("split-votes", "4. Split votes"),
    ("partitioned-leader", "5. A partitioned old leader"),
    ("figure-7", "6. Figure 7: repairing followers' logs"),
    (
        "figure-8",
        "7. Figure 8: only current-term entries commit by counting",
    ),
    ("prevote-checkquorum", "8. PreVote and CheckQuorum"),
    ("membership", "9. A new server joins"),
    ("linearizable-reads", "10. Linearizable reads"),
    (
        "election-restriction",
        "11. The election restriction: a stale log cannot win",
    ),
];

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Lesson {
    pub version: u32,
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub summary: String,
    pub parts: Vec<Part>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Part {
    pub run: Recipe,
    pub steps: Vec<LessonStep>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LessonStep {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<Condition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within_ms: Option<u64>,
    /// Where the step stops, as [`plan`] finds it (`raftchat-sim --lesson
    /// FILE --write` fills it in). The page plays lessons from these: a step
    /// that stops at a condition needs one there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_ms: Option<u64>,
    pub caption: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub point: Vec<Target>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub question: Option<Question>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expect: Vec<Condition>,
}

/// Predict, then see: the answer shows when the lesson plays on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Question {
    pub ask: String,
    pub choices: Vec<String>,
    /// The right choice (from 0).
    pub answer: usize,
    /// Why, shown with the answer.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub explain: String,
}

/// What a caption points at on the page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    Node(NodeId),
    /// A chat pane.
    Chat(NodeId),
    /// The link between two nodes.
    Link([NodeId; 2]),
    /// A cell of the log grid.
    Cell {
        node: NodeId,
        index: Index,
    },
    /// The log grid.
    Log,
    /// The safety panel.
    Safety,
    /// The messages held on their links (hold mode).
    Held,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RoleName {
    Follower,
    PreCandidate,
    Candidate,
    Leader,
}

impl RoleName {
    fn role(self) -> Role {
        match self {
            RoleName::Follower => Role::Follower,
            RoleName::PreCandidate => Role::PreCandidate,
            RoleName::Candidate => Role::Candidate,
            RoleName::Leader => Role::Leader,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeName {
    Committed,
    Failed,
    Pending,
}

/// Something that holds, or not, at a moment of a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    /// The node (any node, without one) is up in this role.
    Role {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        node: Option<NodeId>,
        role: RoleName,
    },
    /// The node's current term.
    Term {
        node: NodeId,
        term: Term,
    },
    /// Some node up has reached at least this term.
    MinTerm(Term),
    /// A node is leader (this one, in this term), the highest-term leader up.
    Leader {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        node: Option<NodeId>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        term: Option<Term>,
    },
    /// More than one node is up as leader (of different terms).
    TwoLeaders,
    /// The node's (every node up's, without one) commit index is at least this.
    Committed {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        node: Option<NodeId>,
        index: Index,
    },
    /// The node's log ends at exactly this index.
    LogLength {
        node: NodeId,
        index: Index,
    },
    /// The node's replica has applied at least this many chat messages.
    Chat {
        node: NodeId,
        messages: u64,
    },
    Down(NodeId),
    Up(NodeId),
    /// A voter in the configuration of the highest-term leader up.
    Voter(NodeId),
    /// The node holds a snapshot (taken itself, or installed by the leader).
    Snapshot(NodeId),
    /// The invariant checker found this property broken.
    Violated(String),
    /// Every property holds.
    Safe,
    /// At least this many messages wait on their links (hold mode).
    Held(usize),
    /// A client request's outcome so far.
    Request {
        client: ClientId,
        seq: u64,
        outcome: OutcomeName,
    },
    /// The node's latest linearizable read: served (true) or failed.
    Read {
        node: NodeId,
        served: bool,
    },
    /// Every one of these.
    All(Vec<Condition>),
    /// Not this.
    Not(Box<Condition>),
}

impl Condition {
    pub fn holds(&self, sim: &Simulator<ChatRoom>, violations: &[Violation]) -> bool {
        let up = |id: NodeId| sim.node(id).and_then(|v| v.node);
        let leaders = || {
            sim.node_ids()
                .filter_map(&up)
                .filter(|n| n.raft().role() == Role::Leader)
                .map(|n| (n.raft().term(), n.raft().id()))
                .collect::<Vec<_>>()
        };
        let top_leader = || leaders().into_iter().max().map(|(_, id)| id);
        match self {
            Condition::Role { node, role } => match node {
                Some(id) => up(*id).is_some_and(|n| n.raft().role() == role.role()),
                None => sim
                    .node_ids()
                    .any(|id| up(id).is_some_and(|n| n.raft().role() == role.role())),
            },
            Condition::Term { node, term } => up(*node).is_some_and(|n| n.raft().term() == *term),
            Condition::MinTerm(term) => sim
                .node_ids()
                .filter_map(&up)
                .any(|n| n.raft().term() >= *term),
            Condition::Leader { node, term } => {
                let Some(id) = top_leader() else { return false };
                let t = up(id).map_or(0, |n| n.raft().term());
                node.is_none_or(|n| n == id) && term.is_none_or(|want| want == t)
            }
            Condition::TwoLeaders => leaders().len() > 1,
            Condition::Committed { node, index } => match node {
                Some(id) => up(*id).is_some_and(|n| n.raft().commit_index() >= *index),
                None => sim
                    .node_ids()
                    .filter_map(&up)
                    .all(|n| n.raft().commit_index() >= *index),
            },
            Condition::LogLength { node, index } => {
                up(*node).is_some_and(|n| n.raft().log().last_index() == *index)
            }
            Condition::Chat { node, messages } => {
                up(*node).is_some_and(|n| n.replica().machine().total_messages() >= *messages)
            }
            Condition::Down(id) => sim.node(*id).is_some_and(|v| v.node.is_none()),
            Condition::Up(id) => up(*id).is_some(),
            Condition::Voter(id) => top_leader()
                .and_then(up)
                .is_some_and(|n| n.raft().membership().voters.contains(id)),
            Condition::Snapshot(id) => up(*id).is_some_and(|n| n.raft().snapshot().is_some()),
            Condition::Violated(rule) => violations.iter().any(|v| v.rule == rule),
            Condition::Safe => violations.is_empty(),
            Condition::Held(n) => sim.in_flight().filter(|m| m.held).count() >= *n,
            Condition::Request {
                client,
                seq,
                outcome,
            } => {
                let (mut committed, mut failed, mut open) = (false, false, false);
                for r in sim
                    .history()
                    .iter()
                    .filter(|r| r.client == *client && r.seq == *seq)
                {
                    match r.outcome {
                        Some(Outcome::Committed { .. }) => committed = true,
                        Some(Outcome::Failed(_)) => failed = true,
                        None => open = true,
                    }
                }
                // Committed if any submission committed; failed if one
                // failed and none committed; pending while one is open.
                match outcome {
                    OutcomeName::Committed => committed,
                    OutcomeName::Failed => failed && !committed,
                    OutcomeName::Pending => open && !committed,
                }
            }
            Condition::Read { node, served } => sim
                .reads()
                .iter()
                .rev()
                .find(|r| r.node == *node)
                .and_then(|r| r.outcome.as_ref())
                .is_some_and(|o| matches!(o, crate::node::ReadOutcome::Served { .. }) == *served),
            Condition::All(all) => all.iter().all(|c| c.holds(sim, violations)),
            Condition::Not(c) => !c.holds(sim, violations),
        }
    }

    /// In words, for a message saying it did not hold.
    pub fn describe(&self) -> String {
        let node = |n: &Option<NodeId>| n.map_or("some node".to_string(), |n| format!("node {n}"));
        match self {
            Condition::Role { node: n, role } => {
                format!("{} is {}", node(n), role.role().as_str())
            }
            Condition::Term { node, term } => format!("node {node} is in term {term}"),
            Condition::MinTerm(term) => format!("some node has reached term {term}"),
            Condition::Leader { node: n, term } => format!(
                "{} leads{}",
                node(n),
                term.map_or(String::new(), |t| format!(" in term {t}"))
            ),
            Condition::TwoLeaders => "two nodes think they lead".into(),
            Condition::Committed { node: None, index } => {
                format!("every node up has committed index {index}")
            }
            Condition::Committed {
                node: Some(n),
                index,
            } => {
                format!("node {n} has committed index {index}")
            }
            Condition::LogLength { node, index } => format!("node {node}'s log ends at {index}"),
            Condition::Chat { node, messages } => {
                format!("node {node}'s chat has {messages} messages")
            }
            Condition::Down(n) => format!("node {n} is down"),
            Condition::Up(n) => format!("node {n} is up"),
            Condition::Voter(n) => format!("node {n} is a voter"),
            Condition::Snapshot(n) => format!("node {n} holds a snapshot"),
            Condition::Violated(rule) => format!("{rule} is broken"),
            Condition::Safe => "every property holds".into(),
            Condition::Held(n) => format!("{n} messages are held"),
            Condition::Request {
                client,
                seq,
                outcome,
            } => format!("request {client}/{seq} is {outcome:?}").to_lowercase(),
            Condition::Read { node, served } => format!(
                "node {node}'s latest read was {}",
                if *served { "served" } else { "refused" }
            ),
            Condition::All(all) => all
                .iter()
                .map(Condition::describe)
                .collect::<Vec<_>>()
                .join(" and "),
            Condition::Not(c) => format!("not ({})", c.describe()),
        }
    }

    fn validate(&self) -> Result<(), String> {
        match self {
            Condition::Violated(rule) if !PROPERTIES.contains(&rule.as_str()) => Err(format!(
                "\"{rule}\" is not a property the checker knows ({})",
                PROPERTIES.join(", ")
            )),
            Condition::All(all) => all.iter().try_for_each(Condition::validate),
            Condition::Not(c) => c.validate(),
            _ => Ok(()),
        }
    }
}

/// A stop of a lesson's part, as played.
#[derive(Clone, Debug, PartialEq)]
pub struct Stop {
    pub at_ms: u64,
    /// The step's expectations that do not hold there, in words.
    pub unmet: Vec<String>,
    /// The cluster there, in one line ([`moment`]).
    pub moment: String,
}

impl Lesson {
    /// What can be told of a lesson's text before parsing it: its size.
    pub fn check_text(json: &str) -> Result<(), String> {
        if json.len() > MAX_LESSON_BYTES {
            return Err(format!(
                "the lesson is {} bytes; the limit is {} KB",
                json.len(),
                MAX_LESSON_BYTES >> 10
            ));
        }
        Ok(())
    }

    /// Reads and checks a lesson file (native: the page parses JSON with the
    /// browser's parser, then calls [`Lesson::validate`]).
    pub fn from_json(json: &str) -> Result<Lesson, String> {
        Self::check_text(json)?;
        let lesson: Lesson = serde_json::from_str(json).map_err(|e| {
            // serde_json reports some mistakes of shape as syntax (a number
            // where a step's action belongs): only text no JSON reader takes
            // is damaged.
            let json_ok = serde_json::from_str::<serde::de::IgnoredAny>(json).is_ok();
            if !json_ok && (e.is_syntax() || e.is_eof()) {
                format!("the lesson is damaged or cut short (not valid JSON: {e})")
            } else {
                format!("this is not a raftchat lesson: {e}")
            }
        })?;
        lesson.validate()?;
        Ok(lesson)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Checks what can be checked without playing it.
    pub fn validate(&self) -> Result<(), String> {
        if self.version != LESSON_VERSION {
            return Err(format!(
                "this lesson is in format version {}; this raftchat reads version {LESSON_VERSION}",
                self.version
            ));
        }
        if self.id.is_empty()
            || self.id.len() > 64
            || !self
                .id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(format!(
                "the lesson's id \"{}\" must be 1 to 64 lowercase letters, digits and dashes",
                self.id
            ));
        }
        if self.title.trim().is_empty() {
            return Err("the lesson has no title".into());
        }
        if self.parts.is_empty() || self.parts.len() > 4 {
            return Err(format!(
                "a lesson has 1 to 4 parts; this one has {}",
                self.parts.len()
            ));
        }
        for (p, part) in self.parts.iter().enumerate() {
            let at = |s: usize| {
                if self.parts.len() > 1 {
                    format!("part {}, step {}", p + 1, s + 1)
                } else {
                    format!("step {}", s + 1)
                }
            };
            part.run
                .validate()
                .map_err(|e| format!("part {}'s run: {e}", p + 1))?;
            if part.steps.is_empty() || part.steps.len() > 100 {
                return Err(format!(
                    "part {} has {} steps (1 to 100)",
                    p + 1,
                    part.steps.len()
                ));
            }
            let mut last_ms = 0;
            let mut last_stop_ms = 0;
            for (s, step) in part.steps.iter().enumerate() {
                if let Some(stop) = step.stop_ms {
                    if stop < last_stop_ms || stop < step.at_ms.unwrap_or(0) || stop > MAX_LESSON_MS
                    {
                        return Err(format!(
                            "{}'s stop_ms ({stop}) is before its at_ms or the step before's stop",
                            at(s)
                        ));
                    }
                    last_stop_ms = stop;
                }
                if step.at_ms.is_none() && step.when.is_none() {
                    return Err(format!("{} has neither \"at_ms\" nor \"when\"", at(s)));
                }
                if let Some(t) = step.at_ms {
                    if t < last_ms || t > MAX_LESSON_MS {
                        return Err(format!(
                            "{} is at {t} ms: steps go forward in time, within {MAX_LESSON_MS} ms",
                            at(s)
                        ));
                    }
                    last_ms = t;
                }
                let caption = step.caption.trim();
                if caption.is_empty() || caption.chars().count() > 800 {
                    return Err(format!("{}'s caption must be 1 to 800 characters", at(s)));
                }
                if let Some(q) = &step.question {
                    if q.choices.len() < 2 || q.choices.len() > 6 || q.answer >= q.choices.len() {
                        return Err(format!(
                            "{}'s question needs 2 to 6 choices and an answer among them",
                            at(s)
                        ));
                    }
                }
                for c in step.when.iter().chain(&step.expect) {
                    c.validate().map_err(|e| format!("{}: {e}", at(s)))?;
                }
            }
        }
        Ok(())
    }
}

impl Lesson {
    /// Fills in every step's `stop_ms` from [`plan`], and stamps every part's
    /// run with this build's [`crate::recipe::REPLAY_VERSION`]; the
    /// expectations that do not hold, in words (empty: all hold).
    pub fn fill_stops(&mut self) -> Result<Vec<String>, String> {
        let mut unmet = Vec::new();
        for (p, part) in self.parts.iter_mut().enumerate() {
            let stops = plan(part).map_err(|e| format!("part {}: {e}", p + 1))?;
            // The stops are where this build's Raft stops.
            part.run.replay_version = crate::recipe::REPLAY_VERSION;
            for (step, stop) in part.steps.iter_mut().zip(stops) {
                step.stop_ms = Some(stop.at_ms);
                unmet.extend(
                    stop.unmet
                        .into_iter()
                        .map(|u| format!("part {}, {u}", p + 1)),
                );
            }
        }
        Ok(unmet)
    }
}

impl Part {
    /// The run, from its start (a lesson's recipe opens at 0).
    pub fn recipe(&self) -> Recipe {
        Recipe {
            at_ms: 0,
            ..self.run.clone()
        }
    }
}

/// Plays a part from its start with the invariant checker on, and finds
/// every step's stop; the expectations are checked at each. An error if a
/// step's moment never comes.
pub fn plan(part: &Part) -> Result<Vec<Stop>, String> {
    let mut recipe = part.recipe();
    recipe.end_ms = 0;
    let mut t = Timeline::from_recipe(&recipe)?;
    let mut stops = Vec::with_capacity(part.steps.len());
    let mut last: Option<u64> = None;
    for (i, step) in part.steps.iter().enumerate() {
        let earliest = match (step.at_ms, last) {
            (Some(at), _) => at,
            (None, Some(prev)) => prev + 1,
            (None, None) => 0,
        };
        run_to(&mut t, earliest)?;
        if let Some(when) = &step.when {
            let within = step.within_ms.unwrap_or(DEFAULT_WITHIN_MS);
            let deadline = earliest.saturating_add(within).min(MAX_LESSON_MS);
            while !when.holds(t.sim(), t.violations()) {
                if t.now_ms() >= deadline {
                    return Err(format!(
                        "step {}: \"{}\" did not happen between {earliest} and {deadline} ms",
                        i + 1,
                        when.describe()
                    ));
                }
                let next = t.now_ms() + 1;
                run_to(&mut t, next)?;
            }
        }
        let unmet = step
            .expect
            .iter()
            .filter(|c| !c.holds(t.sim(), t.violations()))
            .map(|c| format!("step {}: expected {}", i + 1, c.describe()))
            .collect();
        stops.push(Stop {
            at_ms: t.now_ms(),
            unmet,
            moment: moment(t.sim()),
        });
        last = Some(t.now_ms());
    }
    Ok(stops)
}

/// Runs `t` to `t_ms`, through any violation found on the way.
fn run_to(t: &mut Timeline, t_ms: u64) -> Result<(), String> {
    for _ in 0..1_000_000 {
        if t.now_ms() >= t_ms {
            return Ok(());
        }
        t.advance(t_ms)?;
        t.take_new_violation();
    }
    Err(format!("the run did not reach {t_ms} ms"))
}

/// The cluster at a moment, in one line: each node's role, term, log end
/// and commit index ("1 leader t2 log 3 c3"), and the messages held.
pub fn moment(sim: &Simulator<ChatRoom>) -> String {
    let mut parts: Vec<String> = sim
        .node_ids()
        .map(|id| match sim.node(id).and_then(|v| v.node) {
            None => format!("{id} down"),
            Some(n) => format!(
                "{id} {} t{} log {} c{} chat {}",
                n.raft().role().as_str(),
                n.raft().term(),
                n.raft().log().last_index(),
                n.raft().commit_index(),
                n.replica().machine().total_messages()
            ),
        })
        .collect();
    let held = sim.in_flight().filter(|m| m.held).count();
    if held > 0 {
        parts.push(format!("{held} held"));
    }
    parts.join(" | ")
}
