//! A map keyed by node id, for the handful of nodes a cluster has (at most
//! [`crate::sim::MAX_NODES`] in the simulator): a list searched in turn.
//!
//! Lookups by key only: it has no order to iterate in. It exists for the
//! page's wasm, whose size is budgeted (300 KB gzipped): each `BTreeMap` of
//! new key and value types brings its own copy of the B-tree code, about a
//! kilobyte gzipped each, where a list costs a few dozen instructions.

use crate::types::NodeId;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeMap<V>(Vec<(NodeId, V)>);

impl<V> Default for NodeMap<V> {
    fn default() -> Self {
        NodeMap(Vec::new())
    }
}

impl<V> NodeMap<V> {
    fn position(&self, node: NodeId) -> Option<usize> {
        self.0.iter().position(|(n, _)| *n == node)
    }

    pub fn get(&self, node: NodeId) -> Option<&V> {
        self.position(node).map(|i| &self.0[i].1)
    }

    pub fn get_mut(&mut self, node: NodeId) -> Option<&mut V> {
        self.position(node).map(|i| &mut self.0[i].1)
    }

    /// `node`'s value is now `value` (the one it replaces is dropped).
    pub fn insert(&mut self, node: NodeId, value: V) {
        match self.position(node) {
            Some(i) => self.0[i].1 = value,
            None => self.0.push((node, value)),
        }
    }

    /// `node`'s value, made by `make` if it had none.
    pub fn or_insert_with(&mut self, node: NodeId, make: impl FnOnce() -> V) -> &mut V {
        let i = match self.position(node) {
            Some(i) => i,
            None => {
                self.0.push((node, make()));
                self.0.len() - 1
            }
        };
        &mut self.0[i].1
    }

    pub fn remove(&mut self, node: NodeId) -> Option<V> {
        self.position(node).map(|i| self.0.swap_remove(i).1)
    }

    pub fn clear(&mut self) {
        self.0.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::NodeMap;

    #[test]
    fn one_value_per_node_found_by_key() {
        let mut m = NodeMap::default();
        assert_eq!(m.get(3), None);
        m.insert(3, "a");
        m.insert(1, "b");
        m.insert(3, "c");
        assert_eq!(
            (m.0.len(), m.get(3), m.get(1), m.get(2)),
            (2, Some(&"c"), Some(&"b"), None)
        );
        *m.or_insert_with(2, || "d") = "e";
        assert_eq!(*m.or_insert_with(2, || "never made"), "e");
        *m.get_mut(1).unwrap() = "f";
        assert_eq!(m.remove(3), Some("c"));
        assert_eq!(m.remove(3), None);
        assert_eq!(
            (m.0.len(), m.get(1), m.get(2), m.get(3)),
            (2, Some(&"f"), Some(&"e"), None)
        );
        m.clear();
        assert_eq!((m.0.len(), m.get(1)), (0, None));
    }
}
