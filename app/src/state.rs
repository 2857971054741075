//! The page's state. The simulator is changed only here, by [`Action`]s; after
//! every change a fresh read-only [`ClusterView`] is taken for the components.

use crate::feed::{describe, FeedItem};
use crate::persistence::Persistence;
use crate::storage::{ClusterMeta, Disk, SCHEMA_VERSION};
use crate::view::ClusterView;
use raftchat_core::chat::ChatCommand;
use raftchat_core::sim::{NetConfig, SimConfig, Simulator, MAX_NODES};
use raftchat_core::storage::PersistedState;
use raftchat_core::Membership;
use raftchat_core::{ChatRoom, NodeId, Outcome, Request};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;
use yew::Callback;
use yew::Reducible;

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
/// Slow enough to follow each message by eye.
pub const DEFAULT_SPEED: f64 = 0.1;
/// How many feed lines are kept.
pub const FEED_LEN: usize = 400;
/// A real frame longer than this (a stalled tab) advances no more than this.
const MAX_FRAME_MS: f64 = 100.0;

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
    fn sim_config(&self) -> SimConfig {
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

    fn net(&self) -> NetConfig {
        NetConfig {
            latency_min_ms: self.latency_min_ms,
            latency_max_ms: self.latency_max_ms,
            drop_rate: self.drop_rate,
            duplicate_rate: 0.0,
        }
    }
}

/// What is selected for the inspector.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Selection {
    None,
    Node(NodeId),
    /// The link between two nodes (smaller id first).
    Link(NodeId, NodeId),
}

/// Where the cluster is kept.
#[derive(Clone, Debug, PartialEq)]
pub enum StorageState {
    /// IndexedDB is being opened.
    Opening,
    /// Every node persists to IndexedDB (cluster `cluster`'s database).
    Saved {
        cluster: u64,
        usage_bytes: Option<f64>,
    },
    /// In memory only, and why.
    Memory { why: String },
    /// Another tab has this cluster open: this tab runs in memory.
    Elsewhere { cluster: u64 },
}

/// The last outcome shown under a chat pane's input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaneStatus {
    pub text: String,
    pub ok: bool,
}

pub enum Action {
    /// A real frame of `real_ms` passed while running.
    Frame {
        real_ms: f64,
    },
    TogglePlay,
    /// Pause because the tab was hidden, or resume when it is shown again.
    Visibility {
        hidden: bool,
    },
    /// Run to the next scheduled event.
    Step,
    /// A new cluster: `nodes` nodes from `seed`.
    Reset {
        seed: u64,
        nodes: u32,
    },
    SetSpeed(f64),
    SetLatency {
        min_ms: u64,
        max_ms: u64,
    },
    SetDropRate(f64),
    /// PreVote and CheckQuorum (both off by default, to show the problems first).
    SetOptions {
        pre_vote: bool,
        check_quorum: bool,
    },
    Crash(NodeId),
    Restart(NodeId),
    /// A linearizable read of the chat through this node (§6.4).
    Read(NodeId),
    /// The leader hands leadership to this node (§3.10).
    TransferLeadership(NodeId),
    /// A new server joins the cluster (thesis §4.2).
    AddNode,
    /// The leader removes this server from the cluster.
    RemoveNode(NodeId),
    /// The node snapshots its chat and drops the log it covers ("compact now").
    Compact(NodeId),
    /// Crash whichever node leads (keyboard `c`).
    CrashLeader,
    /// Restart every crashed node (keyboard `r`).
    RestartAll,
    TimeoutNow(NodeId),
    Isolate(NodeId),
    HealNode(NodeId),
    CutLink {
        from: NodeId,
        to: NodeId,
    },
    HealLink {
        from: NodeId,
        to: NodeId,
    },
    HealAll,
    DropMessage(u64),
    /// Send a chat message through a node.
    Send {
        node: NodeId,
        text: String,
    },
    SetAuthor(String),
    Select(Selection),
    ToggleProjector,
    ToggleHelp,
    CloseHelp,
    DismissNotice,
    /// The App's dispatcher, for work that ends later (disk writes).
    Connect(Callback<Action>),
    /// IndexedDB holds no cluster yet: start one there.
    Attach {
        cluster: u64,
        disk: Rc<Disk>,
        settings: Settings,
        author: String,
    },
    /// Bring a saved cluster back.
    Restore {
        cluster: u64,
        disk: Rc<Disk>,
        settings: Settings,
        author: String,
        /// Each node's id and state, as read back.
        nodes: Vec<(NodeId, PersistedState<ChatCommand>)>,
    },
    /// IndexedDB could not be used at start-up.
    DiskUnavailable(String),
    /// A write or a read failed: go on in memory.
    DiskFailed(String),
    /// A write is durable in IndexedDB.
    Durable {
        node: NodeId,
        incarnation: u32,
        write_id: u64,
    },
    /// A restarting node's state, read back from IndexedDB.
    RestartFrom {
        node: NodeId,
        persisted: PersistedState<ChatCommand>,
    },
    StorageUsage(f64),
    OpenElsewhere {
        cluster: u64,
    },
    /// Leave the cluster another tab has open; start a separate one here.
    OpenOwnCluster,
    /// Delete the saved cluster (the user confirmed) and start a new one.
    NewCluster {
        seed: u64,
        nodes: u32,
    },
}

