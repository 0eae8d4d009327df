//! A reader and evaluator for LightGBM's text model format, so predictions over a million
//! candidates run on every core (the C library's booster handle cannot cross threads).
//! Without missing-value splits (blend's weights are never NaN, and LightGBM only adds
//! zero/NaN-as-missing splits when told to or when the data has NaN) the trees are packed
//! into one node array and walked tree by tree over blocks of rows, which keeps each tree in
//! cache; otherwise every node applies LightGBM's missing-value rules.
//! Only what blend's regressors produce is accepted: numerical splits, one output, no
//! linear trees; anything else is an error rather than a wrong prediction. Tests pin the
//! predictions to the C library's, bit for bit.

use rayon::prelude::*;

use crate::{MixerError, Result};

/// LightGBM's `kZeroThreshold`: values this close to 0 count as zero for `missing=zero`.
const ZERO_THRESHOLD: f64 = 1e-35_f32 as f64;
const DEFAULT_LEFT_MASK: u8 = 2;
const CATEGORICAL_MASK: u8 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Missing {
    None,
    Zero,
    NaN,
}

#[derive(Debug, Clone)]
struct Tree {
    split_feature: Vec<usize>,
    threshold: Vec<f64>,
    default_left: Vec<bool>,
    missing: Vec<Missing>,
    /// Children: `>= 0` an internal node, `< 0` the leaf `!child`.
    left: Vec<i32>,
    right: Vec<i32>,
    leaf_value: Vec<f64>,
}

impl Tree {
    /// Steps from the root to the deepest leaf (0 for a one-leaf tree). Walks with its own
    /// stack: [`check_children`] has made the nodes a tree, however deep.
    fn depth(&self) -> u32 {
        if self.split_feature.is_empty() {
            return 0;
        }
        let mut deepest = 0;
        let mut stack = vec![(0i32, 1u32)];
        while let Some((node, depth)) = stack.pop() {
            deepest = deepest.max(depth);
            let n = node as usize;
            for child in [self.left[n], self.right[n]] {
                if child >= 0 {
                    stack.push((child, depth + 1));
                }
            }
        }
        deepest
    }

    fn predict(&self, row: &[f64]) -> f64 {
        if self.split_feature.is_empty() {
            return self.leaf_value[0];
        }
        let mut node = 0i32;
        while node >= 0 {
            let n = node as usize;
            let mut value = row[self.split_feature[n]];
            let missing = self.missing[n];
            if value.is_nan() && missing != Missing::NaN {
                value = 0.0;
            }
            let is_missing = match missing {
                Missing::Zero => (-ZERO_THRESHOLD..=ZERO_THRESHOLD).contains(&value),
                Missing::NaN => value.is_nan(),
                Missing::None => false,
            };
            let go_left = if is_missing {
                self.default_left[n]
            } else {
                value <= self.threshold[n]
            };
            node = if go_left { self.left[n] } else { self.right[n] };
        }
        self.leaf_value[!node as usize]
    }
}

/// One node, packed so a walk touches one cache line per level. Leaves are nodes too, that
/// lead to themselves (threshold +∞, both children the leaf), so every row can take the
/// same number of steps through a tree without a branch on "already at a leaf".
#[derive(Debug, Clone, Copy)]
struct PackedNode {
    threshold: f64,
    feature: u32,
    left: u32,
    right: u32,
}

/// Rows evaluated together, tree by tree, so each tree stays in cache across the block.
const ROW_BLOCK: usize = 256;

/// The trees of a LightGBM regression model; the prediction is the sum of their leaves.
#[derive(Debug, Clone)]
pub struct TreeEnsemble {
    trees: Vec<Tree>,
    features: usize,
    /// All trees' nodes (internal nodes, then leaves), absolute indices.
    nodes: Vec<PackedNode>,
    /// The leaf value of each node (0 for internal nodes).
    node_value: Vec<f64>,
    /// Each tree's root and depth (steps from the root to its deepest leaf).
    roots: Vec<(u32, u32)>,
    /// Whether some split treats zeros or NaN as missing (then the general walk is used).
    needs_missing: bool,
}

