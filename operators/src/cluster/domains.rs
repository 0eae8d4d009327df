//! `domain.cluster` (formerly `cluster`)
//!
//! What it does: CLIMB's recipe over the `embedding` column. Observe pass 1 collects a
//! seeded sample of the embeddings, as many as a quarter of the memory budget holds (all of
//! them for small corpora), and k-means (blend's kernel) fits `fine_clusters` centroids to
//! it. Pass 2 places every document at its nearest centroid and tallies each fine cluster's
//! size, mean quality and reference labels; clusters whose mean quality is below
//! `min_quality` are pruned; the rest are merged by centroid similarity into `domains`
//! superclusters, numbered `d00`, `d01`, … by size. Pass 3 counts each domain's documents,
//! bytes and words and samples its text for labels (its most distinctive words). Adds
//! `cluster` (the fine cluster) and `domain` (`dNN`, or `pruned`; the column's name is
//! `domain_column`), and drops the embedding column unless `keep_embedding` is set. Memory:
//! the sample, the centroids and one batch; nothing per document.
//!
//! Why: mixture search weighs domains, and real corpora rarely come labelled. Many fine
//! clusters follow the data's own modes; pruning drops whole low-quality modes (CLIMB
//! prunes by a quality classifier's score); merging gives the few domains a mixture search
//! can afford proxies for. When the input has a `source` column (or `reference_column`),
//! purity / NMI / ARI of the domains against it are part of the summary.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch, StringArray, UInt32Array};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, Float64Type};
use blend_kernels::{
    Agreement, KMeansConfig, Linkage, agreement_from_counts, kmeans, merge_centroids,
    nearest_centroids, split_words,
};
use serde::{Deserialize, Serialize};

use super::embedding_column::{EMBEDDING_COLUMN, read_embeddings};
use super::labels::DistinctiveTerms;
use super::projection::pca_2d;
use crate::domain_from_column::DOMAIN_COLUMN;
use crate::operator::{Operator, OperatorEnv, default_text_column, string_column, with_columns};
use crate::spec::OperatorSpec;
use crate::{OperatorError, Result};

pub const CLUSTER_COLUMN: &str = "cluster";
/// The `domain` of documents in pruned clusters.
pub const PRUNED_DOMAIN: &str = "pruned";
/// Above this many documents k-means runs in mini-batches unless `mini_batch` says otherwise.
const MINI_BATCH_ABOVE: usize = 200_000;
const DEFAULT_MINI_BATCH: usize = 4096;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterParams {
    #[serde(default = "default_embedding_column")]
    pub embedding_column: String,
    #[serde(default = "default_text_column")]
    pub text_column: String,
    /// Name of the domain column it adds (e.g. `cluster_domain`, to keep a `domain` column
    /// made from `source` beside it).
    #[serde(default = "default_domain_column")]
    pub domain_column: String,
    /// k of k-means; by default one cluster per 50 documents, at least 2, at most 1000
    /// (CLIMB's K at scale).
    #[serde(default)]
    pub fine_clusters: Option<usize>,
    /// Superclusters to merge the kept fine clusters into.
    #[serde(default = "default_domains")]
    pub domains: usize,
    /// How superclusters are formed from fine clusters.
    #[serde(default = "default_linkage")]
    pub linkage: Linkage,
    /// Numeric or boolean column whose per-cluster mean decides pruning; none: no pruning.
    #[serde(default)]
    pub quality_column: Option<String>,
    #[serde(default = "default_min_quality")]
    pub min_quality: f64,
    /// Known labels to score the domains against (purity, NMI, ARI) when the column exists.
    #[serde(default = "default_reference_column")]
    pub reference_column: Option<String>,
    /// Mini-batch size of k-means; by default full Lloyd iterations up to 200,000 documents
    /// and batches of 4096 above.
    #[serde(default)]
    pub mini_batch: Option<usize>,
    #[serde(default = "default_max_iterations")]
    pub max_iterations: usize,
    /// Words per domain label.
    #[serde(default = "default_label_terms")]
    pub label_terms: usize,
    /// Documents per domain whose words are counted for its label.
    #[serde(default = "default_label_sample_docs")]
    pub label_sample_docs: usize,
    /// k-means seed; the run's seed when unset.
    #[serde(default)]
    pub seed: Option<u64>,
    /// Most documents k-means is fitted on; by default as many as a quarter of the memory
    /// budget holds. The rest are placed at their nearest centroid.
    #[serde(default)]
    pub fit_sample: Option<usize>,
    /// Keep the embedding column in the output (1.3 KB per document at 320 values, copied
    /// into every later stage); by default it is dropped once the domains are assigned.
    #[serde(default)]
    pub keep_embedding: bool,
}

