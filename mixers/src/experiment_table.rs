//! The experiment table: one row per proxy run, the weight it gave each domain and the
//! metrics measured after training (e.g. validation loss per domain). Read and written with
//! polars as CSV or Parquet.
//!
//! Two layouts are read as they are:
//! - **one table** (`--runs R.csv`): weight columns start with a prefix (default
//!   `weight/`, what blend writes), every other numeric column except the key is a metric;
//! - **two tables joined by a key** (`--mixtures M.csv --metrics L.csv`, RegMix's
//!   `train_mixture_1m.csv` + `train_pile_loss_1m.csv` joined on `index`): every column of
//!   the mixtures table but the key is a weight, every column of the metrics table but the
//!   key is a metric. Domain names drop the weight columns' common prefix up to its last `_`
//!   or `/` (`train_the_pile_arxiv` → `arxiv`).

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::parquet_frame::read_parquet_frame;
use crate::{MixerError, Result};

/// The prefix of weight columns in tables blend writes.
pub const WEIGHT_PREFIX: &str = "weight/";
/// How far a run's weights may sum from 1 before the table is rejected (RegMix's published
/// mixtures sum to 0.996–1.003 after rounding to three decimals).
pub const WEIGHT_SUM_TOLERANCE: f64 = 0.02;

#[derive(Debug, Clone, PartialEq)]
pub struct ExperimentTable {
    /// The key of each run (the key column's value, or the 1-based row number).
    pub run_ids: Vec<String>,
    /// Domain names, in column order.
    pub domains: Vec<String>,
    /// Row-major `runs × domains` weights, as recorded (not renormalized).
    pub weights: Vec<f64>,
    /// Metric column names, in column order.
    pub metric_names: Vec<String>,
    /// `metrics[m][run]`; NaN where a run has no value.
    pub metrics: Vec<Vec<f64>>,
    /// Where the table came from, for messages.
    pub origin: String,
}

/// How to find the columns of a one-table file.
#[derive(Debug, Clone)]
pub struct RunsLayout {
    pub key: String,
    pub weight_prefix: String,
}

impl Default for RunsLayout {
    fn default() -> Self {
        Self {
            key: "run".into(),
            weight_prefix: WEIGHT_PREFIX.into(),
        }
    }
}

impl ExperimentTable {
    pub fn runs(&self) -> usize {
        self.run_ids.len()
    }

    pub fn weights_of(&self, run: usize) -> &[f64] {
        let d = self.domains.len();
        &self.weights[run * d..(run + 1) * d]
    }

    /// The values of metric `name`; an error names the column choices or the first run
    /// without a value.
    pub fn target(&self, name: &str) -> Result<Vec<f64>> {
        let Some(index) = self.metric_names.iter().position(|m| m == name) else {
            return Err(MixerError::Data(format!(
                "{}: no metric column `{name}`; metric columns are: {}",
                self.origin,
                self.metric_names.join(", ")
            )));
        };
        let values = &self.metrics[index];
        if let Some(run) = values.iter().position(|v| !v.is_finite()) {
            return Err(MixerError::Data(format!(
                "{}: run `{}` has no value for `{name}`",
                self.origin, self.run_ids[run]
            )));
        }
        Ok(values.clone())
    }

    /// The rows `rows` (in that order) as a new table.
    pub fn select(&self, rows: &[usize]) -> Self {
        Self {
            run_ids: rows.iter().map(|&r| self.run_ids[r].clone()).collect(),
            domains: self.domains.clone(),
            weights: crate::regressors::gather_rows(&self.weights, self.domains.len(), rows),
            metric_names: self.metric_names.clone(),
            metrics: self
                .metrics
                .iter()
                .map(|values| rows.iter().map(|&r| values[r]).collect())
                .collect(),
            origin: self.origin.clone(),
        }
    }

