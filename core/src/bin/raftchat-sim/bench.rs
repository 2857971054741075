//! `raftchat-sim --bench`: the simulator's speed and memory, each figure measured
//! by the run that prints it.
//!
//! - Saturating load through the simulator (5 nodes, chat entries in batches of
//!   64), and the same load through two minimal in-memory loops with no
//!   simulator: the bare Raft core (five `Raft`s, nothing applied) and the
//!   bare nodes (five `Node`s: Raft plus the chat replicas, their sessions and
//!   snapshots). The ratios split the simulator's time per entry into what
//!   the replicas cost and what the simulator itself adds. Side by side: each
//!   in a process of its own, taking turns ([`side_by_side`]).
//! - An idle 5-node cluster: virtual time per wall second (median of 5 runs).
//! - A day of virtual time, idle plus one chat message a second.
//! - A 30-minute lesson on the timeline: seeks and checkpoint memory.
//! - Peak resident memory (Linux: `VmHWM`): of each load's process, and of
//!   this one.

use raftchat_core::chat::{ChatCommand, ChatRoom};
use raftchat_core::node::{Batch, Node};
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

/// A part of the benchmark, to run alone (`--bench-only`, for profiling).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    Bare,
    Nodes,
    Load,
    Idle,
    Day,
    Timeline,
}

impl Part {
    pub fn from_name(name: &str) -> Result<Part, String> {
        Ok(match name {
            "bare" => Part::Bare,
            "nodes" => Part::Nodes,
            "load" => Part::Load,
            "idle" => Part::Idle,
            "day" => Part::Day,
            "timeline" => Part::Timeline,
            _ => {
                return Err(format!(
                    "unknown benchmark part {name:?}: bare, nodes, load, idle, day or timeline"
                ))
            }
        })
    }
}

/// The parts named in `--bench-only` (a comma-separated list).
pub fn parse_parts(list: &str) -> Result<Vec<Part>, String> {
    list.split(',')
        .map(|name| Part::from_name(name.trim()))
        .collect()
}

pub fn run(load_seconds: f64, only: Option<Vec<Part>>) -> ExitCode {
    match run_parts(load_seconds, only) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => worker_failed(&e),
    }
}

fn run_parts(load_seconds: f64, only: Option<Vec<Part>>) -> Result<(), String> {
    let runs = |part| only.as_ref().is_none_or(|parts| parts.contains(&part));
    if runs(Part::Bare) || runs(Part::Nodes) || runs(Part::Load) {
        side_by_side(
            load_seconds,
            runs(Part::Bare),
            runs(Part::Nodes),
            runs(Part::Load),
        )?;
    }
    if runs(Part::Idle) {
        out!("{}", idle()?);
    }
    if runs(Part::Day) {
        out!("{}", day_of_chat()?);
    }
    if runs(Part::Timeline) {
        for line in lesson_timeline()? {
            out!("{line}");
        }
    }
    out!("peak resident memory: {}", peak_rss());
    Ok(())
}

#[derive(Default)]
struct Throughput {
    entries: u64,
    wall_s: f64,
    /// Entries per second in each turn.
    turns: Vec<f64>,
}

impl Throughput {
    fn per_s(&self) -> f64 {
        self.entries as f64 / self.wall_s
    }
}

/// A 64-byte chat request, made as a chat pane makes one: a checked command
/// (one allocation). Until 2026-12-02 the benchmark built a `ChatText` and
/// converted it, three allocations and two frees a request: 28 % of the bare
/// core's instructions, which diluted every ratio below.
fn request(seq: u64) -> Result<Request<ChatCommand>, String> {
    Ok(Request {
        client: 1,
        seq,
        command: ChatCommand::new(
            "bench",
            "a 64-byte chat message, as long as the benchmark's entries are..",
        )?,
    })
}

/// The next [`BATCH`] requests, numbered on from `seq`.
fn next_batch(seq: &mut u64) -> Result<Vec<Request<ChatCommand>>, String> {
    (0..BATCH)
        .map(|_| {
            *seq += 1;
            request(*seq)
        })
        .collect()
}

/// How long each turn of the side-by-side load runs: the bare core and the
/// simulator take turns, so that a change in the machine's speed (other work
/// on a shared machine swings wall-clock figures by up to ±40 % within minutes)
/// falls on both alike and their ratio stays meaningful.
const TURN_S: f64 = 0.25;

