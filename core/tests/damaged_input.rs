//! Damaged runs and lessons, at random: a shared link or a file may say
//! anything. Each is either refused with a message or plays; nothing panics.
//! The inputs are the project's own scenarios and lessons, each mutated in
//! its JSON values (numbers pushed to their edges, fields dropped or swapped,
//! steps duplicated or moved, node ids out of range).

mod common;
mod mutate;

use mutate::damaged;
use raftchat_core::lesson::{self, Lesson};
use raftchat_core::recipe::Recipe;
use raftchat_core::timeline::Timeline;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Runs whose end is later than this are read and checked but not played
/// here, to keep the test short (the page plays them, with the same code).
const PLAY_LIMIT_MS: u64 = 20_000;

fn sources() -> Vec<(String, String)> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let mut files = Vec::new();
    for dir in ["tests/scenarios", "core/lessons"] {
        let mut names: Vec<_> = std::fs::read_dir(format!("{root}/{dir}"))
            .unwrap_or_else(|e| panic!("cannot list {dir}: {e}"))
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        names.sort();
        for p in names {
            let text = std::fs::read_to_string(&p).unwrap();
            files.push((p.display().to_string(), text));
        }
    }
    assert!(
        files.len() >= 10,
        "the scenarios and lessons were not found"
    );
    files
}

/// What reading and playing `text` as a run did, or the panic's message.
fn try_run(text: &str) -> Result<String, String> {
    catch_unwind(AssertUnwindSafe(|| match Recipe::from_json(text) {
        Err(e) => {
            assert!(!e.is_empty(), "an empty error");
            "refused".to_string()
        }
        Ok(r) if r.run_end_ms() > PLAY_LIMIT_MS => "read".to_string(),
        Ok(r) => match Timeline::from_recipe(&r) {
            Ok(_) => "played".to_string(),
            Err(e) => {
                assert!(!e.is_empty(), "an empty error");
                "refused when played".to_string()
            }
        },
    }))
    .map_err(panic_text)
}

/// What reading and planning `text` as a lesson did, or the panic's message.
fn try_lesson(text: &str) -> Result<String, String> {
    catch_unwind(AssertUnwindSafe(|| match Lesson::from_json(text) {
        Err(e) => {
            assert!(!e.is_empty(), "an empty error");
            "refused".to_string()
        }
        Ok(l) => {
            for part in &l.parts {
                if part.run.run_end_ms() > PLAY_LIMIT_MS {
                    return "read".to_string();
                }
                if let Err(e) = lesson::plan(part) {
                    assert!(!e.is_empty(), "an empty error");
                    return "refused when planned".to_string();
                }
            }
            "planned".to_string()
        }
    }))
    .map_err(panic_text)
}

fn panic_text(p: Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "a panic".into())
}

#[test]
fn damaged_runs_and_lessons_are_refused_or_play_and_never_panic() {
    let files = sources();
    let seeds = common::seeds_from_env(2_000);
    let tally = std::sync::Mutex::new(std::collections::BTreeMap::<String, u64>::new());
    let failures = common::run_seeds(seeds, |seed| {
        let (name, text) = &files[seed as usize % files.len()];
        let damaged = damaged(text, seed);
        let lesson = name.contains("lessons");
        let outcome = if lesson {
            try_lesson(&damaged)
        } else {
            try_run(&damaged)
        };
        match outcome {
            Ok(what) => {
                *tally.lock().unwrap().entry(what).or_default() += 1;
                None
            }
            Err(panic) => Some(format!(
                "seed {seed} ({name}): panicked: {panic}\n  input: {}",
                &damaged[..damaged.len().min(2000)]
            )),
        }
    });
    eprintln!("outcomes: {:?}", tally.lock().unwrap());
    assert!(failures.is_empty(), "{} inputs panicked", failures.len());
}
