//! The Raft paper's experiments, run in the simulator: how long a cluster is
//! without a leader after its leader crashes, for each election-timeout range
//! (the paper's Figure 16, §9.3); and what more replicas cost a chat (commit
//! latency and throughput by cluster size).
//!
//! Every trial is its own seeded run: the same seed, the same numbers.

use crate::chat::ChatRoom;
use crate::recipe::{Action, Recipe, Step};
use crate::rng::{mix_seed, Rng};
use crate::sim::{DiskTail, NetConfig, SimConfig, Simulator};
use crate::types::{quoted_number, NodeId, Role, Term};

/// The election-timeout ranges of Figure 16 (ms): the top graph's, then the
/// bottom graph's.
pub const PAPER_RANGES: [(u64, u64); 10] = [
    (150, 150),
    (150, 151),
    (150, 155),
    (150, 175),
    (150, 200),
    (150, 300),
    (12, 24),
    (25, 50),
    (50, 100),
    (100, 200),
];

/// A trial still without a new leader this long after the crash is cut off
/// ("censored": its downtime is at least this).
pub const CENSOR_MS: u64 = 20_000;
/// "Over 10 s", as the paper reports for timeouts without randomness.
pub const LONG_MS: u64 = 10_000;

/// The network and disks an experiment runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Network {
    /// The page's defaults: messages take 5–15 ms, durable writes 1–3 ms.
    Default,
    /// The paper's testbed as the simulator models it (see [`Network::describe`]).
    Paper,
}

impl Network {
    pub fn from_name(name: &str) -> Result<Network, String> {
        match name {
            "default" => Ok(Network::Default),
            "paper" => Ok(Network::Paper),
            other => Err(format!(
                "unknown network \"{other}\" (use paper or default)"
            )),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Network::Default => "default",
            Network::Paper => "paper",
        }
    }

    /// (message latency min, max; disk write latency min, max), in ms.
    fn latencies_ms(self) -> (u64, u64, u64, u64) {
        match self {
            Network::Default => (5, 15, 1, 3),
            // Chosen by measurement (README, "Experiments"): a LAN hop of
            // 0-1 ms, a durable write of 1-2 ms, and the disk tail below. A
            // vote's round trip here is the candidate's write, a hop, the
            // voter's write, a hop.
            Network::Paper => (0, 1, 1, 2),
        }
    }

    /// The paper's disk has slow writes: 15 % take 15-35 ms more. Without
    /// them no uniform model matched both ends of Figure 16 (fast writes fit
    /// 150-155 ms but leave 12-24 ms 30 % short; slow ones fit 12-24 ms but
    /// double the 150-155 ms median); LogCabin's ~15 ms broadcast time
    /// suggests such writes.
    fn disk_tail(self) -> Option<DiskTail> {
        match self {
            Network::Default => None,
            Network::Paper => Some(DiskTail {
                chance: 0.15,
                extra_min_ms: 15,
                extra_max_ms: 35,
            }),
        }
    }

    pub fn describe(self) -> String {
        let (lmin, lmax, dmin, dmax) = self.latencies_ms();
        let tail = self.disk_tail().map_or(String::new(), |t| {
            format!(
                " ({:.0} % of writes {}-{} ms slower)",
                t.chance * 100.0,
                t.extra_min_ms,
                t.extra_max_ms
            )
        });
        format!(
            "network \"{}\": message latency {lmin}-{lmax} ms, durable write {dmin}-{dmax} ms{tail}",
            self.name()
        )
    }

    fn apply(self, cfg: &mut SimConfig) {
        let (lmin, lmax, dmin, dmax) = self.latencies_ms();
        cfg.net = NetConfig {
            latency_min_ms: lmin,
            latency_max_ms: lmax,
            ..NetConfig::default()
        };
        cfg.disk_latency_min_ms = dmin;
        cfg.disk_latency_max_ms = dmax;
        cfg.disk_tail = self.disk_tail();
    }
}

