//! DoReMi (Xie et al., 2023, arXiv:2305.10429): train a reference proxy on the initial
//! mixture; then train the proxy and, at the start of every round, raise the weight of the
//! domains where it trails the reference most. With λ_d the mean over domain d's probe
//! windows of max(loss_proxy − loss_reference, 0):
//! α ← (1 − c)·normalize(α ⊙ exp(η λ)) + c/k, and the round samples by α. The output
//! mixture is the average of α over the run (step-weighted; rounds differ by at most one
//! step).
//!
//! Simplified relative to the paper: the proxy samples by α instead of reweighting a
//! uniformly sampled batch's loss, α changes once per round instead of every step, the
//! excess loss is clipped per probe window (the paper clips per token) and measured on fixed
//! probe windows rather than the training batch, and the reference is the same small model
//! as the proxy.

use super::loss_probe::LossProbe;
use super::{
    MixtureTally, OnlineOutcome, OnlineSettings, WeightUpdate, exponentiated_update, normalized,
    round_spans, train_steps,
};
use crate::Result;
use crate::proxy_data::ProxyData;
use crate::train::{TrainSettings, Trainer};

/// Per domain, the mean over its windows of max(proxy − reference, 0).
pub fn excess_losses(proxy: &[Vec<f64>], reference: &[Vec<f64>]) -> Vec<f64> {
    proxy
        .iter()
        .zip(reference)
        .map(|(proxy_windows, reference_windows)| {
            let total: f64 = proxy_windows
                .iter()
                .zip(reference_windows)
                .map(|(p, r)| (p - r).max(0.0))
                .sum();
            total / proxy_windows.len().max(1) as f64
        })
        .collect()
}

pub(super) fn train(
    data: &ProxyData,
    initial: &[f64],
    settings: &TrainSettings,
    online: &OnlineSettings,
    on_step: &(dyn Fn(usize) + Sync),
) -> Result<OnlineOutcome> {
    let mut reference = Trainer::new(data, initial, settings)?;
    train_steps(&mut reference, 0..settings.steps, on_step)?;
    let (reference_outcome, reference_model) = reference.finish()?;
    let probe = LossProbe::new(
        &data.train,
        settings.model.sequence_length,
        online.probe_windows,
        settings.batch_size,
        settings.seed,
    )?;
    let reference_losses = probe.window_losses(&reference_model)?;
    drop(reference_model);

    let mut trainer = Trainer::new(data, initial, settings)?;
    let mut alpha = normalized(initial);
    let mut schedule = Vec::with_capacity(online.rounds);
    let mut tally = MixtureTally::new(alpha.len());
    for round in round_spans(settings.steps, online.rounds) {
        let excess = excess_losses(&probe.window_losses(trainer.model())?, &reference_losses);
        alpha = exponentiated_update(&alpha, &excess, online.step_size, online.smoothing);
        trainer.set_weights(&alpha)?;
        tracing::debug!(step = round.start, weights = ?alpha, excess = ?excess, "doremi update");
        tally.add(&alpha, round.len());
        schedule.push(WeightUpdate {
            step: round.start,
            weights: alpha.clone(),
            signal: excess,
        });
        train_steps(&mut trainer, round, on_step)?;
    }
    let (outcome, _) = trainer.finish()?;
    Ok(OnlineOutcome {
        outcome,
        schedule,
        final_weights: alpha,
        average_weights: tally.average(),
        reference: Some(reference_outcome),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::online::tests::{assert_on_simplex, settings, toy_data_with_noise};
    use crate::online::{OnlineAlgorithm, train_online};
    use crate::train::train_proxy;

    #[test]
    fn excess_loss_counts_only_where_the_proxy_trails() {
        let proxy = vec![vec![3.0, 1.0], vec![2.0, 2.0]];
        let reference = vec![vec![2.0, 2.0], vec![2.5, 2.5]];
        assert_eq!(excess_losses(&proxy, &reference), vec![0.5, 0.0]);
    }

    fn doremi(rounds: usize) -> OnlineSettings {
        OnlineSettings {
            algorithm: OnlineAlgorithm::DoReMi,
            rounds,
            ..OnlineSettings::default()
        }
    }

    #[test]
    fn doremi_moves_weight_off_the_unlearnable_domain_and_is_deterministic() {
        let data = toy_data_with_noise();
        let uniform = [1.0 / 3.0; 3];
        let train = settings(60, 2);
        let online = doremi(6);
        let steps = std::sync::atomic::AtomicUsize::new(0);
        let count = |_| {
            steps.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        };
        let run = train_online(&data, &uniform, &train, &online, &count).unwrap();
        assert_eq!(
            steps.into_inner(),
            online.optimizer_steps(&train),
            "reference and proxy steps"
        );
        assert_eq!(run.schedule.len(), 6);
        assert_eq!(
            run.schedule.iter().map(|u| u.step).collect::<Vec<_>>(),
            vec![0, 10, 20, 30, 40, 50]
        );
        for update in &run.schedule {
            assert_on_simplex(&update.weights);
            assert!(update.signal.iter().all(|s| *s >= 0.0), "{update:?}");
        }
        assert_on_simplex(&run.final_weights);
        assert_on_simplex(&run.average_weights);
        assert!(run.average_weights[2] < 1.0 / 3.0, "{:?}", run.schedule);
        assert_eq!(run.outcome.tokens, (60 * train.tokens_per_step()) as u64);
        // The reference run is the static run of the initial mixture.
        let reference = run.reference.clone().unwrap();
        let static_run = train_proxy(&data, &uniform, &train, &|_| {}).unwrap();
        assert_eq!(reference.valid_loss, static_run.valid_loss);

        let again = train_online(&data, &uniform, &train, &online, &|_| {}).unwrap();
        assert_eq!(run.schedule, again.schedule);
        assert_eq!(run.average_weights, again.average_weights);
        assert_eq!(run.outcome.train_loss, again.outcome.train_loss);
        assert_eq!(run.outcome.valid_loss, again.outcome.valid_loss);
    }
}
