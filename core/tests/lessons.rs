//! Every built-in lesson plays to its end in the core, and every step's
//! expectation holds where the step stops: a change to the core that shifts a
//! lesson's timing breaks this test, not a class.

use raftchat_core::lesson::{self, Condition, Lesson, Target, BUILT_IN};
use raftchat_core::recipe::REPLAY_VERSION;
use std::path::PathBuf;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("lessons")
}

fn read(id: &str) -> String {
    std::fs::read_to_string(dir().join(format!("{id}.json")))
        .unwrap_or_else(|e| panic!("core/lessons/{id}.json: {e}"))
}

#[test]
fn every_built_in_lesson_plays_to_its_end_and_every_expectation_holds() {
    for (id, title) in BUILT_IN {
        let l = Lesson::from_json(&read(id)).unwrap_or_else(|e| panic!("{id}: {e}"));
        assert_eq!((l.id.as_str(), l.title.as_str()), (id, title));
        assert!(!l.summary.is_empty(), "{id} has a summary");
        let mut questions = 0;
        for (p, part) in l.parts.iter().enumerate() {
            // Planned by this build: the page opens it without a note.
            assert_eq!(
                part.run.replay_version,
                REPLAY_VERSION,
                "{id} part {}: planned for another replay version: raftchat-sim --lesson core/lessons/{id}.json --write",
                p + 1
            );
            let stops = lesson::plan(part).unwrap_or_else(|e| panic!("{id} part {}: {e}", p + 1));
            assert_eq!(stops.len(), part.steps.len());
            for (i, (step, stop)) in part.steps.iter().zip(&stops).enumerate() {
                // The page plays from the file's stop times: they must be
                // where the core stops.
                assert_eq!(
                    step.stop_ms,
                    Some(stop.at_ms),
                    "{id} part {} step {}: stop_ms is stale: raftchat-sim --lesson core/lessons/{id}.json --write",
                    p + 1,
                    i + 1
                );
                assert!(
                    stop.unmet.is_empty(),
                    "{id} part {} step {} at {} ms ({}): {:?}",
                    p + 1,
                    i + 1,
                    stop.at_ms,
                    stop.moment,
                    stop.unmet
                );
                // Predict, then see: a question is never the last stop.
                if step.question.is_some() {
                    questions += 1;
                    assert!(i + 1 < stops.len(), "{id}: a question ends part {}", p + 1);
                    assert!(stops[i + 1].at_ms > stop.at_ms, "{id}: nothing to see");
                }
                // What a caption points at exists.
                let nodes = part.run.config.nodes
                    + part
                        .run
                        .steps
                        .iter()
                        .filter(|s| s.action == raftchat_core::recipe::Action::AddNode)
                        .count() as u32;
                for t in &step.point {
                    let named = match t {
                        Target::Node(n) | Target::Chat(n) | Target::Cell { node: n, .. } => {
                            vec![*n]
                        }
                        Target::Link(ns) => ns.to_vec(),
                        _ => vec![],
                    };
                    assert!(
                        named.iter().all(|&n| (1..=nodes).contains(&n)),
                        "{id} step {}: {t:?}",
                        i + 1
                    );
                }
            }
            // Stops go forward in time.
            assert!(stops.windows(2).all(|w| w[0].at_ms <= w[1].at_ms), "{id}");
        }
        assert!(questions >= 1, "{id} asks at least one question");
        println!("{id}: {} part(s), {questions} question(s)", l.parts.len());
    }
}

#[test]
fn the_lesson_folder_holds_exactly_the_built_in_lessons() {
    let mut files: Vec<String> = std::fs::read_dir(dir())
        .expect("core/lessons")
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let mut want: Vec<String> = BUILT_IN
        .iter()
        .map(|(id, _)| format!("{id}.json"))
        .collect();
    want.sort();
    assert_eq!(files, want);
}

#[test]
fn the_rule_breaking_lessons_run_the_same_moves_with_and_without_the_rule() {
    // Figure 8 shows the broken rule first; the election restriction, the
    // rule kept first. Each part's last stop shows its outcome.
    for (id, broken_part, property) in [
        ("figure-8", 0, "State Machine Safety"),
        ("election-restriction", 1, "State Machine Safety"),
    ] {
        let l = Lesson::from_json(&read(id)).unwrap();
        let (broken, kept) = (&l.parts[broken_part], &l.parts[1 - broken_part]);
        assert!(!broken.run.config.bugs.is_empty(), "{id}");
        assert!(kept.run.config.bugs.is_empty(), "{id}");
        assert_eq!(broken.run.steps, kept.run.steps, "{id}");
        let last = |p: &lesson::Part| p.steps.last().unwrap().expect.clone();
        assert!(
            last(broken).contains(&Condition::Violated(property.into())),
            "{id}"
        );
        assert!(last(kept).contains(&Condition::Safe), "{id}");
    }
}

/// A small valid lesson, as JSON, for the error cases.
fn base() -> serde_json::Value {
    let l: serde_json::Value = serde_json::from_str(&read("first-election")).unwrap();
    l
}

fn error_of(v: &serde_json::Value) -> String {
    Lesson::from_json(&v.to_string()).expect_err("refused")
}

