//! `dedup.minhash`: near-duplicate clusters by MinHash-LSH. Pass 1 shingles every document,
//! computes its signature and band keys and appends (key, document) records to the band
//! runs (spilled past the memory budget, see `band_runs`); grouping the runs joins the
//! documents of every shared key in a union-find. With `verify`, a second pass computes
//! the exact Jaccard of every candidate pair and joins only pairs at or above the
//! threshold. The final pass adds
//! - `dup_cluster`: the id of the cluster's first document in stable order (its own id
//!   for a document without near duplicates),
//! - `dup_cluster_size`,
//! - `is_dup`: true for every member but the one kept (the first, or the one with the
//!   highest `keep_highest` value, ties to the first).
//!
//! Memory: 5 bytes per document for the union-find, 4 for the labels, the band runs within
//! the budget; with `verify`, 8 bytes per candidate pair plus the shingle sets of the
//! documents whose pairs are still open. Same input and parameters → same output on any
//! number of threads and any budget.
//!
//! Connected components without an edge list: candidate edges are streamed from the grouped
//! band runs straight into an in-memory union-find and never stored, so memory grows with
//! documents, not edges (a popular key with m documents gives m − 1 edges, not m²/2). At
//! 9 bytes per document this holds ~400M documents in 4 GiB. Past that, the plan is a
//! partitioned union-find (components per document range, then a merge pass over the edges
//! that cross ranges, spilled like the band runs); it is not built, because label
//! propagation over a spilled edge list would need the edges stored and many passes.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanBuilder, RecordBatch, StringBuilder, UInt64Builder,
};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, Float64Type};
use blend_kernels::minhash::{
    LshParams, ShingleConfig, ShingleKind, SignatureKind, SignatureScheme, UnionFind, band_keys,
    jaccard, shingle_hashes, sorted_set,
};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::band_runs::{BandRuns, GroupingStats};
use crate::operator::{
    Operator, OperatorEnv, default_id_column, default_text_column, string_column, with_columns,
};
use crate::spec::OperatorSpec;
use crate::{OperatorError, Result};

pub const CLUSTER_COLUMN: &str = "dup_cluster";
pub const CLUSTER_SIZE_COLUMN: &str = "dup_cluster_size";
pub const IS_DUP_COLUMN: &str = "is_dup";

/// Candidate groups up to this size are verified pair by pair; larger groups (a popular
/// band key) against their first member only, to bound the pair count.
const ALL_PAIRS_GROUP_LIMIT: usize = 64;

fn default_threshold() -> f64 {
    0.7
}
fn default_num_perm() -> usize {
    128
}
fn default_ngram() -> usize {
    5
}
fn default_shingle() -> ShingleKind {
    ShingleKind::Word
}
fn default_signature() -> SignatureKind {
    SignatureKind::Permutations
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MinHashDedupParams {
    #[serde(default = "default_text_column")]
    pub text_column: String,
    #[serde(default = "default_id_column")]
    pub id_column: String,
    /// Jaccard similarity the LSH bands are tuned for (and the verification cut-off).
    #[serde(default = "default_threshold")]
    pub threshold: f64,
    #[serde(default = "default_num_perm")]
    pub num_perm: usize,
    /// Bands and rows; default: datasketch's optimum for `threshold` and `num_perm`.
    #[serde(default)]
    pub bands: Option<usize>,
    #[serde(default)]
    pub rows: Option<usize>,
    /// `word` or `char` n-grams.
    #[serde(default = "default_shingle")]
    pub shingle: ShingleKind,
    #[serde(default = "default_ngram")]
    pub ngram: usize,
    /// `permutations` (k hash functions) or `one_permutation` (densified OPH).
    #[serde(default = "default_signature")]
    pub signature: SignatureKind,
    /// Check every LSH candidate pair's exact Jaccard against `threshold`.
    #[serde(default)]
    pub verify: bool,
    /// Keep the member with the highest value of this numeric column instead of the first.
    #[serde(default)]
    pub keep_highest: Option<String>,
    /// Seed of the hash functions; default: the run's seed.
    #[serde(default)]
    pub seed: Option<u64>,
}

/// The summary `dedup.minhash` leaves in its stage manifest.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MinHashSummary {
    pub documents: u64,
    pub documents_without_shingles: u64,
    pub threshold: f64,
    pub num_perm: usize,
    pub bands: usize,
    pub rows: usize,
    pub shingle: String,
    pub ngram: usize,
    pub signature: String,
    pub band_keys: u64,
    pub partitions: usize,
    pub spilled_bytes: u64,
    pub memory_budget: u64,
    pub shared_keys: u64,
    pub candidate_edges: u64,
    pub verified_pairs: u64,
    pub verified_similar_pairs: u64,
    /// Clusters with two or more documents.
    pub clusters: u64,
    pub duplicates: u64,
    pub largest_cluster: u64,
    /// (similarity, candidate probability) of the bands, every 0.05.
    pub s_curve: Vec<(f64, f64)>,
}

