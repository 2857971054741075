//! The in-memory Raft log. It may start after index 0 (the prefix covered by a
//! snapshot), so every lookup goes through `first_index`/`last_index`.

use crate::types::{ConflictHint, Entry, Index, Membership, NodeId, Payload, Term};

#[derive(Clone, Debug)]
pub struct RaftLog<C> {
    /// Index and term of the last entry covered by the snapshot (0, 0 without one).
    base_index: Index,
    base_term: Term,
    /// Membership as of `base_index`.
    base_config: Membership,
    /// Entries `base_index + 1 ..= last_index`.
    entries: Vec<Entry<C>>,
    /// Indexes of the configuration entries in `entries`, oldest first.
    config_indexes: Vec<Index>,
    /// How many times entries were removed from the end (a conflicting
    /// suffix): while it stands still, the log has only grown at the end
    /// (the checker compares only what is new).
    truncations: u64,
}

impl<C: Clone> RaftLog<C> {
    pub fn new(
        base_index: Index,
        base_term: Term,
        base_config: Membership,
        entries: Vec<Entry<C>>,
    ) -> Self {
        let mut log = RaftLog {
            base_index,
            base_term,
            base_config,
            entries: Vec::new(),
            config_indexes: Vec::new(),
            truncations: 0,
        };
        for e in entries {
            log.push(e);
        }
        log
    }

    pub fn first_index(&self) -> Index {
        self.base_index + 1
    }

    pub fn last_index(&self) -> Index {
        self.base_index + self.entries.len() as Index
    }

    pub fn last_term(&self) -> Term {
        self.entries.last().map_or(self.base_term, |e| e.term)
    }

    pub fn base(&self) -> (Index, Term) {
        (self.base_index, self.base_term)
    }

    /// The term of the entry at `index`; `None` if the log does not hold it
    /// (beyond the end, or compacted away).
    pub fn term(&self, index: Index) -> Option<Term> {
        if index == self.base_index {
            Some(self.base_term)
        } else {
            self.entry(index).map(|e| e.term)
        }
    }

    pub fn entry(&self, index: Index) -> Option<&Entry<C>> {
        if index <= self.base_index {
            return None;
        }
        self.entries.get((index - self.base_index - 1) as usize)
    }

    pub fn entries(&self) -> &[Entry<C>] {
        &self.entries
    }

    /// Entries `from ..= to`, at most `max` of them.
    pub fn slice(&self, from: Index, to: Index, max: usize) -> Vec<Entry<C>> {
        if from > to || from <= self.base_index {
            return Vec::new();
        }
        let lo = (from - self.base_index - 1) as usize;
        let hi = ((to - self.base_index) as usize).min(self.entries.len());
        let hi = hi.min(lo.saturating_add(max));
        self.entries
            .get(lo..hi)
            .map(<[_]>::to_vec)
            .unwrap_or_default()
    }

    /// §5.4.1: is a log ending at (`last_index`, `last_term`) at least as up-to-date
    /// as this one? Compare last terms first, then lengths.
    pub fn is_up_to_date(&self, last_index: Index, last_term: Term) -> bool {
        last_term > self.last_term()
            || (last_term == self.last_term() && last_index >= self.last_index())
    }

    pub fn push(&mut self, entry: Entry<C>) {
        debug_assert_eq!(
            entry.index,
            self.last_index() + 1,
            "log entries are contiguous"
        );
        // Terms never decrease along a log — unless a bug switch broke a rule
        // (`keep-conflicting-suffix`); the checker's Log Matching then reports it.
        if matches!(entry.payload, Payload::Config(_)) {
            self.config_indexes.push(entry.index);
        }
        self.entries.push(entry);
    }

    /// Removes the entries from `index` on (a conflicting suffix, §5.3).
    /// See the `truncations` field: bumped by every [`RaftLog::truncate_from`].
    pub fn truncations(&self) -> u64 {
        self.truncations
    }

    pub fn truncate_from(&mut self, index: Index) {
        self.truncations += 1;
        debug_assert!(index > self.base_index, "cannot truncate a snapshot");
        self.entries
            .truncate(index.saturating_sub(self.base_index + 1) as usize);
        while self.config_indexes.last().is_some_and(|&i| i >= index) {
            self.config_indexes.pop();
        }
    }

    /// Drops the entries up to `index` (now covered by a snapshot): the log then
    /// starts after (`index`, `term`), with `config` in effect at `index`.
    /// Entries after `index` are kept; if the log was shorter, it becomes empty.
    pub fn compact(&mut self, index: Index, term: Term, config: Membership) {
        debug_assert!(index >= self.base_index, "a snapshot never moves back");
        let drop = (index - self.base_index).min(self.entries.len() as Index) as usize;
        self.entries.drain(..drop);
        self.config_indexes.retain(|&i| i > index);
        self.base_index = index;
        self.base_term = term;
        self.base_config = config;
    }

    /// The configuration in effect at `index` (the latest one at or before it).
    pub fn config_at(&self, index: Index) -> &Membership {
        let latest = self.config_indexes.iter().rev().find(|&&i| i <= index);
        match latest.and_then(|&i| self.entry(i)) {
            Some(Entry {
                payload: Payload::Config(m),
                ..
            }) => m,
            _ => &self.base_config,
        }
    }

    /// Whether `id` is a voter of the configuration in effect at `index`, or
    /// of any configuration the log holds after it.
    pub fn voter_at_or_after(&self, index: Index, id: NodeId) -> bool {
        self.config_at(index).contains(id)
            || self
                .config_indexes
                .iter()
                .filter(|&&i| i > index)
                .any(|&i| match self.entry(i) {
                    Some(Entry {
                        payload: Payload::Config(m),
                        ..
                    }) => m.contains(id),
                    _ => false,
                })
    }

