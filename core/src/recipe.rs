//! A run is its recipe: the simulator's settings (seed included) and every
//! command a user gave, stamped with the virtual time at which it took effect.
//! Replaying a recipe gives the same run, event for event, whatever real
//! moments the clicks happened at: the simulator is deterministic, and a
//! command at `at_ms` is applied after every event up to `at_ms` has run, as
//! it was when it was recorded.
//!
//! The format (JSON, documented in the README):
//! `{"version": 1, "config": SimConfig, "steps": [{"at_ms": 1200, "do": {"crash": 3}}, …],
//! "end_ms": 9000, "at_ms": 4000}`. Links carry version 2, the same JSON made
//! to deflate well ([`Recipe::to_link_json`]).
//! (Externally tagged: internally tagged or flattened enums would cost the
//! page's wasm tens of kilobytes of buffering code.)

use crate::bugs::BugSet;
use crate::chat::{ChatCommand, ChatRoom};
use crate::sim::{NetConfig, SimConfig, Simulator, MAX_NODES};
use crate::types::{ClientId, NodeId, Request};
use serde::{Deserialize, Serialize};

/// The recipe format of files and of a recipe in memory.
pub const RECIPE_VERSION: u32 = 1;
/// The compact form a link carries ([`Recipe::to_link_json`]); read as well.
pub const LINK_RECIPE_VERSION: u32 = 2;
/// How the Raft core and the simulator behave, as a number: raised whenever a
/// change makes the same recipe play out differently (a bug fixed, a rule
/// changed). A recipe records the number of the build that recorded it, so
/// that a build that behaves differently can say the run may not play out as
/// it was seen ([`Recipe::replay_note`]). Runs recorded before raftchat kept
/// the number have none (read as 0). `core/tests/replay_version.rs` holds a
/// fingerprint of the behaviour, taken under this number: a change of
/// behaviour fails it until the number is raised.
///
/// 1: from 2026-12-01 (after a lone voter's durability rule, `may_stand`, the
/// rejected-forward fix and CheckQuorum's clock on `set_options`).
/// 2: from 2026-12-01 (log replication without the flood: followers keep early
/// batches, a leader sends again only the batch at a hole and keeps at most
/// `MAX_INFLIGHT_APPENDS` batches out, a snapshot transfer ends with the
/// snapshot it began with, repeated snapshot replies send nothing more).
/// 3: from 2026-12-03 (a leader ignores a rejection at or below the
/// follower's match index instead of probing there again: with the
/// `ignore-higher-term-reply` switch on, a deposed leader's rejected
/// heartbeats had drawn ever more probes).
pub const REPLAY_VERSION: u32 = 3;
/// At most this many steps in a recipe (a busy hour of clicking and chatting
/// is a few thousand).
pub const MAX_RECIPE_STEPS: usize = 100_000;
/// A recipe file or link is at most this long (a busy hour is well under a
/// megabyte of JSON).
pub const MAX_RECIPE_BYTES: usize = 16 << 20;
/// No step later than a week of virtual time.
pub const MAX_RECIPE_MS: u64 = 7 * 24 * 3_600_000;

/// One user command, as recorded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Crash(NodeId),
    Restart(NodeId),
    /// The node's election timer fires now.
    Timeout(NodeId),
    /// Cut the link `from → to` (one way).
    Cut {
        from: NodeId,
        to: NodeId,
    },
    Heal {
        from: NodeId,
        to: NodeId,
    },
    /// Cut every link to and from the node.
    Isolate(NodeId),
    HealAll,
    /// Drop one message on the wire (by its id).
    DropMessage(u64),
    /// Hold mode on or off: new messages wait on their links for the user.
    Hold(bool),
    /// Deliver one held message now (by its id).
    Deliver(u64),
    /// Put a second copy of a message on its link (by its id).
    Duplicate(u64),
    /// Message latency, loss, duplication…
    SetNet(NetConfig),
    /// PreVote and CheckQuorum.
    Options {
        pre_vote: bool,
        check_quorum: bool,
    },
    /// The rules broken on purpose from now on ([`crate::bugs`]; none to mend
    /// them all).
    Bugs(BugSet),
    /// A chat message from a client (a chat pane), through `node`. A
    /// client's sequence numbers start at 1 (0 stands for "the next one" in
    /// a link's compact form).
    Send {
        node: NodeId,
        client: ClientId,
        #[serde(default, skip_serializing_if = "is_zero")]
        seq: u64,
        author: String,
        text: String,
    },
    /// A linearizable read of the chat through the node (§6.4).
    Read(NodeId),
    /// The leader hands over to this node (§3.10).
    Transfer(NodeId),
    /// A new server joins.
    AddNode,
    RemoveNode(NodeId),
    /// The node snapshots and compacts its log.
    Compact(NodeId),
}

