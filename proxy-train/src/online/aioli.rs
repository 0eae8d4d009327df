//! Aioli (Chen et al., 2024, "Aioli: A Unified Optimization Framework for Language Model
//! Data Mixing", arXiv:2411.05735). Its linear dynamic mixing law says that training on
//! mixture p changes domain i's loss by −Σ_j A[i, j]·p_j; Aioli estimates A during the run
//! and moves p up the total loss decrease it predicts.
//!
//! Each round, with k domains and δ = max(1, round_steps / 4k):
//! 1. for each domain j, train δ steps on the perturbed mixture p_j = (1 − ε)·p + ε·e_j and
//!    record every domain's probe-loss change ΔL[j, ·] over the segment, multiplied by the
//!    round's mean learning rate over the segment's;
//! 2. solve ΔL = −P·Aᵀ for A (P: the k×k matrix with rows p_j), by Gaussian elimination;
//! 3. p ← normalize(p ⊙ exp(η Σ_i A[i, ·])), mixed with uniform by the smoothing c;
//! 4. train the rest of the round on p.
//!
//! The perturbed segments are steps of the run's own budget. Simplified relative to the
//! paper: one sweep of segments per round, each starting where the previous one ended (the
//! changes are measured along the run, not from a common point); A is estimated afresh every
//! round, with no averaging across rounds; ε is fixed at [`PERTURBATION`]; losses come from
//! fixed training probe windows, not a held-out split. Added here: the learning-rate
//! rescaling (without it, warmup favours whichever domain is probed last: measured on the
//! toy data of the tests) and the smoothing floor, so no domain's weight reaches 0.

use std::ops::Range;

use super::linear_solve::solve;
use super::loss_probe::LossProbe;
use super::{
    MixtureTally, OnlineError, OnlineOutcome, OnlineSettings, WeightUpdate, exponentiated_update,
    normalized, round_spans, train_steps,
};
use crate::Result;
use crate::proxy_data::ProxyData;
use crate::train::{TrainSettings, Trainer};

/// ε: the share of a perturbed mixture given to its one domain. Large enough that P is
/// well conditioned (its eigenvalues are ε and 1), small enough to stay near p.
pub const PERTURBATION: f64 = 0.5;

/// δ: steps of each perturbed segment in a round of `round_steps` over `domains` domains,
/// so the k segments take about a quarter of the round.
pub fn segment_steps(round_steps: usize, domains: usize) -> usize {
    (round_steps / (4 * domains.max(1))).max(1)
}

/// (1 − ε)·p + ε·e_j.
pub fn perturbed(weights: &[f64], domain: usize) -> Vec<f64> {
    weights
        .iter()
        .enumerate()
        .map(|(i, w)| (1.0 - PERTURBATION) * w + if i == domain { PERTURBATION } else { 0.0 })
        .collect()
}

/// A (A[i][j]: how much a unit of domain j lowers domain i's loss) from `mixtures` (rows
/// p_j) and `loss_changes` (row j: every domain's loss change while training on p_j), by
/// solving ΔL = −P·Aᵀ. `None` when the mixtures are singular.
pub fn estimate_interactions(
    mixtures: &[Vec<f64>],
    loss_changes: &[Vec<f64>],
) -> Option<Vec<Vec<f64>>> {
    let decreases: Vec<Vec<f64>> = loss_changes
        .iter()
        .map(|row| row.iter().map(|change| -change).collect())
        .collect();
    let transposed = solve(mixtures, &decreases)?;
    let k = transposed.len();
    Some(
        (0..k)
            .map(|i| (0..k).map(|j| transposed[j][i]).collect())
            .collect(),
    )
}