/// A saturating load that can be run a turn at a time.
trait Load {
    /// Runs the load for about `seconds`; returns the chat entries committed.
    fn run_for(&mut self, seconds: f64) -> Result<u64, String>;
}

/// The Raft core alone: five `Raft`s, every message delivered at once, every
/// write taken as durable the moment it is handed out (and reported so), committed entries
/// counted and dropped; the log compacted every 4,096 entries, about as often
/// as the nodes' own snapshot rule compacts theirs under this load. (Compacted
/// only every 64 Ki entries, as before 2026-12-02, it freed commands in bulk
/// and the next large allocation consolidated them: the bare core spent half
/// its time in `malloc`, ran at two thirds of its speed, and flattered the
/// ratio.)
struct BareCore {
    nodes: Vec<Raft<ChatCommand>>,
    net: VecDeque<Message<ChatCommand>>,
    seq: u64,
}

const NOW_MS: u64 = 1;
const BARE_LEADER: NodeId = 1;

/// The bare loops' nodes: each one's settings (batches of [`BATCH`], a queue
/// the load never fills) and its first disk (the five of them voters).
fn bare_cluster() -> impl Iterator<Item = (Config, PersistedState<ChatCommand>)> {
    let membership = Membership::new(1..=NODES);
    (1..=NODES).map(move |id| {
        let cfg = Config {
            max_entries_per_append: BATCH,
            max_queued_requests: 1 << 20,
            ..Config::new(id, id as u64)
        };
        (cfg, PersistedState::bootstrap(membership.clone()))
    })
}

impl BareCore {
    fn new() -> Result<Self, String> {
        let nodes = bare_cluster()
            .map(|(cfg, disk)| Raft::new(cfg, disk, 0))
            .collect();
        let mut bare = BareCore {
            nodes,
            net: VecDeque::new(),
            seq: 0,
        };
        bare.nodes[0].timeout_now(NOW_MS);
        bare.pump();
        if bare.nodes[0].role() != Role::Leader {
            return Err("the bare core elected no leader".into());
        }
        Ok(bare)
    }

    /// Delivers every message until none is left; returns the client entries
    /// the leader saw committed.
    fn pump(&mut self) -> u64 {
        let mut committed = 0;
        loop {
            for n in self.nodes.iter_mut() {
                if n.has_ready() {
                    let mut ready = n.take_ready();
                    // Every write is durable the moment it is handed out.
                    n.persisted(ready.write.done());
                    if n.id() == BARE_LEADER {
                        committed += ready
                            .committed
                            .iter()
                            .filter(|e| matches!(e.payload, Payload::Command(_)))
                            .count() as u64;
                    }
                    // The message buffer goes back to the node, as the
                    // simulator's and the bare nodes' drivers do.
                    self.net.extend(ready.messages.drain(..));
                    n.recycle_messages(ready.messages);
                }
            }
            if self.net.is_empty() {
                return committed;
            }
            while let Some(m) = self.net.pop_front() {
                let to = m.to as usize - 1;
                self.nodes[to].step(NOW_MS, m);
            }
        }
    }
}

impl Load for BareCore {
    fn run_for(&mut self, seconds: f64) -> Result<u64, String> {
        let mut entries = 0;
        let t = Instant::now();
        while t.elapsed().as_secs_f64() < seconds {
            for _ in 0..64 {
                self.nodes[0].reserve(BATCH);
                for _ in 0..BATCH {
                    self.seq += 1;
                    self.nodes[0].propose(NOW_MS, request(self.seq)?);
                }
                entries += self.pump();
            }
            for n in self.nodes.iter_mut() {
                let _ = n.compact(n.commit_index(), Arc::from(Vec::new()));
            }
        }
        Ok(entries)
    }
}

/// The core's nodes without the simulator: five [`Node`]s (Raft, the chat
/// replica with its client sessions, snapshots by the core's own rule, request
/// tracking) driven by the same minimal loop as [`BareCore`]: every message
/// delivered at once, every write durable the moment it is handed out. What
/// the simulator adds to this is its own cost: the event queue, the network
/// and disk models, the client history and its records for the checker.
struct BareNodes {
    nodes: Vec<Node<ChatRoom>>,
    net: VecDeque<Message<ChatCommand>>,
    /// Reused for every batch's applied records.
    applied: Vec<raftchat_core::state_machine::Applied>,
    seq: u64,
}