impl Action {
    /// The node ids the action names.
    fn nodes(&self) -> Vec<NodeId> {
        match *self {
            Action::Crash(node)
            | Action::Restart(node)
            | Action::Timeout(node)
            | Action::Isolate(node)
            | Action::Send { node, .. }
            | Action::Read(node)
            | Action::RemoveNode(node)
            | Action::Compact(node)
            | Action::Transfer(node) => vec![node],
            Action::Cut { from, to } | Action::Heal { from, to } => vec![from, to],
            Action::HealAll
            | Action::DropMessage { .. }
            | Action::Hold(_)
            | Action::Deliver(_)
            | Action::Duplicate(_)
            | Action::SetNet { .. }
            | Action::Options { .. }
            | Action::Bugs(_)
            | Action::AddNode => vec![],
        }
    }

    /// Applies the action to `sim` at its current virtual time.
    pub fn apply(&self, sim: &mut Simulator<ChatRoom>) -> Result<(), String> {
        match self {
            &Action::Crash(node) => sim.crash(node),
            &Action::Restart(node) => sim.restart(node),
            &Action::Timeout(node) => sim.timeout_now(node),
            &Action::Cut { from, to } => sim.cut_link(from, to),
            &Action::Heal { from, to } => sim.heal_link(from, to),
            &Action::Isolate(node) => sim.isolate(node),
            Action::HealAll => {
                sim.heal_all();
                Ok(())
            }
            &Action::DropMessage(id) => sim.drop_message(id),
            &Action::Hold(on) => {
                sim.set_hold(on);
                Ok(())
            }
            &Action::Deliver(id) => sim.deliver_now(id),
            &Action::Duplicate(id) => sim.duplicate_message(id),
            Action::SetNet(net) => sim.set_net(net.clone()),
            &Action::Options {
                pre_vote,
                check_quorum,
            } => {
                sim.set_options(pre_vote, check_quorum);
                Ok(())
            }
            &Action::Bugs(bugs) => {
                sim.set_bugs(bugs);
                Ok(())
            }
            Action::Send {
                node,
                client,
                seq,
                author,
                text,
            } => {
                let command = ChatCommand::new(author, text)?;
                sim.submit(
                    *node,
                    Request {
                        client: *client,
                        seq: *seq,
                        command,
                    },
                )
            }
            &Action::Read(node) => sim.read(node).map(|_| ()),
            &Action::Transfer(to) => sim.transfer_leadership(to),
            Action::AddNode => sim.add_node().map(|_| ()),
            &Action::RemoveNode(node) => sim.remove_node(node),
            &Action::Compact(node) => sim.compact(node),
        }
    }
}

fn is_zero<N: Default + PartialEq>(n: &N) -> bool {
    *n == N::default()
}

/// An action and the virtual time it took effect.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub at_ms: u64,
    #[serde(rename = "do")]
    pub action: Action,
}