#[derive(Debug)]
enum Phase {
    /// Pass 1 is writing band runs.
    Signing(BandRuns),
    /// Verification pass: candidate pairs sorted by their later document.
    Verifying(Verification),
    /// Clusters are known.
    Labelled(Clusters),
    Empty,
}

#[derive(Debug, Default)]
struct Verification {
    /// (later, earlier) pairs, sorted.
    pairs: Vec<(u32, u32)>,
    cursor: usize,
    /// Every document in some pair, ascending.
    members: Vec<u32>,
    member_cursor: usize,
    /// For each document in a pair, the last document it is compared with, sorted.
    release_after: Vec<(u32, u32)>,
    release_cursor: usize,
    sets: HashMap<u32, Vec<u64>>,
}

#[derive(Debug)]
struct Clusters {
    /// Smallest member of each document's cluster.
    labels: Vec<u32>,
    /// Size and kept member of every cluster with two or more members, by label.
    multi: HashMap<u32, (u32, u32)>,
    /// Ids of the labels seen so far in the apply pass (multi-member clusters only).
    label_ids: HashMap<u32, String>,
}

/// What turns texts into band keys: the signature scheme and the band hashes of one set of
/// parameters and seed. The local pass and a cluster executor (`blend_minhash_band_keys`)
/// both key documents through it, so their keys are the same.
#[derive(Debug)]
pub struct BandKeyer {
    scheme: SignatureScheme,
    lsh: LshParams,
    band_seed: u64,
    num_perm: usize,
}

impl BandKeyer {
    /// The keyer of `params` (checked by `MinHashDedup::with_params`) under `run_seed`,
    /// which the parameters' own `seed` overrides.
    pub fn new(params: &MinHashDedupParams, run_seed: u64) -> Result<Self> {
        let seed = params.seed.unwrap_or(run_seed);
        Ok(Self {
            scheme: SignatureScheme::new(
                ShingleConfig {
                    kind: params.shingle,
                    n: params.ngram,
                },
                params.signature,
                params.num_perm,
                seed,
            ),
            lsh: MinHashDedup::lsh_params(params)?,
            band_seed: blend_kernels::SeededRng::for_stream(seed, "minhash.bands").next_u64(),
            num_perm: params.num_perm,
        })
    }

    pub fn bands(&self) -> usize {
        self.lsh.bands
    }

    /// Calls `visit(row, keys)` for every text in order: its `bands` band keys, or `None`
    /// for a text without a shingle (it joins no cluster).
    pub fn for_each_keys(&self, texts: &[&str], mut visit: impl FnMut(usize, Option<&[u64]>)) {
        let (signatures, has_shingles) = self.scheme.sign_batch(texts);
        let k = self.num_perm;
        let mut keys = vec![0u64; self.lsh.bands];
        for (row, has) in has_shingles.iter().enumerate() {
            if !has {
                visit(row, None);
                continue;
            }
            band_keys(
                &signatures[row * k..(row + 1) * k],
                &self.lsh,
                self.band_seed,
                &mut keys,
            );
            visit(row, Some(&keys));
        }
    }
}

/// What a grouping done elsewhere (a cluster's `GROUP BY band key`) found, for the summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExternalGrouping {
    pub documents_without_shingles: u64,
    pub band_keys: u64,
    pub shared_keys: u64,
    /// Shuffle partitions of the grouping.
    pub partitions: usize,
}

