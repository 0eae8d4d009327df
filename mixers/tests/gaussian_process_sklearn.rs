//! blend's Gaussian process against scikit-learn's `GaussianProcessRegressor` on the same
//! data and kernel (`fixtures/gp_sklearn.json`, written by `bench/mix/gp_sklearn_reference.py`):
//! identical predictions with fixed hyperparameters, and a fit at least as likely as sklearn's.

use blend_mixers::bayes_opt::{GaussianProcess, GpHyperparameters, GpSettings};
use serde_json::Value;

fn reference() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/gp_sklearn.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn numbers(value: &Value) -> Vec<f64> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

fn hyperparameters(value: &Value) -> GpHyperparameters {
    GpHyperparameters {
        constant: value["constant"].as_f64().unwrap(),
        length_scales: numbers(&value["length_scales"]),
        noise: value["noise"].as_f64().unwrap(),
    }
}

fn assert_close(what: &str, ours: &[f64], theirs: &[f64], relative: f64) {
    assert_eq!(ours.len(), theirs.len());
    for (i, (a, b)) in ours.iter().zip(theirs).enumerate() {
        assert!(
            (a - b).abs() <= relative * b.abs().max(1e-12),
            "{what}[{i}]: blend {a}, sklearn {b}"
        );
    }
}

#[test]
fn fixed_hyperparameters_predict_as_sklearn() {
    let reference = reference();
    let features = reference["features"].as_u64().unwrap() as usize;
    let fixed = &reference["fixed"];
    let gp = GaussianProcess::with_hyperparameters(
        &numbers(&reference["train_x"]),
        features,
        &numbers(&reference["train_y"]),
        hyperparameters(&fixed["hyperparameters"]),
    )
    .unwrap();
    let (mean, std) = gp.predict(&numbers(&reference["test_x"]));
    assert_close("mean", &mean, &numbers(&fixed["mean"]), 1e-6);
    assert_close("std", &std, &numbers(&fixed["std"]), 1e-6);
    let lml = fixed["log_marginal_likelihood"].as_f64().unwrap();
    assert!((gp.log_marginal_likelihood() - lml).abs() < 1e-6 * lml.abs().max(1.0));
}

#[test]
fn fitted_hyperparameters_are_at_least_as_likely_as_sklearns() {
    let reference = reference();
    let features = reference["features"].as_u64().unwrap() as usize;
    let fitted = &reference["fitted"];
    let settings = GpSettings {
        restarts: fitted["restarts"].as_u64().unwrap() as usize,
        initial: Some(hyperparameters(&fitted["initial"])),
        ..GpSettings::default()
    };
    let gp = GaussianProcess::fit(
        &numbers(&reference["train_x"]),
        features,
        &numbers(&reference["train_y"]),
        &settings,
    )
    .unwrap();
    let sklearn_lml = fitted["log_marginal_likelihood"].as_f64().unwrap();
    assert!(
        gp.log_marginal_likelihood() >= sklearn_lml - 1e-3,
        "blend {} ({:?}), sklearn {sklearn_lml} ({})",
        gp.log_marginal_likelihood(),
        gp.hyperparameters(),
        fitted["hyperparameters"]
    );
    let (mean, std) = gp.predict(&numbers(&reference["test_x"]));
    assert_close("fitted mean", &mean, &numbers(&fitted["mean"]), 0.02);
    assert_close("fitted std", &std, &numbers(&fitted["std"]), 0.02);
}
