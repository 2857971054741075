//! The paper's election experiment (Figure 16) and the replicas experiment:
//! deterministic for a seed, the CLI's output well formed, bad flags refused,
//! and the figures the README compares with the paper.

use raftchat_core::experiment::{self, Network, PAPER_RANGES};

fn sim(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_raftchat-sim"))
        .args(args)
        .output()
        .expect("raftchat-sim runs")
}

#[test]
fn an_election_trial_is_the_same_for_the_same_seed() {
    for range in [(150, 155), (12, 24)] {
        let a: Vec<_> = (0..20)
            .map(|t| experiment::election_trial(range, t, Network::Paper, 7).unwrap())
            .collect();
        let b: Vec<_> = (0..20)
            .map(|t| experiment::election_trial(range, t, Network::Paper, 7).unwrap())
            .collect();
        assert_eq!(a, b);
        let c: Vec<_> = (0..20)
            .map(|t| experiment::election_trial(range, t, Network::Paper, 8).unwrap())
            .collect();
        assert_ne!(
            a.iter().map(|t| t.downtime_ms).collect::<Vec<_>>(),
            c.iter().map(|t| t.downtime_ms).collect::<Vec<_>>()
        );
        // A new leader always comes, after at least the detection time.
        assert!(a.iter().all(|t| t.downtime_ms.is_some_and(|d| d > 0)));
    }
}

/// The paper's figures (§9.3), which the "paper" network reproduces within
/// 15 % (1000 trials each, seed 1, as `raftchat-sim --experiment elections`
/// runs them).
#[test]
fn the_paper_network_reproduces_figure_16_within_15_percent() {
    let run = |range| {
        let trials: Vec<_> = (0..1000)
            .map(|t| experiment::election_trial(range, t, Network::Paper, 1).unwrap())
            .collect();
        experiment::summarize(range, &trials)
    };
    let within = |got: f64, paper: f64| (got - paper).abs() <= 0.15 * paper;
    let s = run((150, 155));
    println!("150-155: {s:?}");
    assert!(
        within(s.median_ms as f64, 287.0),
        "150-155 median {}",
        s.median_ms
    );
    let s = run((150, 200));
    println!("150-200: {s:?}");
    assert!(within(s.max_ms as f64, 513.0), "150-200 worst {}", s.max_ms);
    let s = run((12, 24));
    println!("12-24: {s:?}");
    assert!(within(s.mean_ms, 35.0), "12-24 mean {}", s.mean_ms);
    assert!(within(s.max_ms as f64, 152.0), "12-24 worst {}", s.max_ms);
    let s = run((150, 150));
    println!("150-150: {s:?}");
    assert!(
        s.over_10s * 2 > s.trials,
        "150-150: mostly over 10 s ({} of {})",
        s.over_10s,
        s.trials
    );
}

#[test]
fn the_elections_csv_has_a_line_per_trial_and_is_the_same_for_the_same_seed() {
    let out = sim(&["--experiment", "elections", "--trials", "3", "--csv"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("range,trial,downtime_ms"));
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 3 * PAPER_RANGES.len());
    for (i, row) in rows.iter().enumerate() {
        let f: Vec<&str> = row.split(',').collect();
        let (lo, hi) = PAPER_RANGES[i / 3];
        assert_eq!(f.len(), 3, "{row}");
        assert_eq!(f[0], format!("{lo}-{hi}"));
        assert_eq!(f[1], (i % 3).to_string());
        assert!(
            f[2] == "censored" || f[2].parse::<u64>().is_ok_and(|d| d > 0),
            "{row}"
        );
    }
    assert_eq!(
        sim(&["--experiment", "elections", "--trials", "3", "--csv"]).stdout,
        text.as_bytes()
    );
    let other = sim(&[
        "--experiment",
        "elections",
        "--trials",
        "3",
        "--csv",
        "--seed",
        "2",
    ]);
    assert_ne!(other.stdout, text.as_bytes());
    // The summary table: a row per range.
    let out = sim(&["--experiment", "elections", "--trials", "5"]);
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.contains("network \"paper\""), "{table}");
    for (lo, hi) in PAPER_RANGES {
        assert!(
            table.lines().any(|l| l.starts_with(&format!("{lo}-{hi} "))),
            "{table}"
        );
    }
}

