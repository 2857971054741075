//! The leader's view of each follower (Figure 2, "Volatile state on leaders").

use crate::types::Index;
use serde::{Deserialize, Serialize};

/// The most AppendEntries a leader keeps unanswered to a follower in
/// `Replicate`, in batches (etcd's `MaxInflightMsgs`): `next_index` runs at
/// most this many batches ahead of `match_index`. As many as a follower holds
/// when they arrive out of order (see `early`), so that a stream reordered on
/// its way is held whole, not rejected.
pub const MAX_INFLIGHT_APPENDS: u64 = crate::early::MAX_EARLY_APPENDS as u64;

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
    /// In `Replicate`, the last hole sent again (see [`Progress::fill_hole`]):
    /// where it begins (the follower's end + 1, from a gap rejection), the
    /// last entry sent again for it, and `next_index` at that moment (every
    /// batch that begins at or after `resent_end` went out after it).
    #[serde(default)]
    pub resent_from: Index,
    #[serde(default)]
    pub resent_to: Index,
    #[serde(default)]
    pub resent_end: Index,
    /// `match_index` at the last heartbeat: a follower in `Replicate` that
    /// acknowledged nothing for a whole heartbeat interval, with entries out,
    /// is sent the first of them again, and an empty AppendEntries after the
    /// last (whose rejection, if any, names the hole).
    #[serde(default)]
    pub match_at_heartbeat: Index,
}

impl Progress {
    pub fn new(last_index: Index) -> Self {
        Progress {
            next_index: last_index + 1,
            match_index: 0,
            state: ProgressState::Probe,
            paused: false,
            resent_from: 0,
            resent_to: 0,
            resent_end: 0,
            match_at_heartbeat: 0,
        }
    }

    /// Enters `Replicate` (from a probe's success, or a snapshot's end):
    /// stream from `match_index + 1`.
    pub fn start_replicating(&mut self) {
        self.state = ProgressState::Replicate;
        self.paused = false;
        self.next_index = self.match_index + 1;
        self.resent_from = self.next_index;
        self.resent_to = self.match_index;
        self.resent_end = self.next_index;
    }

    /// In `Replicate`, a gap rejection: the follower's log ends at `end - 1`,
    /// before the rejected batch's `prev_log_index`, and it keeps the batches
    /// from `held` on for later (see `early`). Returns the entries to send
    /// again: the hole, `end ..= held` (keeping none: everything from `end`
    /// sent so far), less what was already sent again for the same hole — or
    /// `None` when the rejection tells nothing new: the follower has
    /// acknowledged more since, or it answers a batch sent before this hole
    /// was sent again. So each entry is sent again at most once per hole the
    /// follower reports, never the backlog per rejection.
    pub fn fill_hole(
        &mut self,
        end: Index,
        held: Option<Index>,
        prev_log_index: Index,
    ) -> Option<(Index, Index)> {
        // Sent after the last resend: the follower still lacked `end` then.
        let sent_since = prev_log_index + 1 >= self.resent_end;
        let same_hole = end == self.resent_from;
        // A hole before the last one is news only from a batch sent since (a
        // follower that restarted and lost what it had not yet written).
        if end <= self.match_index || (!sent_since && end <= self.resent_from) {
            return None;
        }
        let to = held.unwrap_or(Index::MAX).min(self.next_index - 1);
        let from = if same_hole {
            end.max(self.resent_to + 1)
        } else {
            end
        };
        if !same_hole {
            self.resent_from = end;
            self.resent_to = end - 1;
        }
        self.resent_end = self.next_index;
        if from > to {
            return None;
        }
        self.resent_to = to;
        Some((from, to))
    }

    /// Whether `Replicate` may send another batch that begins at `next_index`:
    /// there is one (`last_index`), and the window of unanswered batches is not full.
    pub fn may_stream(&self, last_index: Index, max_entries_per_append: usize) -> bool {
        let window = MAX_INFLIGHT_APPENDS * max_entries_per_append as u64;
        self.next_index <= last_index && self.next_index <= self.match_index + window
    }
}
