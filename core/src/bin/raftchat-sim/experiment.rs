//! `raftchat-sim --experiment elections|replicas`: the paper's election
//! measurements (Figure 16) and the cost of more replicas, as a table or CSV.

use raftchat_core::experiment::{
    self, range_name, Network, ELECTIONS_CSV_HEADER, PAPER_RANGES, REPLICAS_CSV_HEADER,
    REPLICA_READS_PER_S, REPLICA_RUN_MS, REPLICA_SIZES,
};
use raftchat_core::plot;
use std::process::ExitCode;

/// What an experiment prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    /// A summary table.
    Table,
    /// One CSV line per trial (elections) or cluster size (replicas).
    Csv,
    /// The figure the page's Experiments panel draws.
    Svg,
}

pub fn run(
    kind: &str,
    trials: u32,
    network: Option<Network>,
    output: Output,
    seed: u64,
    rate: f64,
) -> ExitCode {
    let result = match (kind, output) {
        ("elections", _) => elections(trials, network.unwrap_or(Network::Paper), output, seed),
        (_, Output::Svg) => replicas_svg(network.unwrap_or(Network::Default), seed),
        _ => replicas(
            network.unwrap_or(Network::Default),
            output == Output::Csv,
            seed,
            rate,
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("raftchat-sim: the experiment failed: {e}");
            ExitCode::FAILURE
        }
    }
}

fn elections(trials: u32, network: Network, output: Output, seed: u64) -> Result<(), String> {
    let csv = output == Output::Csv;
    let mut figure = Vec::new();
    if csv {
        out!("{ELECTIONS_CSV_HEADER}");
    } else if output == Output::Table {
        out!(
            "elections after a leader crash (the Raft paper's Figure 16): 5 servers, heartbeat = half the minimum timeout, crash at a uniform moment within a heartbeat interval; {trials} trials per range, seed {seed}; {}",
            network.describe()
        );
        out!(
            "{:<9} {:>6} {:>9} {:>8} {:>8} {:>8} {:>8} {:>9}",
            "range ms",
            "trials",
            "mean",
            "median",
            "p90",
            "p99",
            "max",
            "over 10s"
        );
    }
    for range in PAPER_RANGES {
        let mut all = Vec::with_capacity(trials as usize);
        for trial in 0..trials {
            let t = experiment::election_trial(range, trial, network, seed)?;
            if csv {
                out!("{}", t.csv_line());
            }
            all.push(t);
        }
        if output == Output::Svg {
            figure.push((range, all.iter().map(|t| t.downtime_ms).collect()));
        } else if !csv {
            let s = experiment::summarize(range, &all);
            let lower = if s.censored > 0 { "≥" } else { "" };
            out!(
                "{:<9} {:>6} {:>9} {:>8} {:>8} {:>8} {:>8} {:>9}",
                range_name(range),
                s.trials,
                format!("{lower}{:.0}", s.mean_ms),
                s.median_ms,
                s.p90_ms,
                s.p99_ms,
                format!("{lower}{}", s.max_ms),
                s.over_10s
            );
        }
    }
    if output == Output::Svg {
        let note = format!(
            "{trials} trials per range, seed {seed}; {}",
            network.describe()
        );
        out!("{}", plot::elections_figure(&figure, &note));
    } else if !csv {
        out!("(times in ms from the crash to a new leader; a trial with no leader 20 s after the crash counts as 20 s: ≥ marks a lower bound)");
    }
    Ok(())
}

fn replicas(network: Network, csv: bool, seed: u64, rate: f64) -> Result<(), String> {
    if csv {
        out!("{REPLICAS_CSV_HEADER}");
    } else {
        out!(
            "replicas: {rate} chat messages/s offered through random nodes and {REPLICA_READS_PER_S} linearizable reads/s for {} s of virtual time, seed {seed}; {}",
            REPLICA_RUN_MS / 1000,
            network.describe()
        );
        out!(
            "{:>5} {:>15} {:>15} {:>22}",
            "nodes",
            "latency p50 ms",
            "latency p99 ms",
            "committed messages/s"
        );
    }
    for nodes in REPLICA_SIZES {
        let p = experiment::replica_point(nodes, network, seed, rate)?;
        if csv {
            out!("{}", p.csv_line());
        } else {
            out!(
                "{:>5} {:>15} {:>15} {:>22.1}",
                p.nodes,
                p.latency_p50_ms,
                p.latency_p99_ms,
                p.messages_per_s
            );
        }
    }
    Ok(())
}

/// The page's replicas figure: each cluster size at each offered load of
/// [`experiment::REPLICA_RATES`].
fn replicas_svg(network: Network, seed: u64) -> Result<(), String> {
    let mut points = Vec::new();
    for rate in experiment::REPLICA_RATES {
        for nodes in REPLICA_SIZES {
            points.push(experiment::replica_point(nodes, network, seed, rate)?);
        }
    }
    let note = format!("seed {seed}; {}", network.describe());
    out!("{}", plot::replicas_figure(&points, &note));
    Ok(())
}