    /// Row-major weights with columns in the order of `domains`; an error names a domain
    /// that is missing or one the table has beyond them.
    pub fn weights_for(&self, domains: &[String]) -> Result<Vec<f64>> {
        let position: Vec<usize> = domains
            .iter()
            .map(|domain| {
                self.domains
                    .iter()
                    .position(|d| d == domain)
                    .ok_or_else(|| {
                        MixerError::Data(format!(
                            "{}: no weight column for domain `{domain}` (expected: {})",
                            self.origin,
                            domains.join(", ")
                        ))
                    })
            })
            .collect::<Result<_>>()?;
        if let Some(extra) = self.domains.iter().find(|d| !domains.contains(d)) {
            return Err(MixerError::Data(format!(
                "{}: domain `{extra}` is not among the expected ones ({})",
                self.origin,
                domains.join(", ")
            )));
        }
        Ok((0..self.runs())
            .flat_map(|run| position.iter().map(move |&p| self.weights_of(run)[p]))
            .collect())
    }

    /// Reads one table holding weights and metrics.
    pub fn read_runs(path: &Path, layout: &RunsLayout) -> Result<Self> {
        let frame = read_frame(path)?;
        let names = column_names(&frame);
        let weight_columns: Vec<String> = names
            .iter()
            .filter(|n| n.starts_with(&layout.weight_prefix))
            .cloned()
            .collect();
        if weight_columns.is_empty() {
            return Err(MixerError::table(
                path,
                format!(
                    "no weight columns (names starting with `{}`); columns are: {} \
                     (use --weight-prefix, or --mixtures/--metrics for two tables)",
                    layout.weight_prefix,
                    names.join(", ")
                ),
            ));
        }
        let run_ids = key_values(&frame, path, &layout.key)?;
        let weights = numeric_rows(&frame, path, &weight_columns)?;
        let metric_names: Vec<String> = names
            .iter()
            .filter(|n| !n.starts_with(&layout.weight_prefix) && **n != layout.key)
            .cloned()
            .collect();
        let metrics = metric_names
            .iter()
            .map(|name| numeric_column(&frame, path, name))
            .collect::<Result<Vec<_>>>()?;
        let domains = weight_columns
            .iter()
            .map(|c| c[layout.weight_prefix.len()..].to_string())
            .collect();
        let table = Self {
            run_ids,
            domains,
            weights,
            metric_names,
            metrics,
            origin: path.display().to_string(),
        };
        table.check_weights(path)?;
        Ok(table)
    }

    /// Reads a table of mixtures alone: every column but `key` is a weight (domain names
    /// drop the columns' common prefix); the table has no metrics.
    pub fn read_mixtures(path: &Path, key: &str) -> Result<Self> {
        let frame = read_frame(path)?;
        let weight_columns: Vec<String> = column_names(&frame)
            .into_iter()
            .filter(|n| n != key)
            .collect();
        if weight_columns.is_empty() {
            return Err(MixerError::table(path, "no weight columns besides the key"));
        }
        let prefix = common_prefix(&weight_columns);
        let table = Self {
            run_ids: key_values(&frame, path, key)?,
            domains: weight_columns
                .iter()
                .map(|c| c[prefix..].to_string())
                .collect(),
            weights: numeric_rows(&frame, path, &weight_columns)?,
            metric_names: Vec::new(),
            metrics: Vec::new(),
            origin: path.display().to_string(),
        };
        table.check_weights(path)?;
        Ok(table)
    }