pub struct AppState {
    sim: Rc<RefCell<Simulator<ChatRoom>>>,
    pub settings: Settings,
    pub running: bool,
    /// Paused because the tab is hidden; resumes when it is shown.
    pub auto_paused: bool,
    /// Virtual time owed by real time, below one millisecond. A `Cell`, so that
    /// a frame that owes less than a millisecond changes nothing visible and
    /// returns the same state (yew then skips the redraw).
    carry_ms: Cell<f64>,
    /// How far the last frame wanted virtual time to go. If a disk write held it
    /// back, the confirmation of that write catches up at once, not a frame later.
    target_ms: Cell<u64>,
    pub view: Rc<ClusterView>,
    pub feed: Rc<VecDeque<FeedItem>>,
    pub event_count: u64,
    pub author: String,
    /// Next sequence number of each pane's client (client id = node id).
    next_seq: BTreeMap<NodeId, u64>,
    pub pane_status: Rc<BTreeMap<NodeId, PaneStatus>>,
    pub selection: Selection,
    pub projector: bool,
    pub help: bool,
    /// A message for the user about their last action, if it could not be done.
    pub notice: Option<String>,
    pub storage: StorageState,
    persistence: Rc<Persistence>,
    dispatch: Option<Callback<Action>>,
}

impl PartialEq for AppState {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
    }
}

impl AppState {
    /// The page's first state: storage is being opened, the run waits for it.
    pub fn new(settings: Settings) -> Self {
        Self::build(
            settings,
            None,
            Persistence::new(None, None),
            StorageState::Opening,
            None,
        )
    }

    /// A cluster kept in memory only (no IndexedDB), running at once.
    pub fn in_memory(settings: Settings, why: &str) -> Self {
        let storage = StorageState::Memory {
            why: why.to_string(),
        };
        Self::build(settings, None, Persistence::new(None, None), storage, None)
    }

