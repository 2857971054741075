//! The leader's view of each follower (Figure 2, "Volatile state on leaders").

use crate::types::Index;
use serde::{Deserialize, Serialize};

/// How the leader is sending to a follower (as in etcd's progress tracker).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProgressState {
    /// The follower's matching point is unknown: send one AppendEntries at a time and
    /// back off on rejection (§5.3).
    Probe,
    /// The follower is known to match: stream entries, advancing `next` optimistically.
    Replicate,
    /// The follower needs entries the leader has compacted away: send it the
    /// snapshot at `index`, one chunk at a time; `offset` bytes are acknowledged.
    Snapshot { index: Index, offset: u64 },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// Index of the next entry to send to that server (initialised to leader's last log index + 1).
    pub next_index: Index,
    /// Index of the highest entry known to be replicated on that server (initialised to 0).
    pub match_index: Index,
    pub state: ProgressState,
    /// In `Probe` (or `Snapshot`): an AppendEntries (or a chunk) is out and
    /// unanswered; wait for its reply or the next heartbeat.
    pub paused: bool,
}

impl Progress {
    pub fn new(last_index: Index) -> Self {
        Progress {
            next_index: last_index + 1,
            match_index: 0,
            state: ProgressState::Probe,
            paused: false,
        }
    }
}