#[derive(Debug)]
pub struct MinHashDedup {
    params: MinHashDedupParams,
    lsh: LshParams,
    keyer: Option<BandKeyer>,
    phase: Phase,
    union_find: UnionFind,
    scores: Vec<f64>,
    /// Next document index in the current pass.
    position: u32,
    summary: MinHashSummary,
}

impl OperatorSpec for MinHashDedup {
    const NAME: &'static str = "dedup.minhash";
    type Params = MinHashDedupParams;

    fn with_params(mut params: MinHashDedupParams) -> Result<Self> {
        let fail = |message: String| Err(OperatorError::params(Self::NAME, message));
        if !(params.threshold > 0.0 && params.threshold <= 1.0) {
            return fail(format!(
                "threshold must be in (0, 1], got {}",
                params.threshold
            ));
        }
        if params.num_perm == 0 || params.num_perm > 4096 {
            return fail(format!(
                "num_perm must be in 1..=4096, got {}",
                params.num_perm
            ));
        }
        if params.ngram == 0 {
            return fail("ngram must be at least 1".into());
        }
        let lsh = Self::lsh_params(&params)?;
        params.bands = Some(lsh.bands);
        params.rows = Some(lsh.rows);
        Ok(Self {
            params,
            lsh,
            keyer: None,
            phase: Phase::Empty,
            union_find: UnionFind::new(0),
            scores: Vec::new(),
            position: 0,
            summary: MinHashSummary::default(),
        })
    }

    fn typed_params(&self) -> &MinHashDedupParams {
        &self.params
    }
}

impl MinHashDedup {
    /// Bands × rows from the parameters: both given, one given (the other fills
    /// `num_perm`), or neither (datasketch's optimum for the threshold).
    pub fn lsh_params(params: &MinHashDedupParams) -> Result<LshParams> {
        let k = params.num_perm;
        let lsh = match (params.bands, params.rows) {
            (Some(bands), Some(rows)) => LshParams { bands, rows },
            (Some(bands), None) => LshParams {
                bands,
                rows: k / bands.max(1),
            },
            (None, Some(rows)) => LshParams {
                bands: k / rows.max(1),
                rows,
            },
            (None, None) => LshParams::optimal(params.threshold, k, 0.5, 0.5),
        };
        if lsh.bands == 0 || lsh.rows == 0 || lsh.used_permutations() > k {
            return Err(OperatorError::params(
                Self::NAME,
                format!(
                    "bands × rows = {} × {} must be at least 1 × 1 and at most num_perm = {k}",
                    lsh.bands, lsh.rows
                ),
            ));
        }
        Ok(lsh)
    }

    pub fn lsh(&self) -> LshParams {
        self.lsh
    }

    fn keyer(&self) -> &BandKeyer {
        self.keyer.as_ref().expect("prepare() runs before any pass")
    }

    fn sign(&mut self, batch: &RecordBatch) -> Result<()> {
        let texts = string_column(Self::NAME, batch, &self.params.text_column)?;
        let refs: Vec<&str> = (0..texts.len())
            .map(|row| {
                if texts.is_null(row) {
                    ""
                } else {
                    texts.value(row)
                }
            })
            .collect();
        let Phase::Signing(runs) = &mut self.phase else {
            unreachable!("pass 1 writes band runs")
        };
        let keyer = self.keyer.as_ref().expect("prepare() runs before any pass");
        let (position, union_find, summary) =
            (self.position, &mut self.union_find, &mut self.summary);
        let mut pushed = Ok(());
        keyer.for_each_keys(&refs, |row, keys| {
            let doc = position + row as u32;
            union_find.push();
            match keys {
                None => summary.documents_without_shingles += 1,
                Some(keys) => {
                    for &key in keys {
                        if pushed.is_ok() {
                            pushed = runs.push(key, doc);
                        }
                    }
                }
            }
        });
        pushed?;
        let scores = self.keep_highest_values(batch)?;
        self.scores.extend(scores);
        self.position = self
            .position
            .checked_add(batch.num_rows() as u32)
            .ok_or_else(|| OperatorError::invalid(Self::NAME, "more than 2^32 documents"))?;
        Ok(())
    }

