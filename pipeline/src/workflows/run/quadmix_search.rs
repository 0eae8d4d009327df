//! `[mixture] method = "quadmix"` inside a run (QuaDMix, Liu et al., 2025): each proxy trains
//! on documents drawn by a sampled parameter set — within a domain by quality rank through
//! `S(r) = (2 / (1 + exp(-λ (ω - r))))^η + ε`, across domains by weight — LightGBM maps
//! parameters to the held-out loss, and the mean of the best predicted parameter sets is the
//! choice. Run 0 is the near-natural setting (natural weights, the flattest function), so
//! the search always has the baseline among its runs.
//!
//! Every run is its own cached step (its parameters in the key), then the fit and the
//! search, as in `method = "search"`. The chosen function goes to `mixture.json`'s
//! `sampling`, and the final shards draw each domain's documents by it.

use std::collections::BTreeMap;

use std::borrow::Cow;

use blend_mixers::mixture::SearchRecord;
use blend_mixers::quadmix::{
    ParameterSpace, QuadMixChoice, QuadMixParams, draw_copies, search_parameters,
};
use blend_mixers::{FitSettings, RegressorModel};
use blend_proxy_train::{DomainTokens, ProxyData};
use serde::Serialize;

use super::domain_sizes::DomainSizes;
use super::json_step::JsonStep;
use super::proxy_setup::{ProxyMethod, ProxySetup, SearchedMixture, point_prediction};
use super::validation::{proxy_runs_step, validate_choice};
use crate::engine::cache::{CacheKey, cached, stage_dir};
use crate::engine::config::{PipelineConfig, QuadMixConfig};
use crate::engine::mixture_summary::{RecordedRun, SearchSummary};
use crate::engine::summary::StepRecord;
use crate::progress::Progress;
use crate::workflows::search::proxy_quality::QualityDocuments;
use crate::workflows::search::{MODEL_FILE, PROXY_DATA_DIR, runs_table, too_few_runs_for};
use crate::{BLEND_VERSION, Result};

/// QuaDMix (`method = "quadmix"`).
pub struct QuadMix;

impl ProxyMethod for QuadMix {
    fn choose(
        &self,
        config: &PipelineConfig,
        setup: ProxySetup,
        sizes: &DomainSizes,
        progress: &dyn Progress,
    ) -> Result<SearchedMixture> {
        let m = &config.mixture;
        let q = m
            .quadmix
            .as_ref()
            .expect("checked when the config was read");
        let seed = config.pipeline.seed;
        let documents = QualityDocuments::read_all(&setup.dir.join(PROXY_DATA_DIR))?;
        let space = ParameterSpace::new(setup.sampler.clone(), q.quality.len());
        let mut parameters = vec![near_natural(&setup.natural, q.quality.len(), &space)];
        parameters.extend(space.sample(m.proxies - 1, seed)?);
        let mut steps = setup.steps.clone();
        let (runs, trained) = train_runs(&setup, &documents, q, &parameters, seed, progress)?;
        steps.push(proxy_runs_step(&runs, trained));
        let (model, fit_step) = fit_parameters(config, &setup, &runs, &parameters)?;
        steps.push(fit_step);
        let regressor = model.regressor()?;
        let choice =
            search_parameters(regressor.as_ref(), &space, m.candidates, q.top, seed, true)?;
        let shares = clamp_to_bounds(
            &domain_shares(&documents, &choice.params, q),
            &setup.sampler.lower,
            &setup.sampler.upper,
        );
        let mut mixture = setup.mixture(sizes, "quadmix", &shares, seed);
        mixture.prediction = Some(point_prediction(&model.target, choice.predicted));
        mixture.search = Some(search_record(&setup, &choice, &model));
        mixture.sampling = Some(choice.params.sampling(
            &setup.domains,
            &q.quality,
            &q.lower_is_better,
            q.epsilon,
        ));
        // The chosen mixture is validated on the documents its function draws.
        let validation = match m.validate {
            None => None,
            Some(_) => {
                let (data, _) = resampled_data(
                    &setup.data,
                    &documents,
                    &choice.params,
                    q,
                    seed,
                    "chosen",
                    window(&setup),
                );
                let key = CacheKey::new(&(
                    &setup.data_manifest.key,
                    "quadmix-chosen",
                    &choice.params,
                    q,
                ));
                validate_choice(
                    config,
                    &setup,
                    &shares,
                    Some((&data, key.hash())),
                    &mut steps,
                    progress,
                )?
            }
        };
        let natural_predicted = regressor.predict(&parameters[0].features(), space.features())[0];
        let features = model.domains.len();
        Ok(SearchedMixture {
            mixture,
            prior: setup.prior.clone(),
            search: Some(SearchSummary {
                natural_predicted,
                settings: setup.settings,
                warnings: too_few_runs_for(runs.len(), features, "sampling parameters"),
                runs,
                trained,
                model,
            }),
            method_runs: None,
            validation,
            steps,
        })
    }
}

