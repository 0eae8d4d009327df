//! `blend quality train` and `blend quality score` as a user runs them: arguments, JSON
//! output, exit status and error messages.

use std::path::Path;
use std::process::{Command, Output};

fn blend(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_blend"))
        .arg("-q")
        .args(args)
        .output()
        .expect("blend runs")
}

fn json(output: &Output) -> serde_json::Value {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("one JSON object")
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn train_then_score_a_synthetic_corpus() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let generated = blend(&[
        "gen-corpus",
        "--docs",
        "600",
        "--seed",
        "4",
        "--out",
        path(root),
    ]);
    assert!(
        generated.status.success(),
        "{}",
        String::from_utf8_lossy(&generated.stderr)
    );
    let corpus = root.join("corpus");
    let model = root.join("model.bin");
    let trained = json(&blend(&[
        "quality",
        "train",
        "--labels",
        path(&corpus),
        "--label-column",
        "source",
        "--positive-label",
        "prose",
        "--folds",
        "3",
        "--model",
        path(&model),
        "--json",
    ]));
    assert_eq!(trained["positive_label"], "prose");
    assert_eq!(trained["evaluations"].as_array().unwrap().len(), 3);
    assert!(trained["roc_auc"].as_f64().unwrap() > 0.9, "{trained}");
    assert_eq!(
        trained["model_bytes"].as_u64().unwrap(),
        std::fs::metadata(&model).unwrap().len()
    );

    let scored = json(&blend(&[
        "quality",
        "score",
        "--model",
        path(&model),
        "--input",
        path(&corpus),
        "--out",
        path(&root.join("scored")),
        "--label-column",
        "source",
        "--json",
    ]));
    assert_eq!(scored["documents"], 600);
    assert!(
        scored["metrics"]["roc_auc"].as_f64().unwrap() > 0.9,
        "{scored}"
    );
    assert_eq!(scored["score_summary"]["label"], "prose");
    assert_eq!(scored["label"], "prose");
}

#[test]
fn mistakes_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    assert!(
        blend(&["gen-corpus", "--docs", "50", "--out", path(root)])
            .status
            .success()
    );
    let corpus = root.join("corpus");
    let model = root.join("model.bin");
    let no_column = blend(&[
        "quality",
        "train",
        "--labels",
        path(&corpus),
        "--label-column",
        "grade",
        "--model",
        path(&model),
    ]);
    assert!(!no_column.status.success());
    let message = String::from_utf8_lossy(&no_column.stderr);
    assert!(
        message.contains("`grade` is missing") && message.contains("source"),
        "{message}"
    );

    let no_positive = blend(&[
        "quality",
        "train",
        "--labels",
        path(&corpus),
        "--label-column",
        "source",
        "--model",
        path(&model),
    ]);
    let message = String::from_utf8_lossy(&no_positive.stderr);
    assert!(
        message.contains("--positive-label") && message.contains("prose"),
        "{message}"
    );

    // --labels and --reference are two ways to say where labels come from, not both.
    let both = blend(&[
        "quality",
        "train",
        "--labels",
        path(&corpus),
        "--reference",
        path(&corpus),
        "--other",
        path(&corpus),
        "--model",
        path(&model),
    ]);
    assert!(!both.status.success());
    assert!(String::from_utf8_lossy(&both.stderr).contains("cannot be used with"));

    std::fs::write(&model, b"not a model").unwrap();
    let bad_model = blend(&[
        "quality",
        "score",
        "--model",
        path(&model),
        "--input",
        path(&corpus),
        "--out",
        path(&root.join("s")),
    ]);
    assert!(!bad_model.status.success());
    assert!(String::from_utf8_lossy(&bad_model.stderr).contains("not a blend text classifier"));
}
