//! The page's state. The simulator is changed only here, by [`Action`]s; after
//! every change a fresh read-only [`ClusterView`] is taken for the components.

use crate::feed::{describe, FeedItem};
use crate::view::ClusterView;
use raftchat_core::chat::ChatCommand;
use raftchat_core::sim::{NetConfig, SimConfig, Simulator, MAX_NODES};
use raftchat_core::{ChatRoom, NodeId, Outcome, Request};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;
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
    Crash(NodeId),
    Restart(NodeId),
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
}

impl PartialEq for AppState {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
    }
}

impl AppState {
    pub fn new(settings: Settings) -> Self {
        let sim = Simulator::new(settings.sim_config()).unwrap_or_else(|_| {
            // Settings come from validated controls; fall back to the defaults.
            Simulator::new(Settings::default().sim_config())
                .expect("the default cluster configuration is valid")
        });
        let mut state = AppState {
            sim: Rc::new(RefCell::new(sim)),
            settings,
            running: true,
            auto_paused: false,
            carry_ms: Cell::new(0.0),
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
        };
        state.refresh();
        state
    }

    /// A copy sharing the simulator, to be changed and returned by the reducer.
    fn next(&self) -> AppState {
        AppState {
            sim: self.sim.clone(),
            settings: self.settings.clone(),
            running: self.running,
            auto_paused: self.auto_paused,
            carry_ms: Cell::new(self.carry_ms.get()),
            view: self.view.clone(),
            feed: self.feed.clone(),
            event_count: self.event_count,
            author: self.author.clone(),
            next_seq: self.next_seq.clone(),
            pane_status: self.pane_status.clone(),
            selection: self.selection,
            projector: self.projector,
            help: self.help,
            notice: None,
        }
    }

    /// Takes the new events and a new view of the simulator.
    fn refresh(&mut self) {
        let mut sim = self.sim.borrow_mut();
        let events = sim.take_events();
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

/// Checks a chat message and says why it cannot be sent.
pub fn check_message(author: &str, text: &str) -> Result<ChatCommand, String> {
    ChatCommand::new(author, text)
}

impl Reducible for AppState {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut s = self.next();
        match action {
            Action::Frame { real_ms } => {
                if !self.running {
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
                let until = s.view.now_ms + whole as u64;
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
                let mut fresh = AppState::new(settings);
                fresh.author = s.author;
                fresh.projector = s.projector;
                return Rc::new(fresh);
            }
            Action::SetSpeed(speed) => {
                s.settings.speed = speed.clamp(0.001, 1.0);
                return Rc::new(s);
            }
            Action::SetLatency { min_ms, max_ms } => {
                s.settings.latency_min_ms = min_ms.min(max_ms);
                s.settings.latency_max_ms = max_ms.max(min_ms);
                let net = s.settings.net();
                s.command(|sim| sim.set_net(net));
            }
            Action::SetDropRate(p) => {
                s.settings.drop_rate = p.clamp(0.0, 1.0);
                let net = s.settings.net();
                s.command(|sim| sim.set_net(net));
            }
            Action::Crash(id) => s.command(|sim| sim.crash(id)),
            Action::Restart(id) => s.command(|sim| sim.restart(id)),
            Action::CrashLeader => s.command(|sim| match sim.leader() {
                Some(id) => sim.crash(id),
                None => Err("there is no leader to crash".into()),
            }),
            Action::RestartAll => s.command(|sim| {
                let down: Vec<NodeId> = sim
                    .node_ids()
                    .filter(|&id| sim.node(id).is_some_and(|v| !v.is_up()))
                    .collect();
                if down.is_empty() {
                    return Err("no node is down".into());
                }
                down.into_iter().try_for_each(|id| sim.restart(id))
            }),
            Action::TimeoutNow(id) => s.command(|sim| sim.timeout_now(id)),
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
        }
        s.refresh();
        Rc::new(s)
    }
}
