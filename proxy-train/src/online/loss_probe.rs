//! `LossProbe`: a fixed, seeded set of windows per domain, drawn from the training streams
//! (the held-out streams score the finished run, so the reweighting never looks at them),
//! on which online reweighting measures a model's per-domain loss between steps.
//! Scoring runs the forward pass only and reads one loss per window.

use blend_kernels::SeededRng;

use crate::Result;
use crate::gpt::Gpt;
use crate::sequence_sampler::{DomainTokens, SamplerError};
use crate::train::batch_tensors;

#[derive(Debug, Clone)]
pub struct LossProbe<'a> {
    /// Per domain, `windows_per_domain` windows of `sequence_length + 1` tokens.
    windows: Vec<Vec<&'a [u32]>>,
    sequence_length: usize,
    batch_size: usize,
}

impl<'a> LossProbe<'a> {
    /// `windows_per_domain` random windows of every domain in `train` (each domain must hold
    /// one window), the same for a seed; scored `batch_size` windows at a time.
    pub fn new(
        train: &'a [DomainTokens],
        sequence_length: usize,
        windows_per_domain: usize,
        batch_size: usize,
        seed: u64,
    ) -> Result<Self> {
        let window = sequence_length + 1;
        let mut rng = SeededRng::for_stream(seed, "proxy/online-probe");
        let windows = train
            .iter()
            .map(|domain| {
                let tokens = &domain.tokens;
                if tokens.len() < window {
                    return Err(SamplerError::TooFewTokens {
                        domain: domain.domain.clone(),
                        available: tokens.len(),
                        needed: window,
                    });
                }
                Ok((0..windows_per_domain)
                    .map(|_| {
                        let start = rng.below((tokens.len() - window + 1) as u64) as usize;
                        &tokens[start..start + window]
                    })
                    .collect())
            })
            .collect::<Result<Vec<Vec<&[u32]>>, SamplerError>>()?;
        Ok(Self {
            windows,
            sequence_length,
            batch_size: batch_size.max(1),
        })
    }

    /// `model`'s mean loss (nats) on each window: `[domain][window]`.
    pub fn window_losses(&self, model: &Gpt) -> Result<Vec<Vec<f64>>> {
        self.windows
            .iter()
            .map(|windows| {
                let mut losses = Vec::with_capacity(windows.len());
                for chunk in windows.chunks(self.batch_size) {
                    let (inputs, targets) =
                        batch_tensors(chunk, self.sequence_length, model.device())?;
                    let chunk_losses = model.sequence_losses(&inputs, &targets)?;
                    losses.extend(chunk_losses.to_vec1::<f32>()?.into_iter().map(f64::from));
                }
                Ok(losses)
            })
            .collect()
    }

    /// `model`'s mean loss over each domain's windows.
    pub fn domain_losses(&self, model: &Gpt) -> Result<Vec<f64>> {
        Ok(self
            .window_losses(model)?
            .iter()
            .map(|losses| losses.iter().sum::<f64>() / losses.len().max(1) as f64)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use candle_core::{DType, Device};

    use super::*;
    use crate::Preset;

    fn streams() -> Vec<DomainTokens> {
        ["a", "b"]
            .iter()
            .enumerate()
            .map(|(i, name)| DomainTokens {
                domain: (*name).into(),
                tokens: (0..200u32).map(|t| (t * (i as u32 + 3)) % 30).collect(),
            })
            .collect()
    }

    #[test]
    fn windows_are_seeded_and_scored_per_window() {
        let train = streams();
        let probe = LossProbe::new(&train, 8, 5, 2, 7).unwrap();
        let again = LossProbe::new(&train, 8, 5, 2, 7).unwrap();
        let other = LossProbe::new(&train, 8, 5, 2, 8).unwrap();
        assert_eq!(probe.windows, again.windows);
        assert_ne!(probe.windows, other.windows);
        assert!(probe.windows.iter().flatten().all(|w| w.len() == 9));
        let model = Gpt::new(Preset::Tiny.config(30, 8), 1, &Device::Cpu, DType::F32).unwrap();
        let losses = probe.window_losses(&model).unwrap();
        assert_eq!(losses.iter().map(Vec::len).collect::<Vec<_>>(), vec![5, 5]);
        // Untrained: every window costs about ln 30 nats per token.
        assert!(
            losses
                .iter()
                .flatten()
                .all(|l| (l - 30f64.ln()).abs() < 0.2),
            "{losses:?}"
        );
        let means = probe.domain_losses(&model).unwrap();
        assert!((means[1] - losses[1].iter().sum::<f64>() / 5.0).abs() < 1e-12);
    }

    #[test]
    fn a_domain_shorter_than_a_window_is_an_error() {
        let mut train = streams();
        train[1].tokens.truncate(8);
        let error = LossProbe::new(&train, 8, 5, 2, 7).unwrap_err();
        assert!(
            matches!(
                error,
                crate::ProxyError::Sampler(SamplerError::TooFewTokens { .. })
            ),
            "{error}"
        );
    }
}