pub(super) fn train(
    data: &ProxyData,
    initial: &[f64],
    settings: &TrainSettings,
    online: &OnlineSettings,
    on_step: &(dyn Fn(usize) + Sync),
) -> Result<OnlineOutcome> {
    let mut trainer = Trainer::new(data, initial, settings)?;
    let probe = LossProbe::new(
        &data.train,
        settings.model.sequence_length,
        online.probe_windows,
        settings.batch_size,
        settings.seed,
    )?;
    let k = data.domains.len();
    let learning_rates = settings.schedule();
    let mean_learning_rate = |steps: Range<usize>| {
        let count = steps.len().max(1) as f64;
        steps.map(|s| learning_rates.at(s)).sum::<f64>() / count
    };
    let mut weights = normalized(initial);
    let mut schedule = Vec::with_capacity(online.rounds);
    let mut tally = MixtureTally::new(k);
    for round in round_spans(settings.steps, online.rounds) {
        let delta = segment_steps(round.len(), k);
        let mixtures: Vec<Vec<f64>> = (0..k).map(|j| perturbed(&weights, j)).collect();
        let mut before = probe.domain_losses(trainer.model())?;
        let mut loss_changes = Vec::with_capacity(k);
        let mut step = round.start;
        for mixture in &mixtures {
            trainer.set_weights(mixture)?;
            train_steps(&mut trainer, step..step + delta, on_step)?;
            tally.add(mixture, delta);
            step += delta;
            let after = probe.domain_losses(trainer.model())?;
            let at_round_rate =
                mean_learning_rate(round.clone()) / mean_learning_rate(step - delta..step);
            loss_changes.push(
                after
                    .iter()
                    .zip(&before)
                    .map(|(a, b)| at_round_rate * (a - b))
                    .collect(),
            );
            before = after;
        }
        let interactions = estimate_interactions(&mixtures, &loss_changes)
            .ok_or(OnlineError::SingularMixtures { step })?;
        let signal: Vec<f64> = (0..k)
            .map(|j| interactions.iter().map(|row| row[j]).sum())
            .collect();
        weights = exponentiated_update(&weights, &signal, online.step_size, online.smoothing);
        trainer.set_weights(&weights)?;
        tracing::debug!(step, weights = ?weights, signal = ?signal, "aioli update");
        tally.add(&weights, round.end - step);
        schedule.push(WeightUpdate {
            step,
            weights: weights.clone(),
            signal,
        });
        train_steps(&mut trainer, step..round.end, on_step)?;
    }
    let (outcome, _) = trainer.finish()?;
    Ok(OnlineOutcome {
        outcome,
        schedule,
        final_weights: weights,
        average_weights: tally.average(),
        reference: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::online::tests::{assert_on_simplex, settings, toy_data_with_noise};
    use crate::online::{OnlineAlgorithm, train_online};

    #[test]
    fn the_linear_solve_recovers_a_known_interaction_matrix() {
        let interactions = [
            vec![0.30, 0.05, -0.02],
            vec![0.10, 0.25, 0.00],
            vec![-0.04, 0.01, 0.02],
        ];
        let weights = [0.5, 0.3, 0.2];
        let mixtures: Vec<Vec<f64>> = (0..3).map(|j| perturbed(&weights, j)).collect();
        for mixture in &mixtures {
            assert!((mixture.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        }
        // The mixing law: training on p_j changes domain i's loss by −Σ_m A[i, m]·p_j[m].
        let loss_changes: Vec<Vec<f64>> = mixtures
            .iter()
            .map(|p| {
                interactions
                    .iter()
                    .map(|row| -row.iter().zip(p).map(|(a, w)| a * w).sum::<f64>())
                    .collect()
            })
            .collect();
        let estimated = estimate_interactions(&mixtures, &loss_changes).unwrap();
        for (a, b) in estimated
            .iter()
            .flatten()
            .zip(interactions.iter().flatten())
        {
            assert!((a - b).abs() < 1e-12, "{estimated:?}");
        }
    }

    #[test]
    fn aioli_moves_weight_off_the_unlearnable_domain_and_is_deterministic() {
        let data = toy_data_with_noise();
        let uniform = [1.0 / 3.0; 3];
        let train = settings(80, 2);
        let online = OnlineSettings {
            algorithm: OnlineAlgorithm::Aioli,
            rounds: 4,
            ..OnlineSettings::default()
        };
        let steps = std::sync::atomic::AtomicUsize::new(0);
        let count = |_| {
            steps.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        };
        let run = train_online(&data, &uniform, &train, &online, &count).unwrap();
        assert_eq!(steps.into_inner(), 80);
        assert_eq!(run.outcome.tokens, (80 * train.tokens_per_step()) as u64);
        assert!(run.reference.is_none());
        assert_eq!(run.schedule.len(), 4);
        // Rounds of 20 steps: three perturbed segments of one step, then the update.
        assert_eq!(
            run.schedule.iter().map(|u| u.step).collect::<Vec<_>>(),
            vec![3, 23, 43, 63]
        );
        for update in &run.schedule {
            assert_on_simplex(&update.weights);
        }
        assert_on_simplex(&run.final_weights);
        assert_on_simplex(&run.average_weights);
        assert!(run.average_weights[2] < 1.0 / 3.0, "{:?}", run.schedule);

        let again = train_online(&data, &uniform, &train, &online, &|_| {}).unwrap();
        assert_eq!(run.schedule, again.schedule);
        assert_eq!(run.average_weights, again.average_weights);
        assert_eq!(run.outcome.train_loss, again.outcome.train_loss);
        assert_eq!(run.outcome.valid_loss, again.outcome.valid_loss);
    }
}
