//! `domain.cluster` (formerly `cluster`)
//!
//! What it does: CLIMB's recipe over the `embedding` column. Observe pass 1 collects the
//! embeddings (and, when configured, a quality score and a reference label per document);
//! k-means (blend's kernel) splits them into `fine_clusters` clusters; clusters whose mean
//! quality is below `min_quality` are pruned; the rest are merged by centroid similarity
//! into `domains` superclusters, numbered `d00`, `d01`, … by size. Observe pass 2 counts each
//! domain's documents, bytes and words and samples its text for labels (its most
//! distinctive words). Adds `cluster` (the fine cluster) and `domain` (`dNN`, or `pruned`;
//! the column's name is `domain_column`).
//!
//! Why: mixture search weighs domains, and real corpora rarely come labelled. Many fine
//! clusters follow the data's own modes; pruning drops whole low-quality modes (CLIMB
//! prunes by a quality classifier's score); merging gives the few domains a mixture search
//! can afford proxies for. When the input has a `source` column (or `reference_column`),
//! purity / NMI / ARI of the domains against it are part of the summary.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch, StringArray, UInt32Array};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, Float64Type};
use blend_kernels::{
    Agreement, KMeansConfig, Linkage, agreement, kmeans, merge_centroids, split_words,
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
    pub dim: usize,
    pub fine_clusters: usize,
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

/// Documents seen in pass 1.
#[derive(Debug, Default)]
struct Collected {
    embeddings: Vec<f32>,
    dim: Option<usize>,
    quality: Vec<f64>,
    reference: Vec<u32>,
    reference_names: HashMap<String, u32>,
    reference_missing: bool,
}

/// What k-means found: each document's fine cluster, the centroids (row-major, `dim` each),
/// documents per cluster.
#[derive(Debug, Default)]
struct FineClusters {
    assignments: Vec<u32>,
    centroids: Vec<f32>,
    sizes: Vec<u64>,
    inertia: f64,
    iterations: usize,
}

/// Clustering results, from the end of pass 1 on.
#[derive(Debug)]
struct Assigned {
    fine: Vec<u32>,
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
    collected: Collected,
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
            collected: Collected::default(),
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

    fn collect(&mut self, batch: &RecordBatch) -> Result<()> {
        let first_row = self.position as u64;
        let collected = &mut self.collected;
        let dim = read_embeddings(
            Self::NAME,
            batch,
            &self.params.embedding_column,
            first_row,
            &mut collected.embeddings,
        )?;
        if batch.num_rows() > 0 {
            match collected.dim {
                None => collected.dim = Some(dim),
                Some(d) if d != dim => {
                    return Err(OperatorError::Column {
                        operator: Self::NAME.into(),
                        column: self.params.embedding_column.clone(),
                        problem: format!(
                            "has {dim} values from row {first_row} on but {d} before; every embedding needs the same length"
                        ),
                    });
                }
                Some(_) => {}
            }
        }
        if let Some(column) = &self.params.quality_column {
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
            collected.quality.extend((0..values.len()).map(|i| {
                if values.is_null(i) {
                    f64::NAN
                } else {
                    values.value(i)
                }
            }));
        }
        if let Some(column) = &self.params.reference_column {
            if batch.column_by_name(column).is_none() {
                collected.reference_missing = true;
            } else if !collected.reference_missing {
                let values = string_column(Self::NAME, batch, column)?;
                for value in values.iter() {
                    let next = collected.reference_names.len() as u32;
                    let id = *collected
                        .reference_names
                        .entry(value.unwrap_or("").to_string())
                        .or_insert(next);
                    collected.reference.push(id);
                }
            }
        }
        self.position += batch.num_rows();
        Ok(())
    }

    /// End of pass 1: fine clusters by k-means, pruned by quality, merged into domains.
    fn assign(&mut self) -> Result<()> {
        let collected = std::mem::take(&mut self.collected);
        let n = self.position;
        let dim = collected.dim.unwrap_or(0);
        if collected.embeddings.iter().any(|x| !x.is_finite()) {
            return Err(OperatorError::Column {
                operator: Self::NAME.into(),
                column: self.params.embedding_column.clone(),
                problem: "holds a NaN or infinite value".into(),
            });
        }
        let fit = self.fine_clusters(&collected.embeddings, n, dim)?;
        let k = fit.sizes.len();
        let fine_quality = self.fine_quality(&fit, &collected.quality);
        let kept: Vec<usize> = (0..k)
            .filter(|&c| fine_quality[c].is_none_or(|q| q >= self.params.min_quality))
            .collect();
        let (fine_domain, domains) = self.merge_kept(&fit, &kept, dim);
        let xy = pca_2d(
            &fit.centroids,
            dim,
            &fit.sizes.iter().map(|&s| s as f64).collect::<Vec<_>>(),
        );
        let fine_rows: Vec<FineClusterRow> = (0..k)
            .map(|c| FineClusterRow {
                cluster: c as u32,
                docs: fit.sizes[c],
                domain: Self::domain_name(fine_domain[c]),
                mean_quality: fine_quality[c],
                x: xy[c].0,
                y: xy[c].1,
            })
            .collect();
        let pruned_docs: u64 = (0..k)
            .filter(|&c| fine_domain[c].is_none())
            .map(|c| fit.sizes[c])
            .sum();
        let agreement =
            self.reference_agreement(&collected, &fit.assignments, &fine_domain, domains);
        let summary = ClusterSummary {
            domain_column: self.params.domain_column.clone(),
            linkage: self.params.linkage,
            documents: n as u64,
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
            fine: fit.assignments,
            fine_domain,
            domains,
            summary,
            terms: DistinctiveTerms::new(domains + 1, self.params.label_sample_docs),
            totals: vec![[0; 3]; domains + 1],
        });
        Ok(())
    }

    /// k-means of the `n` embeddings into at most one cluster per document (none without
    /// documents), mini-batched above `MINI_BATCH_ABOVE` documents.
    fn fine_clusters(&self, embeddings: &[f32], n: usize, dim: usize) -> Result<FineClusters> {
        let k = self
            .params
            .fine_clusters
            .unwrap_or_else(|| (n / 50).clamp(2, 1000))
            .min(n);
        if n == 0 {
            return Ok(FineClusters {
                sizes: vec![0; k],
                ..FineClusters::default()
            });
        }
        let mut config = KMeansConfig::new(k, self.seed);
        config.max_iterations = self.params.max_iterations;
        config.mini_batch = self
            .params
            .mini_batch
            .or((n > MINI_BATCH_ABOVE).then_some(DEFAULT_MINI_BATCH));
        tracing::info!(
            "{}: k-means of {n} documents × {dim} values into {k} clusters{}",
            Self::NAME,
            config
                .mini_batch
                .map(|b| format!(" (mini-batches of {b})"))
                .unwrap_or_default()
        );
        let result =
            kmeans(embeddings, dim, &config).map_err(|e| OperatorError::invalid(Self::NAME, e))?;
        let mut sizes = vec![0u64; k];
        for &c in &result.assignments {
            sizes[c as usize] += 1;
        }
        Ok(FineClusters {
            assignments: result.assignments,
            centroids: result.centroids,
            sizes,
            inertia: result.inertia,
            iterations: result.iterations,
        })
    }

    /// Mean quality per fine cluster (documents without a score do not count); `None`
    /// everywhere without a quality column.
    fn fine_quality(&self, fit: &FineClusters, quality: &[f64]) -> Vec<Option<f64>> {
        let k = fit.sizes.len();
        if self.params.quality_column.is_none() {
            return vec![None; k];
        }
        let mut sums = vec![(0f64, 0u64); k];
        for (&c, &q) in fit.assignments.iter().zip(quality) {
            if q.is_finite() {
                sums[c as usize].0 += q;
                sums[c as usize].1 += 1;
            }
        }
        sums.iter()
            .map(|&(s, c)| (c > 0).then(|| s / c as f64))
            .collect()
    }

    /// Merges the `kept` fine clusters' centroids into at most `domains` groups: each fine
    /// cluster's domain (`None` when pruned) and the number of domains.
    fn merge_kept(
        &self,
        fit: &FineClusters,
        kept: &[usize],
        dim: usize,
    ) -> (Vec<Option<u32>>, usize) {
        let kept_centroids: Vec<f32> = kept
            .iter()
            .flat_map(|&c| fit.centroids[c * dim..(c + 1) * dim].iter().copied())
            .collect();
        let kept_sizes: Vec<u64> = kept.iter().map(|&c| fit.sizes[c]).collect();
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
        let mut fine_domain = vec![None; fit.sizes.len()];
        for (&c, &g) in kept.iter().zip(&groups) {
            fine_domain[c] = Some(g);
        }
        (fine_domain, domains)
    }

    /// Purity, NMI and ARI of the fine clusters and the domains against the reference
    /// column, when there is one and every document had a value.
    fn reference_agreement(
        &self,
        collected: &Collected,
        fine: &[u32],
        fine_domain: &[Option<u32>],
        domains: usize,
    ) -> Option<ReferenceAgreement> {
        let column = self.params.reference_column.as_ref()?;
        if collected.reference_missing || fine.is_empty() {
            return None;
        }
        let slot = |c: u32| fine_domain[c as usize].map_or(domains as u32, |d| d);
        let domain_of: Vec<u32> = fine.iter().map(|&c| slot(c)).collect();
        Some(ReferenceAgreement {
            column: column.clone(),
            fine: agreement(fine, &collected.reference),
            domains: agreement(&domain_of, &collected.reference),
        })
    }

    fn assigned(&mut self) -> Result<&mut Assigned> {
        self.assigned.as_mut().ok_or_else(|| {
            OperatorError::invalid(Self::NAME, "used before the observe passes finished")
        })
    }

    fn slot(assigned: &Assigned, row: usize) -> Result<usize> {
        let cluster = *assigned.fine.get(row).ok_or_else(|| {
            OperatorError::invalid(
                Self::NAME,
                format!(
                    "the upstream has more rows than the first pass ({} seen)",
                    assigned.fine.len()
                ),
            )
        })?;
        Ok(assigned.fine_domain[cluster as usize].map_or(assigned.domains, |d| d as usize))
    }

    fn count(&mut self, batch: &RecordBatch) -> Result<()> {
        let texts = string_column(Self::NAME, batch, &self.params.text_column)?;
        let start = self.position;
        let assigned = self.assigned()?;
        for (offset, text) in texts.iter().enumerate() {
            let slot = Self::slot(assigned, start + offset)?;
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

impl Operator for Cluster {
    fn output_fields(&self) -> Vec<Field> {
        vec![
            Field::new(CLUSTER_COLUMN, DataType::UInt32, false),
            Field::new(&self.params.domain_column, DataType::Utf8, false),
        ]
    }

    fn prepare(&mut self, env: &OperatorEnv) -> Result<()> {
        self.seed = self.params.seed.unwrap_or(env.seed);
        self.collected = Collected::default();
        self.assigned = None;
        self.position = 0;
        Ok(())
    }

    fn observe_passes(&self) -> usize {
        2
    }

    fn observe(&mut self, pass: usize, batch: &RecordBatch) -> Result<()> {
        match pass {
            0 => self.collect(batch),
            _ => self.count(batch),
        }
    }

    fn end_pass(&mut self, pass: usize) -> Result<()> {
        if pass == 0 {
            self.assign()?;
        } else {
            self.finish_table()?;
        }
        self.position = 0;
        Ok(())
    }

    fn apply(&mut self, batch: RecordBatch) -> Result<RecordBatch> {
        let start = self.position;
        let assigned = self.assigned()?;
        let mut clusters = Vec::with_capacity(batch.num_rows());
        let mut domains = Vec::with_capacity(batch.num_rows());
        for row in 0..batch.num_rows() {
            let slot = Self::slot(assigned, start + row)?;
            clusters.push(assigned.fine[start + row]);
            domains.push(Self::domain_name(
                (slot < assigned.domains).then_some(slot as u32),
            ));
        }
        self.position += batch.num_rows();
        let fields = self.output_fields();
        let columns: Vec<(Field, ArrayRef)> = vec![
            (fields[0].clone(), Arc::new(UInt32Array::from(clusters))),
            (fields[1].clone(), Arc::new(StringArray::from(domains))),
        ];
        with_columns(Self::NAME, &batch, columns)
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
            expected_rows: 0,
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
        // The columns: every junk row is pruned, every other row in its source's domain.
        for batch in &out {
            let sources = batch.column_by_name("source").unwrap().as_string::<i32>();
            let domains = batch.column_by_name("domain").unwrap().as_string::<i32>();
            for row in 0..batch.num_rows() {
                assert_eq!(
                    sources.value(row) == "junk",
                    domains.value(row) == PRUNED_DOMAIN
                );
            }
            assert!(batch.column_by_name("cluster").is_some());
        }
        // Same input, same seed: the same summary.
        let (again, _) = run(
            &serde_json::json!({ "fine_clusters": 6, "domains": 2, "quality_column": "good" }),
            &batches,
        )
        .unwrap();
        assert_eq!(again.summary(), op.summary());
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
