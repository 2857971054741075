//! `raftchat-sim`: runs a seeded chat cluster in virtual time and prints a summary,
//! the full client history (`--json`), or benchmark figures (`--bench`).

/// `println!` that ends the program quietly when stdout is closed
/// (`raftchat-sim … | head`) instead of panicking.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if writeln!(std::io::stdout().lock(), $($arg)*).is_err() {
            std::process::exit(0);
        }
    }};
}

mod bench;
mod experiment;

use raftchat_core::bugs::Bug;
use raftchat_core::campaign::{self, Faults, RunConfig, RunReport};
use raftchat_core::recipe::{Recipe, MAX_RECIPE_BYTES};
use raftchat_core::sim::SimConfig;
use raftchat_core::{quoted_number, Outcome};
use std::process::ExitCode;

const HELP: &str = "\
raftchat-sim: run a seeded Raft chat cluster in virtual time

USAGE: raftchat-sim [OPTIONS]

OPTIONS (times in ms unless a unit is given: 250ms, 20s, 2m):
  --seed N                  seed of every random choice            [1]
  --nodes N                 cluster size, 1 to 9                   [5]
  --duration D              virtual time to run                    [10s]
  --election-timeout A-B    election timeout range                 [150-300]
  --heartbeat T             heartbeat interval                     [50]
  --latency A-B             message latency range                  [5-15]
  --disk-latency A-B        durable write latency range            [1-3]
  --drop P                  message loss probability, 0..1         [0]
  --dup P                   message duplication probability, 0..1  [0]
  --crash-rate R            crashes per second (each restarts later) [0]
  --partition-rate R        partitions per second (each heals later) [0]
  --client-rate R           chat messages per second               [10]
  --transfer-rate R         leadership transfers per second          [0]
  --churn-rate R            membership changes (add / remove a server) per second [0]
  --compact-rate R          forced compactions per second          [0]
  --snapshot-bytes N        snapshot once the log holds N bytes (and 4x the last snapshot) [65536]
  --max-batch N             entries per AppendEntries              [64]
  --pre-vote                ask for pre-votes before an election (thesis §9.6)
  --check-quorum            leaders step down without a majority; leader lease (§6.2)
  --bug NAME                break one rule of Raft on purpose (repeatable); the
                            checker should then find a violation
  --list-bugs               list the bug switches, one a line, with the rule each breaks
  --campaign                use the fault campaign's profile for this seed
                            (the command printed for a failing campaign seed)
  --json                    print the client history and every replica's chat
  --replay FILE             replay a recorded run (a recipe exported by the page),
                            checking every invariant (ignores the run options)
  --lesson FILE             play a lesson file: each step's stop, the cluster
                            there, and any expectation that fails (exit 1)
  --write                   with --lesson: write each step's stop_ms into the
                            file (the page plays lessons from them)
  --experiment KIND         run an experiment: elections (the paper's Figure 16:
                            time without a leader after a crash, per election
                            timeout range) or replicas (commit latency and
                            throughput by cluster size); uses --seed
  --trials N                elections: trials per range                [1000]
  --network NAME            paper or default (elections: paper; replicas: default)
  --rate N                  replicas: chat messages offered per second [1000]
  --csv                     experiments: one CSV line per trial or size
  --svg                     experiments: the figure the page draws, as SVG
                            (replicas: offered loads of 100 to 3000 a second)
  --bench                   measure simulator speed and memory (ignores other options)
  --bench-seconds S         how long the saturating load runs      [10]
  --bench-only PARTS        only these parts of the benchmark (for profiling),
                            comma-separated: bare, nodes, load, idle, day,
                            timeline
  --bench-worker PART       (used by --bench) run the bare, nodes or load
                            part a turn at a time, one turn per line read
  -h, --help                this help
";