fn default_embedding_column() -> String {
    EMBEDDING_COLUMN.into()
}
fn default_domains() -> usize {
    20
}
fn default_domain_column() -> String {
    DOMAIN_COLUMN.into()
}
fn default_linkage() -> Linkage {
    Linkage::Ward
}
fn default_min_quality() -> f64 {
    0.5
}
fn default_reference_column() -> Option<String> {
    Some("source".into())
}
fn default_max_iterations() -> usize {
    100
}
fn default_label_terms() -> usize {
    3
}
fn default_label_sample_docs() -> usize {
    1000
}

/// One domain of the summary's table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DomainRow {
    pub domain: String,
    pub docs: u64,
    pub bytes: u64,
    pub words: u64,
    /// Its most distinctive words, best first.
    pub terms: Vec<String>,
    pub mean_quality: Option<f64>,
    pub fine_clusters: usize,
    /// Position of its centroid on the fine clusters' first two principal axes.
    pub x: f64,
    pub y: f64,
}

/// One fine cluster of the summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FineClusterRow {
    pub cluster: u32,
    pub docs: u64,
    pub domain: String,
    pub mean_quality: Option<f64>,
    pub x: f64,
    pub y: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReferenceAgreement {
    pub column: String,
    /// Fine clusters against the reference.
    pub fine: Agreement,
    /// Domains (pruned documents as one more group) against the reference.
    pub domains: Agreement,
}

/// What `cluster` found: its stage summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterSummary {
    /// The column the domains were written to.
    pub domain_column: String,
    pub linkage: Linkage,
    pub documents: u64,
    /// Documents k-means was fitted on (a seeded sample when the corpus outgrows the budget).
    #[serde(default)]
    pub fit_documents: u64,
    pub dim: usize,
    pub fine_clusters: usize,
    /// Sum of squared distances of the fitted documents to their centroids.
    pub inertia: f64,
    pub iterations: usize,
    pub quality_column: Option<String>,
    pub min_quality: f64,
    pub pruned_clusters: usize,
    pub pruned_docs: u64,
    /// Kept domains by size, then `pruned` when any were.
    pub domains: Vec<DomainRow>,
    pub fine: Vec<FineClusterRow>,
    pub agreement: Option<ReferenceAgreement>,
}

impl ClusterSummary {
    /// The summary of a `cluster` stage, from its manifest's operator summary.
    pub fn from_json(value: &serde_json::Value) -> Option<Self> {
        serde_json::from_value(value.clone()).ok()
    }
}

/// The documents k-means is fitted on, collected in pass 1: row `r` is taken when its
/// seeded hash falls below `rate`, so the sample does not depend on batch boundaries.
#[derive(Debug, Default)]
struct FitSample {
    embeddings: Vec<f32>,
    rows: usize,
    dim: Option<usize>,
    /// Set from the first batch (its embedding length) and the budget.
    rate: Option<f64>,
}

/// The fitted centroids (row-major, `dim` each).
#[derive(Debug, Default)]
struct FineClusters {
    centroids: Vec<f32>,
    dim: usize,
    fit_documents: u64,
    inertia: f64,
    iterations: usize,
}

/// What pass 2 counts per fine cluster, each document placed at its nearest centroid.
#[derive(Debug, Default)]
struct Tally {
    sizes: Vec<u64>,
    /// Sum and count of the finite quality scores.
    quality: Vec<(f64, u64)>,
    /// Documents per (fine cluster, reference label id).
    reference: BTreeMap<(u32, u32), u64>,
    reference_names: HashMap<String, u32>,
    reference_missing: bool,
}

/// Clustering results, from the end of pass 2 on.
#[derive(Debug)]
struct Assigned {
    /// Domain of each fine cluster; `None` when pruned.
    fine_domain: Vec<Option<u32>>,
    domains: usize,
    summary: ClusterSummary,
    terms: DistinctiveTerms,
    /// Per domain (pruned last): docs, bytes, words.
    totals: Vec<[u64; 3]>,
}