    /// The `keep_highest` column of `batch` as numbers (missing values lowest); empty
    /// without `keep_highest`.
    pub fn keep_highest_values(&self, batch: &RecordBatch) -> Result<Vec<f64>> {
        let Some(column) = &self.params.keep_highest else {
            return Ok(Vec::new());
        };
        let values = batch
            .column_by_name(column)
            .ok_or_else(|| OperatorError::Column {
                operator: Self::NAME.into(),
                column: column.clone(),
                problem: "(keep_highest) is missing".into(),
            })?;
        let values = cast(values, &DataType::Float64).map_err(|e| OperatorError::Column {
            operator: Self::NAME.into(),
            column: column.clone(),
            problem: format!("(keep_highest) is not numeric: {e}"),
        })?;
        let values = values.as_primitive::<Float64Type>();
        Ok((0..values.len())
            .map(|i| {
                if values.is_null(i) {
                    f64::NEG_INFINITY
                } else {
                    values.value(i)
                }
            })
            .collect())
    }

    /// Ends the observe passes with candidate edges grouped elsewhere: a cluster grouped
    /// the band keys of `documents` documents (numbered in stable order) and gave every
    /// shared key's documents as edges to its smallest member. The union-find and labels
    /// are then those of the local pass, so `apply` writes the same columns. `scores` are
    /// the `keep_highest` values in stable order (empty without it). Not for `verify`,
    /// whose pairs are checked against the texts in the local pass.
    pub fn label_from_edges(
        &mut self,
        documents: u32,
        edges: &[(u32, u32)],
        grouping: ExternalGrouping,
        scores: Vec<f64>,
    ) -> Result<()> {
        if self.params.verify {
            return Err(OperatorError::invalid(
                Self::NAME,
                "verify checks candidate pairs in the local pass; edges grouped elsewhere are not verified",
            ));
        }
        let mut union_find = UnionFind::new(documents as usize);
        for &(root, doc) in edges {
            if root.max(doc) >= documents {
                return Err(OperatorError::invalid(
                    Self::NAME,
                    format!("edge ({root}, {doc}) names a document past the {documents} read"),
                ));
            }
            union_find.union(root, doc);
        }
        self.union_find = union_find;
        self.scores = scores;
        self.summary = MinHashSummary {
            documents: u64::from(documents),
            documents_without_shingles: grouping.documents_without_shingles,
            band_keys: grouping.band_keys,
            partitions: grouping.partitions,
            shared_keys: grouping.shared_keys,
            candidate_edges: edges.len() as u64,
            ..self.initial_summary(0)
        };
        self.label();
        Ok(())
    }

    /// The summary before any pass: the parameters and the bands' S-curve.
    fn initial_summary(&self, memory_budget: u64) -> MinHashSummary {
        MinHashSummary {
            threshold: self.params.threshold,
            num_perm: self.params.num_perm,
            bands: self.lsh.bands,
            rows: self.lsh.rows,
            shingle: format!("{:?}", self.params.shingle).to_lowercase(),
            ngram: self.params.ngram,
            signature: match self.params.signature {
                SignatureKind::Permutations => "permutations".into(),
                SignatureKind::OnePermutation => "one_permutation".into(),
            },
            memory_budget,
            s_curve: self.lsh.s_curve(20),
            ..MinHashSummary::default()
        }
    }

