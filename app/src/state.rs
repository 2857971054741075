//! The page's state: the simulated cluster and what the components read of it.
//! One-way data flow: actions → reducer → simulator; the simulator → a read-only
//! snapshot → components. Components never touch node state directly.

use raftchat_core::sim::{SimConfig, Simulator};
use raftchat_core::{ChatRoom, NodeId, Role, Term};
use std::cell::RefCell;
use std::rc::Rc;
use yew::Reducible;

/// Virtual milliseconds per real millisecond: slow enough to follow by eye.
pub const DEFAULT_SPEED: f64 = 0.1;

/// What the page shows of one node.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeSnapshot {
    pub id: NodeId,
    pub up: bool,
    pub role: Role,
    pub term: Term,
    pub commit_index: u64,
    pub log_len: u64,
}

pub struct ClusterState {
    /// Shared between successive states; only the reducer mutates it.
    sim: Rc<RefCell<Simulator<ChatRoom>>>,
    pub seed: u64,
    pub running: bool,
    pub now_ms: u64,
    pub nodes: Vec<NodeSnapshot>,
    pub leader: Option<(NodeId, Term)>,
}

impl PartialEq for ClusterState {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
    }
}

pub enum Action {
    /// Real time has passed: advance virtual time by `virtual_ms`.
    Advance {
        virtual_ms: u64,
    },
    TogglePlay,
    Reset {
        seed: u64,
    },
    Crash(NodeId),
    Restart(NodeId),
}

impl ClusterState {
    pub fn new(seed: u64) -> Self {
        let cfg = SimConfig {
            seed,
            ..SimConfig::default()
        };
        // The default configuration is valid; a failure here is a programming error.
        let sim = Simulator::new(cfg).expect("the default cluster configuration is valid");
        Self::snapshot(Rc::new(RefCell::new(sim)), seed, true)
    }

    fn snapshot(sim: Rc<RefCell<Simulator<ChatRoom>>>, seed: u64, running: bool) -> Self {
        let (now_ms, nodes, leader) = {
            let mut sim = sim.borrow_mut();
            sim.take_events(); // the event feed arrives with the full interface
            let nodes: Vec<NodeSnapshot> = sim
                .node_ids()
                .filter_map(|id| sim.node(id))
                .map(|v| match v.node {
                    Some(n) => NodeSnapshot {
                        id: v.id,
                        up: true,
                        role: n.raft().role(),
                        term: n.raft().term(),
                        commit_index: n.raft().commit_index(),
                        log_len: n.raft().log().last_index(),
                    },
                    None => NodeSnapshot {
                        id: v.id,
                        up: false,
                        role: Role::Follower,
                        term: 0,
                        commit_index: 0,
                        log_len: 0,
                    },
                })
                .collect();
            let leader = sim.leader().map(|id| {
                let term = nodes.iter().find(|n| n.id == id).map_or(0, |n| n.term);
                (id, term)
            });
            (sim.now_ms(), nodes, leader)
        };
        ClusterState {
            sim,
            seed,
            running,
            now_ms,
            nodes,
            leader,
        }
    }
}

impl Reducible for ClusterState {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        match action {
            Action::Reset { seed } => Rc::new(ClusterState::new(seed)),
            Action::TogglePlay => Rc::new(ClusterState::snapshot(
                self.sim.clone(),
                self.seed,
                !self.running,
            )),
            Action::Crash(id) | Action::Restart(id) => {
                let result = {
                    let mut sim = self.sim.borrow_mut();
                    match action {
                        Action::Crash(_) => sim.crash(id),
                        _ => sim.restart(id),
                    }
                };
                // A click on a node that already changed state does nothing.
                if result.is_err() {
                    return self;
                }
                Rc::new(ClusterState::snapshot(
                    self.sim.clone(),
                    self.seed,
                    self.running,
                ))
            }
            Action::Advance { virtual_ms } => {
                if !self.running || virtual_ms == 0 {
                    return self;
                }
                let until = self.now_ms + virtual_ms;
                self.sim.borrow_mut().run_until(until);
                Rc::new(ClusterState::snapshot(self.sim.clone(), self.seed, true))
            }
        }
    }
}