    /// A cluster from `settings`; its nodes start from `persisted` if given.
    fn build(
        settings: Settings,
        persisted: Option<Vec<(NodeId, PersistedState<ChatCommand>)>>,
        persistence: Rc<Persistence>,
        storage: StorageState,
        dispatch: Option<Callback<Action>>,
    ) -> Self {
        let make = |settings: &Settings| match &persisted {
            Some(nodes) => Simulator::from_nodes(
                settings.sim_config(),
                nodes
                    .iter()
                    .map(|(id, state)| (*id, state.clone()))
                    .collect(),
            ),
            None => Simulator::new(settings.sim_config()),
        };
        let (settings, mut sim) = match make(&settings) {
            Ok(sim) => (settings, sim),
            // Settings come from validated controls or a checked database; fall
            // back to the defaults rather than fail.
            Err(_) => {
                let d = Settings::default();
                let sim = Simulator::new(d.sim_config())
                    .expect("the default cluster configuration is valid");
                (d, sim)
            }
        };
        sim.set_external_disk(persistence.is_attached());
        let mut state = AppState {
            sim: Rc::new(RefCell::new(sim)),
            settings,
            running: true,
            auto_paused: false,
            carry_ms: Cell::new(0.0),
            target_ms: Cell::new(0),
            view: Rc::new(ClusterView::empty()),
            feed: Rc::default(),
            event_count: 0,
            author: "student".into(),
            next_seq: BTreeMap::new(),
            pane_status: Rc::default(),
            selection: Selection::None,
            projector: false,
            help: false,
            notice: None,
            storage,
            persistence,
            dispatch,
        };
        state.refresh();
        state
    }

    /// The cluster saved in `disk`: new (`nodes` is `None`) or restored.
    fn saved_cluster(
        &self,
        cluster: u64,
        disk: Rc<Disk>,
        settings: Settings,
        author: String,
        nodes: Option<Vec<(NodeId, PersistedState<ChatCommand>)>>,
    ) -> AppState {
        let persistence = Persistence::new(Some(disk), self.dispatch.clone());
        let storage = StorageState::Saved {
            cluster,
            usage_bytes: None,
        };
        let mut fresh =
            AppState::build(settings, nodes, persistence, storage, self.dispatch.clone());
        fresh.author = author;
        fresh.carry_over(self);
        fresh
    }

    /// Keeps what the user chose on the page when the cluster is replaced.
    fn carry_over(&mut self, from: &AppState) {
        self.running = from.running;
        self.auto_paused = from.auto_paused;
        self.projector = from.projector;
        self.help = from.help;
    }

    /// Until storage is open the cluster does not start: what happened in it
    /// would be lost when the saved cluster is brought in.
    pub fn starting(&self) -> bool {
        self.storage == StorageState::Opening
    }

    /// Hands the simulator's new durable writes to IndexedDB.
    fn flush_writes(&self) {
        if self.persistence.is_attached() {
            let writes = self.sim.borrow_mut().take_disk_writes();
            self.persistence.submit(writes);
        }
    }

    fn save_meta(&self) {
        self.persistence.save_meta(ClusterMeta {
            schema: SCHEMA_VERSION,
            settings: self.settings.clone(),
            author: self.author.clone(),
            node_ids: self.sim.borrow().node_ids().collect(),
        });
    }

    /// Restarts a node: from IndexedDB when the cluster is saved there.
    fn restart(&mut self, id: NodeId) {
        if self.persistence.is_attached() {
            if self.view.node(id).is_some_and(|n| n.up) {
                self.notice = Some(format!("node {id} is already up"));
                return;
            }
            self.persistence
                .restart_from_disk(id, bootstrap_config(self.settings.nodes, id));
        } else {
            self.command(|sim| sim.restart(id));
        }
    }

    fn crash(&mut self, id: NodeId) {
        self.command(|sim| sim.crash(id));
        self.persistence.discard(id);
    }

    /// Whether the run is waiting for IndexedDB to finish a write.
    pub fn waiting_for_disk(&self) -> Option<NodeId> {
        self.sim.borrow().waiting_for_disk()
    }

