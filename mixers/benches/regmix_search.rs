//! Fit + 1M-candidate search on RegMix's 512 1M-proxy runs (the issue's "< 10 s on this
//! machine"), per regressor: LightGBM fit, candidate sampling, prediction, top-k, and the
//! bootstrap interval, each timed. Run with `cargo bench -p blend-mixers --bench
//! regmix_search -- --bench`; skips, saying so, when ../shared/data is absent.
#![allow(clippy::print_stdout)]

use std::path::Path;
use std::time::Instant;

use blend_mixers::search::{bootstrap_interval, search};
use blend_mixers::{
    ExperimentTable, FitSettings, RegressorKind, RegressorModel, SamplerConfig, SearchSettings,
};

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/regmix");
    if !data.is_dir() {
        println!("skipping: {} is absent", data.display());
        return;
    }
    let table = ExperimentTable::read_joined(
        &data.join("train_mixture_1m.csv"),
        &data.join("train_pile_loss_1m.csv"),
        "index",
    )
    .expect("RegMix tables read");
    let target = "metric/the_pile_pile_cc_val_loss";
    let threads = rayon::current_num_threads();
    println!(
        "RegMix 1M: {} runs × {} domains, target {target}, {threads} threads",
        table.runs(),
        table.domains.len()
    );
    println!(
        "| regressor | fit (s) | search 1M (s) | candidates/s | bootstrap 16 (s) | fit + search (s) |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    for kind in [
        RegressorKind::LightGbm,
        RegressorKind::Linear,
        RegressorKind::MixingLaw,
    ] {
        let start = Instant::now();
        let model = RegressorModel::fit(
            &table,
            target,
            kind,
            &FitSettings::default(),
            true,
            Default::default(),
        )
        .expect("fits");
        // RegressorModel::fit also runs a 5-fold cross-validation; time the plain fit alone.
        let fit_start = Instant::now();
        let regressor = blend_mixers::regressors::fit_regressor(
            kind,
            &table.weights,
            table.domains.len(),
            &model.training.target,
            &FitSettings::default(),
        )
        .expect("fits");
        let fit = fit_start.elapsed().as_secs_f64();
        let _with_cv = start.elapsed();
        let d = table.domains.len();
        let mut prior = vec![0.0; d];
        for row in table.weights.chunks_exact(d) {
            for (p, w) in prior.iter_mut().zip(row) {
                *p += w;
            }
        }
        let sampler = SamplerConfig::regmix(prior);
        let settings = SearchSettings::default();
        let search_start = Instant::now();
        let outcome =
            search(regressor.as_ref(), &sampler, &settings, true, &|_| {}).expect("searches");
        let searched = search_start.elapsed().as_secs_f64();
        let boot_start = Instant::now();
        let _ = bootstrap_interval(&model, &outcome.weights, 16, 0.95, 42).expect("bootstraps");
        let boot = boot_start.elapsed().as_secs_f64();
        println!(
            "| {kind} | {fit:.2} | {searched:.2} | {:.0} | {boot:.2} | {:.2} |",
            settings.candidates as f64 / searched,
            fit + searched
        );
    }
    // Sampling and LightGBM prediction alone, to separate them.
    let sampler = SamplerConfig::regmix(vec![1.0 / 17.0; 17]);
    let start = Instant::now();
    let rows = sampler.sample(1_000_000, 1).expect("samples");
    println!(
        "sampling 1M candidates alone: {:.2} s",
        start.elapsed().as_secs_f64()
    );
    let lightgbm = blend_mixers::regressors::fit_regressor(
        RegressorKind::LightGbm,
        &table.weights,
        table.domains.len(),
        &table.target(target).expect("target"),
        &FitSettings::default(),
    )
    .expect("fits");
    let start = Instant::now();
    let predictions = lightgbm.predict(&rows, table.domains.len());
    println!(
        "LightGBM predictions of 1M candidates alone: {:.2} s (mean {:.4})",
        start.elapsed().as_secs_f64(),
        predictions.iter().sum::<f64>() / predictions.len() as f64
    );
}
