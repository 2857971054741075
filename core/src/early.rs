//! Followers: AppendEntries that arrive before the batch they follow.
//!
//! A leader in `Replicate` streams batches without waiting for answers, and
//! the network delays each message independently, so batches can arrive out of
//! order. Figure 2 has the follower reject a batch whose `prevLogIndex` it does
//! not hold yet, and the leader then sends everything from there again — over a
//! network whose delays vary more than the gap between sends, most of a stream
//! is rejected and sent again, round after round.
//!
//! So a follower also keeps a copy of such a batch from the leader of its
//! term (once it has accepted one from that leader: before, the leader is
//! still probing, §5.3) and handles the copy as soon as its log reaches the
//! batch's `prevLogIndex`. It still rejects the batch as Figure 2 says; the
//! copy is as if the network had duplicated the message and delivered the
//! duplicate later, which Raft allows, so every rule of Figure 2 applies when
//! the copy is handled. The leader then needs to send again only the batch
//! that made the hole (`Progress::fill_hole`), not everything after it. TCP's
//! receive buffer does the same for segments. A full buffer holds nothing more.

use crate::types::{Index, Message, MessageBody, Term};
use std::collections::VecDeque;

/// The most batches a follower holds (each at most the leader's
/// `max_entries_per_append` entries).
pub const MAX_EARLY_APPENDS: usize = 256;

#[derive(Clone, Debug)]
pub struct EarlyAppends<C> {
    /// Sorted by `prevLogIndex`, one batch per point. (At most 256, taken
    /// from the front: a sorted queue, not a `BTreeMap`, whose code would
    /// add about a kilobyte to the page's wasm for no gain at this size.)
    held: VecDeque<(Index, Message<C>)>,
}

impl<C> Default for EarlyAppends<C> {
    fn default() -> Self {
        EarlyAppends {
            held: VecDeque::new(),
        }
    }
}

fn entries_in<C>(m: &Message<C>) -> usize {
    match &m.body {
        MessageBody::AppendEntries { entries, .. } => entries.len(),
        _ => 0,
    }
}

impl<C> EarlyAppends<C> {
    /// Holds an AppendEntries that begins after `prev_log_index`; false when
    /// the buffer is full (it is not held). Of two held for the same point,
    /// the one with more entries stays (a duplicate changes nothing).
    pub fn hold(&mut self, prev_log_index: Index, msg: Message<C>) -> bool {
        match self
            .held
            .binary_search_by_key(&prev_log_index, |(at, _)| *at)
        {
            Ok(i) => {
                if entries_in(&msg) > entries_in(&self.held[i].1) {
                    self.held[i].1 = msg;
                }
                true
            }
            Err(_) if self.held.len() >= MAX_EARLY_APPENDS => false,
            Err(i) => {
                self.held.insert(i, (prev_log_index, msg));
                true
            }
        }
    }

    /// The held batch that now follows the log (it begins at or before
    /// `last_index + 1`), if any, taken out of the buffer. Batches of another
    /// term than `term` are dropped on the way (as if lost).
    pub fn next_ready(&mut self, last_index: Index, term: Term) -> Option<Message<C>> {
        while self.held.front()?.0 <= last_index {
            let (_, msg) = self.held.pop_front()?;
            if msg.term == term {
                return Some(msg);
            }
        }
        None
    }

    /// The prevLogIndex of the earliest batch held.
    pub fn first_held(&self) -> Option<Index> {
        self.held.front().map(|(at, _)| *at)
    }

    pub fn clear(&mut self) {
        self.held.clear();
    }

    pub fn len(&self) -> usize {
        self.held.len()
    }

    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Entry, Payload};

    fn append(term: Term, prev: Index, n: u64) -> Message<String> {
        Message {
            from: 1,
            to: 2,
            term,
            body: MessageBody::AppendEntries {
                prev_log_index: prev,
                prev_log_term: term,
                entries: (1..=n)
                    .map(|i| Entry {
                        index: prev + i,
                        term,
                        payload: Payload::Noop,
                    })
                    .collect(),
                leader_commit: 0,
            },
        }
    }

    #[test]
    fn batches_come_out_in_order_once_the_log_reaches_them() {
        let mut early = EarlyAppends::default();
        assert!(early.hold(7, append(2, 7, 1)));
        assert!(early.hold(5, append(2, 5, 2)));
        assert_eq!(early.next_ready(4, 2), None, "the log ends before both");
        let m = early.next_ready(5, 2).expect("the batch after 5");
        assert_eq!(entries_in(&m), 2);
        assert_eq!(early.next_ready(6, 2), None);
        assert!(early.next_ready(7, 2).is_some());
        assert!(early.is_empty());
    }

    #[test]
    fn a_duplicate_keeps_the_longer_batch_and_another_term_is_dropped() {
        let mut early = EarlyAppends::default();
        assert!(early.hold(3, append(2, 3, 1)));
        assert!(early.hold(3, append(2, 3, 4)));
        assert!(early.hold(3, append(2, 3, 2)));
        assert_eq!(early.len(), 1);
        assert_eq!(entries_in(&early.next_ready(3, 2).unwrap()), 4);
        assert!(early.hold(4, append(1, 4, 1)));
        assert_eq!(early.next_ready(9, 2), None, "term 1's batch is dropped");
        assert!(early.is_empty());
    }

    /// The sorted queue against the map it replaced (the rule as first
    /// written, with a `BTreeMap`), on random holds and takes.
    #[test]
    fn it_holds_and_hands_out_what_a_map_by_prev_log_index_would() {
        use std::collections::BTreeMap;
        let mut rng = crate::rng::Rng::new(7);
        for _ in 0..200 {
            let mut early = EarlyAppends::default();
            let mut model: BTreeMap<Index, Message<String>> = BTreeMap::new();
            for _ in 0..400 {
                if rng.chance(0.7) {
                    let prev = rng.uniform(0, 300);
                    let msg = append(rng.uniform(1, 3), prev, rng.uniform(1, 4));
                    let held = match model.get(&prev) {
                        Some(m) if entries_in(m) >= entries_in(&msg) => true,
                        Some(_) => model.insert(prev, msg.clone()).is_some(),
                        None if model.len() >= MAX_EARLY_APPENDS => false,
                        None => model.insert(prev, msg.clone()).is_none(),
                    };
                    assert_eq!(early.hold(prev, msg), held);
                } else {
                    let (last, term) = (rng.uniform(0, 300), rng.uniform(1, 3));
                    let expected = loop {
                        let Some(entry) = model.first_entry() else {
                            break None;
                        };
                        if *entry.key() > last {
                            break None;
                        }
                        let m = entry.remove();
                        if m.term == term {
                            break Some(m);
                        }
                    };
                    assert_eq!(early.next_ready(last, term), expected);
                }
                assert_eq!(early.len(), model.len());
                assert_eq!(early.first_held(), model.keys().next().copied());
            }
        }
    }

    #[test]
    fn a_full_buffer_holds_nothing_more() {
        let mut early = EarlyAppends::default();
        for prev in 0..MAX_EARLY_APPENDS as Index {
            assert!(early.hold(10 + prev, append(2, 10 + prev, 1)));
        }
        assert!(!early.hold(5, append(2, 5, 1)));
        assert!(early.hold(10, append(2, 10, 1)), "a duplicate still fits");
        assert_eq!(early.len(), MAX_EARLY_APPENDS);
    }
}