fn main() -> ExitCode {
    match parse(std::env::args_os().skip(1)) {
        Ok(Mode::Help) => {
            out!("{}", HELP.trim_end());
            ExitCode::SUCCESS
        }
        Ok(Mode::ListBugs) => {
            for bug in Bug::ALL {
                out!("{:<26}{}", bug.name(), bug.rule());
            }
            ExitCode::SUCCESS
        }
        Ok(Mode::Bench { load_seconds, only }) => bench::run(load_seconds, only),
        Ok(Mode::BenchWorker(part)) => bench::worker(part),
        Ok(Mode::Run { cfg, json }) => run(&cfg, json),
        Ok(Mode::Replay { file, json }) => replay(&file, json),
        Ok(Mode::Lesson { file, write }) => lesson(&file, write),
        Ok(Mode::Experiment {
            kind,
            trials,
            network,
            output,
            seed,
            rate,
        }) => experiment::run(&kind, trials, network, output, seed, rate),
        Err(e) => {
            eprintln!("raftchat-sim: {e}\n(try --help)");
            ExitCode::from(2)
        }
    }
}

enum Mode {
    Help,
    ListBugs,
    Bench {
        load_seconds: f64,
        only: Option<Vec<bench::Part>>,
    },
    BenchWorker(bench::Part),
    Run {
        cfg: Box<RunConfig>,
        json: bool,
    },
    Replay {
        file: std::path::PathBuf,
        json: bool,
    },
    Lesson {
        file: std::path::PathBuf,
        write: bool,
    },
    Experiment {
        kind: String,
        trials: u32,
        network: Option<raftchat_core::experiment::Network>,
        output: experiment::Output,
        seed: u64,
        rate: f64,
    },
}

/// A command-line option's change to the run configuration.
type Override = Box<dyn Fn(&mut RunConfig)>;