#[test]
fn the_replicas_csv_has_a_line_per_cluster_size() {
    let out = sim(&["--experiment", "replicas", "--csv"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("nodes,latency_p50_ms,latency_p99_ms,messages_per_s")
    );
    let rows: Vec<Vec<f64>> = lines
        .map(|l| l.split(',').map(|f| f.parse().unwrap()).collect())
        .collect();
    assert_eq!(
        rows.iter().map(|r| r[0] as u32).collect::<Vec<_>>(),
        vec![1, 3, 5, 7, 9]
    );
    for r in &rows {
        assert!(r[1] >= 1.0 && r[1] <= r[2], "{r:?}");
        assert!(r[3] > 900.0, "a chat load every size keeps up with: {r:?}");
    }
    // One node commits with its own write only; more need a round trip.
    assert!(rows[0][1] < rows[1][1], "{rows:?}");
    assert_eq!(
        sim(&["--experiment", "replicas", "--csv"]).stdout,
        text.as_bytes()
    );
}

#[test]
fn bad_experiment_flags_exit_2_with_a_message() {
    for (args, says) in [
        (vec!["--experiment", "figure-9"], "unknown experiment"),
        (
            vec!["--experiment", "elections", "--trials", "0"],
            "--trials must be 1 to 100000",
        ),
        (
            vec!["--experiment", "elections", "--network", "moon"],
            "unknown network",
        ),
        (vec!["--csv"], "go with --experiment"),
        (
            vec!["--experiment", "replicas", "--trials", "5"],
            "--trials goes with --experiment elections",
        ),
        (
            vec!["--experiment", "replicas", "--rate", "0"],
            "--rate must be 1 to 100000",
        ),
        (
            vec!["--experiment", "elections", "--rate", "10"],
            "--rate goes with --experiment replicas",
        ),
    ] {
        let out = sim(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{args:?}: {err}");
    }
}

/// A trial opened as a run (its recipe, as the page's "open trial" does) is
/// the same run: the leader crashes at the same moment and the new leader
/// comes exactly `downtime_ms` later, not a millisecond sooner.
#[test]
fn an_election_trial_replays_from_its_recipe() {
    use raftchat_core::types::Role;
    let leader_after = |sim: &raftchat_core::sim::Simulator<raftchat_core::ChatRoom>, term: u64| {
        sim.node_ids()
            .filter_map(|id| sim.node(id).and_then(|v| v.node))
            .any(|n| n.raft().role() == Role::Leader && n.raft().term() > term)
    };
    for range in [(150, 155), (12, 24), (150, 151)] {
        for trial in 0..5 {
            let t = experiment::election_trial(range, trial, Network::Paper, 3).unwrap();
            let recipe = t.recipe(Network::Paper);
            recipe.validate().unwrap();
            // Through JSON, as the page receives it from its worker.
            let recipe = raftchat_core::recipe::Recipe::from_json(&recipe.to_json()).unwrap();
            let at_crash = recipe.replay(t.crash_ms).unwrap();
            let term = at_crash
                .node(t.leader)
                .unwrap()
                .node
                .map_or(0, |n| n.raft().term());
            assert!(
                at_crash.node(t.leader).unwrap().node.is_none(),
                "{t:?}: crashed"
            );
            assert!(!leader_after(&at_crash, term), "{t:?}");
            let d = t.downtime_ms.expect("these ranges elect within 20 s");
            let before = recipe.replay(t.crash_ms + d - 1).unwrap();
            assert!(
                !leader_after(&before, term),
                "{t:?}: a leader before {d} ms"
            );
            let after = recipe.replay(t.crash_ms + d).unwrap();
            assert!(leader_after(&after, term), "{t:?}: no leader at {d} ms");
        }
    }
}

#[test]
fn csv_lines_name_the_range_and_mark_censored_trials() {
    let t = experiment::election_trial((150, 155), 2, Network::Paper, 1).unwrap();
    let line = t.csv_line();
    assert_eq!(line, format!("150-155,2,{}", t.downtime_ms.unwrap()));
    let censored = experiment::ElectionTrial {
        downtime_ms: None,
        ..t
    };
    assert_eq!(censored.csv_line(), "150-155,2,censored");
}
