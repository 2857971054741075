//! The cluster's settings as the controls set them, and the configuration a
//! node boots into.

use raftchat_core::sim::{NetConfig, SimConfig};
use raftchat_core::{Membership, NodeId};

/// Smallest and largest cluster the page offers.
pub const MIN_NODES: u32 = 3;
/// Speeds offered, in virtual ms per real ms: 1× down to 1/1000×.
pub const SPEEDS: [(f64, &str); 7] = [
    (1.0, "1×"),
    (0.5, "1/2×"),
    (0.2, "1/5×"),
    (0.1, "1/10×"),
    (0.05, "1/20×"),
    (0.01, "1/100×"),
    (0.001, "1/1000×"),
];
/// The speeds' values in the page's select (as written, so that no float
/// is parsed or formatted).
pub const SPEED_VALUES: [&str; 7] = ["1", "0.5", "0.2", "0.1", "0.05", "0.01", "0.001"];
/// Slow enough to follow each message by eye.
pub const DEFAULT_SPEED: f64 = 0.1;

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Settings {
    pub nodes: u32,
    pub seed: u64,
    pub speed: f64,
    pub latency_min_ms: u64,
    pub latency_max_ms: u64,
    pub drop_rate: f64,
    #[serde(default)]
    pub pre_vote: bool,
    #[serde(default)]
    pub check_quorum: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            nodes: 5,
            seed: 1,
            speed: DEFAULT_SPEED,
            latency_min_ms: 20,
            latency_max_ms: 40,
            drop_rate: 0.0,
            pre_vote: false,
            check_quorum: false,
        }
    }
}

impl Settings {
    pub fn sim_config(&self) -> SimConfig {
        SimConfig {
            nodes: self.nodes,
            seed: self.seed,
            disk_latency_min_ms: 2,
            disk_latency_max_ms: 5,
            net: self.net(),
            pre_vote: self.pre_vote,
            check_quorum: self.check_quorum,
            ..SimConfig::default()
        }
    }

    pub fn net(&self) -> NetConfig {
        NetConfig {
            latency_min_ms: self.latency_min_ms,
            latency_max_ms: self.latency_max_ms,
            drop_rate: self.drop_rate,
            duplicate_rate: 0.0,
        }
    }
}

/// The configuration node `id` of a cluster first started with `nodes` nodes
/// boots into: those nodes; a server added later starts with none and learns
/// its configuration from the leader's log.
pub fn bootstrap_config(nodes: u32, id: NodeId) -> Membership {
    if id <= nodes {
        Membership::new(1..=nodes)
    } else {
        Membership::default()
    }
}