#[derive(Debug)]
pub struct Cluster {
    params: ClusterParams,
    seed: u64,
    memory_budget: u64,
    expected_rows: u64,
    sample: FitSample,
    fit: Option<FineClusters>,
    tally: Tally,
    assigned: Option<Assigned>,
    /// Rows seen in the current pass (or apply).
    position: usize,
}

impl OperatorSpec for Cluster {
    const NAME: &'static str = "domain.cluster";
    const ALIASES: &'static [&'static str] = &["cluster"];
    type Params = ClusterParams;

    fn with_params(params: ClusterParams) -> Result<Self> {
        if params.domains == 0 {
            return Err(OperatorError::params(
                Self::NAME,
                "domains must be at least 1",
            ));
        }
        if params.fine_clusters == Some(0) || params.mini_batch == Some(0) {
            return Err(OperatorError::params(
                Self::NAME,
                "fine_clusters and mini_batch must be at least 1",
            ));
        }
        Ok(Self {
            params,
            seed: 0,
            memory_budget: 0,
            expected_rows: 0,
            sample: FitSample::default(),
            fit: None,
            tally: Tally::default(),
            assigned: None,
            position: 0,
        })
    }

    fn typed_params(&self) -> &ClusterParams {
        &self.params
    }
}

impl Cluster {
    fn domain_name(domain: Option<u32>) -> String {
        match domain {
            Some(d) => format!("d{d:02}"),
            None => PRUNED_DOMAIN.to_string(),
        }
    }

    /// The embeddings of `batch` (row-major) and their length, checked.
    fn embeddings(&self, batch: &RecordBatch, first_row: usize) -> Result<(Vec<f32>, usize)> {
        let mut values = Vec::new();
        let dim = read_embeddings(
            Self::NAME,
            batch,
            &self.params.embedding_column,
            first_row as u64,
            &mut values,
        )?;
        if values.iter().any(|x| !x.is_finite()) {
            return Err(self.embedding_error(format!(
                "holds a NaN or infinite value in rows {first_row}..{}",
                first_row + batch.num_rows()
            )));
        }
        if let Some(expected) = self.sample.dim
            && batch.num_rows() > 0
            && dim != expected
        {
            return Err(self.embedding_error(format!(
                "has {dim} values from row {first_row} on but {expected} before; every embedding needs the same length"
            )));
        }
        Ok((values, dim))
    }

    fn embedding_error(&self, problem: String) -> OperatorError {
        OperatorError::Column {
            operator: Self::NAME.into(),
            column: self.params.embedding_column.clone(),
            problem,
        }
    }

    /// Pass 1: the rows of the fit sample.
    fn collect_sample(&mut self, batch: &RecordBatch) -> Result<()> {
        let first_row = self.position;
        let (values, dim) = self.embeddings(batch, first_row)?;
        self.position += batch.num_rows();
        if batch.num_rows() == 0 {
            return Ok(());
        }
        self.sample.dim = Some(dim);
        let rate = *self.sample.rate.get_or_insert_with(|| {
            let budget_rows = (self.memory_budget / 4 / (dim as u64 * 4).max(1)).max(1) as usize;
            let cap = self.params.fit_sample.unwrap_or(budget_rows);
            if self.expected_rows == 0 {
                1.0
            } else {
                (cap as f64 / self.expected_rows as f64).min(1.0)
            }
        });
        for (offset, row) in values.chunks_exact(dim.max(1)).enumerate() {
            if rate >= 1.0 || in_sample(self.seed, first_row + offset, rate) {
                self.sample.embeddings.extend_from_slice(row);
                self.sample.rows += 1;
            }
        }
        Ok(())
    }

