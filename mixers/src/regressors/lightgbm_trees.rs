//! A reader and evaluator for LightGBM's text model format, so predictions over a million
//! candidates run on every core (the C library's booster handle cannot cross threads).
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

/// The trees of a LightGBM regression model; the prediction is the sum of their leaves.
#[derive(Debug, Clone)]
pub struct TreeEnsemble {
    trees: Vec<Tree>,
    features: usize,
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
                features = Some(
                    value
                        .trim()
                        .parse::<usize>()
                        .map_err(|e| bad(e.to_string()))?
                        + 1,
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
        Ok(Self { trees, features })
    }

    pub fn features(&self) -> usize {
        self.features
    }

    pub fn trees(&self) -> usize {
        self.trees.len()
    }

    pub fn predict_row(&self, row: &[f64]) -> f64 {
        self.trees.iter().map(|tree| tree.predict(row)).sum()
    }

    pub fn predict(&self, rows: &[f64], features: usize) -> Vec<f64> {
        assert_eq!(
            features, self.features,
            "rows have {features} features, the model {}",
            self.features
        );
        rows.par_chunks_exact(features)
            .with_min_len(256)
            .map(|row| self.predict_row(row))
            .collect()
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
    let internal = num_leaves - 1;
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