    /// A copy sharing the simulator, to be changed and returned by the reducer.
    fn next(&self) -> AppState {
        AppState {
            sim: self.sim.clone(),
            settings: self.settings.clone(),
            running: self.running,
            auto_paused: self.auto_paused,
            carry_ms: Cell::new(self.carry_ms.get()),
            target_ms: Cell::new(self.target_ms.get()),
            view: self.view.clone(),
            feed: self.feed.clone(),
            event_count: self.event_count,
            author: self.author.clone(),
            next_seq: self.next_seq.clone(),
            pane_status: self.pane_status.clone(),
            selection: self.selection,
            projector: self.projector,
            help: self.help,
            notice: self.notice.clone(),
            storage: self.storage.clone(),
            persistence: self.persistence.clone(),
            dispatch: self.dispatch.clone(),
        }
    }

    /// Takes the new events and a new view of the simulator.
    fn refresh(&mut self) {
        let events = self.sim.borrow_mut().take_events();
        // Servers that joined or left: the saved list of nodes follows, and a
        // removed server's records are deleted.
        let mut members_changed = false;
        for e in &events {
            match e.kind {
                raftchat_core::sim::EventKind::NodeAdded { .. } => members_changed = true,
                raftchat_core::sim::EventKind::NodeRetired { node } => {
                    members_changed = true;
                    self.persistence.delete_node(node);
                }
                _ => {}
            }
        }
        if members_changed {
            self.save_meta();
        }
        let sim = self.sim.borrow();
        if !events.is_empty() {
            self.event_count += events.len() as u64;
            let feed = Rc::make_mut(&mut self.feed);
            let mut status = None::<BTreeMap<NodeId, PaneStatus>>;
            for (i, e) in events.iter().enumerate() {
                if let raftchat_core::sim::EventKind::ClientOutcome {
                    node,
                    client,
                    seq,
                    outcome,
                    ..
                } = e.kind
                {
                    if client == node as u64 {
                        let s = status.get_or_insert_with(|| (*self.pane_status).clone());
                        s.insert(
                            node,
                            match outcome {
                                Outcome::Committed { index, .. } => PaneStatus {
                                    text: format!("message {seq} committed at index {index}"),
                                    ok: true,
                                },
                                Outcome::Failed(why) => PaneStatus {
                                    text: format!("message {seq} failed: {why}"),
                                    ok: false,
                                },
                            },
                        );
                    }
                }
                if let raftchat_core::sim::EventKind::ReadDone {
                    node, ref outcome, ..
                } = e.kind
                {
                    let s = status.get_or_insert_with(|| (*self.pane_status).clone());
                    let ok = matches!(outcome, raftchat_core::node::ReadOutcome::Served { .. });
                    s.insert(
                        node,
                        PaneStatus {
                            text: format!("read {}", crate::feed::read_text(outcome)),
                            ok,
                        },
                    );
                }
                if let raftchat_core::sim::EventKind::TransferEnded { outcome, .. } = e.kind {
                    self.notice = Some(crate::feed::transfer_text(outcome));
                }
                if let Some((kind, nodes, text)) = describe(&e.kind) {
                    feed.push_front(FeedItem {
                        seq: self.event_count - (events.len() - i) as u64,
                        at_ms: e.at_ms,
                        kind,
                        nodes,
                        text,
                    });
                }
            }
            feed.truncate(FEED_LEN);
            if let Some(s) = status {
                self.pane_status = Rc::new(s);
            }
        }
        self.view = Rc::new(ClusterView::take(&sim, &self.view));
    }