    /// End of pass 1: k-means of the sample into at most one cluster per fitted document
    /// (none without documents), mini-batched above `MINI_BATCH_ABOVE` documents.
    fn fit(&mut self) -> Result<()> {
        let sample = std::mem::take(&mut self.sample);
        let (n, rows, dim) = (self.position, sample.rows, sample.dim.unwrap_or(0));
        let k = self
            .params
            .fine_clusters
            .unwrap_or_else(|| (n / 50).clamp(2, 1000))
            .min(rows);
        self.sample.dim = sample.dim;
        if rows == 0 {
            self.fit = Some(FineClusters::default());
            return Ok(());
        }
        let mut config = KMeansConfig::new(k, self.seed);
        config.max_iterations = self.params.max_iterations;
        config.mini_batch = self
            .params
            .mini_batch
            .or((rows > MINI_BATCH_ABOVE).then_some(DEFAULT_MINI_BATCH));
        tracing::info!(
            "{}: k-means of {rows} of {n} documents × {dim} values into {k} clusters{}",
            Self::NAME,
            config
                .mini_batch
                .map(|b| format!(" (mini-batches of {b})"))
                .unwrap_or_default()
        );
        let result = kmeans(&sample.embeddings, dim, &config)
            .map_err(|e| OperatorError::invalid(Self::NAME, e))?;
        self.fit = Some(FineClusters {
            centroids: result.centroids,
            dim,
            fit_documents: rows as u64,
            inertia: result.inertia,
            iterations: result.iterations,
        });
        self.tally = Tally {
            sizes: vec![0; k],
            quality: vec![(0.0, 0); k],
            ..Tally::default()
        };
        Ok(())
    }

    /// The fine cluster of every row of `batch`: its nearest centroid.
    fn place(&self, batch: &RecordBatch) -> Result<Vec<u32>> {
        let fit = self.fit.as_ref().ok_or_else(|| {
            OperatorError::invalid(Self::NAME, "used before the observe passes finished")
        })?;
        if batch.num_rows() == 0 {
            return Ok(Vec::new());
        }
        if fit.centroids.is_empty() {
            return Err(OperatorError::invalid(
                Self::NAME,
                "the upstream has more rows than the first pass (none seen)",
            ));
        }
        let (values, _) = self.embeddings(batch, self.position)?;
        Ok(nearest_centroids(&values, fit.dim, &fit.centroids))
    }

    /// Pass 2: sizes, quality and reference labels per fine cluster.
    fn tally(&mut self, batch: &RecordBatch) -> Result<()> {
        let fine = self.place(batch)?;
        let quality = self.quality_values(batch)?;
        let reference = self.reference_ids(batch)?;
        let tally = &mut self.tally;
        for (row, &c) in fine.iter().enumerate() {
            tally.sizes[c as usize] += 1;
            if let Some(q) = quality.as_ref().map(|q| q[row])
                && q.is_finite()
            {
                tally.quality[c as usize].0 += q;
                tally.quality[c as usize].1 += 1;
            }
            if let Some(ids) = &reference {
                *tally.reference.entry((c, ids[row])).or_default() += 1;
            }
        }
        self.position += batch.num_rows();
        Ok(())
    }

    /// The quality column as numbers (NaN where null), when one is configured.
    fn quality_values(&self, batch: &RecordBatch) -> Result<Option<Vec<f64>>> {
        let Some(column) = &self.params.quality_column else {
            return Ok(None);
        };
        let values = batch.column_by_name(column).ok_or_else(|| OperatorError::Column {
            operator: Self::NAME.into(),
            column: column.clone(),
            problem: "(quality_column) is missing; score quality before clustering or unset quality_column".into(),
        })?;
        let values = cast(values, &DataType::Float64).map_err(|_| OperatorError::Column {
            operator: Self::NAME.into(),
            column: column.clone(),
            problem: format!(
                "has type {}, expected numbers or booleans",
                values.data_type()
            ),
        })?;
        let values = values.as_primitive::<Float64Type>();
        Ok(Some(
            (0..values.len())
                .map(|i| {
                    if values.is_null(i) {
                        f64::NAN
                    } else {
                        values.value(i)
                    }
                })
                .collect(),
        ))
    }

    /// Reference label ids of `batch`'s rows; `None` once any batch lacked the column.
    fn reference_ids(&mut self, batch: &RecordBatch) -> Result<Option<Vec<u32>>> {
        let Some(column) = &self.params.reference_column else {
            return Ok(None);
        };
        if batch.column_by_name(column).is_none() {
            self.tally.reference_missing = true;
        }
        if self.tally.reference_missing {
            return Ok(None);
        }
        let values = string_column(Self::NAME, batch, column)?;
        let names = &mut self.tally.reference_names;
        Ok(Some(
            values
                .iter()
                .map(|value| {
                    let next = names.len() as u32;
                    *names.entry(value.unwrap_or("").to_string()).or_insert(next)
                })
                .collect(),
        ))
    }