impl Step {
    /// Applies step number `i` (from 0) of a recipe; an error names it.
    pub fn apply(&self, i: usize, sim: &mut Simulator<ChatRoom>) -> Result<(), String> {
        self.action.apply(sim).map_err(|e| {
            format!(
                "step {} (at {} ms) cannot be replayed: {e}",
                i + 1,
                self.at_ms
            )
        })
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Recipe {
    pub version: u32,
    /// The [`REPLAY_VERSION`] of the build that recorded the run (0: a build
    /// that kept none; left out of the JSON then).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub replay_version: u32,
    pub config: SimConfig,
    pub steps: Vec<Step>,
    /// How far the run went (virtual ms; at least its last step's time).
    #[serde(default)]
    pub end_ms: u64,
    /// Where it was paused (virtual ms, at most `end_ms`).
    #[serde(default)]
    pub at_ms: u64,
}

impl Recipe {
    pub fn new(config: SimConfig) -> Self {
        Recipe {
            version: RECIPE_VERSION,
            replay_version: REPLAY_VERSION,
            config,
            steps: Vec::new(),
            end_ms: 0,
            at_ms: 0,
        }
    }

    /// Reads a recipe from JSON and checks it ([`Recipe::validate`]). (The
    /// page parses the JSON with the browser's own parser, then goes through
    /// the same steps: [`Recipe::check_text`], [`Recipe::check_version`],
    /// [`Recipe::accept`].)
    pub fn from_json(json: &str) -> Result<Recipe, String> {
        Self::check_text(json)?;
        // The version first, so that a newer format gets the right message.
        #[derive(Deserialize)]
        struct Versioned {
            version: Option<u64>,
        }
        let versioned: Versioned = serde_json::from_str(json).map_err(|e| {
            if e.is_syntax() || e.is_eof() {
                format!("the run is damaged or cut short (not valid JSON: {e})")
            } else {
                format!("this is not a raftchat run: {e}")
            }
        })?;
        Self::check_version(versioned.version)?;
        let recipe: Recipe =
            serde_json::from_str(json).map_err(|e| format!("this run's recipe is damaged: {e}"))?;
        recipe.accept()
    }

    /// What can be told of a recipe's text before parsing it: its size, and
    /// that it is a JSON object.
    pub fn check_text(json: &str) -> Result<(), String> {
        if json.len() > MAX_RECIPE_BYTES {
            return Err(format!(
                "the run is {} bytes; the limit is {} MB",
                json.len(),
                MAX_RECIPE_BYTES >> 20
            ));
        }
        if !json.trim_start().starts_with('{') {
            return Err("this is not a raftchat run (a run is a JSON object)".into());
        }
        Ok(())
    }

    /// A recipe's `version` field is one this build reads.
    pub fn check_version(version: Option<u64>) -> Result<(), String> {
        let version = version.ok_or("this is not a raftchat run (it has no \"version\")")?;
        if version != RECIPE_VERSION as u64 && version != LINK_RECIPE_VERSION as u64 {
            return Err(format!(
                "this run is in recipe format version {version}; this raftchat reads versions {RECIPE_VERSION} and {LINK_RECIPE_VERSION}"
            ));
        }
        Ok(())
    }

    /// A recipe as parsed: its link form (version 2) expanded, then checked.
    pub fn accept(mut self) -> Result<Recipe, String> {
        if self.version == LINK_RECIPE_VERSION {
            self.expand_link_form()?;
        }
        self.validate()?;
        Ok(self)
    }

    /// What to tell whoever opens this run if it was recorded by a build that
    /// behaves differently ([`REPLAY_VERSION`]): the same steps may not play
    /// out as they did when it was recorded. `None` for a run of this build.
    pub fn replay_note(&self) -> Option<String> {
        self.replay_note_for("run")
    }

    /// [`Recipe::replay_note`], naming what holds the run ("lesson").
    pub fn replay_note_for(&self, what: &str) -> Option<String> {
        use std::cmp::Ordering;
        let recorded = self.replay_version;
        match recorded.cmp(&REPLAY_VERSION) {
            Ordering::Equal => None,
            Ordering::Less => Some(format!(
                "This {what} was recorded by an earlier raftchat ({}; this one is {REPLAY_VERSION}), whose Raft core has been corrected since: it may not play out exactly as it was recorded.",
                if recorded == 0 {
                    "before replay versions were kept".to_string()
                } else {
                    format!("replay version {recorded}")
                }
            )),
            Ordering::Greater => Some(format!(
                "This {what} was recorded by a newer raftchat (replay version {recorded}; this one is {REPLAY_VERSION}): it may not play out here as it was recorded."
            )),
        }
    }

    pub fn to_json(&self) -> String {
        // Plain data: serializing it cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The recipe in the compact form a link carries (version 2): the same
    /// JSON, except that each step's `at_ms` counts from the step before it,
    /// and a chat message's `seq` is left out when it is its client's
    /// previous one plus 1. Deflated, a half-hour lesson with a chat message a
    /// second takes less than half the bytes of version 1.
    pub fn to_link_json(&self) -> String {
        self.to_link_form().to_json()
    }

    /// The recipe as [`Recipe::to_link_json`] writes it.
    pub fn to_link_form(&self) -> Recipe {
        let mut r = self.clone();
        r.version = LINK_RECIPE_VERSION;
        let mut last_ms = 0;
        let mut seqs = std::collections::BTreeMap::new();
        for step in &mut r.steps {
            let at_ms = step.at_ms;
            step.at_ms = at_ms.saturating_sub(last_ms);
            last_ms = at_ms;
            if let Action::Send { client, seq, .. } = &mut step.action {
                let previous = seqs.insert(*client, *seq).unwrap_or(0);
                if *seq == previous + 1 {
                    *seq = 0;
                }
            }
        }
        r
    }

    /// Undoes [`Recipe::to_link_json`]: absolute times, every `seq` written.
    fn expand_link_form(&mut self) -> Result<(), String> {
        let mut at_ms: u64 = 0;
        let mut seqs = std::collections::BTreeMap::new();
        for (i, step) in self.steps.iter_mut().enumerate() {
            at_ms = at_ms
                .checked_add(step.at_ms)
                .filter(|&t| t <= MAX_RECIPE_MS)
                .ok_or_else(|| {
                    format!(
                        "step {} is later than the limit of {MAX_RECIPE_MS} ms (a week)",
                        i + 1
                    )
                })?;
            step.at_ms = at_ms;
            if let Action::Send { client, seq, .. } = &mut step.action {
                let previous = seqs.get(client).copied().unwrap_or(0);
                if *seq == 0 {
                    *seq = previous + 1;
                }
                seqs.insert(*client, *seq);
            }
        }
        self.version = RECIPE_VERSION;
        Ok(())
    }

    /// Checks what can be checked without running it: the version, the
    /// settings, the number of steps, that times never go back, that every node
    /// named existed by then, and every chat message's text.
    pub fn validate(&self) -> Result<(), String> {
        if self.version != RECIPE_VERSION {
            return Err(format!(
                "recipe format version {} is not version {RECIPE_VERSION}",
                self.version
            ));
        }
        self.config
            .validate()
            .map_err(|e| format!("the run's settings are invalid: {e}"))?;
        if self.steps.len() > MAX_RECIPE_STEPS {
            return Err(format!(
                "the run has {} steps; the limit is {MAX_RECIPE_STEPS}",
                self.steps.len()
            ));
        }
        if self.end_ms > MAX_RECIPE_MS {
            return Err(format!(
                "the run ends at {} ms, later than the limit of {MAX_RECIPE_MS} ms (a week)",
                self.end_ms
            ));
        }
        if self.at_ms > self.end_ms.max(self.last_ms()) {
            return Err(format!(
                "the run is paused at {} ms, after its end at {} ms",
                self.at_ms,
                self.end_ms.max(self.last_ms())
            ));
        }
        let mut nodes = self.config.nodes;
        let mut last_ms = 0;
        for (i, step) in self.steps.iter().enumerate() {
            let n = i + 1;
            if step.at_ms < last_ms {
                return Err(format!(
                    "step {n} is at {} ms, before the step before it ({last_ms} ms)",
                    step.at_ms
                ));
            }
            if step.at_ms > MAX_RECIPE_MS {
                return Err(format!(
                    "step {n} is at {} ms, later than the limit of {MAX_RECIPE_MS} ms (a week)",
                    step.at_ms
                ));
            }
            last_ms = step.at_ms;
            if let Some(&bad) = step
                .action
                .nodes()
                .iter()
                .find(|&&id| id == 0 || id > nodes)
            {
                return Err(format!(
                    "step {n} names node {bad}, which never existed (nodes 1 to {nodes} by then)"
                ));
            }
            match &step.action {
                Action::AddNode if nodes >= MAX_NODES * 4 => {
                    return Err(format!("step {n} adds too many nodes"));
                }
                Action::AddNode => nodes += 1,
                Action::Send { seq: 0, .. } => {
                    return Err(format!(
                        "step {n} sends a chat message with seq 0 (a client's first is 1)"
                    ));
                }
                Action::Send { author, text, .. } => {
                    ChatCommand::new(author, text).map_err(|e| format!("step {n}: {e}"))?;
                }
                Action::SetNet(net) => {
                    net.validate().map_err(|e| format!("step {n}: {e}"))?;
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The virtual time of the last step (0 with none).
    pub fn last_ms(&self) -> u64 {
        self.steps.last().map_or(0, |s| s.at_ms)
    }

    /// Where the run ends: `end_ms`, or its last step if that is later.
    pub fn run_end_ms(&self) -> u64 {
        self.end_ms.max(self.last_ms())
    }

    /// Runs the recipe from the start to `until_ms`, applying every step at or
    /// before it.
    pub fn replay(&self, until_ms: u64) -> Result<Simulator<ChatRoom>, String> {
        self.validate()?;
        let mut sim = Simulator::new(self.config.clone())?;
        let applied = replay_steps(&mut sim, &self.steps, 0, until_ms)?;
        debug_assert!(applied <= self.steps.len());
        sim.run_until(until_ms);
        Ok(sim)
    }
}

/// Applies `steps[from..]` up to `until_ms` to `sim` (running it to each
/// step's time first). Returns the index of the first step not applied.
pub(crate) fn replay_steps(
    sim: &mut Simulator<ChatRoom>,
    steps: &[Step],
    from: usize,
    until_ms: u64,
) -> Result<usize, String> {
    let mut i = from;
    while let Some(step) = steps.get(i).filter(|s| s.at_ms <= until_ms) {
        sim.run_until(step.at_ms);
        step.apply(i, sim)?;
        i += 1;
    }
    Ok(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recipe(steps: Vec<Step>) -> Recipe {
        Recipe {
            steps,
            ..Recipe::new(SimConfig::default())
        }
    }

    fn at(at_ms: u64, action: Action) -> Step {
        Step { at_ms, action }
    }

    #[test]
    fn the_json_form_is_flat_and_reads_back() {
        let r = recipe(vec![
            at(1_200, Action::Crash(3)),
            at(
                1_500,
                Action::Send {
                    node: 1,
                    client: 1,
                    seq: 1,
                    author: "ada".into(),
                    text: "hi".into(),
                },
            ),
        ]);
        let json = r.to_json();
        assert!(
            json.contains(r#"{"at_ms":1200,"do":{"crash":3}}"#),
            "{json}"
        );
        assert_eq!(Recipe::from_json(&json).unwrap(), r);
    }

    #[test]
    fn bad_recipes_get_clear_errors() {
        let err = |json: &str| Recipe::from_json(json).unwrap_err();
        assert!(err("{not json").contains("damaged or cut short"));
        assert!(err(r#"{"steps":[]}"#).contains("not a raftchat run"));
        let mut r = recipe(vec![]);
        r.version = 7;
        assert!(err(&r.to_json()).contains("version 7"));
        let json = recipe(vec![at(5, Action::HealAll)]).to_json();
        assert!(err(&json[..json.len() - 3]).contains("cut short"));
        let edited = json.replace("heal_all", "heal_everything");
        assert!(err(&edited).contains("damaged"), "{}", err(&edited));
        let json = recipe(vec![at(5, Action::Crash(6))]).to_json();
        assert!(err(&json).contains("node 6, which never existed"));
        // A node added earlier may be named.
        let ok = recipe(vec![at(5, Action::AddNode), at(6, Action::Crash(6))]);
        assert_eq!(ok.validate(), Ok(()));
        let json = recipe(vec![at(9, Action::HealAll), at(5, Action::HealAll)]).to_json();
        assert!(err(&json).contains("step 2 is at 5 ms, before"));
        let blank = Action::Send {
            node: 1,
            client: 1,
            seq: 1,
            author: "ada".into(),
            text: "  ".into(),
        };
        assert!(err(&recipe(vec![at(5, blank)]).to_json()).contains("empty"));
        let json = r#"{"version":1,"config":{"nodes":0},"steps":[]}"#;
        assert!(err(json).contains("damaged") || err(json).contains("settings"));
    }

    fn send(node: NodeId, client: ClientId, seq: u64) -> Action {
        Action::Send {
            node,
            client,
            seq,
            author: "ada".into(),
            text: format!("hi {seq}"),
        }
    }

    #[test]
    fn the_link_form_reads_back_as_the_same_recipe() {
        let r = Recipe {
            end_ms: 9_000,
            at_ms: 4_000,
            ..recipe(vec![
                at(1_200, Action::Crash(3)),
                at(1_200, send(1, 1, 1)),
                at(1_500, send(2, 2, 1)),
                at(2_000, send(1, 1, 2)),
                // A client that skipped numbers (a retry from elsewhere).
                at(2_000, send(1, 1, 7)),
                at(2_700, send(3, 1, 8)),
                at(8_000, Action::HealAll),
            ])
        };
        let link = r.to_link_json();
        assert!(link.contains(r#""version":2"#), "{link}");
        // Times count from the previous step; seq only where it is not next.
        assert!(
            link.contains(r#"{"at_ms":0,"do":{"send":{"node":1,"client":1,"author""#),
            "{link}"
        );
        assert!(link.contains(r#""client":1,"seq":7,"#), "{link}");
        assert!(link.contains(r#"{"at_ms":5300,"do":"heal_all"}"#), "{link}");
        assert_eq!(Recipe::from_json(&link).unwrap(), r);
        // The file form is unchanged (absolute times, every seq).
        assert!(r.to_json().contains(r#""seq":1,"#));
    }

    #[test]
    fn a_link_form_past_the_time_limit_or_a_seq_0_is_refused() {
        let r = recipe(vec![
            at(MAX_RECIPE_MS, Action::HealAll),
            at(0, Action::HealAll),
        ]);
        let mut json = r.to_link_json();
        json = json.replace(r#""at_ms":0,"do""#, r#""at_ms":5,"do""#);
        let err = Recipe::from_json(&json).unwrap_err();
        assert!(err.contains("step 2 is later than the limit"), "{err}");
        let json = recipe(vec![at(5, send(1, 1, 0))]).to_json();
        let err = Recipe::from_json(&json).unwrap_err();
        assert!(err.contains("seq 0"), "{err}");
    }

    #[test]
    fn a_step_that_cannot_apply_is_a_replay_error_naming_it() {
        let r = recipe(vec![
            at(1_000, Action::Crash(2)),
            at(1_100, Action::Crash(2)),
        ]);
        let err = r.replay(2_000).err().expect("step 2 fails");
        assert!(err.contains("step 2 (at 1100 ms)"), "{err}");
    }

    #[test]
    fn a_run_says_which_replay_version_recorded_it_and_an_older_or_newer_one_gets_a_note() {
        // A run recorded now: this build's number, in the file and the link.
        let r = recipe(vec![at(5, Action::HealAll)]);
        assert_eq!(r.replay_version, REPLAY_VERSION);
        assert_eq!(r.replay_note(), None);
        let json = r.to_json();
        assert!(
            json.contains(&format!(r#""replay_version":{REPLAY_VERSION}"#)),
            "{json}"
        );
        let via_link = Recipe::from_json(&r.to_link_json()).unwrap();
        assert_eq!(via_link.replay_version, REPLAY_VERSION);
        assert_eq!(via_link.replay_note(), None);
        // A run from a build that kept no number: read as 0, noted, and
        // written back as it was read.
        let old = json.replace(&format!(r#""replay_version":{REPLAY_VERSION},"#), "");
        assert!(!old.contains("replay_version"), "{old}");
        let read = Recipe::from_json(&old).unwrap();
        assert_eq!(read.replay_version, 0);
        let note = read.replay_note().expect("an older run is noted");
        assert!(
            note.contains("recorded by an earlier raftchat (before replay versions were kept")
                && note.contains("may not play out exactly as it was recorded"),
            "{note}"
        );
        assert_eq!(read.to_json(), old);
        // Opened here, it is this build's run from then on.
        let timeline = crate::timeline::Timeline::from_recipe(&read).unwrap();
        assert_eq!(timeline.recipe().replay_version, REPLAY_VERSION);
        // A run from a newer build.
        let newer = Recipe {
            replay_version: REPLAY_VERSION + 1,
            ..r.clone()
        };
        let note = Recipe::from_json(&newer.to_json())
            .unwrap()
            .replay_note()
            .expect("a newer run is noted");
        assert!(note.contains("recorded by a newer raftchat"), "{note}");
    }
}