impl BareNodes {
    fn new() -> Result<Self, String> {
        let nodes = bare_cluster()
            .map(|(cfg, disk)| Node::new(cfg, disk, 60_000, 0))
            .collect::<Result<_, _>>()?;
        let mut bare = BareNodes {
            nodes,
            net: VecDeque::new(),
            applied: Vec::new(),
            seq: 0,
        };
        let batch = bare.nodes[0].timeout_now(NOW_MS);
        bare.pump(0, batch)?;
        if bare.nodes[0].raft().role() != Role::Leader {
            return Err("the bare nodes elected no leader".into());
        }
        Ok(bare)
    }

    /// Releases node `i`'s batch (its write durable at once: messages out,
    /// committed entries applied), then delivers every message until none is
    /// left, releasing each batch in turn.
    fn pump(&mut self, i: usize, batch: Batch<ChatCommand>) -> Result<(), String> {
        let mut batches = VecDeque::from([(i, batch)]);
        loop {
            while let Some((i, mut b)) = batches.pop_front() {
                let node = &mut self.nodes[i];
                let done = b.write.done();
                self.net.extend(b.messages.drain(..));
                node.recycle_messages(b.messages);
                self.applied.clear();
                node.apply_committed(b.snapshot.as_deref(), &b.committed, &mut self.applied)?;
                if let Some(next) = node.persisted(done) {
                    batches.push_back((i, next));
                }
            }
            let Some(m) = self.net.pop_front() else {
                return Ok(());
            };
            let to = m.to as usize - 1;
            let batch = self.nodes[to].step(NOW_MS, m);
            batches.push_back((to, batch));
        }
    }

    fn applied_on_leader(&self) -> u64 {
        self.nodes[0].replica().machine().total_messages()
    }
}

impl Load for BareNodes {
    fn run_for(&mut self, seconds: f64) -> Result<u64, String> {
        let before = self.applied_on_leader();
        let t = Instant::now();
        while t.elapsed().as_secs_f64() < seconds {
            for _ in 0..64 {
                let requests = next_batch(&mut self.seq)?;
                let batch = self.nodes[0].submit_many(NOW_MS, requests);
                self.pump(0, batch)?;
            }
        }
        // Every replica did the work: the followers trail the leader by at
        // most the last batch (its commit reaches them with the next one).
        let leader = self.applied_on_leader();
        for n in &self.nodes[1..] {
            let total = n.replica().machine().total_messages();
            if total + (BATCH as u64) < leader {
                return Err(format!(
                    "replica {} applied {total} messages, the leader {leader}",
                    n.raft().id()
                ));
            }
        }
        Ok(leader - before)
    }
}

/// The same load through the simulator: the driver contract (writes durable
/// before messages leave, on simulated disks), the chat state machine on every
/// replica, client sessions and outcomes, snapshots. Virtual time moves 1 ms
/// per 16 batches; messages and writes take no virtual time.
struct SimLoad {
    sim: Simulator<ChatRoom>,
    leader: NodeId,
    seq: u64,
    now_ms: u64,
}

impl SimLoad {
    fn new() -> Result<Self, String> {
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
        let now_ms = sim.now_ms();
        Ok(SimLoad {
            sim,
            leader,
            seq: 0,
            now_ms,
        })
    }
}

impl Load for SimLoad {
    fn run_for(&mut self, seconds: f64) -> Result<u64, String> {
        let before = applied_on(&self.sim, self.leader);
        let t = Instant::now();
        while t.elapsed().as_secs_f64() < seconds {
            for _ in 0..16 {
                let requests = next_batch(&mut self.seq)?;
                self.sim.submit_many(self.leader, requests)?;
                self.sim.run_until(self.now_ms);
            }
            self.now_ms += 1;
            self.sim.run_until(self.now_ms);
        }
        if self.sim.leader() != Some(self.leader) {
            return Err(format!(
                "leader {} lost leadership during the load",
                self.leader
            ));
        }
        Ok(applied_on(&self.sim, self.leader) - before)
    }
}