    /// End of pass 2: fine clusters pruned by quality, the rest merged into domains.
    fn assign(&mut self) -> Result<()> {
        let fit = self.fit.as_ref().expect("fitted in pass 1");
        let tally = std::mem::take(&mut self.tally);
        let (k, dim) = (tally.sizes.len(), fit.dim);
        let fine_quality = self.fine_quality(&tally);
        let kept: Vec<usize> = (0..k)
            .filter(|&c| fine_quality[c].is_none_or(|q| q >= self.params.min_quality))
            .collect();
        let (fine_domain, domains) = self.merge_kept(fit, &tally.sizes, &kept);
        let xy = pca_2d(
            &fit.centroids,
            dim,
            &tally.sizes.iter().map(|&s| s as f64).collect::<Vec<_>>(),
        );
        let fine_rows: Vec<FineClusterRow> = (0..k)
            .map(|c| FineClusterRow {
                cluster: c as u32,
                docs: tally.sizes[c],
                domain: Self::domain_name(fine_domain[c]),
                mean_quality: fine_quality[c],
                x: xy[c].0,
                y: xy[c].1,
            })
            .collect();
        let pruned_docs: u64 = (0..k)
            .filter(|&c| fine_domain[c].is_none())
            .map(|c| tally.sizes[c])
            .sum();
        let agreement = self.reference_agreement(&tally, &fine_domain, domains);
        let summary = ClusterSummary {
            domain_column: self.params.domain_column.clone(),
            linkage: self.params.linkage,
            documents: self.position as u64,
            fit_documents: fit.fit_documents,
            dim,
            fine_clusters: k,
            inertia: fit.inertia,
            iterations: fit.iterations,
            quality_column: self.params.quality_column.clone(),
            min_quality: self.params.min_quality,
            pruned_clusters: k - kept.len(),
            pruned_docs,
            domains: Vec::new(),
            fine: fine_rows,
            agreement,
        };
        self.assigned = Some(Assigned {
            fine_domain,
            domains,
            summary,
            terms: DistinctiveTerms::new(domains + 1, self.params.label_sample_docs),
            totals: vec![[0; 3]; domains + 1],
        });
        Ok(())
    }

    /// Mean quality per fine cluster (documents without a score do not count); `None`
    /// everywhere without a quality column.
    fn fine_quality(&self, tally: &Tally) -> Vec<Option<f64>> {
        if self.params.quality_column.is_none() {
            return vec![None; tally.sizes.len()];
        }
        tally
            .quality
            .iter()
            .map(|&(s, c)| (c > 0).then(|| s / c as f64))
            .collect()
    }

    fn merge_kept(
        &self,
        fit: &FineClusters,
        sizes: &[u64],
        kept: &[usize],
    ) -> (Vec<Option<u32>>, usize) {
        let dim = fit.dim;
        let kept_centroids: Vec<f32> = kept
            .iter()
            .flat_map(|&c| fit.centroids[c * dim..(c + 1) * dim].iter().copied())
            .collect();
        let kept_sizes: Vec<u64> = kept.iter().map(|&c| sizes[c]).collect();
        let groups = if kept.is_empty() {
            Vec::new()
        } else {
            merge_centroids(
                &kept_centroids,
                dim,
                &kept_sizes,
                self.params.domains,
                self.params.linkage,
            )
        };
        let domains = groups.iter().map(|&g| g as usize + 1).max().unwrap_or(0);
        let mut fine_domain = vec![None; sizes.len()];
        for (&c, &g) in kept.iter().zip(&groups) {
            fine_domain[c] = Some(g);
        }
        (fine_domain, domains)
    }

    /// Purity, NMI and ARI of the fine clusters and the domains against the reference
    /// column, when there is one and every document had a value.
    fn reference_agreement(
        &self,
        tally: &Tally,
        fine_domain: &[Option<u32>],
        domains: usize,
    ) -> Option<ReferenceAgreement> {
        let column = self.params.reference_column.as_ref()?;
        if tally.reference_missing || tally.reference.is_empty() {
            return None;
        }
        let slot = |c: u32| fine_domain[c as usize].map_or(domains as u32, |d| d);
        let mut by_domain: BTreeMap<(u32, u32), u64> = BTreeMap::new();
        for (&(c, label), &count) in &tally.reference {
            *by_domain.entry((slot(c), label)).or_default() += count;
        }
        Some(ReferenceAgreement {
            column: column.clone(),
            fine: agreement_from_counts(&tally.reference),
            domains: agreement_from_counts(&by_domain),
        })
    }

