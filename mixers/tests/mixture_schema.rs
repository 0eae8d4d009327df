//! `mixture.json` files validate against the documented JSON Schema
//! (`mixers/mixture.schema.json`), checked by a validator for the keywords that schema
//! uses, so a field added to the Rust types without the schema (or the reverse) fails here.

use std::collections::BTreeMap;

use blend_mixers::mixture::{Prediction, SearchRecord};
use blend_mixers::quadmix::{DomainSampling, QualitySampling};
use blend_mixers::{DomainStats, Mixture, natural_mixture};
use serde_json::Value;

const SCHEMA: &str = include_str!("../mixture.schema.json");

/// Errors of `value` against `schema`, as `path: message` lines.
fn validate(value: &Value, schema: &Value, path: &str, errors: &mut Vec<String>) {
    let mut fail = |message: String| errors.push(format!("{path}: {message}"));
    if let Some(kind) = schema.get("type").and_then(Value::as_str) {
        let ok = match kind {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "boolean" => value.is_boolean(),
            "integer" => value.is_u64() || value.is_i64(),
            "number" => value.is_number(),
            other => panic!("the test validator does not know type {other}"),
        };
        if !ok {
            fail(format!("expected {kind}, got {value}"));
            return;
        }
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        fail(format!("{value} is not one of {allowed:?}"));
    }
    if let Some(n) = value.as_f64() {
        if schema
            .get("minimum")
            .and_then(Value::as_f64)
            .is_some_and(|m| n < m)
        {
            fail(format!("{n} is below the minimum"));
        }
        if schema
            .get("maximum")
            .and_then(Value::as_f64)
            .is_some_and(|m| n > m)
        {
            fail(format!("{n} is above the maximum"));
        }
        if schema
            .get("exclusiveMinimum")
            .and_then(Value::as_f64)
            .is_some_and(|m| n <= m)
        {
            fail(format!("{n} is not above the exclusive minimum"));
        }
    }
    if let Some(object) = value.as_object() {
        let properties = schema.get("properties").and_then(Value::as_object);
        for required in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = required.as_str().unwrap();
            if !object.contains_key(name) {
                fail(format!("missing required `{name}`"));
            }
        }
        for (key, field) in object {
            let child = format!("{path}.{key}");
            match properties.and_then(|p| p.get(key)) {
                Some(sub) => validate(field, sub, &child, errors),
                None => match schema.get("additionalProperties") {
                    Some(Value::Bool(false)) => errors.push(format!("{child}: not in the schema")),
                    Some(sub @ Value::Object(_)) => validate(field, sub, &child, errors),
                    _ => {}
                },
            }
        }
    }
    if let Some(items) = value.as_array() {
        if let Some(min) = schema.get("minItems").and_then(Value::as_u64)
            && (items.len() as u64) < min
        {
            errors.push(format!("{path}: fewer than {min} items"));
        }
        if let Some(max) = schema.get("maxItems").and_then(Value::as_u64)
            && (items.len() as u64) > max
        {
            errors.push(format!("{path}: more than {max} items"));
        }
        if let Some(sub) = schema.get("items") {
            for (i, item) in items.iter().enumerate() {
                validate(item, sub, &format!("{path}[{i}]"), errors);
            }
        }
    }
}

fn errors_of(mixture_json: &str) -> Vec<String> {
    let schema: Value = serde_json::from_str(SCHEMA).unwrap();
    let value: Value = serde_json::from_str(mixture_json).unwrap();
    let mut errors = Vec::new();
    validate(&value, &schema, "$", &mut errors);
    errors
}

fn searched() -> Mixture {
    let mut mixture = natural_mixture(
        &[
            DomainStats {
                domain: "code".into(),
                documents: 3,
                tokens: 300,
            },
            DomainStats {
                domain: "web".into(),
                documents: 7,
                tokens: 700,
            },
        ],
        42,
        BTreeMap::from([("runs.csv".to_string(), "ab".repeat(32))]),
    )
    .unwrap();
    mixture.method = "regmix".into();
    mixture.prediction = Some(Prediction {
        target: "loss/web".into(),
        value: 3.2,
        interval: Some([3.1, 3.3]),
        confidence: 0.95,
        bootstrap_fits: 16,
        minimize: true,
    });
    mixture.search = Some(SearchRecord {
        regressor: "lightgbm".into(),
        candidates: 1_000_000,
        top_k: 128,
        top_k_mean_prediction: 3.19,
        best_candidate_prediction: 3.15,
        prior: "natural (token share)".into(),
        temperature: 0.5,
        min_strength: 0.1,
        max_strength: 5.0,
        max_epochs: Some(4.0),
    });
    mixture
}

#[test]
fn natural_and_searched_mixtures_match_the_schema() {
    let mut natural = searched();
    natural.prediction = None;
    natural.search = None;
    assert_eq!(errors_of(&natural.to_json()), Vec::<String>::new());
    assert_eq!(errors_of(&searched().to_json()), Vec::<String>::new());
}

#[test]
fn a_quadmix_sampling_function_matches_the_schema() {
    let mut mixture = searched();
    mixture.method = "quadmix".into();
    mixture.sampling = Some(QualitySampling {
        quality_columns: vec!["quality_score".into(), "perplexity".into()],
        lower_is_better: vec!["perplexity".into()],
        merge_weights: vec![0.6, 0.4],
        epsilon: 1e-3,
        domains: ["code", "web"]
            .map(|d| DomainSampling {
                domain: d.into(),
                lambda: 20.0,
                omega: 0.4,
                eta: 1.5,
            })
            .to_vec(),
    });
    assert_eq!(errors_of(&mixture.to_json()), Vec::<String>::new());
    let mut json: Value = serde_json::from_str(&mixture.to_json()).unwrap();
    json["sampling"]["domains"][0]["lambda"] = Value::from(-1.0);
    let errors = errors_of(&json.to_string());
    assert!(errors.iter().any(|e| e.contains("lambda")), "{errors:?}");
}

#[test]
fn the_validator_catches_what_the_schema_forbids() {
    let json = searched().to_json();
    let mut value: Value = serde_json::from_str(&json).unwrap();
    value["domains"][0]["weight"] = Value::from(1.5);
    value["surprise"] = Value::from(1);
    value["search"]["regressor"] = Value::from("xgboost");
    value["prediction"]
        .as_object_mut()
        .unwrap()
        .remove("target");
    let errors = errors_of(&value.to_string());
    assert_eq!(errors.len(), 4, "{errors:#?}");
    // blend's own reader refuses the unknown field too.
    assert!(serde_json::from_str::<Mixture>(&value.to_string()).is_err());
}