impl TreeEnsemble {
    pub fn parse(model: &str) -> Result<Self> {
        let bad = |message: String| {
            MixerError::LightGbm(format!("cannot read the model text: {message}"))
        };
        let mut features = None;
        let mut trees = Vec::new();
        let mut lines = model.lines().peekable();
        while let Some(line) = lines.next() {
            if let Some(value) = line.strip_prefix("max_feature_idx=") {
                let index = value
                    .trim()
                    .parse::<usize>()
                    .map_err(|e| bad(format!("max_feature_idx: {e}")))?;
                features = Some(
                    index
                        .checked_add(1)
                        .ok_or_else(|| bad(format!("max_feature_idx={index} is too large")))?,
                );
            } else if let Some(value) = line.strip_prefix("num_class=") {
                if value.trim() != "1" {
                    return Err(bad(format!(
                        "num_class={value}; only one output is supported"
                    )));
                }
            } else if line.starts_with("Tree=") {
                let mut fields = std::collections::HashMap::new();
                while let Some(next) = lines.peek() {
                    if next.is_empty()
                        || next.starts_with("Tree=")
                        || next.starts_with("end of trees")
                    {
                        break;
                    }
                    if let Some((key, value)) = next.split_once('=') {
                        fields.insert(key.to_string(), value.to_string());
                    }
                    lines.next();
                }
                trees.push(parse_tree(&fields).map_err(|m| bad(format!("{line}: {m}")))?);
            }
        }
        let features = features.ok_or_else(|| bad("no max_feature_idx line".into()))?;
        if trees.is_empty() {
            return Err(bad("no trees".into()));
        }
        if let Some(feature) = trees
            .iter()
            .flat_map(|t| &t.split_feature)
            .find(|&&f| f >= features)
        {
            return Err(bad(format!("a split on feature {feature} of {features}")));
        }
        let (mut nodes, mut node_value, mut roots) = (Vec::new(), Vec::new(), Vec::new());
        let needs_missing = trees
            .iter()
            .any(|t| t.missing.iter().any(|m| *m != Missing::None));
        for tree in &trees {
            let base = nodes.len() as u32;
            let internal = tree.split_feature.len() as u32;
            // Internal node n at base + n, leaf l at base + internal + l.
            let child = |c: i32| {
                if c >= 0 {
                    base + c as u32
                } else {
                    base + internal + (!c) as u32
                }
            };
            for n in 0..tree.split_feature.len() {
                nodes.push(PackedNode {
                    threshold: tree.threshold[n],
                    feature: tree.split_feature[n] as u32,
                    left: child(tree.left[n]),
                    right: child(tree.right[n]),
                });
                node_value.push(0.0);
            }
            for (l, value) in tree.leaf_value.iter().enumerate() {
                let itself = base + internal + l as u32;
                nodes.push(PackedNode {
                    threshold: f64::INFINITY,
                    feature: 0,
                    left: itself,
                    right: itself,
                });
                node_value.push(*value);
            }
            roots.push((base, tree.depth()));
        }
        Ok(Self {
            trees,
            features,
            nodes,
            node_value,
            roots,
            needs_missing,
        })
    }

    pub fn features(&self) -> usize {
        self.features
    }

    pub fn trees(&self) -> usize {
        self.trees.len()
    }

    /// One row through every tree with LightGBM's full missing-value rules.
    pub fn predict_row(&self, row: &[f64]) -> f64 {
        self.trees.iter().map(|tree| tree.predict(row)).sum()
    }