    fn end_signing(&mut self) -> Result<()> {
        let Phase::Signing(runs) = std::mem::replace(&mut self.phase, Phase::Empty) else {
            unreachable!("pass 1 writes band runs")
        };
        self.summary.documents = u64::from(self.position);
        self.summary.band_keys = runs.records();
        self.summary.partitions = runs.partitions();
        let stats: GroupingStats = if self.params.verify {
            let mut pairs: Vec<(u32, u32)> = Vec::new();
            let stats = runs.group(|docs| {
                if docs.len() <= ALL_PAIRS_GROUP_LIMIT {
                    for (i, &later) in docs.iter().enumerate().skip(1) {
                        pairs.extend(docs[..i].iter().map(|&earlier| (later, earlier)));
                    }
                } else {
                    pairs.extend(docs[1..].iter().map(|&later| (later, docs[0])));
                }
            })?;
            pairs.par_sort_unstable();
            pairs.dedup();
            let mut last_use: HashMap<u32, u32> = HashMap::new();
            for &(later, earlier) in &pairs {
                for doc in [later, earlier] {
                    let entry = last_use.entry(doc).or_insert(later);
                    *entry = (*entry).max(later);
                }
            }
            let mut members: Vec<u32> = last_use.keys().copied().collect();
            members.sort_unstable();
            let mut release_after: Vec<(u32, u32)> = last_use
                .into_iter()
                .map(|(doc, last)| (last, doc))
                .collect();
            release_after.sort_unstable();
            self.summary.verified_pairs = pairs.len() as u64;
            self.phase = Phase::Verifying(Verification {
                pairs,
                members,
                release_after,
                ..Verification::default()
            });
            stats
        } else {
            let union_find = &mut self.union_find;
            runs.group(|docs| {
                for &doc in &docs[1..] {
                    union_find.union(docs[0], doc);
                }
            })?
        };
        self.summary.shared_keys = stats.shared_keys;
        self.summary.candidate_edges = stats.edges;
        self.summary.spilled_bytes = stats.spilled_bytes;
        self.position = 0;
        Ok(())
    }

    fn verify(&mut self, batch: &RecordBatch) -> Result<()> {
        let texts = string_column(Self::NAME, batch, &self.params.text_column)?;
        let first = self.position;
        let shingles = self.keyer().scheme.shingles;
        let Phase::Verifying(verification) = &mut self.phase else {
            unreachable!("pass 2 verifies")
        };
        let end = first + batch.num_rows() as u32;
        // Documents of this batch that appear in any pair, shingled in parallel.
        let mut needed: Vec<u32> = Vec::new();
        while verification.member_cursor < verification.members.len()
            && verification.members[verification.member_cursor] < end
        {
            needed.push(verification.members[verification.member_cursor]);
            verification.member_cursor += 1;
        }
        let shingled: Vec<(u32, Vec<u64>)> = needed
            .par_iter()
            .map(|&doc| {
                let row = (doc - first) as usize;
                let mut hashes = Vec::new();
                if !texts.is_null(row) {
                    shingle_hashes(texts.value(row), &shingles, &mut hashes);
                }
                (doc, sorted_set(hashes))
            })
            .collect();
        verification.sets.extend(shingled);
        let threshold = self.params.threshold;
        while verification.cursor < verification.pairs.len()
            && verification.pairs[verification.cursor].0 < end
        {
            let (later, earlier) = verification.pairs[verification.cursor];
            verification.cursor += 1;
            let similarity = match (
                verification.sets.get(&later),
                verification.sets.get(&earlier),
            ) {
                (Some(a), Some(b)) => jaccard(a, b),
                _ => unreachable!("both documents of a pair are shingled before it is checked"),
            };
            if similarity >= threshold {
                self.summary.verified_similar_pairs += 1;
                self.union_find.union(earlier, later);
            }
        }
        while verification.release_cursor < verification.release_after.len()
            && verification.release_after[verification.release_cursor].0 < end
        {
            let (_, doc) = verification.release_after[verification.release_cursor];
            verification.sets.remove(&doc);
            verification.release_cursor += 1;
        }
        self.position = end;
        Ok(())
    }

    /// Labels, sizes and kept members from the union-find; frees it.
    fn label(&mut self) {
        let mut union_find = std::mem::replace(&mut self.union_find, UnionFind::new(0));
        let labels = union_find.smallest_member_labels();
        drop(union_find);
        let mut multi: HashMap<u32, (u32, u32)> = HashMap::new();
        for (doc, &label) in labels.iter().enumerate() {
            let doc = doc as u32;
            if doc == label {
                continue;
            }
            let entry = multi.entry(label).or_insert((1, label));
            entry.0 += 1;
            if !self.scores.is_empty() && self.scores[doc as usize] > self.scores[entry.1 as usize]
            {
                entry.1 = doc;
            }
        }
        self.summary.clusters = multi.len() as u64;
        self.summary.duplicates = multi.values().map(|(size, _)| u64::from(size - 1)).sum();
        self.summary.largest_cluster = multi
            .values()
            .map(|(size, _)| u64::from(*size))
            .max()
            .unwrap_or(1);
        self.scores = Vec::new();
        self.position = 0;
        self.phase = Phase::Labelled(Clusters {
            labels,
            multi,
            label_ids: HashMap::new(),
        });
    }

