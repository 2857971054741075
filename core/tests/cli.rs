//! The `raftchat-sim` command line (built with `--features cli`).
#![cfg(feature = "cli")]

use std::process::Command;

fn sim(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_raftchat-sim"))
        .args(args)
        .output()
        .expect("raftchat-sim runs")
}

#[test]
fn json_run_prints_a_history_and_every_chat_with_zero_violations() {
    let out = sim(&["--seed", "7", "--nodes", "5", "--duration", "60s", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    assert_eq!(v["summary"]["invariant_violations"], 0);
    let history = v["history"].as_array().unwrap();
    assert!(
        history.len() > 300,
        "about 10 requests a second for 60 s: {}",
        history.len()
    );
    let first = &history[0];
    for key in ["node", "client", "seq", "invoke_ms", "outcome", "index"] {
        assert!(
            first.get(key).is_some(),
            "history entries have {key}: {first}"
        );
    }
    let chats = v["chats"].as_object().unwrap();
    assert_eq!(chats.len(), 5);
    let committed = history
        .iter()
        .filter(|h| h["outcome"] == "committed")
        .count();
    assert!(committed > 300, "{committed} committed");
    // The most advanced replica holds every acknowledged message exactly once,
    // and every replica agrees with it on the order.
    let longest = chats
        .values()
        .map(|c| c.as_array().unwrap())
        .max_by_key(|c| c.len())
        .unwrap();
    let keys: Vec<(u64, u64)> = longest
        .iter()
        .map(|m| (m["client"].as_u64().unwrap(), m["seq"].as_u64().unwrap()))
        .collect();
    let unique: std::collections::BTreeSet<_> = keys.iter().copied().collect();
    assert_eq!(unique.len(), keys.len(), "no message applied twice");
    // A replica keeps the latest messages of the chat (CHAT_WINDOW) and counts
    // them all: every acknowledged message from the first one kept on is there.
    assert_eq!(longest.len(), raftchat_core::chat::CHAT_WINDOW);
    let first_kept = longest[0]["index"].as_u64().unwrap();
    let most = v["chat_totals"]
        .as_object()
        .unwrap()
        .values()
        .map(|t| t.as_u64().unwrap())
        .max()
        .unwrap();
    let acknowledged: std::collections::BTreeSet<_> = history
        .iter()
        .filter(|h| h["outcome"] == "committed")
        .map(|h| (h["client"].as_u64(), h["seq"].as_u64()))
        .collect();
    assert!(
        most as usize >= acknowledged.len(),
        "{most} messages applied, {} acknowledged",
        acknowledged.len()
    );
    let mut checked = 0;
    for h in history.iter().filter(|h| h["outcome"] == "committed") {
        if h["index"].as_u64().unwrap() < first_kept {
            continue;
        }
        checked += 1;
        let key = (h["client"].as_u64().unwrap(), h["seq"].as_u64().unwrap());
        assert!(unique.contains(&key), "acknowledged {key:?} is in the chat");
    }
    assert!(
        checked > 100,
        "{checked} acknowledged messages checked in the chat"
    );
    // Replicas that applied different counts keep windows shifted from each
    // other: they agree on every log index both hold.
    let by_index = |id: &str| {
        chats[id]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| (m["index"].as_u64().unwrap(), m["text"].clone()))
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    for id in ["2", "3", "4", "5"] {
        let (a, b) = (by_index("1"), by_index(id));
        let common: Vec<u64> = a.keys().copied().filter(|i| b.contains_key(i)).collect();
        assert!(
            common.len() > raftchat_core::chat::CHAT_WINDOW / 2,
            "replicas 1 and {id} hold only {} indexes in common",
            common.len()
        );
        for i in common {
            assert_eq!(
                a[&i], b[&i],
                "replica {id} agrees with replica 1 at index {i}"
            );
        }
    }
}

#[test]
fn the_same_seed_prints_the_same_history() {
    let a = sim(&[
        "--seed",
        "11",
        "--duration",
        "5s",
        "--drop",
        "0.1",
        "--crash-rate",
        "0.5",
        "--json",
    ]);
    let b = sim(&[
        "--seed",
        "11",
        "--duration",
        "5s",
        "--drop",
        "0.1",
        "--crash-rate",
        "0.5",
        "--json",
    ]);
    assert!(a.status.success());
    assert_eq!(a.stdout, b.stdout);
}

#[test]
fn summary_reports_what_the_issue_asks_for() {
    let out = sim(&[
        "--seed",
        "3",
        "--duration",
        "10s",
        "--crash-rate",
        "0.3",
        "--partition-rate",
        "0.2",
        "--drop",
        "0.05",
        "--dup",
        "0.05",
    ]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for line in [
        "leader changes",
        "highest term",
        "messages sent",
        "entries committed",
        "commit latency p50",
        "commit latency p99",
        "invariant violations  0",
    ] {
        assert!(text.contains(line), "summary has {line:?}:\n{text}");
    }
}

#[test]
fn bad_flags_give_a_clear_error_and_exit_2_without_a_panic() {
    let cases: &[(&[&str], &str)] = &[
        (&["--nodes", "0"], "1 to 9 nodes"),
        (&["--nodes", "ten"], "not a valid number"),
        (&["--drop", "1.5"], "between 0 and 1"),
        (&["--latency", "50-10"], "empty"),
        (&["--duration", "forever"], "not a valid number"),
        (
            &["--election-timeout", "100-200", "--heartbeat", "150"],
            "shorter than the election timeout",
        ),
        (&["--frobnicate"], "unknown option"),
        (&["--seed"], "needs a value"),
        (&["stray"], "unexpected argument"),
        (
            &["--bench", "--bench-seconds", "0"],
            "more than 0 and at most 3600",
        ),
        (
            &["--bench", "--bench-seconds", "NaN"],
            "at most 3600 seconds, not NaN",
        ),
        // A huge number is quoted in exponent form, not in 300 digits.
        (&["--crash-rate", "1e300"], "per second, not 1e300"),
        // Scheduled to the millisecond: faster would never let virtual time
        // move on (such a run used to hang).
        (
            &["--client-rate", "2000"],
            "between 0 and 1000 per second, not 2000",
        ),
        (
            &["--experiment", "replicas", "--rate", "1e-300"],
            "a second, not 1e-300",
        ),
        (
            &["--bench", "--bench-seconds", "soon"],
            "not a valid number",
        ),
        (
            &["--bench", "--bench-only", "fast"],
            "unknown benchmark part",
        ),
        (&["--bench-only", "idle"], "goes with --bench"),
    ];
    for (args, expect) in cases {
        let out = sim(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(expect), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

#[test]
fn a_closed_output_pipe_ends_the_run_quietly_not_with_a_panic() {
    // As in `raftchat-sim --campaign … | head -1`: the reader goes away early.
    let mut child = Command::new(env!("CARGO_BIN_EXE_raftchat-sim"))
        .args(["--seed", "1", "--duration", "600s", "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("raftchat-sim runs");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("raftchat-sim ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}

#[test]
fn replay_runs_a_recorded_recipe_checked_and_rejects_bad_files_clearly() {
    use raftchat_core::recipe::{Action, Step};
    use raftchat_core::timeline::Timeline;
    // Record a short session as the page would.
    let mut t = Timeline::new(raftchat_core::SimConfig::default()).unwrap();
    t.advance(2_000).unwrap();
    let leader = t.sim().leader().expect("a leader by 2 s");
    for (i, text) in ["hello", "world"].iter().enumerate() {
        t.act(Action::Send {
            node: leader,
            client: 1,
            seq: i as u64 + 1,
            author: "ada".into(),
            text: text.to_string(),
        })
        .unwrap();
        t.advance(t.now_ms() + 300).unwrap();
    }
    t.act(Action::Crash(leader)).unwrap();
    t.advance(6_000).unwrap();
    let dir = std::env::temp_dir().join(format!("raftchat-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("run.json");
    std::fs::write(&file, t.recipe().to_json()).unwrap();
    let out = sim(&["--replay", file.to_str().unwrap(), "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["summary"]["invariant_violations"], 0);
    let committed = v["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["outcome"] == "committed")
        .count();
    assert_eq!(
        committed, 2,
        "both messages were committed before the crash"
    );
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("recorded by"),
        "a run of this build gets no note"
    );
    // The same run recorded by a build that kept no replay version: it
    // replays, with a note that it may not play out as recorded.
    let mut old = t.recipe();
    old.replay_version = 0;
    let old_file = dir.join("old.json");
    std::fs::write(&old_file, old.to_json()).unwrap();
    let out = sim(&["--replay", old_file.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("recorded by an earlier raftchat"),
        "{stderr}"
    );
    // Bad files: each a clear message, exit 2, no panic.
    let mut edited = t.recipe();
    edited.steps.push(Step {
        at_ms: 100,
        action: Action::HealAll,
    });
    let edited = edited.to_json();
    let cases = [
        ("{\"version\": 1, \"steps\": [", "cut short"),
        ("{\"version\": 9}", "version 9"),
        ("[1, 2]", "not a raftchat run"),
        (edited.as_str(), "before the step before it"),
    ];
    for (i, (text, message)) in cases.iter().enumerate() {
        let bad = dir.join(format!("bad{i}.json"));
        std::fs::write(&bad, text).unwrap();
        let out = sim(&["--replay", bad.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(message), "{message:?} not in {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    let out = sim(&["--replay", dir.join("missing.json").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The first number after `label` in `text`.
fn number_after(text: &str, label: &str) -> f64 {
    let at = text
        .find(label)
        .unwrap_or_else(|| panic!("{label:?} in:\n{text}"));
    let rest = &text[at + label.len()..];
    let digits: String = rest
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    digits
        .parse()
        .unwrap_or_else(|_| panic!("a number after {label:?} in:\n{text}"))
}

#[test]
fn bench_runs_the_three_loads_side_by_side_and_prints_their_ratios_and_the_idle_speed() {
    // Each load in a process of its own (`--bench-worker`), taking turns.
    let out = sim(&[
        "--bench",
        "--bench-only",
        "bare,nodes,load,idle",
        "--bench-seconds",
        "0.5",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for load in ["bare core", "bare nodes", "simulator"] {
        let entries = number_after(&text, &format!("{load}, 5 nodes, batches of 64:"));
        assert!(entries > 0.0, "{load} committed nothing:\n{text}");
    }
    let rate = |label: &str| {
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("{label}, 5 nodes")))
            .unwrap();
        number_after(line, "s =")
    };
    for (slow, fast) in [
        ("simulator", "bare core"),
        ("simulator", "bare nodes"),
        ("bare nodes", "bare core"),
    ] {
        let ratio = number_after(&text, &format!("{slow} / {fast}, time per entry:"));
        let expected = rate(fast) / rate(slow);
        assert!(
            (ratio - expected).abs() < 0.01,
            "{slow} / {fast}: {ratio} printed, {expected} from the figures:\n{text}"
        );
    }
    assert!(text.contains("2 pairs of 0.25-s turns"), "{text}");
    assert!(
        text.contains("peak resident memory of the load runs: bare core ")
            && text.contains(" MB, bare nodes ")
            && text.contains(" MB, simulator "),
        "{text}"
    );
    let idle = number_after(&text, "the median of 5 runs =");
    assert!(
        idle > 100.0,
        "an idle cluster runs faster than real time:\n{text}"
    );
    assert!(
        text.contains("(575980 messages)"),
        "the idle hour is the same run each time:\n{text}"
    );
}

#[test]
fn a_bench_worker_asked_for_a_part_it_cannot_run_says_so() {
    let out = sim(&["--bench-worker", "idle"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("--bench-worker runs bare, nodes or load"),
        "{err}"
    );
}