    /// The index of the latest configuration entry in the log, if any is (the
    /// one in effect may be uncommitted, thesis §4.1).
    pub fn last_config_index(&self) -> Option<Index> {
        self.config_indexes.last().copied()
    }

    /// The configuration in effect: the latest one in the log, whether committed or
    /// not (thesis §4.1).
    pub fn config(&self) -> &Membership {
        match self.config_indexes.last().and_then(|&i| self.entry(i)) {
            Some(Entry {
                payload: Payload::Config(m),
                ..
            }) => m,
            _ => &self.base_config,
        }
    }

    /// The follower's side of fast back-off: for a rejected `prev_log_index`, the
    /// conflicting term and the first index this log holds for it.
    pub fn conflict_hint(&self, prev_log_index: Index) -> ConflictHint {
        match self.term(prev_log_index) {
            None if prev_log_index > self.last_index() => ConflictHint {
                term: None,
                index: self.last_index() + 1,
                held: None,
            },
            // Compacted away: the prefix up to the snapshot is committed, so the leader
            // can resume after it.
            None => ConflictHint {
                term: None,
                index: self.base_index + 1,
                held: None,
            },
            Some(term) => {
                let mut first = prev_log_index;
                while first > self.first_index() && self.term(first - 1) == Some(term) {
                    first -= 1;
                }
                ConflictHint {
                    term: Some(term),
                    index: first,
                    held: None,
                }
            }
        }
    }

    /// The leader's side of fast back-off: the last index at which this log holds
    /// `term`, if any.
    pub fn last_index_of_term(&self, term: Term) -> Option<Index> {
        self.entries
            .iter()
            .rev()
            .skip_while(|e| e.term > term)
            .take_while(|e| e.term == term)
            .map(|e| e.index)
            .next()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(terms: &[Term]) -> RaftLog<()> {
        let entries = terms
            .iter()
            .enumerate()
            .map(|(i, &term)| Entry {
                index: i as Index + 1,
                term,
                payload: Payload::Noop,
            })
            .collect();
        RaftLog::new(0, 0, Membership::new([1, 2, 3]), entries)
    }

    #[test]
    fn up_to_date_compares_last_term_then_length() {
        // §5.4.1: "If the logs have last entries with different terms, then the log
        // with the later term is more up-to-date. If the logs end with the same term,
        // then whichever log is longer is more up-to-date."
        let l = log(&[1, 1, 3, 3, 3]);
        assert!(l.is_up_to_date(5, 3));
        assert!(l.is_up_to_date(6, 3));
        assert!(!l.is_up_to_date(4, 3));
        assert!(!l.is_up_to_date(10, 2));
        assert!(l.is_up_to_date(1, 4));
    }

    #[test]
    fn conflict_hint_names_first_index_of_conflicting_term() {
        let l = log(&[1, 1, 2, 2, 2, 3]);
        assert_eq!(
            l.conflict_hint(5),
            ConflictHint {
                term: Some(2),
                index: 3,
                held: None,
            }
        );
        assert_eq!(
            l.conflict_hint(9),
            ConflictHint {
                term: None,
                index: 7,
                held: None,
            }
        );
        assert_eq!(l.last_index_of_term(2), Some(5));
        assert_eq!(l.last_index_of_term(4), None);
        assert_eq!(l.last_index_of_term(1), Some(2));
    }

    #[test]
    fn log_can_start_after_a_snapshot() {
        let e = |index, term| Entry {
            index,
            term,
            payload: Payload::<()>::Noop,
        };
        let l = RaftLog::new(10, 4, Membership::new([1]), vec![e(11, 4), e(12, 5)]);
        assert_eq!(
            (l.first_index(), l.last_index(), l.last_term()),
            (11, 12, 5)
        );
        assert_eq!(l.term(10), Some(4));
        assert_eq!(l.term(9), None);
        assert_eq!(l.slice(11, 12, 10).len(), 2);
        assert_eq!(l.slice(5, 12, 10).len(), 0);
    }

    #[test]
    fn compaction_keeps_the_suffix_and_the_configuration() {
        let mut l = log(&[1, 1, 2]);
        l.push(Entry {
            index: 4,
            term: 2,
            payload: Payload::Config(Box::new(Membership::new([1, 2]))),
        });
        l.push(Entry {
            index: 5,
            term: 3,
            payload: Payload::Noop,
        });
        let at4 = l.config_at(4).clone();
        l.compact(4, 2, at4);
        assert_eq!((l.first_index(), l.last_index()), (5, 5));
        assert_eq!(l.term(4), Some(2));
        assert_eq!(l.term(3), None);
        assert_eq!(l.config(), &Membership::new([1, 2]));
        // A snapshot past the end leaves an empty log starting after it.
        l.compact(9, 4, Membership::new([1]));
        assert_eq!((l.first_index(), l.last_index(), l.last_term()), (10, 9, 4));
    }

    #[test]
    fn truncation_forgets_configuration_entries_in_the_suffix() {
        let mut l = log(&[1, 1]);
        l.push(Entry {
            index: 3,
            term: 2,
            payload: Payload::Config(Box::new(Membership::new([1, 2]))),
        });
        assert_eq!(l.config(), &Membership::new([1, 2]));
        l.truncate_from(3);
        assert_eq!(l.config(), &Membership::new([1, 2, 3]));
        assert_eq!(l.last_index(), 2);
    }
}