    fn assigned(&mut self) -> Result<&mut Assigned> {
        self.assigned.as_mut().ok_or_else(|| {
            OperatorError::invalid(Self::NAME, "used before the observe passes finished")
        })
    }

    /// The domain slot (pruned last) of fine cluster `c`.
    fn slot(assigned: &Assigned, c: u32) -> usize {
        assigned.fine_domain[c as usize].map_or(assigned.domains, |d| d as usize)
    }

    /// Pass 3: documents, bytes, words and label words per domain.
    fn count(&mut self, batch: &RecordBatch) -> Result<()> {
        let fine = self.place(batch)?;
        let texts = string_column(Self::NAME, batch, &self.params.text_column)?;
        let assigned = self.assigned()?;
        for (text, &c) in texts.iter().zip(&fine) {
            let slot = Self::slot(assigned, c);
            let text = text.unwrap_or("");
            let totals = &mut assigned.totals[slot];
            totals[0] += 1;
            totals[1] += text.len() as u64;
            totals[2] += split_words(text).count() as u64;
            assigned.terms.add(slot, text);
        }
        self.position += batch.num_rows();
        Ok(())
    }

    fn finish_table(&mut self) -> Result<()> {
        let label_terms = self.params.label_terms;
        let assigned = self.assigned()?;
        let labels = assigned.terms.labels(label_terms);
        let mut rows = Vec::new();
        for (slot, terms) in labels.into_iter().enumerate() {
            let domain = (slot < assigned.domains).then_some(slot as u32);
            let members: Vec<&FineClusterRow> = assigned
                .summary
                .fine
                .iter()
                .filter(|f| assigned.fine_domain[f.cluster as usize] == domain)
                .collect();
            let [docs, bytes, words] = assigned.totals[slot];
            if domain.is_none() && members.is_empty() {
                continue;
            }
            let weight: f64 = members.iter().map(|f| f.docs as f64).sum::<f64>().max(1.0);
            let scored: Vec<(f64, f64)> = members
                .iter()
                .filter_map(|f| f.mean_quality.map(|q| (q, f.docs as f64)))
                .collect();
            let quality_weight: f64 = scored.iter().map(|(_, w)| w).sum();
            rows.push(DomainRow {
                domain: Self::domain_name(domain),
                docs,
                bytes,
                words,
                terms,
                mean_quality: (quality_weight > 0.0)
                    .then(|| scored.iter().map(|(q, w)| q * w).sum::<f64>() / quality_weight),
                fine_clusters: members.len(),
                x: members.iter().map(|f| f.x * f.docs as f64).sum::<f64>() / weight,
                y: members.iter().map(|f| f.y * f.docs as f64).sum::<f64>() / weight,
            });
        }
        assigned.summary.domains = rows;
        Ok(())
    }
}