fn parse(args: impl IntoIterator<Item = std::ffi::OsString>) -> Result<Mode, String> {
    use lexopt::Arg::{Long, Short, Value};
    let mut p = lexopt::Parser::from_args(args);
    let mut sim = SimConfig::default();
    let mut faults = Faults::default();
    let mut duration_ms = 10_000;
    let (mut json, mut bench, mut campaign) = (false, false, false);
    let mut load_seconds = 10.0;
    let mut bench_only = None;
    let mut seed = 1;
    let mut replay_file = None;
    let mut lesson_file = None;
    let mut write = false;
    let mut experiment = None;
    let mut trials = None;
    let mut network = None;
    let mut output = None;
    let mut rate = None;
    // Explicit options, applied over the campaign profile when both are given.
    let mut overrides: Vec<Override> = Vec::new();
    while let Some(arg) = p.next().map_err(|e| e.to_string())? {
        let name = match arg {
            Long(n) => format!("--{n}"),
            Short(c) => format!("-{c}"),
            Value(v) => return Err(format!("unexpected argument {:?}", v.to_string_lossy())),
        };
        let mut value = || -> Result<String, String> {
            p.value()
                .map_err(|_| format!("{name} needs a value"))?
                .into_string()
                .map_err(|_| format!("the value of {name} is not valid text"))
        };
        match name.as_str() {
            "-h" | "--help" => return Ok(Mode::Help),
            "--list-bugs" => return Ok(Mode::ListBugs),
            "--bug" => {
                let bug = Bug::from_name(value()?.trim())?;
                overrides.push(Box::new(move |c| c.sim.bugs = c.sim.bugs.with(bug)));
            }
            "--json" => json = true,
            "--write" => write = true,
            "--csv" | "--svg" => {
                let format = if name == "--csv" {
                    experiment::Output::Csv
                } else {
                    experiment::Output::Svg
                };
                if output.is_some_and(|o| o != format) {
                    return Err("--csv and --svg: choose one".into());
                }
                output = Some(format);
            }
            "--experiment" => {
                let kind = value()?;
                if kind != "elections" && kind != "replicas" {
                    return Err(format!(
                        "unknown experiment \"{kind}\" (use elections or replicas)"
                    ));
                }
                experiment = Some(kind);
            }
            "--trials" => {
                let n: u32 = number(&name, &value()?)?;
                if !(1..=100_000).contains(&n) {
                    return Err(format!("{name} must be 1 to 100000, not {n}"));
                }
                trials = Some(n);
            }
            "--rate" => {
                let r: f64 = number(&name, &value()?)?;
                raftchat_core::experiment::check_rate(&name, r)?;
                rate = Some(r);
            }
            "--network" => {
                network = Some(raftchat_core::experiment::Network::from_name(&value()?)?)
            }
            "--pre-vote" => overrides.push(Box::new(|c| c.sim.pre_vote = true)),
            "--check-quorum" => overrides.push(Box::new(|c| c.sim.check_quorum = true)),
            "--bench" => bench = true,
            "--replay" => {
                replay_file = Some(std::path::PathBuf::from(
                    p.value().map_err(|_| format!("{name} needs a file"))?,
                ))
            }
            "--lesson" => {
                lesson_file = Some(std::path::PathBuf::from(
                    p.value().map_err(|_| format!("{name} needs a file"))?,
                ))
            }
            "--bench-seconds" => {
                let s: f64 = number(&name, &value()?)?;
                if !(s > 0.0 && s <= 3600.0) {
                    return Err(format!(
                        "{name} must be more than 0 and at most 3600 seconds, not {}",
                        quoted_number(s)
                    ));
                }
                load_seconds = s;
            }
            "--bench-only" => bench_only = Some(bench::parse_parts(&value()?)?),
            "--bench-worker" => return Ok(Mode::BenchWorker(bench::Part::from_name(&value()?)?)),
            "--campaign" => campaign = true,
            "--seed" => seed = number(&name, &value()?)?,
            "--nodes" => {
                let n: u32 = number(&name, &value()?)?;
                overrides.push(Box::new(move |c| c.sim.nodes = n));
            }
            "--duration" => duration_ms = millis(&name, &value()?)?,
            "--election-timeout" => {
                let (a, b) = range(&name, &value()?)?;
                overrides.push(Box::new(move |c| {
                    c.sim.election_timeout_min_ms = a;
                    c.sim.election_timeout_max_ms = b;
                }));
            }
            "--heartbeat" => {
                let t = millis(&name, &value()?)?;
                overrides.push(Box::new(move |c| c.sim.heartbeat_interval_ms = t));
            }
            "--latency" => {
                let (a, b) = range(&name, &value()?)?;
                overrides.push(Box::new(move |c| {
                    c.sim.net.latency_min_ms = a;
                    c.sim.net.latency_max_ms = b;
                }));
            }
            "--disk-latency" => {
                let (a, b) = range(&name, &value()?)?;
                overrides.push(Box::new(move |c| {
                    c.sim.disk_latency_min_ms = a;
                    c.sim.disk_latency_max_ms = b;
                }));
            }
            "--drop" => {
                let p = number(&name, &value()?)?;
                overrides.push(Box::new(move |c| c.sim.net.drop_rate = p));
            }
            "--dup" => {
                let p = number(&name, &value()?)?;
                overrides.push(Box::new(move |c| c.sim.net.duplicate_rate = p));
            }
            "--crash-rate" => {
                let r = number(&name, &value()?)?;
                overrides.push(Box::new(move |c| c.faults.crash_rate = r));
            }
            "--partition-rate" => {
                let r = number(&name, &value()?)?;
                overrides.push(Box::new(move |c| c.faults.partition_rate = r));
            }
            "--client-rate" => {
                let r = number(&name, &value()?)?;
                overrides.push(Box::new(move |c| c.faults.client_rate = r));
            }
            "--transfer-rate" => {
                let r = number(&name, &value()?)?;
                overrides.push(Box::new(move |c| c.faults.transfer_rate = r));
            }
            "--churn-rate" => {
                let r = number(&name, &value()?)?;
                overrides.push(Box::new(move |c| c.faults.churn_rate = r));
            }
            "--compact-rate" => {
                let r = number(&name, &value()?)?;
                overrides.push(Box::new(move |c| c.faults.compact_rate = r));
            }
            "--snapshot-bytes" => {
                let n = number(&name, &value()?)?;
                overrides.push(Box::new(move |c| c.sim.snapshot_min_log_bytes = n));
            }
            "--max-batch" => {
                let n = number(&name, &value()?)?;
                overrides.push(Box::new(move |c| c.sim.max_entries_per_append = n));
            }
            _ => return Err(format!("unknown option {name}")),
        }
    }
    if bench {
        return Ok(Mode::Bench {
            load_seconds,
            only: bench_only,
        });
    }
    if bench_only.is_some() {
        return Err("--bench-only goes with --bench".into());
    }
    if let Some(file) = lesson_file {
        return Ok(Mode::Lesson { file, write });
    }
    if write {
        return Err("--write goes with --lesson FILE".into());
    }
    if let Some(kind) = experiment {
        if trials.is_some() && kind != "elections" {
            return Err("--trials goes with --experiment elections".into());
        }
        if rate.is_some() && kind != "replicas" {
            return Err("--rate goes with --experiment replicas".into());
        }
        return Ok(Mode::Experiment {
            kind,
            trials: trials.unwrap_or(1000),
            network,
            output: output.unwrap_or(experiment::Output::Table),
            seed,
            rate: rate.unwrap_or(raftchat_core::experiment::REPLICA_MESSAGES_PER_S),
        });
    }
    if trials.is_some() || network.is_some() || output.is_some() || rate.is_some() {
        return Err("--trials, --network, --rate, --csv and --svg go with --experiment".into());
    }
    if let Some(file) = replay_file {
        return Ok(Mode::Replay { file, json });
    }
    let mut cfg = if campaign {
        campaign::campaign_config(seed, duration_ms)
    } else {
        sim.seed = seed;
        faults.client_rate = 10.0;
        RunConfig {
            sim,
            faults,
            duration_ms,
            check: true,
            liveness_ms: None,
        }
    };
    for o in &overrides {
        o(&mut cfg);
    }
    cfg.sim.validate()?;
    cfg.faults.validate()?;
    Ok(Mode::Run {
        cfg: Box::new(cfg),
        json,
    })
}

