//! Fuzz targets of the mixture-side files: `mixture.json`, experiment tables (CSV and
//! Parquet, one-table layout, as `blend mix fit --runs` reads them) and regressor model files
//! (read, rebuilt and asked for a prediction, as `blend mix predict` does). Seeds are written
//! by the project's writers from a seeded synthetic table of proxy runs.

use std::collections::BTreeMap;
use std::path::Path;

use blend_kernels::SeededRng;
use blend_mixers::{
    DomainWeight, ExperimentTable, FitSettings, MIXTURE_SCHEMA_VERSION, Mixture, Prediction,
    RegressorKind, RegressorModel, RunsLayout, SearchRecord,
};

use super::target::{Position, Target};

const DOMAINS: [&str; 3] = ["code", "prose", "web"];

/// 16 runs over three domains; the target is a planted law of the weights plus noise.
fn experiment_table() -> ExperimentTable {
    let mut rng = SeededRng::for_stream(31, "fuzz-experiment-table");
    let runs = 16;
    let mut weights = Vec::new();
    let mut loss = Vec::new();
    let mut accuracy = Vec::new();
    for run in 0..runs {
        let raw: Vec<f64> = DOMAINS.iter().map(|_| 0.05 + rng.next_f64()).collect();
        let total: f64 = raw.iter().sum();
        let row: Vec<f64> = raw.iter().map(|w| w / total).collect();
        loss.push(3.0 - row[0] + 0.5 * row[2] + 0.01 * rng.next_f64());
        accuracy.push(if run == 3 {
            f64::NAN
        } else {
            0.3 + 0.2 * row[1]
        });
        weights.extend(row);
    }
    ExperimentTable {
        run_ids: (0..runs).map(|r| format!("run-{r:02}")).collect(),
        domains: DOMAINS.iter().map(|d| d.to_string()).collect(),
        weights,
        metric_names: vec!["valid/loss".into(), "valid/accuracy".into()],
        metrics: vec![loss, accuracy],
        origin: "fuzz seed".into(),
    }
}

fn written(table: &ExperimentTable, name: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(name);
    table.write(&path).expect("table is written");
    std::fs::read(path).expect("table file")
}

fn model_file(table: &ExperimentTable, kind: RegressorKind) -> Vec<u8> {
    let mut settings = FitSettings::default();
    settings.lightgbm.iterations = 6;
    settings.lightgbm.num_leaves = 4;
    let model = RegressorModel::fit(table, "valid/loss", kind, &settings, true, BTreeMap::new())
        .expect("model fits");
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("model.json");
    model.write(&path).expect("model is written");
    std::fs::read(path).expect("model file")
}

fn mixture() -> Mixture {
    let weights = [0.25, 0.35, 0.4];
    Mixture {
        schema_version: MIXTURE_SCHEMA_VERSION,
        method: "search".into(),
        seed: 7,
        total_tokens: 1_000_000,
        domains: DOMAINS
            .iter()
            .zip(weights)
            .map(|(domain, weight)| DomainWeight {
                domain: domain.to_string(),
                weight,
                tokens: (weight * 1e6) as u64,
                available_tokens: 500_000,
                documents: 1200,
                epochs: weight * 2.0,
            })
            .collect(),
        inputs: BTreeMap::from([("model".to_string(), "ab".repeat(32))]),
        prediction: Some(Prediction {
            target: "valid/loss".into(),
            value: 2.71,
            interval: Some([2.6, 2.8]),
            confidence: 0.9,
            bootstrap_fits: 20,
            minimize: true,
        }),
        search: Some(SearchRecord {
            regressor: "lightgbm".into(),
            candidates: 10_000,
            top_k: 100,
            top_k_mean_prediction: 2.7,
            best_candidate_prediction: 2.65,
            prior: "domain tokens".into(),
            temperature: 0.5,
            min_strength: 0.1,
            max_strength: 5.0,
            max_epochs: Some(4.0),
        }),
        sampling: None,
    }
}

/// Reads a model, rebuilds its regressor and predicts the uniform mixture.
fn read_model(path: &Path) -> Result<(), String> {
    let model = RegressorModel::read(path).map_err(|e| e.to_string())?;
    let regressor = model.regressor().map_err(|e| e.to_string())?;
    let features = model.domains.len();
    let uniform = vec![1.0 / features as f64; features];
    let predictions = regressor.predict(&uniform, features);
    assert_eq!(predictions.len(), 1, "one prediction per row");
    Ok(())
}

fn table_target(format: &'static str, file: &str, bytes: Vec<u8>) -> Target {
    Target {
        format,
        files: vec![(file.into(), bytes)],
        mutable: vec![file.into()],
        position: Position::NumberedWhenMentioned("row"),
        names_folder: false,
        read: |dir, mutated| {
            let table = ExperimentTable::read_runs(&dir.join(mutated), &RunsLayout::default())
                .map_err(|e| e.to_string())?;
            table.target("valid/loss").map_err(|e| e.to_string())?;
            Ok(())
        },
    }
}

pub fn targets() -> Vec<Target> {
    let table = experiment_table();
    let models: Vec<(String, Vec<u8>)> = [
        RegressorKind::LightGbm,
        RegressorKind::Linear,
        RegressorKind::MixingLaw,
    ]
    .into_iter()
    .map(|kind| (format!("{kind}.model.json"), model_file(&table, kind)))
    .collect();
    vec![
        Target {
            format: "mixture.json",
            files: vec![("mixture.json".into(), mixture().to_json().into_bytes())],
            mutable: vec!["mixture.json".into()],
            position: Position::NumberedWhenMentioned("at line"),
            names_folder: false,
            read: |dir, mutated| {
                Mixture::read(&dir.join(mutated))
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            },
        },
        table_target("experiment-csv", "runs.csv", written(&table, "runs.csv")),
        table_target(
            "experiment-parquet",
            "runs.parquet",
            written(&table, "runs.parquet"),
        ),
        Target {
            format: "regressor-model",
            mutable: models.iter().map(|(name, _)| name.clone()).collect(),
            files: models,
            position: Position::NumberedWhenMentioned("at line"),
            names_folder: false,
            read: |dir, mutated| read_model(&dir.join(mutated)),
        },
    ]
}