/// The cached fit of the regressor from each run's parameters to the target.
fn fit_parameters(
    config: &PipelineConfig,
    setup: &ProxySetup,
    runs: &[RecordedRun],
    parameters: &[QuadMixParams],
) -> Result<(RegressorModel, StepRecord)> {
    let m = &config.mixture;
    let q = m
        .quadmix
        .as_ref()
        .expect("checked when the config was read");
    let seed = config.pipeline.seed;
    let fit_key = CacheKey::new(&(
        BLEND_VERSION,
        "quadmix-fit",
        &setup.data_manifest.key,
        runs.iter()
            .map(|r| (&r.weights, &r.outcome.valid_loss))
            .collect::<Vec<_>>(),
        parameters,
        &m.target,
        m.regressor,
        seed,
    ));
    let fit = cached(
        stage_dir(&setup.dir, "quadmix-regressor", &fit_key),
        &fit_key,
        |tmp| {
            // The runs' table with the parameters in place of the mixture weights.
            let mut table = runs_table(&setup.domains, runs);
            table.domains = QuadMixParams::feature_names(&setup.domains, &q.quality);
            table.weights = parameters
                .iter()
                .flat_map(QuadMixParams::features)
                .collect();
            table.write(&tmp.join("runs.csv"))?;
            let settings = FitSettings {
                seed,
                ..FitSettings::default()
            };
            let model = RegressorModel::fit(
                &table,
                &m.target,
                m.regressor,
                &settings,
                true,
                BTreeMap::new(),
            )?;
            model.write(&tmp.join(MODEL_FILE))?;
            Ok(JsonStep::new(&fit_key, model))
        },
    )?;
    let step = StepRecord::new("regressor", fit.reused, fit.cost);
    Ok((fit.output.output, step))
}

fn search_record(
    setup: &ProxySetup,
    choice: &QuadMixChoice,
    model: &RegressorModel,
) -> SearchRecord {
    SearchRecord {
        regressor: model.kind().to_string(),
        candidates: choice.candidates,
        top_k: choice.top,
        top_k_mean_prediction: choice.top_mean_prediction,
        best_candidate_prediction: choice.best_candidate_prediction,
        prior: setup.prior.name.clone(),
        temperature: setup.sampler.temperature,
        min_strength: setup.sampler.min_strength,
        max_strength: setup.sampler.max_strength,
        max_epochs: Some(setup.max_epochs),
    }
}

/// The baseline among the runs: natural weights, equal merge weights, and the flattest
/// sampling function of the space (every document kept about once).
fn near_natural(natural: &[f64], columns: usize, space: &ParameterSpace) -> QuadMixParams {
    let k = natural.len();
    QuadMixParams {
        domain_weights: natural.to_vec(),
        merge_weights: vec![1.0 / columns as f64; columns],
        lambda: vec![space.lambda.0; k],
        omega: vec![space.omega.1; k],
        eta: vec![space.eta.0; k],
    }
}

/// What a QuaDMix run depends on.
#[derive(Serialize)]
struct RunKey<'a> {
    blend: &'a str,
    data: &'a str,
    settings: &'a blend_proxy_train::TrainSettings,
    quadmix: &'a QuadMixConfig,
    parameters: &'a QuadMixParams,
    run: usize,
    seed: u64,
}

/// Trains (or reuses) one proxy per parameter set, each on its own resampled documents;
/// also how many were trained.
fn train_runs(
    setup: &ProxySetup,
    documents: &[QualityDocuments],
    q: &QuadMixConfig,
    parameters: &[QuadMixParams],
    seed: u64,
    progress: &dyn Progress,
) -> Result<(Vec<RecordedRun>, usize)> {
    let steps = setup.settings.steps as u64;
    let bar = progress.start(
        "train QuaDMix proxies",
        Some(parameters.len() as u64 * steps),
        "steps",
    );
    let mut runs = Vec::with_capacity(parameters.len());
    let mut trained = 0;
    for (run, params) in parameters.iter().enumerate() {
        let key = CacheKey::new(&RunKey {
            blend: BLEND_VERSION,
            data: &setup.data_manifest.key,
            settings: &setup.settings,
            quadmix: q,
            parameters: params,
            run,
            seed,
        });
        let prepare = || {
            let (data, weights) = resampled_data(
                &setup.data,
                documents,
                params,
                q,
                seed,
                &run.to_string(),
                window(setup),
            );
            (Cow::Owned(data), weights)
        };
        let (recorded, reused) = setup.cached_run(
            &format!("quadmix-run-{run:05}"),
            &key,
            run,
            &prepare,
            &setup.settings,
            &|_| bar.advance(1),
        )?;
        if reused {
            bar.advance(steps);
        } else {
            trained += 1;
        }
        runs.push(recorded);
    }
    bar.finish(&format!(
        "{trained} trained, {} reused",
        runs.len() - trained
    ));
    Ok((runs, trained))
}