/// One election trial: the time from the leader's crash to a new leader, or
/// `None` when none was elected within [`CENSOR_MS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ElectionTrial {
    pub range: (u64, u64),
    pub trial: u32,
    pub seed: u64,
    /// The leader that crashed, and when (virtual ms from the start).
    pub leader: NodeId,
    pub crash_ms: u64,
    pub downtime_ms: Option<u64>,
}

impl ElectionTrial {
    /// The CSV line of [`ELECTIONS_CSV_HEADER`].
    pub fn csv_line(&self) -> String {
        let d = self
            .downtime_ms
            .map_or("censored".to_string(), |d| d.to_string());
        format!("{},{},{d}", range_name(self.range), self.trial)
    }

    /// The trial as a run to open in the page (or replay): its settings and
    /// seed, node 1's first election, the crash. It stops just after the crash,
    /// with the election that follows still to play (it lasts to a second
    /// after the new leader, or to the cut-off).
    pub fn recipe(&self, network: Network) -> Recipe {
        let mut recipe = Recipe::new(election_config(self.range, self.trial, network, self.seed));
        recipe.steps = vec![
            Step {
                at_ms: 0,
                action: Action::Timeout(1),
            },
            Step {
                at_ms: self.crash_ms,
                action: Action::Crash(self.leader),
            },
        ];
        recipe.at_ms = self.crash_ms;
        recipe.end_ms = self.crash_ms + self.downtime_ms.map_or(CENSOR_MS, |d| d + 1_000);
        recipe
    }
}

/// The CSV of the elections experiment: one line per trial.
pub const ELECTIONS_CSV_HEADER: &str = "range,trial,downtime_ms";
/// The CSV of the replicas experiment: one line per cluster size.
pub const REPLICAS_CSV_HEADER: &str = "nodes,latency_p50_ms,latency_p99_ms,messages_per_s";

/// A timeout range as the CSV and the plots name it: `150-155`.
pub fn range_name((lo, hi): (u64, u64)) -> String {
    format!("{lo}-{hi}")
}

/// The settings of trial `trial` for timeouts `range` (§9.3: five servers,
/// heartbeats at half the minimum election timeout).
pub fn election_config(range: (u64, u64), trial: u32, network: Network, seed: u64) -> SimConfig {
    let mut cfg = SimConfig {
        nodes: 5,
        seed: mix_seed(seed, range.0 << 32 | range.1, trial as u64),
        election_timeout_min_ms: range.0,
        election_timeout_max_ms: range.1,
        heartbeat_interval_ms: (range.0 / 2).max(1),
        ..SimConfig::default()
    };
    network.apply(&mut cfg);
    cfg
}