    pub fn summary_struct(&self) -> &MinHashSummary {
        &self.summary
    }
}

impl Operator for MinHashDedup {
    /// Band keys are grouped in partitions planned to fit the budget (spilled to disk).
    fn expected_memory(&self, env: &OperatorEnv) -> u64 {
        env.memory_budget
    }

    fn output_fields(&self) -> Vec<Field> {
        vec![
            Field::new(CLUSTER_COLUMN, DataType::Utf8, false),
            Field::new(CLUSTER_SIZE_COLUMN, DataType::UInt64, false),
            Field::new(IS_DUP_COLUMN, DataType::Boolean, false),
        ]
    }

    fn prepare(&mut self, env: &OperatorEnv) -> Result<()> {
        self.keyer = Some(BandKeyer::new(&self.params, env.seed)?);
        let expected_keys = env.expected_rows.saturating_mul(self.lsh.bands as u64);
        let partitions = BandRuns::partitions_for(expected_keys, env.memory_budget);
        let runs = BandRuns::new(
            Self::NAME,
            &env.scratch_dir.join("bands"),
            partitions,
            env.memory_budget,
            expected_keys,
        )?;
        tracing::info!(
            "{}: {} bands × {} rows, {} partition(s) for ~{} band keys within a {} MiB budget",
            Self::NAME,
            self.lsh.bands,
            self.lsh.rows,
            partitions,
            expected_keys,
            env.memory_budget >> 20
        );
        self.phase = Phase::Signing(runs);
        self.union_find = UnionFind::new(0);
        self.position = 0;
        self.summary = self.initial_summary(env.memory_budget);
        Ok(())
    }

    fn observe_passes(&self) -> usize {
        if self.params.verify { 2 } else { 1 }
    }

    fn observe(&mut self, pass: usize, batch: &RecordBatch) -> Result<()> {
        match pass {
            0 => self.sign(batch),
            _ => self.verify(batch),
        }
    }

    fn end_pass(&mut self, pass: usize) -> Result<()> {
        if pass == 0 {
            self.end_signing()?;
        }
        if pass + 1 == self.observe_passes() {
            self.label();
        }
        Ok(())
    }

    fn apply(&mut self, batch: RecordBatch) -> Result<RecordBatch> {
        let rows = batch.num_rows();
        let fields = self.output_fields();
        let mut cluster_ids = StringBuilder::with_capacity(rows, rows * 16);
        let mut sizes = UInt64Builder::with_capacity(rows);
        let mut is_dup = BooleanBuilder::with_capacity(rows);
        if rows > 0 {
            let ids = string_column(Self::NAME, &batch, &self.params.id_column)?;
            let Phase::Labelled(clusters) = &mut self.phase else {
                return Err(OperatorError::invalid(
                    Self::NAME,
                    "apply() before the observe passes finished",
                ));
            };
            for row in 0..rows {
                let doc = self.position + row as u32;
                let label = *clusters.labels.get(doc as usize).ok_or_else(|| {
                    OperatorError::invalid(
                        Self::NAME,
                        format!(
                            "the apply pass has more rows than the observe pass ({} seen)",
                            clusters.labels.len()
                        ),
                    )
                })?;
                let id = if ids.is_null(row) { "" } else { ids.value(row) };
                match clusters.multi.get(&label) {
                    None => {
                        cluster_ids.append_value(id);
                        sizes.append_value(1);
                        is_dup.append_value(false);
                    }
                    Some(&(size, kept)) => {
                        if doc == label {
                            clusters.label_ids.insert(label, id.to_string());
                        }
                        cluster_ids.append_value(&clusters.label_ids[&label]);
                        sizes.append_value(u64::from(size));
                        is_dup.append_value(doc != kept);
                    }
                }
            }
            self.position += rows as u32;
        }
        with_columns(
            Self::NAME,
            &batch,
            vec![
                (
                    fields[0].clone(),
                    Arc::new(cluster_ids.finish()) as ArrayRef,
                ),
                (fields[1].clone(), Arc::new(sizes.finish()) as ArrayRef),
                (fields[2].clone(), Arc::new(is_dup.finish()) as ArrayRef),
            ],
        )
    }

