//! The replay version's guard. A recipe replays to the same run only under the
//! same behaviour of the Raft core and the simulator, and a recipe records the
//! `REPLAY_VERSION` of the build that recorded it, so that a build that
//! behaves differently says so when it opens one. This test fingerprints that
//! behaviour — whole fault-campaign runs, and the replay of every shipped
//! recipe (the scenarios and the built-in lessons' runs, checked to their end,
//! then played on unchecked past it) — so that a change of behaviour cannot go
//! out under the old number: the test fails and says what to do.

use raftchat_core::campaign::{self, campaign_config};
use raftchat_core::chat::ChatRoom;
use raftchat_core::lesson::{Lesson, BUILT_IN};
use raftchat_core::recipe::{Recipe, REPLAY_VERSION};
use raftchat_core::sim::Simulator;
use raftchat_core::Outcome;
use std::path::PathBuf;

/// The replay version this fingerprint was taken under, and the fingerprint.
const FINGERPRINT: (u32, u64) = (3, 0xa2ea_de7c_77bf_0e9d);

/// How long each shipped run is played on past its end.
const PLAY_ON_MS: u64 = 20_000;

/// FNV-1a over 64-bit words: stable across Rust versions and platforms (the
/// standard hasher promises neither).
struct Fingerprint(u64);

impl Fingerprint {
    fn word(&mut self, w: u64) {
        for b in w.to_le_bytes() {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    /// Where a run ended: its counters, every node's state and every client
    /// request's outcome.
    fn run(&mut self, sim: &Simulator<ChatRoom>) {
        let s = sim.stats();
        for w in [
            s.messages_sent,
            s.messages_delivered,
            s.messages_dropped,
            s.leader_changes,
            s.highest_term,
            s.highest_commit,
            s.crashes,
            s.restarts,
            s.events,
            s.snapshots_taken,
            s.snapshots_installed,
            s.config_changes,
            s.nodes_added,
            s.nodes_retired,
            s.promotions,
        ] {
            self.word(w);
        }
        for id in sim.node_ids() {
            let Some(view) = sim.node(id) else { continue };
            self.word(u64::from(id));
            self.word(u64::from(view.incarnation));
            if let Some(node) = view.node {
                self.word(node.raft().term());
                self.word(node.raft().commit_index());
                self.word(node.replica().last_applied());
                self.word(node.replica().digest());
            }
        }
        for r in sim.history().iter() {
            self.word(r.client);
            self.word(r.seq);
            self.word(r.invoke_ms);
            self.word(r.complete_ms.unwrap_or(u64::MAX));
            self.word(match r.outcome {
                None => 0,
                Some(Outcome::Committed { index, .. }) => index,
                Some(Outcome::Failed(_)) => u64::MAX,
            });
        }
    }
}

fn shipped_recipes() -> Vec<(String, Recipe)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut recipes = Vec::new();
    let scenarios = root.join("../tests/scenarios");
    let mut files: Vec<_> = std::fs::read_dir(&scenarios)
        .expect("tests/scenarios")
        .map(|e| e.expect("a scenario").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("a scenario file");
        let recipe = Recipe::from_json(&text).expect("a valid scenario");
        recipes.push((file.display().to_string(), recipe));
    }
    for (id, _) in BUILT_IN {
        let text = std::fs::read_to_string(root.join(format!("lessons/{id}.json")))
            .expect("a built-in lesson");
        let lesson = Lesson::from_json(&text).expect("a valid lesson");
        for (p, part) in lesson.parts.iter().enumerate() {
            recipes.push((format!("lesson {id} part {}", p + 1), part.recipe()));
        }
    }
    recipes
}

#[test]
fn the_behaviour_fingerprint_is_the_one_of_this_replay_version() {
    let mut f = Fingerprint(0xcbf2_9ce4_8422_2325);
    for seed in 1..=8 {
        let report = campaign::run(&campaign_config(seed, 20_000)).expect("a campaign run");
        f.run(&report.sim);
    }
    let recipes = shipped_recipes();
    assert!(recipes.len() >= 12, "the scenarios and lessons are found");
    for (name, recipe) in &recipes {
        assert_eq!(recipe.replay_version, REPLAY_VERSION, "{name}");
        let report = campaign::replay(recipe).unwrap_or_else(|e| panic!("{name}: {e}"));
        f.run(&report.sim);
        // Played on past its end (and past any violation, where the checked
        // replay stops), as the page can: a broken rule's later behaviour
        // is behaviour too.
        let on = recipe
            .replay(recipe.run_end_ms() + PLAY_ON_MS)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        f.run(&on);
    }
    let got = f.0;
    let (version, want) = FINGERPRINT;
    if version != REPLAY_VERSION {
        panic!(
            "REPLAY_VERSION is now {REPLAY_VERSION}, the fingerprint is of version {version}: \
             set FINGERPRINT to ({REPLAY_VERSION}, {got:#x})"
        );
    }
    assert_eq!(
        got, want,
        "the Raft core or the simulator behaves differently from when this fingerprint was \
         taken: the same recipe plays out another way. If that is meant, raise REPLAY_VERSION \
         in core/src/recipe.rs (saying what changed), re-plan the lessons (raftchat-sim \
         --lesson FILE --write), rewrite the scenarios (RAFTCHAT_WRITE_SCENARIOS=1 cargo test \
         --test bugs), and set FINGERPRINT here to (the new version, {got:#x}). If instead \
         what is fingerprinted changed (the campaign's settings, a lesson or scenario edited), \
         set only the number: ({REPLAY_VERSION}, {got:#x})"
    );
}
