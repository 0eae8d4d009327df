//! A trained classifier: embedding rows of the trained hash buckets, the output layer and
//! the label names.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::features::FeatureHasher;

/// Hasher for bucket numbers, which are already hash values: one multiply spreads them.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct BucketHash(u64);

impl Hasher for BucketHash {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 = (self.0 ^ u64::from(*byte)).wrapping_mul(0x100_0000_01B3);
        }
    }
    fn write_u32(&mut self, value: u32) {
        self.0 = u64::from(value).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

pub(crate) type BucketRows = HashMap<u32, u32, BuildHasherDefault<BucketHash>>;

/// A fastText-style classifier (see the module docs of `text_classifier`).
#[derive(Debug, Clone, PartialEq)]
pub struct TextClassifier {
    pub(crate) hasher: FeatureHasher,
    pub(crate) dim: usize,
    pub(crate) labels: Vec<String>,
    /// Hash bucket → row of `input`.
    pub(crate) rows: BucketRows,
    /// `rows.len() × dim` embeddings.
    pub(crate) input: Vec<f32>,
    /// `labels.len() × dim` output weights.
    pub(crate) output: Vec<f32>,
    /// Free text saved with the model (blend writes JSON: training data, settings, scores).
    pub(crate) metadata: String,
}

impl TextClassifier {
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    pub fn label_index(&self, label: &str) -> Option<usize> {
        self.labels.iter().position(|l| l == label)
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    pub fn hasher(&self) -> FeatureHasher {
        self.hasher
    }

    /// Hash buckets with a trained embedding.
    pub fn trained_buckets(&self) -> usize {
        self.rows.len()
    }

    pub fn metadata(&self) -> &str {
        &self.metadata
    }

    pub fn set_metadata(&mut self, metadata: String) {
        self.metadata = metadata;
    }

    /// Probability of every label for `text` (in `labels()` order).
    ///
    /// The hidden vector is the sum of the trained rows divided, as in fastText, by the
    /// number of known unigrams plus *all* n-grams: fastText drops out-of-vocabulary words
    /// but keeps every n-gram bucket, whose untrained rows are near zero. So a document
    /// with many unseen n-grams gets a less confident score. A text with no trained
    /// feature gets uniform probabilities.
    pub fn probabilities(&self, text: &str) -> Vec<f32> {
        let mut features = Vec::new();
        let tokens = self.hasher.features(text, &mut features);
        let mut hidden = vec![0.0f32; self.dim];
        let mut counted = features.len() - tokens;
        for (position, bucket) in features.iter().enumerate() {
            if let Some(row) = self.rows.get(bucket) {
                let start = *row as usize * self.dim;
                add_to(&mut hidden, &self.input[start..start + self.dim], 1.0);
                counted += usize::from(position < tokens);
            }
        }
        if counted > 0 {
            let scale = 1.0 / counted as f32;
            hidden.iter_mut().for_each(|h| *h *= scale);
        }
        let mut probabilities = vec![0.0f32; self.labels.len()];
        self.softmax(&hidden, &mut probabilities);
        probabilities
    }

    /// `out[i]` = softmax of the output layer applied to `hidden`.
    pub(crate) fn softmax(&self, hidden: &[f32], out: &mut [f32]) {
        for (label, score) in out.iter_mut().enumerate() {
            *score = dot(
                &self.output[label * self.dim..(label + 1) * self.dim],
                hidden,
            );
        }
        let max = out.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut total = 0.0;
        for score in out.iter_mut() {
            *score = (*score - max).exp();
            total += *score;
        }
        out.iter_mut().for_each(|s| *s /= total);
    }
}

pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// `target += scale * source`.
pub(crate) fn add_to(target: &mut [f32], source: &[f32], scale: f32) {
    for (t, s) in target.iter_mut().zip(source) {
        *t += scale * s;
    }
}
