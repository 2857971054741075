//! The randomized fault campaign: many seeds × 20 s of virtual time with crashes,
//! restarts, partitions (one-way cuts included), loss, duplication and
//! reordering; every invariant checked after every step; then all faults heal
//! and the cluster must converge (liveness).
//!
//! `RAFTCHAT_SEEDS=10000 cargo test --release -p raftchat-core --test campaign`
//! runs the long mode (or `cargo test ... -- --ignored` for 10,000 seeds).
//! `RAFTCHAT_SEED=N` runs one seed.

use raftchat_core::campaign::{campaign_config, replay_command, run};
use raftchat_core::node::ReadOutcome;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

mod common;
use common::{run_seeds, seeds_from_env};

const DURATION_MS: u64 = 20_000;

/// What the seeds exercised: acknowledged writes and served linearizable reads.
static ACKS: AtomicUsize = AtomicUsize::new(0);
static READS_SERVED: AtomicUsize = AtomicUsize::new(0);
/// And snapshots taken / installed, servers added / promoted / removed.
static TAKEN: AtomicU64 = AtomicU64::new(0);
/// Requests reported as never to commit, each held to it by the checker.
static NEVERS: AtomicU64 = AtomicU64::new(0);
static INSTALLED: AtomicU64 = AtomicU64::new(0);
static ADDED: AtomicU64 = AtomicU64::new(0);
static PROMOTED: AtomicU64 = AtomicU64::new(0);
static RETIRED: AtomicU64 = AtomicU64::new(0);

/// Runs `seeds` on every core; returns the failures, each with its replay command.
fn campaign(seeds: std::ops::Range<u64>) -> Vec<String> {
    run_seeds(seeds, |seed| {
        let report = run(&campaign_config(seed, DURATION_MS)).expect("valid campaign config");
        let (acks, nevers) = report.promises_checked;
        ACKS.fetch_add(acks as usize, Ordering::Relaxed);
        NEVERS.fetch_add(nevers, Ordering::Relaxed);
        let served = report
            .sim
            .reads()
            .iter()
            .filter(|r| matches!(r.outcome, Some(ReadOutcome::Served { .. })))
            .count();
        READS_SERVED.fetch_add(served, Ordering::Relaxed);
        let st = report.sim.stats();
        TAKEN.fetch_add(st.snapshots_taken, Ordering::Relaxed);
        INSTALLED.fetch_add(st.snapshots_installed, Ordering::Relaxed);
        ADDED.fetch_add(st.nodes_added, Ordering::Relaxed);
        PROMOTED.fetch_add(st.promotions, Ordering::Relaxed);
        RETIRED.fetch_add(st.nodes_retired, Ordering::Relaxed);
        if report.passed() {
            return None;
        }
        let why = match (&report.violation, &report.liveness) {
            (Some(v), _) => v.to_string(),
            (None, Some(Err(l))) => format!("liveness: {l}"),
            _ => unreachable!(),
        };
        Some(format!(
            "seed {seed} FAILED: {why}\n  replay: {}",
            replay_command(seed, DURATION_MS)
        ))
    })
}

#[test]
fn fault_campaign_keeps_every_invariant_and_converges() {
    let seeds = seeds_from_env(1_000);
    let count = seeds.end - seeds.start;
    let t = std::time::Instant::now();
    let failures = campaign(seeds);
    let (acks, reads) = (
        ACKS.load(Ordering::Relaxed),
        READS_SERVED.load(Ordering::Relaxed),
    );
    let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
    let (taken, installed) = (load(&TAKEN), load(&INSTALLED));
    let nevers = load(&NEVERS);
    let (added, promoted, retired) = (load(&ADDED), load(&PROMOTED), load(&RETIRED));
    println!(
        "fault campaign: {count} seeds × {} s virtual in {:.1} s: {acks} acknowledged writes, {nevers} reported as never to commit, {reads} linearizable reads served, each checked; {taken} snapshots taken, {installed} installed by InstallSnapshot; {added} servers added, {promoted} promoted to voter, {retired} removed and shut down",
        DURATION_MS / 1000,
        t.elapsed().as_secs_f64()
    );
    assert!(
        acks > 0 && reads > 0,
        "the campaign exercised writes and reads"
    );
    if count >= 100 {
        assert!(
            taken > 0 && installed > 0 && added > 0 && promoted > 0 && retired > 0 && nevers > 0,
            "the campaign exercised snapshots, membership changes and never-commit reports"
        );
    }
    assert!(
        failures.is_empty(),
        "{} of {count} seeds failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
#[ignore = "long mode: 10,000 seeds (about a minute on 2 cores)"]
fn fault_campaign_long() {
    let failures = campaign(1..10_001);
    assert!(
        failures.is_empty(),
        "{} seeds failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