/// Runs one trial: node 1 is made leader, the cluster settles (every server
/// has its first entry), the leader crashes at a uniformly random moment
/// within a heartbeat interval, and the run goes on until a server up is
/// leader of a newer term.
pub fn election_trial(
    range: (u64, u64),
    trial: u32,
    network: Network,
    seed: u64,
) -> Result<ElectionTrial, String> {
    let cfg = election_config(range, trial, network, seed);
    let mut rng = Rng::new(mix_seed(cfg.seed, 16, 0));
    let heartbeat_ms = cfg.heartbeat_interval_ms;
    let mut sim = Simulator::<ChatRoom>::new(cfg)?;
    sim.set_record_events(false);
    // A leader to crash: node 1 stands first (with equal timeouts, a cold
    // start could split votes for a long time before the experiment begins).
    sim.timeout_now(1)?;
    let settled = |sim: &Simulator<ChatRoom>| {
        let leader = sim.leader()?;
        let all = sim
            .node_ids()
            .filter_map(|id| sim.node(id).and_then(|v| v.node))
            .all(|n| n.raft().commit_index() >= 1);
        all.then_some(leader)
    };
    // Crash a settled leader within its next heartbeat interval, at a
    // uniform moment (with short timeouts a leader may lose its place
    // before that moment: then the cluster settles again first).
    let mut attempts = 0;
    let (leader, old_term) = loop {
        attempts += 1;
        let limit = sim.now_ms() + 60_000;
        let leader = run_until(&mut sim, limit, &settled)
            .ok_or("the cluster elected no stable leader within 60 s")?;
        let term = term_of(&sim, leader);
        let crash_ms = sim.now_ms() + rng.uniform(0, heartbeat_ms - 1);
        sim.run_until(crash_ms);
        if sim.leader() == Some(leader) && term_of(&sim, leader) == term {
            break (leader, term);
        }
        if attempts == 100 {
            return Err(format!(
                "timeouts {}-{} ms: no leader stayed in place for a heartbeat interval in 100 tries",
                range.0, range.1
            ));
        }
    };
    sim.crash(leader)?;
    let crashed_at = sim.now_ms();
    let new_leader = |sim: &Simulator<ChatRoom>| {
        sim.node_ids()
            .filter_map(|id| sim.node(id).and_then(|v| v.node))
            .any(|n| n.raft().role() == Role::Leader && n.raft().term() > old_term)
            .then_some(())
    };
    let downtime_ms = run_until(&mut sim, crashed_at + CENSOR_MS, &new_leader)
        .map(|()| sim.now_ms() - crashed_at);
    Ok(ElectionTrial {
        range,
        trial,
        seed,
        leader,
        crash_ms: crashed_at,
        downtime_ms,
    })
}

fn term_of(sim: &Simulator<ChatRoom>, id: NodeId) -> Term {
    sim.node(id)
        .and_then(|v| v.node)
        .map_or(0, |n| n.raft().term())
}

/// Steps `sim` event by event until `done` gives a value, or to `until_ms`.
fn run_until<T>(
    sim: &mut Simulator<ChatRoom>,
    until_ms: u64,
    done: &dyn Fn(&Simulator<ChatRoom>) -> Option<T>,
) -> Option<T> {
    loop {
        if let Some(v) = done(sim) {
            return Some(v);
        }
        match sim.next_event_ms() {
            Some(t) if t <= until_ms => {
                sim.step();
            }
            _ => return None,
        }
    }
}

/// Downtime statistics of one range (censored trials count as
/// [`CENSOR_MS`]: the mean and percentiles are then lower bounds).
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    pub range: (u64, u64),
    pub trials: usize,
    pub mean_ms: f64,
    pub median_ms: u64,
    pub p90_ms: u64,
    pub p99_ms: u64,
    pub max_ms: u64,
    pub over_10s: usize,
    pub censored: usize,
}

pub fn summarize(range: (u64, u64), trials: &[ElectionTrial]) -> Summary {
    let mut d: Vec<u64> = trials
        .iter()
        .map(|t| t.downtime_ms.unwrap_or(CENSOR_MS))
        .collect();
    d.sort_unstable();
    let at = |p: f64| {
        d.get(((d.len().max(1) - 1) as f64 * p).round() as usize)
            .copied()
            .unwrap_or(0)
    };
    Summary {
        range,
        trials: d.len(),
        mean_ms: d.iter().sum::<u64>() as f64 / d.len().max(1) as f64,
        median_ms: at(0.5),
        p90_ms: at(0.9),
        p99_ms: at(0.99),
        max_ms: d.last().copied().unwrap_or(0),
        over_10s: d.iter().filter(|&&x| x > LONG_MS).count(),
        censored: trials.iter().filter(|t| t.downtime_ms.is_none()).count(),
    }
}

/// One cluster size of the replicas experiment.
#[derive(Clone, Debug, PartialEq)]
pub struct ReplicaPoint {
    pub nodes: u32,
    pub latency_p50_ms: u64,
    pub latency_p99_ms: u64,
    pub messages_per_s: f64,
}

impl ReplicaPoint {
    /// The CSV line of [`REPLICAS_CSV_HEADER`].
    pub fn csv_line(&self) -> String {
        format!(
            "{},{},{},{:.1}",
            self.nodes, self.latency_p50_ms, self.latency_p99_ms, self.messages_per_s
        )
    }
}