    /// Adds every tree's leaf to `sums` for a block of rows, tree by tree. The rows of a
    /// block descend a tree in lockstep for the tree's depth (rows already at a leaf stay
    /// there), so their independent walks overlap and no step branches on the data.
    fn predict_block(&self, rows: &[f64], sums: &mut [f64]) {
        let d = self.features;
        let count = sums.len();
        let mut at = [0u32; ROW_BLOCK];
        for &(root, depth) in &self.roots {
            let at = &mut at[..count];
            at.fill(root);
            for _ in 0..depth {
                for (i, node) in at.iter_mut().enumerate() {
                    let split = self.nodes[*node as usize];
                    let value = rows[i * d + split.feature as usize];
                    *node = if value <= split.threshold {
                        split.left
                    } else {
                        split.right
                    };
                }
            }
            for (sum, node) in sums.iter_mut().zip(at.iter()) {
                *sum += self.node_value[*node as usize];
            }
        }
    }

    pub fn predict(&self, rows: &[f64], features: usize) -> Vec<f64> {
        assert_eq!(
            features, self.features,
            "rows have {features} features, the model {}",
            self.features
        );
        if self.needs_missing || rows.iter().any(|v| v.is_nan()) {
            return rows
                .par_chunks_exact(features)
                .with_min_len(256)
                .map(|row| self.predict_row(row))
                .collect();
        }
        let mut out = vec![0.0; rows.len() / features];
        out.par_chunks_mut(ROW_BLOCK)
            .zip(rows.par_chunks(ROW_BLOCK * features))
            .for_each(|(sums, block)| self.predict_block(block, sums));
        out
    }
}

fn parse_tree(
    fields: &std::collections::HashMap<String, String>,
) -> std::result::Result<Tree, String> {
    fn list<T: std::str::FromStr>(
        fields: &std::collections::HashMap<String, String>,
        key: &str,
    ) -> std::result::Result<Vec<T>, String> {
        match fields.get(key) {
            None => Ok(Vec::new()),
            Some(text) if text.trim().is_empty() => Ok(Vec::new()),
            Some(text) => text
                .split(' ')
                .map(|v| {
                    v.parse::<T>()
                        .map_err(|_| format!("bad value `{v}` in {key}"))
                })
                .collect(),
        }
    }
    if fields.get("num_cat").is_some_and(|v| v.trim() != "0") {
        return Err("categorical splits are not supported".into());
    }
    if fields.get("is_linear").is_some_and(|v| v.trim() != "0") {
        return Err("linear trees are not supported".into());
    }
    let leaf_value: Vec<f64> = list(fields, "leaf_value")?;
    let num_leaves: usize = fields
        .get("num_leaves")
        .ok_or("no num_leaves")?
        .trim()
        .parse()
        .map_err(|_| "bad num_leaves")?;
    if leaf_value.len() != num_leaves {
        return Err(format!(
            "{} leaf values for {num_leaves} leaves",
            leaf_value.len()
        ));
    }
    let split_feature: Vec<usize> = list(fields, "split_feature")?;
    let threshold: Vec<f64> = list(fields, "threshold")?;
    let decision_type: Vec<u8> = list(fields, "decision_type")?;
    let left: Vec<i32> = list(fields, "left_child")?;
    let right: Vec<i32> = list(fields, "right_child")?;
    let Some(internal) = num_leaves.checked_sub(1) else {
        return Err("num_leaves=0; a tree has at least one leaf".into());
    };
    if [
        split_feature.len(),
        threshold.len(),
        decision_type.len(),
        left.len(),
        right.len(),
    ]
    .iter()
    .any(|&n| n != internal)
    {
        return Err(format!("split arrays do not all have {internal} entries"));
    }
    if decision_type.iter().any(|d| d & CATEGORICAL_MASK != 0) {
        return Err("categorical splits are not supported".into());
    }
    check_children(&left, &right, num_leaves)?;
    Ok(Tree {
        default_left: decision_type
            .iter()
            .map(|d| d & DEFAULT_LEFT_MASK != 0)
            .collect(),
        missing: decision_type
            .iter()
            .map(|d| match (d >> 2) & 3 {
                1 => Missing::Zero,
                2 => Missing::NaN,
                _ => Missing::None,
            })
            .collect(),
        split_feature,
        threshold,
        left,
        right,
        leaf_value,
    })
}

