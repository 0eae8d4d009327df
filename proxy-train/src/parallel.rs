//! Several proxies at once. On the CPU each proxy trains on its own thread of a pool of
//! `parallel` threads (candle's matmuls inside share the same pool); on a GPU each thread
//! opens its own device handle, so runs overlap on the device. Results come back in job
//! order whatever order they finish in; `on_done` sees each as it finishes (to record it).

use rayon::prelude::*;

use crate::proxy_data::ProxyData;
use crate::train::{ProxyOutcome, TrainSettings, train_proxy};
use crate::{ProxyError, Result};

/// One run to train: its key and mixture (one weight per data domain).
#[derive(Debug, Clone, PartialEq)]
pub struct ProxyJob {
    pub run: usize,
    pub weights: Vec<f64>,
}

/// Trains every job with `settings`, `parallel` at a time.
pub fn train_proxies(
    data: &ProxyData,
    jobs: &[ProxyJob],
    settings: &TrainSettings,
    parallel: usize,
    on_step: &(dyn Fn(usize) + Sync),
    on_done: &(dyn Fn(&ProxyJob, &ProxyOutcome) -> Result<()> + Sync),
) -> Result<Vec<ProxyOutcome>> {
    blend_kernels::allocator::keep_freed_memory_for_tensors();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(parallel.max(1))
        .thread_name(|i| format!("proxy-{i}"))
        .build()
        .map_err(|e| ProxyError::Config(format!("starting {parallel} proxy threads: {e}")))?;
    pool.install(|| {
        jobs.par_iter()
            .with_max_len(1)
            .map(|job| {
                let outcome = train_proxy(data, &job.weights, settings, on_step)?;
                on_done(job, &outcome)?;
                Ok(outcome)
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::Preset;
    use crate::sequence_sampler::DomainTokens;

    #[test]
    fn parallel_runs_equal_sequential_runs() {
        let tokens: Vec<u32> = (0..3000u32).map(|i| (i * 13) % 40).collect();
        let other: Vec<u32> = (0..3000u32).map(|i| 40 + (i % 9)).collect();
        let stream = |name: &str, t: &[u32]| DomainTokens {
            domain: name.into(),
            tokens: t.to_vec(),
        };
        let data = ProxyData {
            domains: vec!["a".into(), "b".into()],
            vocab_size: 50,
            train: vec![stream("a", &tokens[..2500]), stream("b", &other[..2500])],
            valid: vec![stream("a", &tokens[2500..]), stream("b", &other[2500..])],
        };
        let mut settings = TrainSettings::new(Preset::Tiny.config(50, 16), 12, 9);
        settings.batch_size = 4;
        settings.eval_windows = 4;
        let jobs: Vec<ProxyJob> = [0.2, 0.5, 0.9]
            .iter()
            .enumerate()
            .map(|(run, &w)| ProxyJob {
                run,
                weights: vec![w, 1.0 - w],
            })
            .collect();
        let finished = Mutex::new(Vec::new());
        let parallel = train_proxies(&data, &jobs, &settings, 2, &|_| {}, &|job, _| {
            finished.lock().unwrap().push(job.run);
            Ok(())
        })
        .unwrap();
        let sequential =
            train_proxies(&data, &jobs, &settings, 1, &|_| {}, &|_, _| Ok(())).unwrap();
        let mut finished = finished.into_inner().unwrap();
        finished.sort_unstable();
        assert_eq!(finished, vec![0, 1, 2]);
        for (p, s) in parallel.iter().zip(&sequential) {
            assert_eq!(p.valid_loss, s.valid_loss);
            assert_eq!(p.train_loss, s.train_loss);
        }
        assert_ne!(
            parallel[0].valid_loss, parallel[2].valid_loss,
            "mixtures differ"
        );
    }
}