fn number<T: std::str::FromStr>(name: &str, s: &str) -> Result<T, String> {
    s.trim()
        .parse()
        .map_err(|_| format!("{name}: {s:?} is not a valid number"))
}

/// "250", "250ms", "20s", "2m" → milliseconds.
fn millis(name: &str, s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (digits, scale) = if let Some(d) = s.strip_suffix("ms") {
        (d, 1)
    } else if let Some(d) = s.strip_suffix('s') {
        (d, 1_000)
    } else if let Some(d) = s.strip_suffix('m') {
        (d, 60_000)
    } else {
        (s, 1)
    };
    let n: u64 = number(name, digits)?;
    n.checked_mul(scale)
        .filter(|&ms| ms <= 365 * 24 * 3_600_000)
        .ok_or_else(|| format!("{name}: {s:?} is too long"))
}

/// "150-300" (or a single "200") → (min, max) in ms.
fn range(name: &str, s: &str) -> Result<(u64, u64), String> {
    let (a, b) = s.split_once('-').unwrap_or((s, s));
    let (a, b) = (millis(name, a)?, millis(name, b)?);
    if a > b {
        return Err(format!("{name}: range {s:?} is empty"));
    }
    Ok((a, b))
}

fn percentile(sorted: &[u64], p: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied()
}

