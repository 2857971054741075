//! `raftchat-sim --bench`: the simulator's speed and memory, each figure measured
//! by the run that prints it.
//!
//! - Saturating load through the simulator (5 nodes, chat entries in batches of
//!   64), and the same load through the bare Raft core driven by a minimal
//!   in-memory loop (no simulator, no state machine): their ratio is what the
//!   simulator costs.
//! - An idle 5-node cluster: virtual time per wall second.
//! - A day of virtual time, idle plus one chat message a second.
//! - Peak resident memory of the whole process (Linux: `VmHWM`).

use raftchat_core::chat::{ChatCommand, ChatRoom, ChatText};
use raftchat_core::raft::{Config, Raft};
use raftchat_core::sim::{SimConfig, Simulator};
use raftchat_core::storage::PersistedState;
use raftchat_core::{Membership, Message, NetConfig, NodeId, Payload, Request, Role};
use std::collections::VecDeque;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

/// Entries per AppendEntries, and requests per client call.
const BATCH: usize = 64;
const NODES: u32 = 5;

pub fn run(load_seconds: f64) -> ExitCode {
    if std::env::var("SIMFIRST").is_ok() {
        let s = simulator_load(load_seconds).unwrap();
        out!("simfirst {:.0} {}", s.per_s(), s.entries);
        if std::env::var("SIMONLY").is_ok() {
            return ExitCode::SUCCESS;
        }
    }
    let bare = match bare_core(load_seconds.min(5.0)) {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    out!(
        "bare core, 5 nodes, batches of {BATCH}: {} entries committed in {:.2} s = {:.0} entries/s",
        bare.entries,
        bare.wall_s,
        bare.per_s()
    );
    let sim = match simulator_load(load_seconds) {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    out!(
        "simulator, 5 nodes, batches of {BATCH}: {} entries committed in {:.2} s = {:.0} entries/s ({:.2}x the bare core's time per entry)",
        sim.entries,
        sim.wall_s,
        sim.per_s(),
        bare.per_s() / sim.per_s()
    );
    out!("peak resident memory after the load runs: {}", peak_rss());
    match idle() {
        Ok(line) => out!("{line}"),
        Err(e) => return fail(&e),
    }
    match day_of_chat() {
        Ok(line) => out!("{line}"),
        Err(e) => return fail(&e),
    }
    match lesson_timeline() {
        Ok(lines) => {
            for line in lines {
                out!("{line}");
            }
        }
        Err(e) => return fail(&e),
    }
    out!("peak resident memory: {}", peak_rss());
    ExitCode::SUCCESS
}

fn fail(e: &str) -> ExitCode {
    eprintln!("raftchat-sim: benchmark failed: {e}");
    ExitCode::FAILURE
}

struct Throughput {
    entries: u64,
    wall_s: f64,
}

impl Throughput {
    fn per_s(&self) -> f64 {
        self.entries as f64 / self.wall_s
    }
}

fn request(seq: u64) -> Request<ChatCommand> {
    Request {
        client: 1,
        seq,
        command: ChatText {
            author: "bench".into(),
            text: "a 64-byte chat message, as long as the benchmark's entries are..".into(),
        }
        .into(),
    }
}

/// The Raft core alone: five `Raft`s, every message delivered at once, every
/// write taken as durable the moment it is handed out, committed entries
/// counted and dropped; the log compacted every 64 Ki entries.
fn bare_core(seconds: f64) -> Result<Throughput, String> {
    let membership = Membership::new(1..=NODES);
    let mut nodes: Vec<Raft<ChatCommand>> = (1..=NODES)
        .map(|id| {
            let cfg = Config {
                max_entries_per_append: BATCH,
                max_queued_requests: 1 << 20,
                ..Config::new(id, id as u64)
            };
            Raft::new(cfg, PersistedState::bootstrap(membership.clone()), 0)
        })
        .collect();
    let mut net: VecDeque<Message<ChatCommand>> = VecDeque::new();
    let now_ms = 1;
    // Returns the client entries the leader saw committed.
    let pump = |nodes: &mut Vec<Raft<ChatCommand>>, net: &mut VecDeque<_>, leader: NodeId| {
        let mut committed = 0;
        loop {
            for n in nodes.iter_mut() {
                if n.has_ready() {
                    let ready = n.take_ready();
                    if n.id() == leader {
                        committed += ready
                            .committed
                            .iter()
                            .filter(|e| matches!(e.payload, Payload::Command(_)))
                            .count() as u64;
                    }
                    net.extend(ready.messages);
                }
            }
            if net.is_empty() {
                return committed;
            }
            while let Some(m) = net.pop_front() {
                let to = m.to as usize - 1;
                nodes[to].step(now_ms, m);
            }
        }
    };
    nodes[0].timeout_now(now_ms);
    pump(&mut nodes, &mut net, 1);
    if nodes[0].role() != Role::Leader {
        return Err("the bare core elected no leader".into());
    }
    let mut seq = 0;
    let mut entries = 0;
    let t = Instant::now();
    while t.elapsed().as_secs_f64() < seconds {
        for _ in 0..64 {
            for _ in 0..BATCH {
                seq += 1;
                nodes[0].propose(now_ms, request(seq));
            }
            entries += pump(&mut nodes, &mut net, 1);
        }
        if seq % (1 << 16) < (64 * BATCH) as u64 {
            for n in nodes.iter_mut() {
                let _ = n.compact(n.commit_index(), Arc::from(Vec::new()));
            }
        }
    }
    Ok(Throughput {
        entries,
        wall_s: t.elapsed().as_secs_f64(),
    })
}

/// The same load through the simulator: the driver contract (writes durable
/// before messages leave, on simulated disks), the chat state machine on every
/// replica, client sessions and outcomes, snapshots. Virtual time moves 1 ms
/// per 16 batches; messages and writes take no virtual time.
fn simulator_load(seconds: f64) -> Result<Throughput, String> {
    let cfg = SimConfig {
        max_entries_per_append: BATCH,
        max_queued_requests: 1 << 20,
        request_timeout_ms: 60_000,
        disk_latency_min_ms: 0,
        disk_latency_max_ms: 0,
        net: NetConfig {
            latency_min_ms: 0,
            latency_max_ms: 0,
            ..NetConfig::default()
        },
        ..SimConfig::default()
    };
    let mut sim = Simulator::<ChatRoom>::new(cfg)?;
    sim.set_record_events(false);
    sim.run_until(2_000);
    let leader = sim.leader().ok_or("no leader elected for the load")?;
    let before = applied_on(&sim, leader);
    let mut seq = 0;
    let t = Instant::now();
    let mut now = sim.now_ms();
    while t.elapsed().as_secs_f64() < seconds {
        for _ in 0..16 {
            let requests = (0..BATCH)
                .map(|_| {
                    seq += 1;
                    request(seq)
                })
                .collect();
            sim.submit_many(leader, requests)?;
            sim.run_until(now);
        }
        now += 1;
        sim.run_until(now);
    }
    sim.run_until(now + 50);
    let wall_s = t.elapsed().as_secs_f64();
    if sim.leader() != Some(leader) {
        return Err(format!("leader {leader} lost leadership during the load"));
    }
    Ok(Throughput {
        entries: applied_on(&sim, leader) - before,
        wall_s,
    })
}

/// An idle 5-node cluster: heartbeats only, for a virtual hour.
fn idle() -> Result<String, String> {
    let virtual_ms = 3_600_000;
    let mut sim = Simulator::<ChatRoom>::new(SimConfig::default())?;
    sim.set_record_events(false);
    let t = Instant::now();
    sim.run_until(virtual_ms);
    let wall = t.elapsed().as_secs_f64();
    Ok(format!(
        "idle 5-node cluster: {} s virtual in {wall:.3} s wall = {:.0}x real time ({} messages)",
        virtual_ms / 1000,
        virtual_ms as f64 / 1000.0 / wall,
        sim.stats().messages_sent
    ))
}

/// 24 virtual hours of a 5-node cluster with one chat message a second,
/// through a random node (default network and disks).
fn day_of_chat() -> Result<String, String> {
    let virtual_ms: u64 = 24 * 3_600_000;
    let mut sim = Simulator::<ChatRoom>::new(SimConfig::default())?;
    sim.set_record_events(false);
    let t = Instant::now();
    let mut seq = 0;
    let mut at = 1_000;
    while at <= virtual_ms {
        sim.run_until(at);
        seq += 1;
        let node = (seq % NODES as u64) as NodeId + 1;
        sim.submit(node, request(seq))?;
        at += 1_000;
    }
    sim.run_until(virtual_ms + 5_000);
    let wall = t.elapsed().as_secs_f64();
    let committed = sim
        .node_ids()
        .map(|id| applied_on(&sim, id))
        .max()
        .unwrap_or(0);
    Ok(format!(
        "a day of chat (5 nodes, 1 message/s): {} s virtual in {wall:.2} s wall = {:.0}x real time; {committed} of {seq} messages committed",
        virtual_ms / 1000,
        virtual_ms as f64 / 1000.0 / wall,
    ))
}

/// A 30-minute (virtual) lesson on the timeline, as the page runs it: 5
/// nodes, one chat message a second through a different node each time. How
/// long a seek to a random moment takes, and what the checkpoints cost.
fn lesson_timeline() -> Result<Vec<String>, String> {
    use raftchat_core::recipe::Action;
    use raftchat_core::timeline::Timeline;
    let lesson_ms: u64 = 30 * 60_000;
    let rss_before = resident_kb();
    let t = Instant::now();
    let mut timeline = Timeline::new(SimConfig::default())?;
    let mut seq = [0u64; NODES as usize];
    let mut at = 1_000;
    while at <= lesson_ms {
        timeline.advance(at)?;
        timeline.take_events();
        let node = (at / 1_000 % NODES as u64) as NodeId + 1;
        seq[node as usize - 1] += 1;
        timeline.act(Action::Send {
            node,
            client: node as u64,
            seq: seq[node as usize - 1],
            author: "bench".into(),
            text: format!("message {}", at / 1_000),
        })?;
        at += 1_000;
    }
    timeline.advance(lesson_ms)?;
    let build_s = t.elapsed().as_secs_f64();
    let rss_after = resident_kb();
    let json_bytes = timeline.recipe().to_json().len();
    let mut rng = raftchat_core::rng::Rng::new(7);
    let mut seeks_ms: Vec<f64> = (0..200)
        .map(|_| {
            let target = rng.below(lesson_ms as usize + 1) as u64;
            let t = Instant::now();
            let r = timeline.seek(target);
            (r, t.elapsed().as_secs_f64() * 1000.0)
        })
        .map(|(r, ms)| r.map(|_| ms))
        .collect::<Result<_, _>>()?;
    seeks_ms.sort_by(f64::total_cmp);
    Ok(vec![
        format!(
            "a 30-minute lesson on the timeline (5 nodes, 1 message/s): recorded in {build_s:.2} s; {} checkpoints, resident memory +{:.1} MB; recipe {json_bytes} bytes of JSON",
            timeline.checkpoints(),
            rss_after.saturating_sub(rss_before) as f64 / 1024.0,
        ),
        format!(
            "seek to a random moment (200 seeks, native): median {:.2} ms, worst {:.2} ms",
            seeks_ms[seeks_ms.len() / 2],
            seeks_ms[seeks_ms.len() - 1]
        ),
    ])
}

/// The process's resident memory now, in KB (Linux: `VmRSS`; 0 elsewhere).
fn resident_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
            line.split_whitespace().nth(1)?.parse().ok()
        })
        .unwrap_or(0)
}

/// Chat messages applied on node `id` since the start.
fn applied_on(sim: &Simulator<ChatRoom>, id: NodeId) -> u64 {
    sim.node(id)
        .and_then(|v| v.node)
        .map_or(0, |n| n.replica().machine().total_messages())
}

/// The process's peak resident memory, as the kernel reports it.
fn peak_rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
            let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(format!("{:.1} MB", kb as f64 / 1024.0))
        })
        .unwrap_or_else(|| "unknown (no /proc/self/status)".into())
}
