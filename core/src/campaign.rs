//! Seeded runs of a chat cluster under faults, checked after every step.
//! The fault campaign in `cargo test` and the `raftchat-sim` tool both run
//! clusters through [`run`], so a failing seed replays exactly from the command
//! line.

use crate::chat::{ChatCommand, ChatRoom, ChatText};
use crate::checker::{Checker, Violation};
use crate::rng::{mix_seed, Rng};
use crate::sim::{NetConfig, SimConfig, Simulator};
use crate::types::*;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Faults and load injected during a run. Rates are per virtual second.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Faults {
    pub crash_rate: f64,
    /// A crashed node stays down for a time drawn from `min ..= max`.
    pub down_min_ms: u64,
    pub down_max_ms: u64,
    pub partition_rate: f64,
    /// A partition heals after a time drawn from `min ..= max`.
    pub partition_min_ms: u64,
    pub partition_max_ms: u64,
    pub client_rate: f64,
    /// Leadership transfers asked of the leader, per second (§3.10).
    #[serde(default)]
    pub transfer_rate: f64,
    /// Linearizable reads (§6.4) through random nodes, per second.
    #[serde(default)]
    pub read_rate: f64,
    /// Membership changes (add a server, or remove a random one — the leader
    /// included), per second (thesis chapter 4).
    #[serde(default)]
    pub churn_rate: f64,
    /// Compactions forced on a random node, per second (on top of those the
    /// snapshot threshold triggers).
    #[serde(default)]
    pub compact_rate: f64,
    /// Fraction of client requests that retry an earlier unacknowledged request
    /// (same client and sequence number) through a random node.
    pub retry_fraction: f64,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            crash_rate: 0.0,
            down_min_ms: 100,
            down_max_ms: 3_000,
            partition_rate: 0.0,
            partition_min_ms: 200,
            partition_max_ms: 4_000,
            client_rate: 10.0,
            transfer_rate: 0.0,
            read_rate: 0.0,
            churn_rate: 0.0,
            compact_rate: 0.0,
            retry_fraction: 0.1,
        }
    }
}