fn replay(file: &std::path::Path, json: bool) -> ExitCode {
    let fail = |e: String| {
        eprintln!("raftchat-sim: {}: {e}", file.display());
        ExitCode::from(2)
    };
    let text = match std::fs::metadata(file) {
        Ok(m) if m.len() > MAX_RECIPE_BYTES as u64 => {
            return fail(format!(
                "{} bytes; a run is at most {} MB",
                m.len(),
                MAX_RECIPE_BYTES >> 20
            ))
        }
        Ok(_) => match std::fs::read_to_string(file) {
            Ok(t) => t,
            Err(e) => return fail(e.to_string()),
        },
        Err(e) => return fail(e.to_string()),
    };
    let recipe = match Recipe::from_json(&text) {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    if let Some(note) = recipe.replay_note() {
        eprintln!("raftchat-sim: {}: {note}", file.display());
    }
    let cfg = RunConfig {
        sim: recipe.config.clone(),
        faults: Faults::default(),
        duration_ms: recipe.run_end_ms(),
        check: true,
        liveness_ms: None,
    };
    report(&cfg, campaign::replay(&recipe), json)
}

/// Plays a lesson: every stop, the cluster there, unmet expectations.
fn lesson(file: &std::path::Path, write: bool) -> ExitCode {
    use raftchat_core::lesson::{self, Lesson, MAX_LESSON_BYTES};
    let fail = |e: String| {
        eprintln!("raftchat-sim: {}: {e}", file.display());
        ExitCode::from(2)
    };
    let text = match std::fs::metadata(file) {
        Ok(m) if m.len() > MAX_LESSON_BYTES as u64 => {
            return fail(format!("{} bytes; a lesson is at most 1 MB", m.len()))
        }
        Ok(_) => match std::fs::read_to_string(file) {
            Ok(t) => t,
            Err(e) => return fail(e.to_string()),
        },
        Err(e) => return fail(e.to_string()),
    };
    let mut l = match Lesson::from_json(&text) {
        Ok(l) => l,
        Err(e) => return fail(e),
    };
    out!("{} ({})", l.title, l.id);
    let mut unmet = 0;
    for (p, part) in l.parts.iter().enumerate() {
        let stops = match lesson::plan(part) {
            Ok(s) => s,
            Err(e) => return fail(format!("part {}: {e}", p + 1)),
        };
        for ((i, step), stop) in part.steps.iter().enumerate().zip(&stops) {
            out!(
                "part {} step {} at {} ms: {}",
                p + 1,
                i + 1,
                stop.at_ms,
                stop.moment
            );
            let caption: String = step.caption.chars().take(100).collect();
            out!("    {caption}");
            for u in &stop.unmet {
                out!("    UNMET: {u}");
                unmet += 1;
            }
        }
    }
    if write {
        if let Err(e) = l.fill_stops() {
            return fail(e);
        }
        if let Err(e) = std::fs::write(file, l.to_json() + "\n") {
            return fail(e.to_string());
        }
        out!("stop times written to {}", file.display());
    }
    if unmet > 0 {
        out!("{unmet} expectation(s) unmet");
        return ExitCode::from(1);
    }
    out!("every expectation holds");
    ExitCode::SUCCESS
}

fn run(cfg: &RunConfig, json: bool) -> ExitCode {
    report(cfg, campaign::run(cfg), json)
}

fn report(cfg: &RunConfig, report: Result<RunReport, String>, json: bool) -> ExitCode {
    let report = match report {
        Ok(r) => r,
        Err(e) => {
            eprintln!("raftchat-sim: {e}");
            return ExitCode::from(2);
        }
    };
    if json {
        print_json(cfg, &report);
    } else {
        print_summary(cfg, &report);
    }
    if report.passed() {
        ExitCode::SUCCESS
    } else {
        if let Some(v) = &report.violation {
            eprintln!("INVARIANT VIOLATION {v}");
        }
        if let Some(Err(why)) = &report.liveness {
            eprintln!("LIVENESS FAILURE {why}");
        }
        ExitCode::FAILURE
    }
}

fn print_summary(cfg: &RunConfig, r: &RunReport) {
    let s = r.sim.stats();
    let h = r.sim.history();
    let committed = h
        .iter()
        .filter(|x| matches!(x.outcome, Some(Outcome::Committed { .. })))
        .count();
    let failed = h
        .iter()
        .filter(|x| matches!(x.outcome, Some(Outcome::Failed(_))))
        .count();
    let lat = r.commit_latencies_ms();
    let show = |v: Option<u64>| v.map_or("-".to_string(), |v| format!("{v} ms"));
    out!(
        "seed {} · {} nodes · {} ms virtual · {} steps",
        cfg.sim.seed,
        cfg.sim.nodes,
        cfg.duration_ms,
        r.steps
    );
    if !cfg.sim.bugs.is_empty() {
        out!("BUG SWITCHES ON       {}", cfg.sim.bugs);
    }
    out!("leader changes        {}", s.leader_changes);
    out!("highest term          {}", s.highest_term);
    out!(
        "messages sent         {} ({} dropped)",
        s.messages_sent,
        s.messages_dropped
    );
    out!("entries committed     {}", s.highest_commit);
    out!("crashes / restarts    {} / {}", s.crashes, s.restarts);
    out!(
        "snapshots             {} taken, {} installed from a leader",
        s.snapshots_taken,
        s.snapshots_installed
    );
    out!(
        "membership            {} servers added ({} promoted to voter), {} removed, {} configurations appended",
        s.nodes_added, s.promotions, s.nodes_retired, s.config_changes
    );
    out!(
        "client requests       {} ({} committed, {} failed, {} open)",
        h.len(),
        committed,
        failed,
        h.len() - committed - failed
    );
    out!("commit latency p50    {}", show(percentile(&lat, 0.50)));
    out!("commit latency p99    {}", show(percentile(&lat, 0.99)));
    out!(
        "outcomes checked      {} committed at an index, {} never to commit",
        r.promises_checked.0,
        r.promises_checked.1
    );
    out!(
        "invariant violations  {}",
        usize::from(r.violation.is_some())
    );
    match &r.liveness {
        Some(Ok(ms)) => out!("liveness              converged {ms} ms after healing"),
        Some(Err(why)) => out!("liveness              FAILED: {why}"),
        None => {}
    }
}

fn print_json(cfg: &RunConfig, r: &RunReport) {
    let chats: serde_json::Map<String, serde_json::Value> = r
        .sim
        .node_ids()
        .map(|id| {
            let msgs = r.sim.node(id).and_then(|v| v.node).map(|n| {
                serde_json::to_value(n.replica().machine().messages().collect::<Vec<_>>())
                    .unwrap_or_default()
            });
            (id.to_string(), msgs.unwrap_or(serde_json::Value::Null))
        })
        .collect();
    let chat_totals: serde_json::Map<String, serde_json::Value> = r
        .sim
        .node_ids()
        .filter_map(|id| {
            let n = r.sim.node(id)?.node?;
            Some((
                id.to_string(),
                n.replica().machine().total_messages().into(),
            ))
        })
        .collect();
    let history: Vec<_> = r
        .sim
        .history()
        .iter()
        .map(|h| {
            serde_json::json!({
                "node": h.node,
                "client": h.client,
                "seq": h.seq,
                "invoke_ms": h.invoke_ms,
                "complete_ms": h.complete_ms,
                "outcome": match h.outcome {
                    None => "open".to_string(),
                    Some(Outcome::Committed { .. }) => "committed".to_string(),
                    Some(Outcome::Failed(why)) => format!("failed: {why}"),
                },
                "index": match h.outcome {
                    Some(Outcome::Committed { index, .. }) => Some(index),
                    _ => None,
                },
            })
        })
        .collect();
    let lat = r.commit_latencies_ms();
    let out = serde_json::json!({
        "config": cfg,
        "summary": {
            "stats": r.sim.stats(),
            "commit_latency_p50_ms": percentile(&lat, 0.5),
            "commit_latency_p99_ms": percentile(&lat, 0.99),
            "invariant_violations": usize::from(r.violation.is_some()),
            "violation": r.violation.as_ref().map(|v| v.to_string()),
            "liveness": r.liveness.as_ref().map(|l| match l {
                Ok(ms) => format!("converged {ms} ms after healing"),
                Err(why) => format!("failed: {why}"),
            }),
        },
        "history": history,
        "chats": chats,
        "chat_totals": chat_totals,
    });
    match serde_json::to_string_pretty(&out) {
        Ok(s) => out!("{s}"),
        Err(e) => eprintln!("raftchat-sim: cannot print JSON: {e}"),
    }
}