/// Whether row `row` is in the fit sample taken at `rate` (a seeded hash, not batch order).
fn in_sample(seed: u64, row: usize, rate: f64) -> bool {
    let mut z = seed ^ (row as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    ((z >> 11) as f64 / (1u64 << 53) as f64) < rate
}

impl Operator for Cluster {
    fn output_fields(&self) -> Vec<Field> {
        vec![
            Field::new(CLUSTER_COLUMN, DataType::UInt32, false),
            Field::new(&self.params.domain_column, DataType::Utf8, false),
        ]
    }

    fn prepare(&mut self, env: &OperatorEnv) -> Result<()> {
        self.seed = self.params.seed.unwrap_or(env.seed);
        self.memory_budget = env.memory_budget;
        self.expected_rows = env.expected_rows;
        self.sample = FitSample::default();
        self.fit = None;
        self.tally = Tally::default();
        self.assigned = None;
        self.position = 0;
        Ok(())
    }

    fn observe_passes(&self) -> usize {
        3
    }

    /// The fit sample: at most a quarter of the budget (or `fit_sample` rows of 320 values).
    fn expected_memory(&self, env: &OperatorEnv) -> u64 {
        let row = 320 * 4;
        let cap = self
            .params
            .fit_sample
            .map_or(env.memory_budget / 4, |rows| rows as u64 * row);
        cap.min(env.expected_rows * row)
    }

    fn observe(&mut self, pass: usize, batch: &RecordBatch) -> Result<()> {
        match pass {
            0 => self.collect_sample(batch),
            1 => self.tally(batch),
            _ => self.count(batch),
        }
    }

    fn end_pass(&mut self, pass: usize) -> Result<()> {
        match pass {
            0 => self.fit()?,
            1 => self.assign()?,
            _ => self.finish_table()?,
        }
        self.position = 0;
        Ok(())
    }

    fn apply(&mut self, batch: RecordBatch) -> Result<RecordBatch> {
        let fine = self.place(&batch)?;
        let assigned = self.assigned()?;
        let domains: Vec<String> = fine
            .iter()
            .map(|&c| {
                let slot = Self::slot(assigned, c);
                Self::domain_name((slot < assigned.domains).then_some(slot as u32))
            })
            .collect();
        self.position += batch.num_rows();
        let fields = self.output_fields();
        let columns: Vec<(Field, ArrayRef)> = vec![
            (fields[0].clone(), Arc::new(UInt32Array::from(fine))),
            (fields[1].clone(), Arc::new(StringArray::from(domains))),
        ];
        let mut out = with_columns(Self::NAME, &batch, columns)?;
        if !self.params.keep_embedding
            && let Ok(index) = out.schema().index_of(&self.params.embedding_column)
        {
            out.remove_column(index);
        }
        Ok(out)
    }

    fn summary(&self) -> Option<serde_json::Value> {
        let assigned = self.assigned.as_ref()?;
        Some(serde_json::to_value(&assigned.summary).expect("summary serializes"))
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::BooleanArray;
    use arrow::datatypes::Schema;

    use super::*;
    use crate::cluster::embedding_column::{embedding_array, embedding_field};

    /// Rows around three directions of 4-D space: `a` (good), `b` (good), `junk` (fails).
    fn batch(rows: &[(&str, [f32; 4], bool)]) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("text", DataType::Utf8, false),
            Field::new("source", DataType::Utf8, false),
            Field::new("good", DataType::Boolean, false),
            embedding_field("embedding", 4),
        ]));
        let texts: Vec<String> = rows
            .iter()
            .map(|(source, _, _)| format!("{source} words about {source} things"))
            .collect();
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from(texts)),
                Arc::new(StringArray::from(
                    rows.iter().map(|r| r.0).collect::<Vec<_>>(),
                )),
                Arc::new(BooleanArray::from(
                    rows.iter().map(|r| r.2).collect::<Vec<_>>(),
                )),
                embedding_array(rows.iter().flat_map(|r| r.1).collect(), 4),
            ],
        )
        .unwrap()
    }

    fn corpus() -> Vec<RecordBatch> {
        let mut rows = Vec::new();
        for i in 0..30 {
            let jitter = (i % 5) as f32 * 0.01;
            rows.push(("alpha", [1.0, jitter, 0.0, 0.0], true));
            rows.push(("beta", [0.0, 1.0, jitter, 0.0], true));
            if i % 3 == 0 {
                rows.push(("junk", [0.0, 0.0, jitter, 1.0], false));
            }
        }
        rows.chunks(25).map(batch).collect()
    }

    fn run(
        params: &serde_json::Value,
        batches: &[RecordBatch],
    ) -> Result<(Cluster, Vec<RecordBatch>)> {
        let mut op = Cluster::from_json(params)?;
        op.prepare(&OperatorEnv {
            scratch_dir: std::env::temp_dir(),
            memory_budget: 1 << 20,
            expected_rows: batches.iter().map(|b| b.num_rows() as u64).sum(),
            seed: 3,
        })?;
        for pass in 0..op.observe_passes() {
            for b in batches {
                op.observe(pass, b)?;
            }
            op.end_pass(pass)?;
        }
        let out = batches
            .iter()
            .map(|b| op.apply(b.clone()))
            .collect::<Result<Vec<_>>>()?;
        Ok((op, out))
    }

    #[test]
    fn low_quality_clusters_are_pruned_and_the_rest_become_labelled_domains() {
        let batches = corpus();
        let (op, out) = run(
            &serde_json::json!({ "fine_clusters": 6, "domains": 2, "quality_column": "good" }),
            &batches,
        )
        .unwrap();
        let summary = ClusterSummary::from_json(&op.summary().unwrap()).unwrap();
        assert_eq!(summary.documents, 70);
        let names: Vec<&str> = summary.domains.iter().map(|d| d.domain.as_str()).collect();
        assert_eq!(names, ["d00", "d01", PRUNED_DOMAIN]);
        assert_eq!(summary.domains[2].docs, 10);
        assert_eq!(summary.pruned_docs, 10);
        assert_eq!(summary.domains[2].mean_quality, Some(0.0));
        assert_eq!(summary.domains[0].docs + summary.domains[1].docs, 60);
        let labels: Vec<String> = summary.domains.iter().map(|d| d.terms[0].clone()).collect();
        assert!(labels.contains(&"alpha".to_string()) && labels.contains(&"beta".to_string()));
        assert_eq!(labels[2], "junk");
        let agreement = summary.agreement.unwrap();
        assert!(agreement.domains.purity == 1.0 && agreement.domains.nmi > 1.0 - 1e-9);
        assert_eq!(summary.fit_documents, 70, "a small corpus is fitted whole");
        assert_junk_pruned(&out);
        assert!(out.iter().all(|b| b.column_by_name("cluster").is_some()));
        // Same input, same seed: the same summary.
        let (again, _) = run(
            &serde_json::json!({ "fine_clusters": 6, "domains": 2, "quality_column": "good" }),
            &batches,
        )
        .unwrap();
        assert_eq!(again.summary(), op.summary());
    }

    /// Every junk row is pruned and every other row is in a kept domain.
    fn assert_junk_pruned(out: &[RecordBatch]) {
        for batch in out {
            let sources = batch.column_by_name("source").unwrap().as_string::<i32>();
            let domains = batch.column_by_name("domain").unwrap().as_string::<i32>();
            for row in 0..batch.num_rows() {
                assert_eq!(
                    sources.value(row) == "junk",
                    domains.value(row) == PRUNED_DOMAIN
                );
            }
        }
    }

    #[test]
    fn beyond_its_fit_sample_k_means_fits_a_sample_and_places_every_row() {
        let params = serde_json::json!({
            "fine_clusters": 6, "domains": 2, "quality_column": "good", "fit_sample": 30
        });
        let (op, out) = run(&params, &corpus()).unwrap();
        let summary = ClusterSummary::from_json(&op.summary().unwrap()).unwrap();
        assert_eq!(summary.documents, 70);
        assert!(
            (15..=45).contains(&summary.fit_documents),
            "about 30 of 70 fitted: {}",
            summary.fit_documents
        );
        assert_eq!(summary.domains.iter().map(|d| d.docs).sum::<u64>(), 70);
        assert_eq!(summary.pruned_docs, 10);
        assert_junk_pruned(&out);
    }

    #[test]
    fn the_embedding_column_is_dropped_unless_kept() {
        let batches = corpus();
        let (_, dropped) = run(&serde_json::json!({ "domains": 2 }), &batches).unwrap();
        assert!(dropped[0].column_by_name("embedding").is_none());
        let (_, kept) = run(
            &serde_json::json!({ "domains": 2, "keep_embedding": true }),
            &batches,
        )
        .unwrap();
        assert!(kept[0].column_by_name("embedding").is_some());
    }

    #[test]
    fn missing_or_bad_inputs_are_named() {
        let batches = corpus();
        let no_embedding: Vec<RecordBatch> = batches
            .iter()
            .map(|b| {
                let mut b = b.clone();
                b.remove_column(3);
                b
            })
            .collect();
        let error = run(&serde_json::json!({}), &no_embedding)
            .unwrap_err()
            .to_string();
        assert!(error.contains("`domain.embed`"), "{error}");
        let error = run(&serde_json::json!({ "quality_column": "stars" }), &batches)
            .unwrap_err()
            .to_string();
        assert!(error.contains("stars"), "{error}");
        let mut with_nan = batches.clone();
        let schema = with_nan[0].schema();
        let mut columns = with_nan[0].columns().to_vec();
        let mut values: Vec<f32> = vec![0.5; with_nan[0].num_rows() * 4];
        values[5] = f32::NAN;
        columns[3] = embedding_array(values, 4);
        with_nan[0] = RecordBatch::try_new(schema, columns).unwrap();
        let error = run(&serde_json::json!({}), &with_nan)
            .unwrap_err()
            .to_string();
        assert!(error.contains("NaN"), "{error}");
        assert!(Cluster::from_json(&serde_json::json!({ "domains": 0 })).is_err());
        let mut fresh = Cluster::from_json(&serde_json::Value::Null).unwrap();
        assert!(
            fresh.apply(batches[0].clone()).is_err(),
            "apply before the passes"
        );
    }
}