    /// Reads a mixtures table and a metrics table and joins them on `key`. Every run of one
    /// must be in the other.
    pub fn read_joined(mixtures: &Path, metrics: &Path, key: &str) -> Result<Self> {
        let mut table = Self::read_mixtures(mixtures, key)?;
        let metric_frame = read_frame(metrics)?;
        let metric_names: Vec<String> = column_names(&metric_frame)
            .into_iter()
            .filter(|n| n != key)
            .collect();
        let metric_ids = key_values(&metric_frame, metrics, key)?;
        let metric_columns = metric_names
            .iter()
            .map(|name| numeric_column(&metric_frame, metrics, name))
            .collect::<Result<Vec<_>>>()?;
        let mut row_of: HashMap<&str, usize> = HashMap::with_capacity(metric_ids.len());
        for (row, id) in metric_ids.iter().enumerate() {
            if row_of.insert(id, row).is_some() {
                return Err(MixerError::table(
                    metrics,
                    format!("key `{key}` = {id} appears twice (rows are runs)"),
                ));
            }
        }
        let mut order = Vec::with_capacity(table.runs());
        for (mixture_row, id) in table.run_ids.iter().enumerate() {
            match row_of.get(id.as_str()) {
                Some(&row) => order.push(row),
                None => {
                    return Err(MixerError::table(
                        metrics,
                        format!(
                            "no row has {key} = {id}, the run in row {} of {}",
                            mixture_row + 1,
                            mixtures.display()
                        ),
                    ));
                }
            }
        }
        if metric_ids.len() != table.runs() {
            let runs: std::collections::HashSet<&str> =
                table.run_ids.iter().map(String::as_str).collect();
            return Err(
                match metric_ids
                    .iter()
                    .enumerate()
                    .find(|(_, id)| !runs.contains(id.as_str()))
                {
                    Some((row, id)) => MixerError::table(
                        metrics,
                        format!(
                            "row {}: {key} = {id} has no mixture in {}",
                            row + 1,
                            mixtures.display()
                        ),
                    ),
                    // Every metrics row has its run, so some run's key is repeated.
                    None => {
                        let mut seen = std::collections::HashSet::new();
                        let (row, id) = table
                            .run_ids
                            .iter()
                            .enumerate()
                            .find(|(_, id)| !seen.insert(id.as_str()))
                            .unwrap_or((0, &table.run_ids[0]));
                        MixerError::table(
                            mixtures,
                            format!(
                                "row {}: {key} = {id} appears twice (rows are runs)",
                                row + 1
                            ),
                        )
                    }
                },
            );
        }
        table.metric_names = metric_names;
        table.metrics = metric_columns
            .iter()
            .map(|values| order.iter().map(|&row| values[row]).collect())
            .collect();
        table.origin = format!("{} + {}", mixtures.display(), metrics.display());
        Ok(table)
    }