/// The proxy data `params` draws: each domain's train documents copied by their sampling
/// frequency (seeded by `draw`), the held-out streams unchanged; and the domains' sampling
/// weights ([`domain_shares`]). A domain whose function keeps (almost) nothing still holds
/// one `window` of its best documents.
fn resampled_data(
    data: &ProxyData,
    documents: &[QualityDocuments],
    params: &QuadMixParams,
    q: &QuadMixConfig,
    seed: u64,
    draw: &str,
    window: usize,
) -> (ProxyData, Vec<f64>) {
    let drawn = domain_draws(documents, params, q);
    let mut train = Vec::with_capacity(documents.len());
    for (domain, (ranks, frequencies)) in documents.iter().zip(&drawn) {
        let copies = draw_copies(
            frequencies,
            seed,
            &format!("quadmix/{draw}/{}", domain.domain),
        );
        let mut tokens = Vec::new();
        for (document, &count) in domain.documents.iter().zip(&copies) {
            for _ in 0..count {
                tokens.extend_from_slice(document);
            }
        }
        let mut best: Vec<usize> = (0..ranks.len()).collect();
        best.sort_by(|&a, &b| ranks[a].total_cmp(&ranks[b]).then(a.cmp(&b)));
        for &doc in &best {
            if tokens.len() >= window {
                break;
            }
            tokens.extend_from_slice(&domain.documents[doc]);
        }
        train.push(DomainTokens {
            domain: domain.domain.clone(),
            tokens,
        });
    }
    let resampled = ProxyData {
        domains: data.domains.clone(),
        vocab_size: data.vocab_size,
        train,
        valid: data.valid.clone(),
    };
    (resampled, shares(documents, params, &drawn))
}

/// The tokens of one proxy training window.
fn window(setup: &ProxySetup) -> usize {
    setup.settings.model.sequence_length + 1
}

/// Each domain's documents' quality ranks and sampling frequencies under `params`.
fn domain_draws(
    documents: &[QualityDocuments],
    params: &QuadMixParams,
    q: &QuadMixConfig,
) -> Vec<(Vec<f64>, Vec<f64>)> {
    let names: Vec<String> = documents.iter().map(|d| d.domain.clone()).collect();
    let sampling = params.sampling(&names, &q.quality, &q.lower_is_better, q.epsilon);
    documents
        .iter()
        .map(|domain| {
            let ranks = sampling.ranks(&domain.quality);
            let frequencies = sampling
                .frequencies(&domain.domain, &ranks)
                .expect("the function is built over these domains");
            (ranks, frequencies)
        })
        .collect()
}

/// Each domain's share of the tokens under `params`: weight × the expected tokens its
/// function keeps of the proxies' train documents, normalized.
fn domain_shares(
    documents: &[QualityDocuments],
    params: &QuadMixParams,
    q: &QuadMixConfig,
) -> Vec<f64> {
    shares(documents, params, &domain_draws(documents, params, q))
}

/// [`domain_shares`] from the domains' draws.
fn shares(
    documents: &[QualityDocuments],
    params: &QuadMixParams,
    drawn: &[(Vec<f64>, Vec<f64>)],
) -> Vec<f64> {
    let masses: Vec<f64> = documents
        .iter()
        .zip(drawn)
        .zip(&params.domain_weights)
        .map(|((domain, (_, frequencies)), weight)| {
            weight
                * frequencies
                    .iter()
                    .zip(&domain.documents)
                    .map(|(f, doc)| f * doc.len() as f64)
                    .sum::<f64>()
        })
        .collect();
    let total: f64 = masses.iter().sum();
    masses.iter().map(|m| m / total).collect()
}