    /// Applies a command to the simulator; a refused command becomes a notice.
    fn command(&mut self, f: impl FnOnce(&mut Simulator<ChatRoom>) -> Result<(), String>) {
        let result = f(&mut self.sim.borrow_mut());
        if let Err(e) = result {
            self.notice = Some(e);
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

/// Checks a chat message and says why it cannot be sent.
pub fn check_message(author: &str, text: &str) -> Result<ChatCommand, String> {
    ChatCommand::new(author, text)
}

impl Reducible for AppState {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut s = self.next();
        // A notice stays until the user does something else (or closes it);
        // the animation and the disk do not clear it.
        let from_user = !matches!(
            action,
            Action::Frame { .. }
                | Action::Visibility { .. }
                | Action::Durable { .. }
                | Action::StorageUsage(_)
                | Action::RestartFrom { .. }
                | Action::Connect(_)
                | Action::Attach { .. }
                | Action::Restore { .. }
                | Action::DiskUnavailable(_)
                | Action::DiskFailed(_)
                | Action::OpenElsewhere { .. }
        );
        if from_user {
            s.notice = None;
        }
        match action {
            Action::Frame { real_ms } => {
                if !self.running || self.starting() {
                    return self;
                }
                let owed =
                    self.carry_ms.get() + real_ms.clamp(0.0, MAX_FRAME_MS) * self.settings.speed;
                let whole = owed.floor();
                self.carry_ms.set(owed - whole);
                s.carry_ms.set(owed - whole);
                if whole < 1.0 {
                    // Less than a virtual millisecond: nothing can have happened.
                    return self;
                }
                // Owed time stays bounded even if a write keeps virtual time waiting.
                let now = s.view.now_ms;
                let until = s.target_ms.get().clamp(now, now + 100) + whole as u64;
                s.target_ms.set(until);
                s.sim.borrow_mut().run_until(until);
            }
            Action::TogglePlay => {
                s.running = !s.running;
                s.auto_paused = false;
                return Rc::new(s);
            }
            Action::Visibility { hidden } => {
                if hidden && s.running {
                    s.running = false;
                    s.auto_paused = true;
                } else if !hidden && s.auto_paused {
                    s.running = true;
                    s.auto_paused = false;
                } else {
                    return self;
                }
                return Rc::new(s);
            }
            Action::Step if self.starting() => return self,
            Action::Step => {
                s.running = false;
                s.auto_paused = false;
                s.sim.borrow_mut().step();
            }
            Action::Reset { seed, nodes } => {
                let settings = Settings {
                    seed,
                    nodes: nodes.clamp(MIN_NODES, MAX_NODES),
                    ..s.settings.clone()
                };
                let mut fresh = AppState::build(
                    settings,
                    None,
                    Persistence::new(None, s.dispatch.clone()),
                    s.storage.clone(),
                    s.dispatch.clone(),
                );
                fresh.author = s.author;
                fresh.projector = s.projector;
                return Rc::new(fresh);
            }
            Action::SetSpeed(speed) => {
                s.settings.speed = speed.clamp(0.001, 1.0);
                s.save_meta();
                return Rc::new(s);
            }
            Action::SetLatency { min_ms, max_ms } => {
                s.settings.latency_min_ms = min_ms.min(max_ms);
                s.settings.latency_max_ms = max_ms.max(min_ms);
                let net = s.settings.net();
                s.command(|sim| sim.set_net(net));
                s.save_meta();
            }
            Action::SetDropRate(p) => {
                s.settings.drop_rate = p.clamp(0.0, 1.0);
                let net = s.settings.net();
                s.command(|sim| sim.set_net(net));
                s.save_meta();
            }
            Action::SetOptions {
                pre_vote,
                check_quorum,
            } => {
                s.settings.pre_vote = pre_vote;
                s.settings.check_quorum = check_quorum;
                s.sim.borrow_mut().set_options(pre_vote, check_quorum);
                s.save_meta();
            }
            Action::Crash(id) => s.crash(id),
            Action::Restart(id) => s.restart(id),
            Action::CrashLeader => match s.view.leader {
                Some((id, _)) => s.crash(id),
                None => s.notice = Some("there is no leader to crash".into()),
            },
            Action::RestartAll => {
                let down: Vec<NodeId> = s
                    .view
                    .nodes
                    .iter()
                    .filter(|n| !n.up)
                    .map(|n| n.id)
                    .collect();
                if down.is_empty() {
                    s.notice = Some("no node is down".into());
                }
                for id in down {
                    s.restart(id);
                }
            }
            Action::TimeoutNow(id) => s.command(|sim| sim.timeout_now(id)),
            Action::TransferLeadership(id) => s.command(|sim| sim.transfer_leadership(id)),
            Action::AddNode => {
                let added = s.sim.borrow_mut().add_node();
                s.notice = Some(match added {
                    Ok(id) => {
                        format!("node {id} joins: it catches up as a learner, then becomes a voter")
                    }
                    Err(e) => e,
                });
            }
            Action::RemoveNode(id) => s.command(|sim| sim.remove_node(id)),
            Action::Compact(id) => s.command(|sim| sim.compact(id)),
            Action::Read(id) => {
                let status = PaneStatus {
                    text: format!("reading through node {id}…"),
                    ok: true,
                };
                Rc::make_mut(&mut s.pane_status).insert(id, status);
                s.command(|sim| sim.read(id).map(|_| ()));
            }
            Action::Isolate(id) => s.command(|sim| sim.isolate(id)),
            Action::HealNode(id) => s.command(|sim| {
                for other in sim.node_ids().filter(|&o| o != id).collect::<Vec<_>>() {
                    sim.heal_link(id, other)?;
                    sim.heal_link(other, id)?;
                }
                Ok(())
            }),
            Action::CutLink { from, to } => s.command(|sim| sim.cut_link(from, to)),
            Action::HealLink { from, to } => s.command(|sim| sim.heal_link(from, to)),
            Action::HealAll => s.command(|sim| {
                sim.heal_all();
                Ok(())
            }),
            Action::DropMessage(id) => s.command(|sim| sim.drop_message(id)),
            Action::Send { node, .. } if self.starting() => {
                let status = PaneStatus {
                    text: "not sent: storage is still opening; try again in a moment".into(),
                    ok: false,
                };
                Rc::make_mut(&mut s.pane_status).insert(node, status);
                return Rc::new(s);
            }
            Action::Send { node, text } => match check_message(&s.author, &text) {
                Ok(command) => {
                    let seq = s.next_seq.entry(node).or_insert(0);
                    *seq += 1;
                    let request = Request {
                        client: node as u64,
                        seq: *seq,
                        command,
                    };
                    let status = PaneStatus {
                        text: format!("message {} sent through node {node}…", request.seq),
                        ok: true,
                    };
                    Rc::make_mut(&mut s.pane_status).insert(node, status);
                    s.command(|sim| sim.submit(node, request));
                }
                Err(why) => {
                    let status = PaneStatus {
                        text: format!("not sent: {why}"),
                        ok: false,
                    };
                    Rc::make_mut(&mut s.pane_status).insert(node, status);
                    return Rc::new(s);
                }
            },
            Action::SetAuthor(name) => {
                s.author = name;
                s.save_meta();
                return Rc::new(s);
            }
            Action::Select(sel) => {
                s.selection = if s.selection == sel {
                    Selection::None
                } else {
                    sel
                };
                return Rc::new(s);
            }
            Action::ToggleProjector => {
                s.projector = !s.projector;
                return Rc::new(s);
            }
            Action::ToggleHelp => {
                s.help = !s.help;
                return Rc::new(s);
            }
            Action::CloseHelp => {
                s.help = false;
                return Rc::new(s);
            }
            Action::DismissNotice => return Rc::new(s),
            Action::Connect(dispatch) => {
                s.dispatch = Some(dispatch);
                return Rc::new(s);
            }
            Action::Attach {
                cluster,
                disk,
                settings,
                author,
            } => {
                let fresh = s.saved_cluster(cluster, disk, settings, author, None);
                fresh.save_meta();
                fresh.flush_writes();
                return Rc::new(fresh);
            }
            Action::Restore {
                cluster,
                disk,
                settings,
                author,
                nodes,
            } => {
                let count = nodes.len();
                let max_term = nodes.iter().map(|n| n.1.hard_state.term).max().unwrap_or(0);
                let entries: usize = nodes.iter().map(|n| n.1.entries.len()).sum();
                let snapshots = nodes.iter().filter(|n| n.1.snapshot.is_some()).count();
                let mut fresh = s.saved_cluster(cluster, disk, settings, author, Some(nodes));
                fresh.notice = Some(format!(
                    "Restored the saved cluster: {count} nodes, terms up to {max_term}, {entries} log entries and {snapshots} snapshot(s) on disk. Each chat starts from its snapshot and refills as a leader learns what is committed."
                ));
                fresh.flush_writes();
                return Rc::new(fresh);
            }
            Action::DiskUnavailable(why) => {
                s.storage = StorageState::Memory {
                    why: format!(
                        "{why}. The cluster runs in memory: it works, but a reload starts over."
                    ),
                };
                return Rc::new(s);
            }
            Action::DiskFailed(why) => {
                if !s.persistence.is_attached() {
                    return self; // already reported
                }
                s.persistence.detach();
                s.sim.borrow_mut().set_external_disk(false);
                s.storage = StorageState::Memory {
                    why: format!("{why}. The cluster goes on in memory; what happens from now on will not survive a reload."),
                };
            }
            Action::Durable {
                node,
                incarnation,
                write_id,
            } => {
                let mut sim = s.sim.borrow_mut();
                sim.confirm_write(node, incarnation, write_id);
                let behind = sim.now_ms() < s.target_ms.get();
                if self.running && behind && sim.waiting_for_disk().is_none() {
                    sim.run_until(s.target_ms.get());
                }
            }
            Action::RestartFrom { node, persisted } => {
                s.command(|sim| sim.restart_from(node, persisted))
            }
            Action::StorageUsage(bytes) => {
                if let StorageState::Saved { usage_bytes, .. } = &mut s.storage {
                    *usage_bytes = Some(bytes);
                }
                return Rc::new(s);
            }
            Action::OpenElsewhere { cluster } => {
                s.storage = StorageState::Elsewhere { cluster };
                return Rc::new(s);
            }
            Action::OpenOwnCluster => {
                let cluster = crate::boot::new_cluster_id();
                crate::boot::remember_for_this_tab(cluster);
                s.storage = StorageState::Opening;
                if let Some(d) = s.dispatch.clone() {
                    let (settings, author) = (s.settings.clone(), s.author.clone());
                    wasm_bindgen_futures::spawn_local(crate::boot::boot(
                        cluster, settings, author, d,
                    ));
                }
                return Rc::new(s);
            }
            Action::NewCluster { seed, nodes } => {
                let old = match s.storage {
                    StorageState::Saved { cluster, .. } => Some(cluster),
                    _ => None,
                };
                let (Some(old), Some(d)) = (old, s.dispatch.clone()) else {
                    return AppState::reduce(self, Action::Reset { seed, nodes });
                };
                let settings = Settings {
                    seed,
                    nodes: nodes.clamp(MIN_NODES, MAX_NODES),
                    ..s.settings.clone()
                };
                s.persistence.close();
                let author = s.author.clone();
                let mut fresh = AppState::build(
                    settings.clone(),
                    None,
                    Persistence::new(None, s.dispatch.clone()),
                    StorageState::Opening,
                    s.dispatch.clone(),
                );
                fresh.author = author.clone();
                fresh.projector = s.projector;
                wasm_bindgen_futures::spawn_local(async move {
                    let cluster = crate::boot::new_cluster_id();
                    if let Err(e) = crate::boot::wipe(old).await {
                        d.emit(Action::DiskFailed(format!(
                            "the old cluster could not be deleted: {e}"
                        )));
                    }
                    crate::boot::boot(cluster, settings, author, d).await;
                });
                return Rc::new(fresh);
            }
        }
        s.refresh();
        s.flush_writes();
        Rc::new(s)
    }
}
