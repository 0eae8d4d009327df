//! `blend search`'s closed loop on the synthetic corpus with the `tiny` preset: proxies
//! train (loss falls), the runs table has one row per distinct mixture, a regressor is
//! fitted and `mixture.json` is written; a second call resumes instead of retraining.

use std::time::Instant;

use blend_datasets::read::InputSpec;
use blend_mixers::{ExperimentTable, Mixture, RunsLayout};
use blend_pipeline::NoProgress;
use blend_pipeline::workflows::search::render_proxy_search_report;
use blend_pipeline::workflows::search::{ProxySearchRequest, run_proxy_search};
use blend_tests::synthetic_corpus;

fn request(root: &std::path::Path, corpus: &std::path::Path) -> ProxySearchRequest {
    let mut request = ProxySearchRequest::new(vec![InputSpec::new(corpus)], root.join("search"));
    request.tokenizer.vocab_size = 512;
    request.proxies = 8;
    request.steps = 60;
    request.sequence_length = 64;
    request.batch_size = 8;
    request.search.candidates = 20_000;
    request.search.bootstrap = 4;
    request.seed = 5;
    request
}

#[test]
fn the_closed_loop_trains_proxies_fits_a_regressor_and_writes_a_mixture() {
    let started = Instant::now();
    let root = tempfile::tempdir().unwrap();
    let corpus = synthetic_corpus(root.path(), 3000, 11);
    let request = request(root.path(), &corpus.corpus_dir);
    let outcome = run_proxy_search(&request, &NoProgress).unwrap();
    let first_call = started.elapsed();

    assert_eq!(outcome.trained, 8);
    assert_eq!(outcome.runs.len(), 8);
    let domains = &outcome.mixture.domains;
    assert!(domains.len() >= 3, "synthetic domains: {domains:?}");
    for run in &outcome.runs {
        let (first, last) = (
            run.outcome.first_train_loss(),
            run.outcome.last_train_loss(),
        );
        assert!(
            last < 0.8 * first,
            "run {}: training loss {first} → {last}",
            run.run
        );
        assert!(
            run.outcome
                .valid_loss
                .iter()
                .all(|l| l.is_finite() && *l < f64::from(first))
        );
    }
    for (i, a) in outcome.runs.iter().enumerate() {
        for b in &outcome.runs[i + 1..] {
            assert_ne!(
                a.weights, b.weights,
                "runs {} and {} share a mixture",
                a.run, b.run
            );
        }
    }

    let table = ExperimentTable::read_runs(&outcome.runs_table, &RunsLayout::default()).unwrap();
    assert_eq!(table.runs(), 8);
    let losses = table.target("valid_loss").unwrap();
    assert!(losses.iter().all(|l| l.is_finite()));
    let spread = losses.iter().copied().fold(f64::NEG_INFINITY, f64::max)
        - losses.iter().copied().fold(f64::INFINITY, f64::min);
    assert!(
        spread > 0.0,
        "the mixtures must move the held-out loss: {losses:?}"
    );

    let mixture = Mixture::read(&outcome.mixture_path).unwrap();
    let total: f64 = mixture.domains.iter().map(|d| d.weight).sum();
    assert!((total - 1.0).abs() < 1e-6, "{total}");
    assert_eq!(mixture.prediction.as_ref().unwrap().target, "valid_loss");
    let html = render_proxy_search_report(&outcome);
    assert!(html.contains("<h2>Proxies</h2>") && html.contains("Training loss"));
    // 8 runs for 5 synthetic domains is below 4 per domain: the user is told.
    assert!(
        outcome
            .warnings
            .iter()
            .any(|w| w.contains("raise --proxies")),
        "{:?}",
        outcome.warnings
    );

    // Resume: with one recorded run removed, only that run trains again, to the same result.
    let removed = request.out_dir.join("runs/run_00003.json");
    std::fs::remove_file(&removed).unwrap();
    let again = run_proxy_search(&request, &NoProgress).unwrap();
    assert_eq!(again.trained, 1);
    for (a, b) in again.runs.iter().zip(&outcome.runs) {
        assert_eq!(
            (&a.weights, &a.outcome.train_loss, &a.outcome.valid_loss),
            (&b.weights, &b.outcome.train_loss, &b.outcome.valid_loss),
            "run {}: a retrained run equals the recorded one",
            a.run
        );
    }
    assert_eq!(
        std::fs::read(&again.mixture_path).unwrap(),
        std::fs::read(&outcome.mixture_path).unwrap(),
        "same runs, same mixture.json bytes"
    );
    assert!(again.data_reused, "the token streams are reused");

    // Other settings over recorded runs stop unless --restart.
    let mut other = request;
    other.steps = 61;
    let error = run_proxy_search(&other, &NoProgress)
        .unwrap_err()
        .to_string();
    assert!(error.contains("--restart"), "{error}");
    eprintln!(
        "closed loop: first call {first_call:?}, total {:?}",
        started.elapsed()
    );
}

#[test]
fn too_little_held_out_text_is_a_clear_error() {
    let root = tempfile::tempdir().unwrap();
    let corpus = synthetic_corpus(root.path(), 60, 2);
    let mut request = request(root.path(), &corpus.corpus_dir);
    request.sequence_length = 2048;
    let error = run_proxy_search(&request, &NoProgress)
        .unwrap_err()
        .to_string();
    assert!(error.contains("held-out tokens"), "{error}");
}
