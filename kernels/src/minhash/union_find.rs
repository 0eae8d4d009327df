//! Union-find over document indices with path halving and union by rank: 5 bytes per
//! document (u32 parent + u8 rank), so connected components of any number of candidate
//! edges fit in memory whenever the documents do. Component labels are the smallest member,
//! so they do not depend on the order edges arrive in.

#[derive(Debug, Clone)]
pub struct UnionFind {
    parent: Vec<u32>,
    rank: Vec<u8>,
}

impl UnionFind {
    /// `n` singletons. Panics above `u32::MAX` elements.
    pub fn new(n: usize) -> Self {
        assert!(
            n <= u32::MAX as usize,
            "union-find holds at most 2^32-1 elements"
        );
        Self {
            parent: (0..n as u32).collect(),
            rank: vec![0; n],
        }
    }

    pub fn len(&self) -> usize {
        self.parent.len()
    }

    pub fn is_empty(&self) -> bool {
        self.parent.is_empty()
    }

    /// Adds one more singleton, returning its index.
    pub fn push(&mut self) -> u32 {
        let index = self.parent.len() as u32;
        self.parent.push(index);
        self.rank.push(0);
        index
    }

    pub fn find(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let grandparent = self.parent[self.parent[x as usize] as usize];
            self.parent[x as usize] = grandparent;
            x = grandparent;
        }
        x
    }

    /// Joins the sets of `a` and `b`; true when they were apart.
    pub fn union(&mut self, a: u32, b: u32) -> bool {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return false;
        }
        let (rank_a, rank_b) = (self.rank[ra as usize], self.rank[rb as usize]);
        if rank_a < rank_b {
            self.parent[ra as usize] = rb;
        } else {
            self.parent[rb as usize] = ra;
            if rank_a == rank_b {
                self.rank[ra as usize] += 1;
            }
        }
        true
    }

    /// For every element, the smallest element of its set.
    pub fn smallest_member_labels(&mut self) -> Vec<u32> {
        let n = self.parent.len();
        let mut smallest_of_root = vec![u32::MAX; n];
        let mut labels = vec![0u32; n];
        for x in 0..n as u32 {
            let root = self.find(x) as usize;
            if smallest_of_root[root] == u32::MAX {
                smallest_of_root[root] = x;
            }
            labels[x as usize] = smallest_of_root[root];
        }
        labels
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SeededRng;

    /// The obviously-correct reference: iterate min-label propagation to a fixpoint.
    fn label_propagation(n: usize, edges: &[(u32, u32)]) -> Vec<u32> {
        let mut labels: Vec<u32> = (0..n as u32).collect();
        loop {
            let mut changed = false;
            for &(a, b) in edges {
                let low = labels[a as usize].min(labels[b as usize]);
                for x in [a, b] {
                    if labels[x as usize] != low {
                        labels[x as usize] = low;
                        changed = true;
                    }
                }
            }
            if !changed {
                return labels;
            }
        }
    }

    #[test]
    fn equals_label_propagation_on_random_graphs() {
        let mut rng = SeededRng::new(11);
        for round in 0..40 {
            let n = 1 + rng.below(200) as usize;
            let edge_count = rng.below(2 * n as u64) as usize;
            let edges: Vec<(u32, u32)> = (0..edge_count)
                .map(|_| (rng.below(n as u64) as u32, rng.below(n as u64) as u32))
                .collect();
            let mut uf = UnionFind::new(n);
            for &(a, b) in edges.iter().rev() {
                uf.union(a, b);
            }
            assert_eq!(
                uf.smallest_member_labels(),
                label_propagation(n, &edges),
                "round {round}"
            );
        }
    }
}
