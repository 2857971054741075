//! What the seeded test campaigns share: which seeds to run, and running them
//! on every core.

use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Seeds 1 to `default`, or 1 to `RAFTCHAT_SEEDS`; `RAFTCHAT_SEED=N` runs N
/// alone.
pub fn seeds_from_env(default: u64) -> Range<u64> {
    if let Ok(one) = std::env::var("RAFTCHAT_SEED") {
        let seed: u64 = one.parse().expect("RAFTCHAT_SEED must be a number");
        return seed..seed + 1;
    }
    let n = std::env::var("RAFTCHAT_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default);
    1..n + 1
}

/// Runs `one` for every seed, on every core; returns what it reported for
/// the seeds that failed (each printed as it comes), sorted.
pub fn run_seeds(seeds: Range<u64>, one: impl Fn(u64) -> Option<String> + Sync) -> Vec<String> {
    let next = AtomicU64::new(seeds.start);
    let failures = Mutex::new(Vec::new());
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let seed = next.fetch_add(1, Ordering::Relaxed);
                if seed >= seeds.end {
                    break;
                }
                if let Some(line) = one(seed) {
                    eprintln!("{line}");
                    failures.lock().unwrap().push(line);
                }
            });
        }
    });
    let mut f = failures.into_inner().unwrap();
    f.sort();
    f
}