    fn summary(&self) -> Option<serde_json::Value> {
        Some(serde_json::to_value(&self.summary).expect("summary serializes"))
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::{Float64Array, StringArray};
    use arrow::datatypes::Schema;
    use blend_kernels::SeededRng;

    use super::*;

    /// 40 random 60-word originals, each followed by a copy with `edits` words replaced.
    fn corpus(edits: usize) -> Vec<(String, String, f64)> {
        let mut rng = SeededRng::new(8);
        let vocabulary: Vec<String> = (0..5000).map(|i| format!("w{i}")).collect();
        let mut docs = Vec::new();
        for original in 0..40 {
            let words: Vec<&str> = (0..60)
                .map(|_| vocabulary[rng.below(5000) as usize].as_str())
                .collect();
            let mut copy = words.clone();
            for _ in 0..edits {
                let at = rng.below(60) as usize;
                copy[at] = "edited";
            }
            docs.push((format!("o{original}"), words.join(" "), 1.0));
            docs.push((format!("c{original}"), copy.join(" "), 2.0));
        }
        docs.push(("empty".into(), " ... ".into(), 0.0));
        docs
    }

    fn batches(docs: &[(String, String, f64)], rows: usize) -> Vec<RecordBatch> {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Utf8, false),
            Field::new("text", DataType::Utf8, false),
            Field::new("score", DataType::Float64, false),
        ]));
        docs.chunks(rows)
            .map(|chunk| {
                RecordBatch::try_new(
                    schema.clone(),
                    vec![
                        Arc::new(StringArray::from_iter_values(
                            chunk.iter().map(|d| d.0.as_str()),
                        )),
                        Arc::new(StringArray::from_iter_values(
                            chunk.iter().map(|d| d.1.as_str()),
                        )),
                        Arc::new(Float64Array::from_iter_values(chunk.iter().map(|d| d.2))),
                    ],
                )
                .unwrap()
            })
            .collect()
    }

    /// Runs every pass over `batches`; returns (id, dup_cluster, size, is_dup) per row.
    fn run(
        params: &serde_json::Value,
        batches: &[RecordBatch],
        budget: u64,
    ) -> (Vec<(String, String, u64, bool)>, MinHashSummary) {
        let scratch = tempfile::tempdir().unwrap();
        let mut op = MinHashDedup::from_json(params).unwrap();
        let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
        op.prepare(&OperatorEnv {
            scratch_dir: scratch.path().to_path_buf(),
            memory_budget: budget,
            expected_rows: rows as u64,
            seed: 42,
        })
        .unwrap();
        for pass in 0..op.observe_passes() {
            for batch in batches {
                op.observe(pass, batch).unwrap();
            }
            op.end_pass(pass).unwrap();
        }
        let mut out = Vec::new();
        for batch in batches {
            let result = op.apply(batch.clone()).unwrap();
            let ids = result
                .column_by_name("id")
                .unwrap()
                .as_string::<i32>()
                .clone();
            let clusters = result
                .column_by_name(CLUSTER_COLUMN)
                .unwrap()
                .as_string::<i32>()
                .clone();
            let sizes = result
                .column_by_name(CLUSTER_SIZE_COLUMN)
                .unwrap()
                .as_primitive::<arrow::datatypes::UInt64Type>()
                .clone();
            let dups = result
                .column_by_name(IS_DUP_COLUMN)
                .unwrap()
                .as_boolean()
                .clone();
            for row in 0..result.num_rows() {
                out.push((
                    ids.value(row).to_string(),
                    clusters.value(row).to_string(),
                    sizes.value(row),
                    dups.value(row),
                ));
            }
        }
        let summary = op.summary_struct().clone();
        (out, summary)
    }

    #[test]
    fn near_copies_join_their_original_and_the_first_is_kept() {
        let docs = corpus(2);
        let params = serde_json::json!({ "threshold": 0.5, "ngram": 3 });
        let (rows, summary) = run(&params, &batches(&docs, 7), 1 << 30);
        for pair in rows[..80].chunks(2) {
            let (original, copy) = (&pair[0], &pair[1]);
            assert_eq!(
                copy.1, original.0,
                "{} clusters with {}",
                copy.0, original.0
            );
            assert_eq!((original.2, original.3), (2, false));
            assert_eq!((copy.2, copy.3), (2, true));
        }
        let empty = rows.last().unwrap();
        assert_eq!((empty.1.as_str(), empty.2, empty.3), ("empty", 1, false));
        assert_eq!(summary.clusters, 40);
        assert_eq!(summary.duplicates, 40);
        assert_eq!(summary.documents_without_shingles, 1);
    }

    #[test]
    fn same_clusters_for_any_batching_budget_and_thread_count() {
        let docs = corpus(6);
        let params = serde_json::json!({ "threshold": 0.5, "ngram": 3 });
        let (reference, in_memory) = run(&params, &batches(&docs, 81), 1 << 30);
        let (spilled_rows, spilled) = run(&params, &batches(&docs, 5), 1);
        assert_eq!(reference, spilled_rows);
        assert_eq!(in_memory.partitions, 1);
        assert_eq!(in_memory.spilled_bytes, 0);
        assert!(
            spilled.partitions > 1 && spilled.spilled_bytes > 0,
            "{spilled:?}"
        );
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let (one_thread, _) = pool.install(|| run(&params, &batches(&docs, 13), 1 << 30));
        assert_eq!(reference, one_thread);
    }

    #[test]
    fn verify_drops_candidates_below_the_threshold() {
        // 30 of 60 words replaced: word-3-gram Jaccard is far below 0.9, yet 1 band × 1
        // row makes nearly every pair with any shared shingle a candidate.
        let docs = corpus(30);
        let loose = serde_json::json!({ "threshold": 0.9, "ngram": 3, "num_perm": 16, "bands": 16, "rows": 1 });
        let (unverified, _) = run(&loose, &batches(&docs, 16), 1 << 30);
        assert!(
            unverified.iter().any(|r| r.3),
            "band collisions make candidates"
        );
        let mut verified_params = loose;
        verified_params["verify"] = true.into();
        let (verified, summary) = run(&verified_params, &batches(&docs, 16), 1 << 30);
        assert!(verified.iter().all(|r| !r.3), "no pair reaches Jaccard 0.9");
        assert!(summary.verified_pairs > 0);
        assert_eq!(summary.verified_similar_pairs, 0);
        // Light edits pass verification.
        let (light, _) = run(
            &serde_json::json!({ "threshold": 0.5, "verify": true }),
            &batches(&corpus(2), 16),
            1 << 30,
        );
        assert_eq!(light.iter().filter(|r| r.3).count(), 40);
    }

    #[test]
    fn keep_highest_keeps_the_best_scored_member() {
        let docs = corpus(2);
        let (rows, _) = run(
            &serde_json::json!({ "threshold": 0.5, "keep_highest": "score" }),
            &batches(&docs, 10),
            1 << 30,
        );
        for pair in rows[..80].chunks(2) {
            assert!(
                pair[0].3,
                "the original (score 1) is dropped: {:?}",
                pair[0]
            );
            assert!(!pair[1].3, "the copy (score 2) is kept: {:?}", pair[1]);
            assert_eq!(
                pair[1].1, pair[0].0,
                "the cluster id stays the first member"
            );
        }
    }

    #[test]
    fn bad_parameters_are_named() {
        for (params, needle) in [
            (serde_json::json!({ "threshold": 1.5 }), "threshold"),
            (
                serde_json::json!({ "bands": 20, "rows": 10 }),
                "bands × rows",
            ),
            (serde_json::json!({ "ngram": 0 }), "ngram"),
            (serde_json::json!({ "shingles": "word" }), "shingles"),
        ] {
            let error = MinHashDedup::from_json(&params).unwrap_err().to_string();
            assert!(error.contains(needle), "{error}");
        }
    }

    #[test]
    fn default_lsh_is_datasketch_optimum() {
        let op = MinHashDedup::from_json(&serde_json::Value::Null).unwrap();
        assert_eq!(op.lsh(), LshParams { bands: 14, rows: 9 });
    }
}
