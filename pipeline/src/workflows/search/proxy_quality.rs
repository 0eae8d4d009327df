//! The quality columns of the proxies' training documents, for QuaDMix: `quality.json` in
//! the proxy data folder holds, per domain and column, one value per document of the
//! domain's train stream (in stream order; `null` where a document has none), and
//! [`QualityDocuments`] pairs them with each document's tokens.

use std::collections::BTreeMap;
use std::path::Path;

use arrow::array::{Array, Float64Array, RecordBatch};
use arrow::datatypes::DataType;
use blend_datasets::files::write_atomic;
use blend_datasets::shards::MegatronReader;
use blend_operators::operator::column_names;
use blend_proxy_train::ProxyDataManifest;
use serde::{Deserialize, Serialize};

use crate::{PipelineError, Result};

pub const QUALITY_FILE: &str = "quality.json";

/// Quality values of the train documents, by domain and column.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProxyQuality {
    pub columns: Vec<String>,
    /// domain → column → value per train document.
    pub domains: BTreeMap<String, Vec<Vec<Option<f64>>>>,
}

impl ProxyQuality {
    pub fn new(columns: Vec<String>) -> Self {
        Self {
            columns,
            domains: BTreeMap::new(),
        }
    }

    /// Appends row `row` of `values` to `domain`'s train documents.
    pub fn push(&mut self, domain: &str, values: &[Float64Array], row: usize) {
        let columns = self
            .domains
            .entry(domain.to_string())
            .or_insert_with(|| vec![Vec::new(); values.len()]);
        for (column, array) in columns.iter_mut().zip(values) {
            column.push(
                (!array.is_null(row))
                    .then(|| array.value(row))
                    .filter(|v| v.is_finite()),
            );
        }
    }

    pub fn write(&self, dir: &Path) -> Result<()> {
        let json = serde_json::to_string(self).expect("quality values serialize");
        write_atomic(&dir.join(QUALITY_FILE), json.as_bytes())?;
        Ok(())
    }

    pub fn read(dir: &Path) -> Result<Self> {
        let path = dir.join(QUALITY_FILE);
        let bytes = std::fs::read(&path).map_err(|e| PipelineError::io(&path, e))?;
        serde_json::from_slice(&bytes)
            .map_err(|e| PipelineError::unreadable(&path, "proxy quality values", e.to_string()))
    }
}

/// The quality `columns` of `batch` as numbers (booleans as 0/1), or an error naming the
/// missing or non-numeric column. The proxies' quality values and the final shards' draw by
/// a sampling function both read them so.
pub fn quality_values(batch: &RecordBatch, columns: &[String]) -> Result<Vec<Float64Array>> {
    columns
        .iter()
        .map(|name| {
            let column = batch.column_by_name(name).ok_or_else(|| {
                PipelineError::column(
                    "the output documents",
                    name,
                    format!(
                        "is missing, but the mixture's quality sampling (QuaDMix) ranks documents by it (they have: {})",
                        column_names(batch)
                    ),
                )
            })?;
            let numeric =
                column.data_type().is_numeric() || matches!(column.data_type(), DataType::Boolean);
            if !numeric {
                return Err(PipelineError::column(
                    "the output documents",
                    name,
                    format!(
                        "is {}; a quality column must be numeric or boolean",
                        column.data_type()
                    ),
                ));
            }
            let cast = arrow::compute::cast(column, &DataType::Float64)
                .map_err(|e| PipelineError::column("the output documents", name, e.to_string()))?;
            Ok(cast
                .as_any()
                .downcast_ref::<Float64Array>()
                .expect("cast to Float64")
                .clone())
        })
        .collect()
}

/// One document's value of `array`: NaN where it has none.
pub fn quality_value(array: &Float64Array, row: usize) -> f64 {
    if array.is_null(row) || !array.value(row).is_finite() {
        f64::NAN
    } else {
        array.value(row)
    }
}

/// One domain's train documents: their tokens and quality values (NaN where missing).
#[derive(Debug, Clone)]
pub struct QualityDocuments {
    pub domain: String,
    pub documents: Vec<Vec<u32>>,
    /// column → value per document.
    pub quality: Vec<Vec<f64>>,
}

impl QualityDocuments {
    /// Every domain of the proxy data in `dir`, in the manifest's domain order.
    pub fn read_all(dir: &Path) -> Result<Vec<Self>> {
        let manifest = ProxyDataManifest::read(dir)?;
        let quality = ProxyQuality::read(dir)?;
        manifest
            .domains
            .iter()
            .map(|files| {
                let reader = MegatronReader::open(&dir.join(format!("{}.train", files.prefix)))?;
                let documents: Vec<Vec<u32>> = (0..reader.sequences())
                    .map(|i| reader.sequence(i))
                    .collect();
                let columns = quality
                    .domains
                    .get(&files.domain)
                    .cloned()
                    .unwrap_or_else(|| vec![Vec::new(); quality.columns.len()]);
                if columns.iter().any(|c| c.len() != documents.len()) {
                    return Err(PipelineError::unreadable(
                        dir.join(QUALITY_FILE),
                        "proxy quality values",
                        format!(
                            "domain `{}` has {} train documents but {} quality values",
                            files.domain,
                            documents.len(),
                            columns.first().map_or(0, Vec::len)
                        ),
                    ));
                }
                Ok(Self {
                    domain: files.domain.clone(),
                    documents,
                    quality: columns
                        .into_iter()
                        .map(|c| c.into_iter().map(|v| v.unwrap_or(f64::NAN)).collect())
                        .collect(),
                })
            })
            .collect()
    }
}