/// Checks that the child arrays make a tree: every child is an internal node after its parent
/// (LightGBM numbers splits in the order it makes them) or an existing leaf, and every node
/// but the root, and every leaf, has exactly one parent. A damaged file could otherwise send
/// a prediction out of bounds or round a cycle.
fn check_children(
    left: &[i32],
    right: &[i32],
    num_leaves: usize,
) -> std::result::Result<(), String> {
    let internal = left.len();
    let mut internal_parents = vec![0u32; internal];
    let mut leaf_parents = vec![0u32; if internal == 0 { 0 } else { num_leaves }];
    for (node, (&left_child, &right_child)) in left.iter().zip(right).enumerate() {
        for child in [left_child, right_child] {
            if child >= 0 {
                let child = child as usize;
                if child <= node || child >= internal {
                    return Err(format!(
                        "node {node} has child node {child}; children come after their parent and below {internal}"
                    ));
                }
                internal_parents[child] += 1;
            } else {
                let leaf = (!child) as usize;
                if leaf >= num_leaves {
                    return Err(format!(
                        "node {node} has leaf {leaf}, but the tree has {num_leaves} leaves"
                    ));
                }
                leaf_parents[leaf] += 1;
            }
        }
    }
    if let Some(node) = (1..internal).find(|&n| internal_parents[n] != 1) {
        return Err(format!(
            "node {node} has {} parents, not 1",
            internal_parents[node]
        ));
    }
    if let Some(leaf) = leaf_parents.iter().position(|&p| p != 1) {
        return Err(format!(
            "leaf {leaf} has {} parents, not 1",
            leaf_parents[leaf]
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A model text of one tree with these child arrays (three leaves, two splits).
    fn model(left: &str, right: &str, num_leaves: &str) -> String {
        format!(
            "tree\nnum_class=1\nmax_feature_idx=1\n\nTree=0\nnum_leaves={num_leaves}\n\
             split_feature=0 1\nthreshold=0.5 0.25\ndecision_type=2 2\nleft_child={left}\n\
             right_child={right}\nleaf_value=1 2 3\n\nend of trees\n"
        )
    }

    #[test]
    fn a_well_formed_tree_predicts_its_leaves() {
        let trees = TreeEnsemble::parse(&model("1 -1", "-2 -3", "3")).unwrap();
        assert_eq!(trees.predict_row(&[0.0, 0.0]), 1.0);
        assert_eq!(trees.predict_row(&[0.0, 1.0]), 3.0);
        assert_eq!(trees.predict_row(&[1.0, 0.0]), 2.0);
        assert_eq!(trees.predict(&[1.0, 0.0, 0.0, 1.0], 2), vec![2.0, 3.0]);
    }

    #[test]
    fn a_cycle_or_a_child_out_of_range_is_an_error() {
        for (left, right, why) in [
            ("1 0", "-2 -3", "child node 0"),
            ("1 1", "-2 -3", "child node 1"),
            ("1 -9", "-2 -3", "leaf 8"),
            ("1 -1", "-1 -3", "leaf 0 has 2 parents"),
        ] {
            let error = TreeEnsemble::parse(&model(left, right, "3"))
                .unwrap_err()
                .to_string();
            assert!(error.contains(why), "{left} / {right}: {error}");
        }
    }

    #[test]
    fn zero_leaves_and_a_huge_feature_index_are_errors() {
        let no_leaves = model("1 -1", "-2 -3", "0").replace("leaf_value=1 2 3", "leaf_value=");
        let error = TreeEnsemble::parse(&no_leaves).unwrap_err().to_string();
        assert!(error.contains("num_leaves=0"), "{error}");
        let huge = model("1 -1", "-2 -3", "3")
            .replace("max_feature_idx=1", "max_feature_idx=18446744073709551615");
        let error = TreeEnsemble::parse(&huge).unwrap_err().to_string();
        assert!(error.contains("too large"), "{error}");
    }
}