/// Runs the bare core, the bare nodes and the simulator (any may be left
/// out) for `seconds` each, a turn of each in turn, and prints each figure and
/// the ratios of their times per entry: over the whole run, and the median and
/// range of the ratio turn by turn. Each load runs in a process of its own
/// (this program, `--bench-worker`), so that none shares another's heap or
/// caches: the bare core frees thousands of entries at a time, which would fragment
/// the simulator's heap.
fn side_by_side(seconds: f64, bare: bool, nodes: bool, sim: bool) -> Result<(), String> {
    let mut workers = Vec::new();
    for (runs, part, name) in [
        (bare, "bare", "bare core"),
        (nodes, "nodes", "bare nodes"),
        (sim, "load", "simulator"),
    ] {
        if runs {
            workers.push(Worker::start(part, name)?);
        }
    }
    let mut stats: Vec<Throughput> = workers.iter().map(|_| Throughput::default()).collect();
    let turns = (seconds / TURN_S).ceil().max(1.0) as usize;
    for _ in 0..turns {
        for (w, st) in workers.iter_mut().zip(stats.iter_mut()) {
            let (entries, wall_s) = w.turn()?;
            st.entries += entries;
            st.wall_s += wall_s;
            st.turns.push(entries as f64 / wall_s);
        }
    }
    let names: Vec<&str> = workers.iter().map(|w| w.name).collect();
    let peaks: Vec<String> = workers
        .into_iter()
        .map(Worker::finish)
        .collect::<Result<_, _>>()?;
    for (name, st) in names.iter().zip(&stats) {
        out!(
            "{name}, 5 nodes, batches of {BATCH}: {} entries committed in {:.2} s = {:.0} entries/s",
            st.entries,
            st.wall_s,
            st.per_s()
        );
    }
    let figure = |name: &str| names.iter().position(|n| *n == name).map(|i| &stats[i]);
    for (slow, fast) in [
        ("simulator", "bare core"),
        ("simulator", "bare nodes"),
        ("bare nodes", "bare core"),
    ] {
        if let (Some(s), Some(f)) = (figure(slow), figure(fast)) {
            out!("{}", ratio_line(slow, s, fast, f));
        }
    }
    let peaks: Vec<String> = names
        .iter()
        .zip(&peaks)
        .map(|(name, peak)| format!("{name} {peak}"))
        .collect();
    out!(
        "peak resident memory of the load runs: {}",
        peaks.join(", ")
    );
    Ok(())
}

/// How much longer an entry takes through `slow` than through `fast`: over
/// the run, and turn by turn (the turns were taken alternately).
fn ratio_line(slow: &str, s: &Throughput, fast: &str, f: &Throughput) -> String {
    let mut ratios: Vec<f64> = f.turns.iter().zip(&s.turns).map(|(f, s)| f / s).collect();
    ratios.sort_by(f64::total_cmp);
    format!(
        "{slow} / {fast}, time per entry: {:.2}x over the run; turn by turn ({} pairs of {TURN_S}-s turns, taken alternately): median {:.2}x, {:.2}x to {:.2}x",
        f.per_s() / s.per_s(),
        ratios.len(),
        ratios[ratios.len() / 2],
        ratios[0],
        ratios[ratios.len() - 1],
    )
}

/// A load running in a child process (`raftchat-sim --bench-worker PART`),
/// which runs a turn each time it reads a line.
struct Worker {
    /// What it measures, as printed ("bare core", "simulator").
    name: &'static str,
    child: std::process::Child,
    to: Option<std::process::ChildStdin>,
    from: std::io::BufReader<std::process::ChildStdout>,
}

impl Worker {
    fn start(part: &'static str, name: &'static str) -> Result<Self, String> {
        use std::process::{Command, Stdio};
        let exe = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
        let mut child = Command::new(exe)
            .args(["--bench-worker", part])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start the {name} benchmark process: {e}"))?;
        let (Some(to), Some(from)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(format!("the {name} benchmark process has no pipes"));
        };
        let mut w = Worker {
            name,
            child,
            to: Some(to),
            from: std::io::BufReader::new(from),
        };
        w.expect_line()?; // ready: set up and elected
        Ok(w)
    }

