//! `[mixture] method = "bayes_opt"` inside a run (multi-fidelity Bayesian optimisation after
//! ADMIRE-BayesOpt, 2025): a Gaussian process over (mixture, fidelity) proposes one proxy
//! run at a time — the mixture of highest expected improvement at full fidelity, trained at
//! the fidelity (a share of `steps`) that removes the most uncertainty there per step spent.
//! The budget is `proxies` full-fidelity runs' worth of steps, so BO spends what RegMix
//! spends. The first `initial` runs are RegMix's spread-out design, alternating the lowest
//! and the full fidelity so the process sees how they relate. The choice is the trained
//! mixture of best posterior mean at full fidelity.
//!
//! Every run is its own cached step keyed by its mixture and steps; proposals depend only on
//! earlier results and seeds, so a resumed run proposes the same runs again.

use std::borrow::Cow;

use blend_mixers::bayes_opt::{BayesOptSettings, Fidelity, Observation, best_observed, propose};
use blend_proxy_train::TrainSettings;
use serde::Serialize;

use super::domain_sizes::DomainSizes;
use super::proxy_setup::{ProxyMethod, ProxySetup, SearchedMixture, point_prediction};
use super::validation::{proxy_runs_step, validate_choice};
use crate::engine::cache::CacheKey;
use crate::engine::config::PipelineConfig;
use crate::engine::mixture_summary::{MethodRuns, RecordedRun};
use crate::progress::Progress;
use crate::{BLEND_VERSION, Result};

/// Multi-fidelity Bayesian optimisation (`method = "bayes_opt"`).
pub struct BayesOpt;

impl ProxyMethod for BayesOpt {
    fn choose(
        &self,
        config: &PipelineConfig,
        setup: ProxySetup,
        sizes: &DomainSizes,
        progress: &dyn Progress,
    ) -> Result<SearchedMixture> {
        let m = &config.mixture;
        let seed = config.pipeline.seed;
        let trials = run_trials(config, &setup, progress)?;
        let mut steps = setup.steps.clone();
        steps.push(proxy_runs_step(&trials.runs, trials.trained));
        let choice = best_observed(
            &trials.observations,
            setup.domains.len(),
            &bo_settings(config, usize::MAX / 2),
        )?;
        let mut mixture = setup.mixture(sizes, "bayes_opt", &choice.weights, seed);
        mixture.prediction = Some(point_prediction(&m.target, choice.mean));
        let validation =
            validate_choice(config, &setup, &choice.weights, None, &mut steps, progress)?;
        let method_runs = MethodRuns {
            settings: setup.settings.clone(),
            target: m.target.clone(),
            runs: trials.runs,
            trained: trials.trained,
            steps: trials.steps,
            schedule: Vec::new(),
            reference: None,
        };
        Ok(SearchedMixture {
            mixture,
            prior: setup.prior,
            search: None,
            method_runs: Some(method_runs),
            validation,
            steps,
        })
    }
}

/// The proposal settings of the `proposal`-th run (its own candidates' seed).
fn bo_settings(config: &PipelineConfig, proposal: usize) -> BayesOptSettings {
    BayesOptSettings {
        candidates: config
            .mixture
            .bayes_opt
            .clone()
            .unwrap_or_default()
            .candidates,
        seed: config.pipeline.seed.wrapping_add(proposal as u64),
        minimize: true,
        ..BayesOptSettings::default()
    }
}

/// The runs of the loop, in order, with what the Gaussian process observed of them.
struct Trials {
    observations: Vec<Observation>,
    runs: Vec<RecordedRun>,
    /// Each run's steps (its fidelity).
    steps: Vec<usize>,
    trained: usize,
}

/// The design, then one proposal at a time, until `proxies` full runs' worth of steps are
/// spent.
fn run_trials(
    config: &PipelineConfig,
    setup: &ProxySetup,
    progress: &dyn Progress,
) -> Result<Trials> {
    let m = &config.mixture;
    let b = m.bayes_opt.clone().unwrap_or_default();
    let seed = config.pipeline.seed;
    let fidelities: Vec<Fidelity> = b
        .fidelities
        .iter()
        .map(|&level| Fidelity { level, cost: level })
        .collect();
    let initial = setup.sampler.design_runs(b.initial, seed)?;
    let d = setup.domains.len();
    let budget = m.proxies as f64;
    let mut spent = 0.0;
    let mut trials = Trials {
        observations: Vec::new(),
        runs: Vec::new(),
        steps: Vec::new(),
        trained: 0,
    };
    let bar = progress.start(
        "train BO proxies",
        Some((m.proxies * setup.settings.steps) as u64),
        "steps",
    );
    loop {
        let run = trials.runs.len();
        let (weights, fidelity) = if run < b.initial {
            // The design alternates the cheapest and the full fidelity.
            let level = if run.is_multiple_of(2) {
                0
            } else {
                fidelities.len() - 1
            };
            (initial[run * d..(run + 1) * d].to_vec(), level)
        } else {
            let proposal = propose(
                &trials.observations,
                &setup.sampler,
                &fidelities,
                &bo_settings(config, run),
            )?;
            (proposal.weights, proposal.fidelity)
        };
        // The proposed fidelity, or the richest one the budget still pays for.
        let Some(fidelity) = (0..=fidelity)
            .rev()
            .find(|&f| spent + fidelities[f].cost <= budget + 1e-9)
        else {
            break;
        };
        let steps = ((fidelities[fidelity].level * m.steps as f64).round() as usize).max(1);
        let (recorded, reused) = train_run(setup, run, &weights, steps, seed, &|_| bar.advance(1))?;
        trials.trained += usize::from(!reused);
        spent += fidelities[fidelity].cost;
        trials.observations.push(Observation {
            weights,
            fidelity: fidelities[fidelity].level,
            value: recorded.target(&m.target),
        });
        trials.runs.push(recorded);
        trials.steps.push(steps);
    }
    bar.finish(&format!(
        "{} runs, {} trained",
        trials.runs.len(),
        trials.trained
    ));
    Ok(trials)
}

/// What one BO run depends on.
#[derive(Serialize)]
struct RunKey<'a> {
    blend: &'a str,
    data: &'a str,
    settings: &'a TrainSettings,
    weights: &'a [f64],
    run: usize,
}

/// Trains (or reuses) run `run`: `weights` for `steps` steps.
fn train_run(
    setup: &ProxySetup,
    run: usize,
    weights: &[f64],
    steps: usize,
    seed: u64,
    on_step: &(dyn Fn(usize) + Sync),
) -> Result<(RecordedRun, bool)> {
    let mut settings = setup.settings.clone();
    settings.steps = steps;
    settings.warmup_steps = (steps / 10).max(1);
    settings.seed = seed;
    let key = CacheKey::new(&RunKey {
        blend: BLEND_VERSION,
        data: &setup.data_manifest.key,
        settings: &settings,
        weights,
        run,
    });
    let prepare = || (Cow::Borrowed(&setup.data), weights.to_vec());
    setup.cached_run(
        &format!("bo-run-{run:05}"),
        &key,
        run,
        &prepare,
        &settings,
        on_step,
    )
}
