//! A run that is short in virtual time but costly to simulate: nine nodes,
//! 1 ms heartbeats, no latency, about 80,000 events a virtual second (the
//! default cluster: about 300). Shared by `core/tests/timeline.rs` and the
//! page's tests of the opening limit (`app/tests/components.rs`).

use raftchat_core::recipe::Recipe;
use raftchat_core::sim::{NetConfig, SimConfig};

/// That run, ending (and paused) at `end_ms`, with no steps.
pub fn busy_run(end_ms: u64) -> Recipe {
    let mut busy = Recipe::new(SimConfig {
        nodes: 9,
        election_timeout_min_ms: 2,
        election_timeout_max_ms: 3,
        heartbeat_interval_ms: 1,
        disk_latency_min_ms: 0,
        disk_latency_max_ms: 0,
        net: NetConfig {
            latency_min_ms: 0,
            latency_max_ms: 1,
            ..NetConfig::default()
        },
        ..SimConfig::default()
    });
    busy.end_ms = end_ms;
    busy.at_ms = end_ms;
    busy
}