/// `weights` moved inside `[lower, upper]` (epoch caps and `[mixture]` bounds), keeping the
/// proportions of the domains that are not at a bound.
pub(super) fn clamp_to_bounds(weights: &[f64], lower: &[f64], upper: &[f64]) -> Vec<f64> {
    let mut out = weights.to_vec();
    let mut fixed = vec![false; out.len()];
    for _ in 0..=out.len() {
        let free: f64 = (0..out.len()).filter(|&i| !fixed[i]).map(|i| out[i]).sum();
        let pinned: f64 = (0..out.len()).filter(|&i| fixed[i]).map(|i| out[i]).sum();
        if free > 0.0 {
            for i in (0..out.len()).filter(|&i| !fixed[i]) {
                out[i] *= (1.0 - pinned) / free;
            }
        }
        let mut moved = false;
        for i in 0..out.len() {
            if fixed[i] {
                continue;
            }
            if out[i] > upper[i] {
                out[i] = upper[i];
                fixed[i] = true;
                moved = true;
            } else if out[i] < lower[i] {
                out[i] = lower[i];
                fixed[i] = true;
                moved = true;
            }
        }
        if !moved {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clamping_respects_bounds_and_keeps_proportions() {
        let out = clamp_to_bounds(&[0.7, 0.2, 0.1], &[0.0; 3], &[0.4, 1.0, 1.0]);
        assert!((out[0] - 0.4).abs() < 1e-12);
        assert!(
            (out[1] - 0.4).abs() < 1e-12 && (out[2] - 0.2).abs() < 1e-12,
            "{out:?}"
        );
        let out = clamp_to_bounds(&[0.98, 0.01, 0.01], &[0.0, 0.1, 0.0], &[1.0; 3]);
        assert!((out.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!((out[1] - 0.1).abs() < 1e-12, "{out:?}");
    }

    /// Two domains of 200 ten-token documents each; document `i`'s score is `i`, so the
    /// last documents are the best.
    fn documents() -> (ProxyData, Vec<QualityDocuments>) {
        let domain = |name: &str, first: u32| QualityDocuments {
            domain: name.into(),
            documents: (0..200u32).map(|i| vec![first + i; 10]).collect(),
            quality: vec![(0..200).map(f64::from).collect()],
        };
        let documents = vec![domain("code", 0), domain("web", 1000)];
        let stream = |d: &QualityDocuments| DomainTokens {
            domain: d.domain.clone(),
            tokens: d.documents.concat(),
        };
        let data = ProxyData {
            domains: vec!["code".into(), "web".into()],
            vocab_size: 2000,
            train: documents.iter().map(stream).collect(),
            valid: documents.iter().map(stream).collect(),
        };
        (data, documents)
    }

    fn config() -> QuadMixConfig {
        QuadMixConfig {
            quality: vec!["score".into()],
            lower_is_better: Vec::new(),
            epsilon: 0.0,
            top: 1,
        }
    }

    fn params(weights: [f64; 2], omega: [f64; 2]) -> QuadMixParams {
        QuadMixParams {
            domain_weights: weights.to_vec(),
            merge_weights: vec![1.0],
            lambda: vec![100.0; 2],
            omega: omega.to_vec(),
            eta: vec![1.0; 2],
        }
    }

    #[test]
    fn resampling_repeats_the_best_documents_and_weighs_domains_by_what_they_keep() {
        let (data, documents) = documents();
        // code keeps its best tenth, web its best half, both about twice each.
        let p = params([0.5, 0.5], [0.1, 0.5]);
        let (resampled, weights) = resampled_data(&data, &documents, &p, &config(), 3, "t", 11);
        let code = &resampled.train[0].tokens;
        // Only the best documents (scores 180..200) are drawn.
        let drawn: std::collections::BTreeSet<u32> = code.iter().copied().collect();
        assert!(drawn.iter().all(|&t| t >= 170), "{drawn:?}");
        // A function that keeps nothing leaves one window of the best documents.
        let (nothing, _) = resampled_data(
            &data,
            &documents,
            &params([0.5, 0.5], [-1.0, 0.5]),
            &config(),
            3,
            "t",
            25,
        );
        assert_eq!(
            nothing.train[0].tokens,
            [vec![199; 10], vec![198; 10], vec![197; 10]].concat()
        );
        // Expected mass ≈ 20 vs 100 documents kept twice: web weighs about 5× code.
        let ratio = weights[1] / weights[0];
        assert!((4.0..6.0).contains(&ratio), "{weights:?}");
        assert!((weights.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert_eq!(
            resampled.valid[1].tokens, data.valid[1].tokens,
            "held-out unchanged"
        );
        let (again, _) = resampled_data(&data, &documents, &p, &config(), 3, "t", 11);
        assert_eq!(again.train[1].tokens, resampled.train[1].tokens);
        let (other, _) = resampled_data(&data, &documents, &p, &config(), 4, "t", 11);
        assert_ne!(other.train[1].tokens, resampled.train[1].tokens);
    }

    #[test]
    fn domain_shares_follow_the_weights_times_the_kept_tokens() {
        let (_, documents) = documents();
        let shares = domain_shares(&documents, &params([0.8, 0.2], [0.5, 0.5]), &config());
        assert!((shares[0] - 0.8).abs() < 1e-6, "{shares:?}");
        let shares = domain_shares(&documents, &params([0.5, 0.5], [0.25, 0.5]), &config());
        assert!((shares[1] / shares[0] - 2.0).abs() < 0.1, "{shares:?}");
    }
}