    fn expect_line(&mut self) -> Result<String, String> {
        use std::io::BufRead;
        let mut line = String::new();
        match self.from.read_line(&mut line) {
            Ok(n) if n > 0 => Ok(line.trim_end().to_string()),
            _ => Err(format!(
                "the {} benchmark process stopped ({})",
                self.name,
                self.child
                    .wait()
                    .map_or("no exit status".into(), |s| s.to_string())
            )),
        }
    }

    /// Runs a turn: (entries committed, wall seconds).
    fn turn(&mut self) -> Result<(u64, f64), String> {
        use std::io::Write;
        let sent = self
            .to
            .as_mut()
            .map(|to| writeln!(to, "turn").and_then(|_| to.flush()));
        if !matches!(sent, Some(Ok(()))) {
            return Err(format!(
                "the {} benchmark process does not listen",
                self.name
            ));
        }
        let line = self.expect_line()?;
        let mut words = line.split(' ');
        let parsed = (
            words.next().and_then(|w| w.parse().ok()),
            words.next().and_then(|w| w.parse().ok()),
        );
        match parsed {
            (Some(entries), Some(wall_s)) => Ok((entries, wall_s)),
            _ => Err(format!("the {} benchmark process said {line:?}", self.name)),
        }
    }

    /// Ends the process; returns its peak resident memory.
    fn finish(mut self) -> Result<String, String> {
        self.to = None; // end of input: the worker reports and exits
        let peak = self.expect_line()?;
        let _ = self.child.wait();
        Ok(peak)
    }
}

/// `raftchat-sim --bench-worker PART`: sets up the load, says so, then runs a
/// turn for each line read and answers "ENTRIES WALL_SECONDS"; at the end of
/// its input it prints its peak resident memory.
pub fn worker(part: Part) -> ExitCode {
    let mut load: Box<dyn Load> = match part {
        Part::Bare => match BareCore::new() {
            Ok(b) => Box::new(b),
            Err(e) => return worker_failed(&e),
        },
        Part::Nodes => match BareNodes::new() {
            Ok(b) => Box::new(b),
            Err(e) => return worker_failed(&e),
        },
        Part::Load => match SimLoad::new() {
            Ok(s) => Box::new(s),
            Err(e) => return worker_failed(&e),
        },
        _ => return worker_failed("--bench-worker runs bare, nodes or load"),
    };
    out!("ready");
    for line in std::io::stdin().lines() {
        if line.is_err() {
            break;
        }
        let t = Instant::now();
        match load.run_for(TURN_S) {
            Ok(entries) => out!("{entries} {}", t.elapsed().as_secs_f64()),
            Err(e) => return worker_failed(&e),
        }
    }
    out!("{}", peak_rss());
    ExitCode::SUCCESS
}

fn worker_failed(e: &str) -> ExitCode {
    eprintln!("raftchat-sim: benchmark failed: {e}");
    ExitCode::FAILURE
}

/// How many times the idle hour runs: it takes a fifth of a second, short
/// enough for other work on the machine to swing one run by half.
const IDLE_RUNS: usize = 5;

/// An idle 5-node cluster: heartbeats only, for a virtual hour, run
/// [`IDLE_RUNS`] times (each the same run: same seed, same messages).
fn idle() -> Result<String, String> {
    let virtual_ms = 3_600_000;
    let mut walls = Vec::new();
    let mut messages = 0;
    for _ in 0..IDLE_RUNS {
        let mut sim = Simulator::<ChatRoom>::new(SimConfig::default())?;
        sim.set_record_events(false);
        let t = Instant::now();
        sim.run_until(virtual_ms);
        walls.push(t.elapsed().as_secs_f64());
        messages = sim.stats().messages_sent;
    }
    walls.sort_by(f64::total_cmp);
    let speed = |wall: f64| virtual_ms as f64 / 1000.0 / wall;
    Ok(format!(
        "idle 5-node cluster: {} s virtual ({messages} messages) in {:.3} s wall, the median of {IDLE_RUNS} runs = {:.0}x real time (fastest run {:.0}x, slowest {:.0}x)",
        virtual_ms / 1000,
        walls[IDLE_RUNS / 2],
        speed(walls[IDLE_RUNS / 2]),
        speed(walls[0]),
        speed(walls[IDLE_RUNS - 1]),
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
        sim.submit(node, request(seq)?)?;
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
