//! `SequenceSampler`: each draw picks a domain with probability equal to its mixture weight,
//! then a random window of `sequence_length + 1` tokens (inputs and shifted targets) from
//! that domain's token stream. Same seed, same sequence of windows.

use blend_kernels::SeededRng;

/// The concatenated tokens of one domain.
#[derive(Debug, Clone)]
pub struct DomainTokens {
    pub domain: String,
    pub tokens: Vec<u32>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SamplerError {
    #[error("domain `{domain}` has {available} tokens, fewer than one window of {needed}")]
    TooFewTokens {
        domain: String,
        available: usize,
        needed: usize,
    },
    #[error("weights: {0}")]
    Weights(String),
}

#[derive(Debug)]
pub struct SequenceSampler<'a> {
    domains: &'a [DomainTokens],
    weights: Vec<f64>,
    window: usize,
    rng: SeededRng,
}

impl<'a> SequenceSampler<'a> {
    /// `weights[i]` belongs to `domains[i]`; zero-weight domains may be short.
    pub fn new(
        domains: &'a [DomainTokens],
        weights: Vec<f64>,
        sequence_length: usize,
        seed: u64,
    ) -> Result<Self, SamplerError> {
        let window = sequence_length + 1;
        check_weights(domains, &weights, window)?;
        Ok(Self {
            domains,
            weights,
            window,
            rng: SeededRng::for_stream(seed, "proxy/sequences"),
        })
    }

    /// Samples by `weights` from the next draw on; the random stream continues where it was.
    /// Checked as in [`SequenceSampler::new`].
    pub fn set_weights(&mut self, weights: Vec<f64>) -> Result<(), SamplerError> {
        check_weights(self.domains, &weights, self.window)?;
        self.weights = weights;
        Ok(())
    }

    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// The next window: (domain index, `sequence_length + 1` tokens).
    pub fn next_window(&mut self) -> (usize, &'a [u32]) {
        let domain = self.rng.weighted_index(&self.weights);
        let domains: &'a [DomainTokens] = self.domains;
        let tokens = &domains[domain].tokens;
        let start = self.rng.below((tokens.len() - self.window + 1) as u64) as usize;
        (domain, &tokens[start..start + self.window])
    }
}

/// One weight per domain, finite, non-negative, not all zero; every domain with a positive
/// weight holds at least one window.
fn check_weights(
    domains: &[DomainTokens],
    weights: &[f64],
    window: usize,
) -> Result<(), SamplerError> {
    if domains.len() != weights.len() {
        return Err(SamplerError::Weights(format!(
            "{} domains but {} weights",
            domains.len(),
            weights.len()
        )));
    }
    if weights.iter().any(|w| !w.is_finite() || *w < 0.0) || weights.iter().sum::<f64>() <= 0.0 {
        return Err(SamplerError::Weights(
            "weights must be finite, non-negative and not all zero".into(),
        ));
    }
    for (domain, weight) in domains.iter().zip(weights) {
        if *weight > 0.0 && domain.tokens.len() < window {
            return Err(SamplerError::TooFewTokens {
                domain: domain.domain.clone(),
                available: domain.tokens.len(),
                needed: window,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn domains() -> Vec<DomainTokens> {
        vec![
            DomainTokens {
                domain: "a".into(),
                tokens: (0..100).collect(),
            },
            DomainTokens {
                domain: "b".into(),
                tokens: (1000..1100).collect(),
            },
        ]
    }

    #[test]
    fn follows_weights_and_is_deterministic() {
        let domains = domains();
        let mut sampler = SequenceSampler::new(&domains, vec![0.25, 0.75], 8, 1).unwrap();
        let mut again = SequenceSampler::new(&domains, vec![0.25, 0.75], 8, 1).unwrap();
        let mut counts = [0usize; 2];
        for _ in 0..4000 {
            let (domain, window) = sampler.next_window();
            let window = window.to_vec();
            assert_eq!(window.len(), 9);
            assert!(
                window.windows(2).all(|w| w[1] == w[0] + 1),
                "contiguous tokens"
            );
            assert_eq!(again.next_window(), (domain, window.as_slice()));
            counts[domain] += 1;
        }
        let share = counts[1] as f64 / 4000.0;
        assert!((0.72..0.78).contains(&share), "{counts:?}");
    }

    #[test]
    fn short_domains_and_bad_weights_are_errors() {
        let domains = domains();
        let error = SequenceSampler::new(&domains, vec![1.0, 0.0], 200, 1).unwrap_err();
        assert!(matches!(error, SamplerError::TooFewTokens { .. }));
        assert!(SequenceSampler::new(&domains, vec![0.0, 0.0], 8, 1).is_err());
        assert!(SequenceSampler::new(&domains, vec![1.0], 8, 1).is_err());
    }

    #[test]
    fn set_weights_checks_and_keeps_the_stream() {
        let domains = domains();
        let mut switched = SequenceSampler::new(&domains, vec![0.5, 0.5], 8, 4).unwrap();
        let mut direct = SequenceSampler::new(&domains, vec![0.5, 0.5], 8, 4).unwrap();
        for _ in 0..10 {
            assert_eq!(switched.next_window(), direct.next_window());
        }
        for bad in [
            vec![1.0],
            vec![0.0, 0.0],
            vec![-0.5, 1.5],
            vec![f64::NAN, 1.0],
            vec![f64::INFINITY, 1.0],
        ] {
            let error = switched.set_weights(bad.clone()).unwrap_err();
            assert!(matches!(error, SamplerError::Weights(_)), "{bad:?}");
        }
        assert_eq!(
            switched.weights(),
            &[0.5, 0.5],
            "a rejected update changes nothing"
        );
        // Setting the same weights leaves the draws exactly as they were.
        switched.set_weights(vec![0.5, 0.5]).unwrap();
        for _ in 0..10 {
            assert_eq!(switched.next_window(), direct.next_window());
        }
        switched.set_weights(vec![0.0, 1.0]).unwrap();
        assert!((0..20).all(|_| switched.next_window().0 == 1));
        let short = [
            domains[0].clone(),
            DomainTokens {
                domain: "short".into(),
                tokens: (0..5).collect(),
            },
        ];
        let mut sampler = SequenceSampler::new(&short, vec![1.0, 0.0], 8, 4).unwrap();
        let error = sampler.set_weights(vec![0.5, 0.5]).unwrap_err();
        assert!(matches!(error, SamplerError::TooFewTokens { .. }));
    }
}
