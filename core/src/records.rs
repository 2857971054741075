//! A list of records that keeps its latest ones: positions count from the first
//! record ever pushed, and the oldest records go once there are many. The
//! simulator's client history, acknowledgements and reads, and the replicas'
//! applied records, are kept this way so that memory stays bounded however long
//! a run goes; a reader (the checker) remembers its position and asks for what
//! came after it.

use std::collections::VecDeque;

#[derive(Clone, Debug)]
pub struct Records<T> {
    items: VecDeque<T>,
    /// How many records were dropped before `items`.
    start: u64,
    /// At least this many records are kept (and every one not yet done).
    window: usize,
}

impl<T> Records<T> {
    pub fn new(window: usize) -> Self {
        Records {
            items: VecDeque::new(),
            start: 0,
            window,
        }
    }
    /// The position after the last record.
    pub fn end(&self) -> u64 {
        self.start + self.items.len() as u64
    }
    /// The position of the first record kept.
    pub fn start(&self) -> u64 {
        self.start
    }
    /// How many records are kept.
    pub fn len(&self) -> usize {
        self.items.len()
    }
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
    pub fn last(&self) -> Option<&T> {
        self.items.back()
    }
    pub fn get(&self, pos: u64) -> Option<&T> {
        self.items.get(pos.checked_sub(self.start)? as usize)
    }
    pub(crate) fn get_mut(&mut self, pos: u64) -> Option<&mut T> {
        self.items.get_mut(pos.checked_sub(self.start)? as usize)
    }
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &T> + ExactSizeIterator {
        self.items.iter()
    }
    /// The records from position `from` on, or `None` if some were dropped.
    pub fn since(&self, from: u64) -> Option<impl Iterator<Item = &T>> {
        let skip = from.checked_sub(self.start)?;
        Some(self.items.iter().skip(skip as usize))
    }
    pub(crate) fn push(&mut self, item: T) {
        self.items.push_back(item);
    }
    pub(crate) fn extend(&mut self, items: impl IntoIterator<Item = T>) {
        self.items.extend(items);
    }
    /// Past twice the window, drops the oldest records that are `done`, down
    /// to the window (so the cost is amortised).
    pub(crate) fn trim(&mut self, done: impl Fn(&T) -> bool) {
        if self.items.len() < 2 * self.window {
            return;
        }
        while self.items.len() > self.window && self.items.front().is_some_and(&done) {
            self.items.pop_front();
            self.start += 1;
        }
    }
}

impl<'a, T> IntoIterator for &'a Records<T> {
    type Item = &'a T;
    type IntoIter = std::collections::vec_deque::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}

impl<T> std::ops::Index<usize> for Records<T> {
    type Output = T;
    /// The `i`-th record kept (not the `i`-th ever pushed).
    fn index(&self, i: usize) -> &T {
        &self.items[i]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_keep_the_window_and_every_open_one_with_absolute_positions() {
        let mut r = Records::new(4);
        for i in 0..20u64 {
            r.push(i);
            // Record 2 stays open: nothing before it may go.
            r.trim(|&x| x != 2);
        }
        assert_eq!((r.start(), r.end()), (2, 20));
        if let Some(x) = r.get_mut(2) {
            *x = 100;
        }
        for i in 20..30u64 {
            r.push(i);
            r.trim(|&x| x != 2);
        }
        assert!(r.len() < 8, "{} kept", r.len());
        assert_eq!(r.end(), 30);
        assert_eq!(r.get(29), Some(&29));
        assert!(r.get(2).is_none() && r.since(2).is_none());
        assert_eq!(
            r.since(28).unwrap().copied().collect::<Vec<_>>(),
            vec![28, 29]
        );
    }
}
