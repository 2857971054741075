//! raftchat-core: a sans-IO Raft core, the chat state machine, a deterministic
//! simulator and an invariant checker.
//!
//! Reading guide, with the paper's Figure 2 at hand:
//! - [`types`]: ids, entries, messages (the RPC arguments and results).
//! - [`log`]: the log and the up-to-date rule (§5.4.1).
//! - [`raft`]: the state machine; one handler per RPC and per role.
//! - [`progress`]: the leader's nextIndex/matchIndex.
//! - [`storage`]: what is persisted, and the `Storage` trait.
//! - [`state_machine`], [`chat`]: applying committed entries exactly once.
//! - [`node`]: Raft + replica + client requests, as a driver runs them.
//! - [`recipe`]: a run as its settings and timed commands; [`timeline`]:
//!   checkpoints, seeking and branches over a recipe; [`lesson`]: guided
//!   lessons (a recipe, and where to stop and what to say).
//! - [`sim`]: the deterministic simulator; [`checker`]: the invariants;
//!   [`campaign`]: randomized fault runs; [`records`]: the bounded record
//!   lists they read from; [`packed`]: the binary form of snapshot records.

pub mod bugs;
pub mod campaign;
pub mod chat;
pub mod checker;
pub mod early;
pub mod experiment;
pub mod lesson;
pub mod log;
pub mod node;
pub mod node_map;
pub mod packed;
pub mod plot;
pub mod progress;
pub mod raft;
pub mod recipe;
pub mod records;
pub mod rng;
pub mod sim;
pub mod state_machine;
pub mod storage;
pub mod timeline;
pub mod types;

pub use chat::{ChatCommand, ChatMessage, ChatRoom};
pub use raft::{Config, Raft, Ready};
pub use sim::{Command, Event, EventKind, NetConfig, SimConfig, Simulator};
pub use types::*;