impl Faults {
    pub fn validate(&self) -> Result<(), String> {
        for (name, r) in [
            ("crash rate", self.crash_rate),
            ("partition rate", self.partition_rate),
            ("client rate", self.client_rate),
            ("transfer rate", self.transfer_rate),
            ("read rate", self.read_rate),
            ("churn rate", self.churn_rate),
            ("compact rate", self.compact_rate),
        ] {
            // Events are scheduled to the millisecond, a random gap each: at
            // more than 1000 a second every gap would be 0 and virtual time
            // would never move on.
            if !(0.0..=1000.0).contains(&r) {
                return Err(format!(
                    "{name} must be between 0 and 1000 per second, not {}",
                    quoted_number(r)
                ));
            }
        }
        if !(0.0..=1.0).contains(&self.retry_fraction) {
            return Err("retry fraction must be between 0 and 1".into());
        }
        if self.down_min_ms > self.down_max_ms || self.partition_min_ms > self.partition_max_ms {
            return Err("a duration range is empty".into());
        }
        Ok(())
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunConfig {
    pub sim: SimConfig,
    pub faults: Faults,
    pub duration_ms: u64,
    /// Run the invariant checker after every step.
    pub check: bool,
    /// After `duration_ms`, heal every fault and require that within this time a
    /// leader is elected and every acknowledged message reaches every replica.
    pub liveness_ms: Option<u64>,
}

/// The profile of the fault campaign for one seed: crashes, restarts,
/// partitions (one-way cuts included), loss, duplication and reordering,
/// leadership transfers, reads, membership changes, and snapshots (small
/// thresholds and chunks, so that compaction and InstallSnapshot happen often).
pub fn campaign_config(seed: u64, duration_ms: u64) -> RunConfig {
    RunConfig {
        sim: SimConfig {
            nodes: [5, 3, 5, 7][(seed % 4) as usize],
            seed,
            net: NetConfig {
                latency_min_ms: 1,
                latency_max_ms: 30,
                drop_rate: 0.05,
                duplicate_rate: 0.05,
            },
            disk_latency_min_ms: 0,
            disk_latency_max_ms: 5,
            max_entries_per_append: 8,
            // All four combinations of PreVote and CheckQuorum, across seeds.
            pre_vote: (seed / 4) % 2 == 1,
            check_quorum: (seed / 8) % 2 == 1,
            snapshot_min_log_bytes: 2_048,
            snapshot_log_ratio: 2,
            snapshot_chunk_bytes: 256,
            ..SimConfig::default()
        },
        faults: Faults {
            crash_rate: 0.5,
            partition_rate: 0.3,
            client_rate: 20.0,
            transfer_rate: 0.2,
            read_rate: 5.0,
            churn_rate: 0.3,
            compact_rate: 0.3,
            ..Faults::default()
        },
        duration_ms,
        check: true,
        liveness_ms: Some(10_000),
    }
}

/// The command that replays a campaign seed.
pub fn replay_command(seed: u64, duration_ms: u64) -> String {
    format!(
        "cargo run --release -p raftchat-core --features cli --bin raftchat-sim -- --campaign --seed {seed} --duration {duration_ms}ms"
    )
}

pub struct RunReport {
    pub sim: Simulator<ChatRoom>,
    pub violation: Option<Violation>,
    /// `Ok(ms)`: time from healing to a leader and every acknowledged message on
    /// every replica; `Err`: what was still missing at the bound.
    pub liveness: Option<Result<u64, String>>,
    pub steps: u64,
    /// Outcome promises the checker verified: (committed at an index, never
    /// commits).
    pub promises_checked: (u64, u64),
}

impl RunReport {
    pub fn passed(&self) -> bool {
        self.violation.is_none() && !matches!(self.liveness, Some(Err(_)))
    }

    /// Commit latencies of acknowledged requests, in virtual ms, sorted.
    pub fn commit_latencies_ms(&self) -> Vec<u64> {
        let mut l: Vec<u64> = self
            .sim
            .history()
            .iter()
            .filter(|r| matches!(r.outcome, Some(Outcome::Committed { .. })))
            .filter_map(|r| Some(r.complete_ms? - r.invoke_ms))
            .collect();
        l.sort_unstable();
        l
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Action {
    Crash,
    Restart(NodeId),
    Partition,
    Heal,
    Client,
    Transfer,
    Read,
    Churn,
    Compact,
}

struct Driver {
    rng: Rng,
    agenda: BTreeMap<(u64, u64), Action>,
    seq: u64,
    next_seq: BTreeMap<ClientId, u64>,
    /// Requests not yet acknowledged (retried at random), at most 32.
    unacked: Vec<Request<ChatCommand>>,
    /// How far into the simulator's acknowledgements `unacked` is up to date.
    acks_seen: u64,
    sent: u64,
}

impl Driver {
    /// The requests acknowledged since the last call: read from the
    /// simulator's acknowledgements where the last call stopped (reading its
    /// whole client history for each request, as before, made a run at
    /// thousands of requests a second quadratic).
    fn newly_acked(&mut self, sim: &Simulator<ChatRoom>) -> BTreeSet<(ClientId, u64)> {
        let acks = sim.acks();
        let newly = match acks.since(self.acks_seen) {
            Some(new) => new.map(|&(client, seq, _)| (client, seq)).collect(),
            // Dropped from the window meanwhile (a run far faster than any
            // campaign): whatever the history still shows committed.
            None => sim
                .history()
                .iter()
                .filter(|h| matches!(h.outcome, Some(Outcome::Committed { .. })))
                .map(|h| (h.client, h.seq))
                .collect(),
        };
        self.acks_seen = acks.end();
        newly
    }

    fn at(&mut self, t: u64, action: Action) {
        self.seq += 1;
        self.agenda.insert((t, self.seq), action);
    }

    /// Schedules the next occurrence of a Poisson-like process (uniform gaps with
    /// the given mean rate, so no floating-point logarithm is involved).
    fn next(&mut self, now: u64, rate: f64, action: Action) {
        if rate > 0.0 {
            let mean_gap_ms = (1000.0 / rate).max(0.001);
            let gap = (self.rng.uniform(0, 2_000_000) as f64 / 1_000_000.0 * mean_gap_ms) as u64;
            self.at(now + gap, action);
        }
    }
}

/// Replays a recipe with the invariant checker after every event and every
/// step (`raftchat-sim --replay`). A step that cannot be applied is an error.
pub fn replay(recipe: &crate::recipe::Recipe) -> Result<RunReport, String> {
    recipe.validate()?;
    let mut sim = Simulator::<ChatRoom>::new(recipe.config.clone())?;
    sim.set_record_events(false);
    let mut checker = Checker::new();
    let mut steps = 0u64;
    let mut violation = None;
    let mut next = 0;
    'run: loop {
        let horizon = recipe
            .steps
            .get(next)
            .map_or(recipe.run_end_ms(), |s| s.at_ms);
        while sim.next_event_ms().is_some_and(|t| t <= horizon) {
            sim.step();
            steps += 1;
            if let Err(v) = checker.check(&sim) {
                violation = Some(v);
                break 'run;
            }
        }
        sim.run_until(horizon);
        let Some(step) = recipe.steps.get(next) else {
            break;
        };
        step.apply(next, &mut sim)?;
        next += 1;
        if let Err(v) = checker.check(&sim) {
            violation = Some(v);
            break;
        }
    }
    Ok(RunReport {
        promises_checked: checker.promises_checked(),
        sim,
        violation,
        liveness: None,
        steps,
    })
}

/// Runs one seeded cluster under `cfg`'s faults. Never panics on a bad
/// configuration: it is validated first.
pub fn run(cfg: &RunConfig) -> Result<RunReport, String> {
    cfg.faults.validate()?;
    let mut sim = Simulator::<ChatRoom>::new(cfg.sim.clone())?;
    sim.set_record_events(false);
    let mut checker = Checker::new();
    let mut d = Driver {
        rng: Rng::new(mix_seed(cfg.sim.seed, 0xFA, 0x17)),
        agenda: BTreeMap::new(),
        seq: 0,
        next_seq: BTreeMap::new(),
        unacked: Vec::new(),
        acks_seen: 0,
        sent: 0,
    };
    let f = &cfg.faults;
    d.next(0, f.crash_rate, Action::Crash);
    d.next(0, f.partition_rate, Action::Partition);
    d.next(0, f.client_rate, Action::Client);
    d.next(0, f.transfer_rate, Action::Transfer);
    d.next(0, f.read_rate, Action::Read);
    d.next(0, f.churn_rate, Action::Churn);
    d.next(0, f.compact_rate, Action::Compact);
    let mut steps = 0u64;

    macro_rules! check {
        () => {
            if cfg.check {
                if let Err(v) = checker.check(&sim) {
                    return Ok(RunReport {
                        sim,
                        violation: Some(v),
                        liveness: None,
                        steps,
                        promises_checked: checker.promises_checked(),
                    });
                }
            }
        };
    }

    loop {
        let next_action = d.agenda.keys().next().map(|k| k.0);
        let horizon = next_action.unwrap_or(u64::MAX).min(cfg.duration_ms);
        while sim.next_event_ms().is_some_and(|t| t <= horizon) {
            sim.step();
            steps += 1;
            check!();
        }
        match d.agenda.pop_first() {
            Some(((t, _), action)) if t <= cfg.duration_ms => {
                sim.run_until(t);
                perform(&mut sim, &mut d, f, action);
                check!();
            }
            _ => break,
        }
    }
    sim.run_until(cfg.duration_ms);

    let liveness = match cfg.liveness_ms {
        None => None,
        Some(bound_ms) => {
            // Heal everything: links, loss, duplication, crashed nodes.
            let healed_at = sim.now_ms();
            sim.heal_all();
            let net = NetConfig {
                drop_rate: 0.0,
                duplicate_rate: 0.0,
                ..cfg.sim.net.clone()
            };
            sim.set_net(net)?;
            for id in sim.node_ids().collect::<Vec<_>>() {
                if !sim.node(id).is_some_and(|v| v.is_up()) {
                    let _ = sim.restart(id);
                }
            }
            let mut orphans_checked = false;
            check!();
            let deadline = healed_at + bound_ms;
            let mut result = Err(String::new());
            while sim.now_ms() <= deadline {
                // Servers started to join whose addition was lost with a
                // former leader: remove them (the only action taken here).
                if !orphans_checked && sim.leader().is_some() {
                    orphans_checked = true;
                    let config = sim.committed_config().clone();
                    let orphans: Vec<NodeId> = sim
                        .node_ids()
                        .filter(|&i| !config.is_member(i) && !sim.retiring().contains_key(&i))
                        .collect();
                    for id in orphans {
                        let _ = sim.remove_node(id);
                    }
                }
                match converged(&sim) {
                    Ok(()) => {
                        result = Ok(sim.now_ms() - healed_at);
                        break;
                    }
                    Err(why) => result = Err(why),
                }
                let until = sim.now_ms() + 10;
                while sim.next_event_ms().is_some_and(|t| t <= until) {
                    sim.step();
                    steps += 1;
                    check!();
                }
                sim.run_until(until);
            }
            Some(result.map_err(|why| format!("{bound_ms} ms after every fault healed: {why}")))
        }
    };
    Ok(RunReport {
        sim,
        violation: None,
        liveness,
        steps,
        promises_checked: checker.promises_checked(),
    })
}

fn perform(sim: &mut Simulator<ChatRoom>, d: &mut Driver, f: &Faults, action: Action) {
    let now = sim.now_ms();
    let ids: Vec<NodeId> = sim.node_ids().collect();
    let n = ids.len();
    let any = |d: &mut Driver| ids[d.rng.below(n)];
    match action {
        Action::Crash => {
            let up: Vec<NodeId> = sim
                .node_ids()
                .filter(|&i| sim.node(i).is_some_and(|v| v.is_up()))
                .collect();
            if !up.is_empty() {
                let victim = up[d.rng.below(up.len())];
                let _ = sim.crash(victim);
                let back = now + d.rng.uniform(f.down_min_ms, f.down_max_ms);
                d.at(back, Action::Restart(victim));
            }
            d.next(now, f.crash_rate, Action::Crash);
        }
        Action::Restart(id) => {
            let _ = sim.restart(id);
        }
        Action::Partition => {
            match d.rng.next_u64() % 3 {
                0 => {
                    let victim = any(d);
                    let _ = sim.isolate(victim);
                }
                1 => {
                    // Two groups: cut every link between them, both ways.
                    let side: Vec<bool> = (0..n).map(|_| d.rng.next_u64() % 2 == 0).collect();
                    for a in 0..n {
                        for b in 0..n {
                            if side[a] != side[b] {
                                let _ = sim.cut_link(ids[a], ids[b]);
                            }
                        }
                    }
                }
                _ => {
                    // Random one-way cuts.
                    for &a in &ids {
                        for &b in ids.iter().filter(|&&b| b != a) {
                            if d.rng.chance(0.25) {
                                let _ = sim.cut_link(a, b);
                            }
                        }
                    }
                }
            }
            let heal = now + d.rng.uniform(f.partition_min_ms, f.partition_max_ms);
            d.at(heal, Action::Heal);
            d.next(now, f.partition_rate, Action::Partition);
        }
        Action::Heal => sim.heal_all(),
        Action::Read => {
            let node = any(d);
            let _ = sim.read(node);
            d.next(now, f.read_rate, Action::Read);
        }
        Action::Transfer => {
            let target = any(d);
            let _ = sim.transfer_leadership(target); // refused when there is no leader, etc.
            d.next(now, f.transfer_rate, Action::Transfer);
        }
        Action::Churn => {
            // Refused while a change is uncommitted, without a leader, etc.
            let members = sim.committed_config().members().count();
            if members < 3 || (members < 7 && d.rng.chance(0.5)) {
                let _ = sim.add_node();
            } else {
                let victim = any(d);
                let _ = sim.remove_node(victim);
            }
            d.next(now, f.churn_rate, Action::Churn);
        }
        Action::Compact => {
            let node = any(d);
            let _ = sim.compact(node);
            d.next(now, f.compact_rate, Action::Compact);
        }
        Action::Client => {
            let node = any(d);
            let request = if !d.unacked.is_empty() && d.rng.chance(f.retry_fraction) {
                let i = d.rng.below(d.unacked.len());
                d.unacked[i].clone()
            } else {
                let client = 1 + d.rng.next_u64() % 8;
                let seq = d.next_seq.entry(client).or_insert(0);
                *seq += 1;
                d.sent += 1;
                let text = format!("message {} from client {client}", d.sent);
                Request {
                    client,
                    seq: *seq,
                    command: ChatText {
                        author: format!("client {client}").into(),
                        text: text.into(),
                    }
                    .into(),
                }
            };
            let _ = sim.submit(node, request.clone());
            let acked = d.newly_acked(sim);
            let is_acked = |r: &Request<ChatCommand>| acked.contains(&(r.client, r.seq));
            d.unacked.retain(|r| !is_acked(r));
            if !is_acked(&request) && !d.unacked.contains(&request) {
                d.unacked.push(request);
            }
            if d.unacked.len() > 32 {
                d.unacked.remove(0);
            }
            d.next(now, f.client_rate, Action::Client);
        }
    }
}

/// A leader is known to every member of the committed configuration, and every
/// acknowledged request is applied on each of their replicas.
pub fn converged(sim: &Simulator<ChatRoom>) -> Result<(), String> {
    let Some(leader) = sim.leader() else {
        return Err("no leader".into());
    };
    for id in sim.committed_config().members() {
        let view = sim.node(id).ok_or("missing node")?;
        let node = view.node.ok_or_else(|| format!("node {id} is down"))?;
        if node.raft().leader() != Some(leader) {
            return Err(format!("node {id} does not follow leader {leader}"));
        }
        for &(client, seq, index) in sim.acks() {
            if node.replica().applied_at(client, seq).is_none() {
                return Err(format!(
                    "node {id} has not applied acknowledged request {client}/{seq} (index {index})"
                ));
            }
        }
    }
    Ok(())
}