#[test]
fn a_bad_lesson_file_gets_a_clear_message() {
    assert!(Lesson::from_json("{\"version\": 1, ")
        .unwrap_err()
        .contains("damaged or cut short"));
    assert!(Lesson::from_json("[1, 2]")
        .unwrap_err()
        .contains("not a raftchat lesson"));
    // Valid JSON of the wrong shape is not called damaged, even where
    // serde_json reports it as a syntax error (a number for an action).
    let mut v = base();
    v["parts"][0]["run"]["steps"] = serde_json::json!([{"at_ms": 10, "do": 1}]);
    let e = error_of(&v);
    assert!(
        e.contains("not a raftchat lesson") && !e.contains("not valid JSON"),
        "{e}"
    );
    let mut v = base();
    v["version"] = 2.into();
    assert!(
        error_of(&v).contains("format version 2"),
        "{}",
        error_of(&v)
    );
    let mut v = base();
    v["id"] = "Figure 8!".into();
    assert!(error_of(&v).contains("lowercase letters"));
    let mut v = base();
    v["parts"][0]["steps"] = serde_json::json!([]);
    assert!(error_of(&v).contains("1 to 100"));
    let mut v = base();
    v["parts"][0]["steps"][1]["question"]["answer"] = 9.into();
    assert!(error_of(&v).contains("an answer among them"));
    let mut v = base();
    v["parts"][0]["steps"][0]["expect"] = serde_json::json!([{"violated": "Figure 9"}]);
    let e = error_of(&v);
    assert!(
        e.contains("\"Figure 9\" is not a property") && e.contains("step 1"),
        "{e}"
    );
    let mut v = base();
    v["parts"][0]["steps"][4]["at_ms"] = serde_json::Value::Null;
    v["parts"][0]["steps"][4]["when"] = serde_json::Value::Null;
    assert!(error_of(&v).contains("step 5 has neither"));
    let mut v = base();
    v["parts"][0]["steps"][0]["at_ms"] = 5000.into();
    assert!(error_of(&v).contains("stop_ms (0) is before its at_ms"));
    v["parts"][0]["steps"][0]["stop_ms"] = serde_json::Value::Null;
    assert!(error_of(&v).contains("steps go forward in time"));
    let mut v = base();
    v["parts"][0]["run"]["config"]["nodes"] = 0.into();
    assert!(error_of(&v).contains("part 1's run"), "{}", error_of(&v));
    let mut v = base();
    v["parts"][0]["steps"][0]["caption"] = " ".into();
    assert!(error_of(&v).contains("caption"));
}

#[test]
fn a_moment_that_never_comes_is_an_error_and_an_unmet_expectation_is_reported() {
    let mut l = Lesson::from_json(&read("first-election")).unwrap();
    let part = &mut l.parts[0];
    part.steps[2].when = Some(Condition::Leader {
        node: Some(4),
        term: None,
    });
    part.steps[2].within_ms = Some(1_000);
    let e = lesson::plan(part).unwrap_err();
    assert!(
        e.contains("step 3: \"node 4 leads\" did not happen between 173 and 1173 ms"),
        "{e}"
    );
    let mut l = Lesson::from_json(&read("first-election")).unwrap();
    l.parts[0].steps[4].expect = vec![Condition::Leader {
        node: Some(2),
        term: None,
    }];
    let stops = lesson::plan(&l.parts[0]).unwrap();
    assert_eq!(
        stops[4].unmet,
        vec!["step 5: expected node 2 leads".to_string()]
    );
}

#[test]
fn the_command_line_plays_a_lesson_and_fails_on_an_unmet_expectation() {
    let sim = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_raftchat-sim"))
            .args(args)
            .output()
            .expect("raftchat-sim runs")
    };
    let file = dir().join("leader-crash.json");
    let out = sim(&["--lesson", file.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("part 1 step 3 at") && text.contains("every expectation holds"));

    let mut l = Lesson::from_json(&read("leader-crash")).unwrap();
    l.parts[0].steps[0].expect = vec![Condition::Down(3)];
    let tmp = std::env::temp_dir().join(format!("raftchat-lesson-{}.json", std::process::id()));
    std::fs::write(&tmp, l.to_json()).unwrap();
    let out = sim(&["--lesson", tmp.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("UNMET: step 1: expected node 3 is down"),
        "{text}"
    );

    // --write fills in the stop times, and stamps the run with this build's
    // replay version (here: of a file from a build that kept none).
    let mut l = Lesson::from_json(&read("leader-crash")).unwrap();
    let want: Vec<Option<u64>> = l.parts[0].steps.iter().map(|s| s.stop_ms).collect();
    for s in &mut l.parts[0].steps {
        s.stop_ms = None;
    }
    l.parts[0].run.replay_version = 0;
    std::fs::write(&tmp, l.to_json()).unwrap();
    let out = sim(&["--lesson", tmp.to_str().unwrap(), "--write"]);
    assert!(out.status.success());
    let written = Lesson::from_json(&std::fs::read_to_string(&tmp).unwrap()).unwrap();
    let got: Vec<Option<u64>> = written.parts[0].steps.iter().map(|s| s.stop_ms).collect();
    assert_eq!(got, want);
    assert_eq!(written.parts[0].run.replay_version, REPLAY_VERSION);
    assert_eq!(sim(&["--write"]).status.code(), Some(2));

    std::fs::write(&tmp, "{\"version\": 1}").unwrap();
    let out = sim(&["--lesson", tmp.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a raftchat lesson"));
    let _ = std::fs::remove_file(&tmp);
}