/// The replicas experiment's workload: chat messages through random nodes at
/// this rate (per second, unless asked otherwise), and linearizable reads.
pub const REPLICA_MESSAGES_PER_S: f64 = 1_000.0;
pub const REPLICA_READS_PER_S: f64 = 20.0;
pub const REPLICA_RUN_MS: u64 = 10_000;
pub const REPLICA_SIZES: [u32; 5] = [1, 3, 5, 7, 9];
/// The offered loads (messages per second) of the page's replicas
/// experiment: a line per cluster size through these points shows where
/// each size saturates.
pub const REPLICA_RATES: [f64; 4] = [100.0, 300.0, 1_000.0, 3_000.0];

/// The replicas experiment's offered load must be 1 to 100,000 messages a
/// second; `name` is what the error calls it (a flag, or "the message rate").
pub fn check_rate(name: &str, messages_per_s: f64) -> Result<(), String> {
    if (1.0..=100_000.0).contains(&messages_per_s) {
        Ok(())
    } else {
        Err(format!(
            "{name} must be 1 to 100000 messages a second, not {}",
            quoted_number(messages_per_s)
        ))
    }
}

/// Commit latency (submission to acknowledgement, virtual ms) and committed
/// messages per second for a cluster of `nodes`: after a first leader is
/// elected, chat messages arrive at a steady rate through random nodes (each
/// client writes in turn), with linearizable reads among them; a message
/// counts if it committed by the end (one second after the last is sent).
pub fn replica_point(
    nodes: u32,
    network: Network,
    seed: u64,
    messages_per_s: f64,
) -> Result<ReplicaPoint, String> {
    check_rate("the message rate", messages_per_s)?;
    let mut cfg = SimConfig {
        nodes,
        seed: mix_seed(seed, nodes as u64, 9),
        ..SimConfig::default()
    };
    network.apply(&mut cfg);
    let mut rng = Rng::new(mix_seed(cfg.seed, 99, 0));
    let mut sim = Simulator::<ChatRoom>::new(cfg)?;
    sim.set_record_events(false);
    run_until(&mut sim, 60_000, &|s: &Simulator<ChatRoom>| s.leader())
        .ok_or("no leader within 60 s")?;
    let start = sim.now_ms();
    let every_us = ((1e6 / messages_per_s) as u64).max(1);
    let reads_every = (messages_per_s / REPLICA_READS_PER_S).max(1.0) as u64;
    let sent = REPLICA_RUN_MS * 1000 / every_us;
    let mut seqs = vec![0u64; nodes as usize];
    for i in 0..sent {
        sim.run_until(start + i * every_us / 1000);
        let node = rng.uniform(1, nodes as u64) as NodeId;
        let c = node as usize - 1;
        seqs[c] += 1;
        let command = crate::chat::ChatCommand::new("class", "a chat message")?;
        sim.submit(
            node,
            crate::types::Request {
                client: node as u64,
                seq: seqs[c],
                command,
            },
        )?;
        if i % reads_every == 0 {
            let _ = sim.read(rng.uniform(1, nodes as u64) as NodeId);
        }
    }
    sim.run_until(start + REPLICA_RUN_MS + 1_000);
    let mut l: Vec<u64> = sim
        .history()
        .iter()
        .filter(|r| matches!(r.outcome, Some(crate::types::Outcome::Committed { .. })))
        .filter_map(|r| Some(r.complete_ms? - r.invoke_ms))
        .collect();
    l.sort_unstable();
    let at = |p: f64| {
        l.get(((l.len().max(1) - 1) as f64 * p).round() as usize)
            .copied()
            .unwrap_or(0)
    };
    Ok(ReplicaPoint {
        nodes,
        latency_p50_ms: at(0.5),
        latency_p99_ms: at(0.99),
        messages_per_s: l.len() as f64 / (REPLICA_RUN_MS as f64 / 1000.0),
    })
}