    fn check_weights(&self, path: &Path) -> Result<()> {
        let d = self.domains.len();
        for run in 0..self.runs() {
            let row = self.weights_of(run);
            if let Some(column) = row.iter().position(|w| !w.is_finite() || *w < 0.0) {
                return Err(MixerError::table(
                    path,
                    format!(
                        "run {}: weight of `{}` is {} (weights must be finite and ≥ 0)",
                        self.run_ids[run], self.domains[column], row[column]
                    ),
                ));
            }
            let sum: f64 = row.iter().sum();
            if (sum - 1.0).abs() > WEIGHT_SUM_TOLERANCE {
                return Err(MixerError::table(
                    path,
                    format!(
                        "run {}: the {d} domain weights sum to {sum}, not 1 (± {WEIGHT_SUM_TOLERANCE})",
                        self.run_ids[run]
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Writes the one-table layout (`run`, `weight/<domain>`…, metrics…) as CSV or Parquet,
    /// by the file's extension.
    pub fn write(&self, path: &Path) -> Result<()> {
        let height = self.runs();
        let mut columns = Vec::with_capacity(1 + self.domains.len() + self.metric_names.len());
        columns.push(Column::new("run".into(), self.run_ids.clone()));
        for (d, domain) in self.domains.iter().enumerate() {
            let values: Vec<f64> = (0..height).map(|r| self.weights_of(r)[d]).collect();
            columns.push(Column::new(
                format!("{WEIGHT_PREFIX}{domain}").as_str().into(),
                values,
            ));
        }
        for (name, values) in self.metric_names.iter().zip(&self.metrics) {
            let values: Vec<Option<f64>> =
                values.iter().map(|v| v.is_finite().then_some(*v)).collect();
            columns.push(Column::new(name.as_str().into(), values));
        }
        let mut frame =
            DataFrame::new(height, columns).map_err(|e| MixerError::table(path, e.to_string()))?;
        write_frame(path, &mut frame)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TableFormat {
    Csv,
    Parquet,
}

fn table_format(path: &Path) -> Result<TableFormat> {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("csv") => Ok(TableFormat::Csv),
        Some("parquet" | "pq") => Ok(TableFormat::Parquet),
        _ => Err(MixerError::table(
            path,
            "expected a .csv or .parquet file (the extension picks the format)",
        )),
    }
}

/// Reads a whole CSV or Parquet file into a polars frame.
pub fn read_frame(path: &Path) -> Result<DataFrame> {
    let format = table_format(path)?;
    if !path.is_file() {
        return Err(MixerError::table(path, "no such file"));
    }
    let error = |e: PolarsError| MixerError::table(path, e.to_string());
    let read = || -> Result<DataFrame> {
        Ok(match format {
            TableFormat::Csv => CsvReadOptions::default()
                .with_has_header(true)
                .with_infer_schema_length(None)
                .try_into_reader_with_file_path(Some(PathBuf::from(path)))
                .map_err(error)?
                .finish()
                .map_err(error)?,
            TableFormat::Parquet => read_parquet_frame(path)?,
        })
    };
    // The readers panic on some damaged files (polars' on a bad Thrift footer, arrow-rs' on a
    // bad bit width) instead of returning an error: that is an unreadable file too.
    let frame =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(read)).map_err(|panic| {
            MixerError::table(
                path,
                format!(
                    "not a readable {} file (the reader failed: {})",
                    match format {
                        TableFormat::Csv => "CSV",
                        TableFormat::Parquet => "Parquet",
                    },
                    panic_text(&*panic)
                ),
            )
        })??;
    if frame.height() == 0 {
        return Err(MixerError::table(path, "the table has no rows"));
    }
    Ok(frame)
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic")
}

fn write_frame(path: &Path, frame: &mut DataFrame) -> Result<()> {
    let format = table_format(path)?;
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| MixerError::table(path, e.to_string()))?;
    }
    let file = File::create(path).map_err(|e| MixerError::table(path, e.to_string()))?;
    let error = |e: PolarsError| MixerError::table(path, e.to_string());
    match format {
        TableFormat::Csv => CsvWriter::new(file)
            .include_header(true)
            .finish(frame)
            .map_err(error),
        TableFormat::Parquet => ParquetWriter::new(file)
            .finish(frame)
            .map(|_| ())
            .map_err(error),
    }
}

fn column_names(frame: &DataFrame) -> Vec<String> {
    frame
        .get_column_names()
        .into_iter()
        .map(|n| n.to_string())
        .collect()
}

/// The key column as strings, or 1-based row numbers when the table has no such column.
fn key_values(frame: &DataFrame, path: &Path, key: &str) -> Result<Vec<String>> {
    let Ok(column) = frame.column(key) else {
        return Ok((1..=frame.height()).map(|r| r.to_string()).collect());
    };
    let strings = column
        .cast(&DataType::String)
        .map_err(|e| MixerError::table(path, format!("key column `{key}`: {e}")))?;
    let strings = strings
        .str()
        .map_err(|e| MixerError::table(path, format!("key column `{key}`: {e}")))?;
    strings
        .iter()
        .enumerate()
        .map(|(row, value)| {
            value.map(str::to_string).ok_or_else(|| {
                MixerError::table(path, format!("row {}: key `{key}` is empty", row + 1))
            })
        })
        .collect()
}

/// A numeric column as f64, nulls as NaN.
fn numeric_column(frame: &DataFrame, path: &Path, name: &str) -> Result<Vec<f64>> {
    let column = frame
        .column(name)
        .map_err(|e| MixerError::table(path, e.to_string()))?;
    if column.null_count() == column.len() {
        // A column with no values at all (CSV readers type it as text).
        return Ok(vec![f64::NAN; column.len()]);
    }
    if !column.dtype().is_primitive_numeric() && !column.dtype().is_null() {
        return Err(MixerError::table(
            path,
            format!(
                "column `{name}` holds {} values, expected numbers",
                column.dtype()
            ),
        ));
    }
    let floats = column
        .cast(&DataType::Float64)
        .map_err(|e| MixerError::table(path, format!("column `{name}`: {e}")))?;
    let floats = floats
        .f64()
        .map_err(|e| MixerError::table(path, format!("column `{name}`: {e}")))?;
    Ok(floats.iter().map(|v| v.unwrap_or(f64::NAN)).collect())
}

/// Row-major values of `columns`; a missing weight is an error naming the row.
fn numeric_rows(frame: &DataFrame, path: &Path, columns: &[String]) -> Result<Vec<f64>> {
    let by_column = columns
        .iter()
        .map(|name| numeric_column(frame, path, name))
        .collect::<Result<Vec<_>>>()?;
    let height = frame.height();
    let mut rows = Vec::with_capacity(height * columns.len());
    for row in 0..height {
        for (name, values) in columns.iter().zip(&by_column) {
            let value = values[row];
            if value.is_nan() {
                return Err(MixerError::table(
                    path,
                    format!("row {}: weight column `{name}` is empty", row + 1),
                ));
            }
            rows.push(value);
        }
    }
    Ok(rows)
}

/// Length of the prefix all `names` share, cut after its last `_` or `/` (none for one name).
fn common_prefix(names: &[String]) -> usize {
    if names.len() < 2 {
        return 0;
    }
    let first = names[0].as_bytes();
    let mut length = first.len();
    for name in &names[1..] {
        length = length.min(
            first
                .iter()
                .zip(name.as_bytes())
                .take_while(|(a, b)| a == b)
                .count(),
        );
    }
    first[..length]
        .iter()
        .rposition(|&b| b == b'_' || b == b'/')
        .map_or(0, |p| p + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn joins_two_tables_on_the_key_in_either_order() {
        let dir = tempfile::tempdir().unwrap();
        let mixtures = write(
            dir.path(),
            "m.csv",
            "index,train_the_pile_arxiv,train_the_pile_pile_cc\n1,0.25,0.75\n2,1.0,0.0\n",
        );
        let metrics = write(
            dir.path(),
            "l.csv",
            "index,metric/cc_loss,metric/arxiv_loss\n2,4.5,3.0\n1,4.0,3.5\n",
        );
        let table = ExperimentTable::read_joined(&mixtures, &metrics, "index").unwrap();
        assert_eq!(table.domains, ["arxiv", "pile_cc"]);
        assert_eq!(table.run_ids, ["1", "2"]);
        assert_eq!(table.weights_of(0), [0.25, 0.75]);
        assert_eq!(table.target("metric/cc_loss").unwrap(), [4.0, 4.5]);
        let error = table.target("cc_loss").unwrap_err().to_string();
        assert!(
            error.contains("metric/cc_loss, metric/arxiv_loss"),
            "{error}"
        );
    }

    #[test]
    fn a_run_without_metrics_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let mixtures = write(dir.path(), "m.csv", "index,a,b\n1,0.5,0.5\n7,0.1,0.9\n");
        let metrics = write(dir.path(), "l.csv", "index,loss\n1,3.0\n");
        let error = ExperimentTable::read_joined(&mixtures, &metrics, "index")
            .unwrap_err()
            .to_string();
        assert!(error.contains("index = 7"), "{error}");
        assert!(error.contains("l.csv"), "{error}");
    }

    #[test]
    fn bad_weights_name_the_run_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let runs = write(
            dir.path(),
            "runs.csv",
            "run,weight/a,weight/b,loss\nx,0.5,0.5,3\ny,0.9,0.5,3\n",
        );
        let error = ExperimentTable::read_runs(&runs, &RunsLayout::default())
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("run y") && error.contains("sum to 1.4"),
            "{error}"
        );
        let runs = write(
            dir.path(),
            "neg.csv",
            "run,weight/a,weight/b,loss\nx,-0.5,1.5,3\n",
        );
        let error = ExperimentTable::read_runs(&runs, &RunsLayout::default())
            .unwrap_err()
            .to_string();
        assert!(error.contains("`a` is -0.5"), "{error}");
        let runs = write(dir.path(), "none.csv", "run,a,b\nx,0.5,0.5\n");
        let error = ExperimentTable::read_runs(&runs, &RunsLayout::default())
            .unwrap_err()
            .to_string();
        assert!(error.contains("no weight columns"), "{error}");
    }

    #[test]
    fn round_trips_through_csv_and_parquet() {
        let dir = tempfile::tempdir().unwrap();
        let table = ExperimentTable {
            run_ids: vec!["r1".into(), "r2".into(), "r3".into()],
            domains: vec!["code".into(), "web".into()],
            weights: vec![0.1, 0.9, 0.5, 0.5, 1.0 / 3.0, 2.0 / 3.0],
            metric_names: vec!["loss/web".into()],
            metrics: vec![vec![3.25, f64::NAN, 2.0 + 1e-9]],
            origin: String::new(),
        };
        for name in ["runs.csv", "runs.parquet"] {
            let path = dir.path().join(name);
            table.write(&path).unwrap();
            let read = ExperimentTable::read_runs(&path, &RunsLayout::default()).unwrap();
            assert_eq!(read.run_ids, table.run_ids, "{name}");
            assert_eq!(read.domains, table.domains, "{name}");
            assert_eq!(
                read.weights, table.weights,
                "{name}: floats survive exactly"
            );
            assert_eq!(read.metrics[0][0], 3.25);
            assert!(
                read.metrics[0][1].is_nan(),
                "{name}: a missing metric stays missing"
            );
            assert_eq!(read.metrics[0][2], 2.0 + 1e-9);
            assert!(
                read.target("loss/web")
                    .unwrap_err()
                    .to_string()
                    .contains("r2")
            );
        }
        assert!(table.write(&dir.path().join("runs.txt")).is_err());
    }

    #[test]
    fn common_prefix_stops_at_a_separator() {
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(common_prefix(&names(&["train_a", "train_b"])), 6);
        assert_eq!(common_prefix(&names(&["pile_cc", "pile_cd"])), 5);
        assert_eq!(common_prefix(&names(&["abc", "abd"])), 0);
        assert_eq!(common_prefix(&names(&["only_one"])), 0);
    }

    #[test]
    fn joined_tables_that_do_not_pair_up_name_the_row() {
        let dir = tempfile::tempdir().unwrap();
        let mixtures = write(
            dir.path(),
            "m.csv",
            "index,w_a,w_b\n1,0.5,0.5\n2,0.25,0.75\n",
        );
        let metrics = write(dir.path(), "l.csv", "index,loss\n1,3.0\n2,3.5\n7,4.0\n");
        let error = ExperimentTable::read_joined(&mixtures, &metrics, "index")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("l.csv: row 3: index = 7 has no mixture"),
            "{error}"
        );
        let twice = write(
            dir.path(),
            "m2.csv",
            "index,w_a,w_b\n1,0.5,0.5\n1,0.5,0.5\n",
        );
        let metrics = write(dir.path(), "l2.csv", "index,loss\n1,3.0\n");
        let error = ExperimentTable::read_joined(&twice, &metrics, "index")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("m2.csv: row 2: index = 1 appears twice"),
            "{error}"
        );
        let missing = write(dir.path(), "l3.csv", "index,loss\n2,3.0\n");
        let error = ExperimentTable::read_joined(&mixtures, &missing, "index")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("no row has index = 1, the run in row 1 of"),
            "{error}"
        );
    }
}
