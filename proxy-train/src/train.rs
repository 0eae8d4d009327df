//! One proxy run: build the model for a seed, draw batches from the training streams by the
//! run's mixture weights, AdamW (decay on matrices only) with warmup + cosine and global
//! gradient-norm clipping, then the mean loss on fixed held-out windows of every domain.

use std::time::Instant;

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use serde::{Deserialize, Serialize};

use crate::device::DeviceChoice;
use crate::gpt::Gpt;
use crate::lr_schedule::LrSchedule;
use crate::model_config::ModelConfig;
use crate::proxy_data::ProxyData;
use crate::sequence_sampler::{DomainTokens, SequenceSampler};
use crate::{ProxyError, Result};

/// Everything a proxy run depends on besides its mixture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainSettings {
    pub model: ModelConfig,
    pub steps: usize,
    pub batch_size: usize,
    pub peak_lr: f64,
    pub warmup_steps: usize,
    pub min_lr_ratio: f64,
    pub weight_decay: f64,
    pub grad_clip: f64,
    /// Held-out windows scored per domain.
    pub eval_windows: usize,
    pub seed: u64,
    pub device: DeviceChoice,
}

impl TrainSettings {
    /// RegMix-like defaults for `model`: batch 16, peak lr 3e-3 (small models take large
    /// rates), 10% warmup, cosine to 10%, weight decay 0.1, clip 1.0.
    pub fn new(model: ModelConfig, steps: usize, seed: u64) -> Self {
        Self {
            model,
            steps,
            batch_size: 16,
            peak_lr: 3e-3,
            warmup_steps: (steps / 10).max(1),
            min_lr_ratio: 0.1,
            weight_decay: 0.1,
            grad_clip: 1.0,
            eval_windows: 32,
            seed,
            device: DeviceChoice::Cpu,
        }
    }

    pub fn tokens_per_step(&self) -> usize {
        self.batch_size * self.model.sequence_length
    }

    pub fn schedule(&self) -> LrSchedule {
        LrSchedule {
            peak: self.peak_lr,
            warmup_steps: self.warmup_steps,
            total_steps: self.steps,
            min_ratio: self.min_lr_ratio,
        }
    }

    pub fn validate(&self) -> Result<()> {
        self.model.validate()?;
        if self.steps == 0 || self.batch_size == 0 || self.eval_windows == 0 {
            return Err(ProxyError::Config(
                "steps, batch size and eval windows must be positive".into(),
            ));
        }
        if !(self.peak_lr > 0.0 && self.grad_clip > 0.0) {
            return Err(ProxyError::Config(
                "the learning rate and the clipping norm must be positive".into(),
            ));
        }
        Ok(())
    }
}

/// What one proxy run measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProxyOutcome {
    /// (step, training loss) at every logged step, first and last included.
    pub train_loss: Vec<(usize, f32)>,
    /// Mean held-out loss per domain, in the data's domain order.
    pub valid_loss: Vec<f64>,
    pub tokens: u64,
    pub train_seconds: f64,
    pub eval_seconds: f64,
}

impl ProxyOutcome {
    pub fn first_train_loss(&self) -> f32 {
        self.train_loss.first().map_or(f32::NAN, |x| x.1)
    }

    pub fn last_train_loss(&self) -> f32 {
        self.train_loss.last().map_or(f32::NAN, |x| x.1)
    }

    pub fn mean_valid_loss(&self) -> f64 {
        self.valid_loss.iter().sum::<f64>() / self.valid_loss.len().max(1) as f64
    }
}

pub(crate) fn batch_tensors(
    windows: &[&[u32]],
    sequence_length: usize,
    device: &Device,
) -> Result<(Tensor, Tensor)> {
    let mut inputs = Vec::with_capacity(windows.len() * sequence_length);
    let mut targets = Vec::with_capacity(windows.len() * sequence_length);
    for window in windows {
        inputs.extend_from_slice(&window[..sequence_length]);
        targets.extend_from_slice(&window[1..=sequence_length]);
    }
    let shape = (windows.len(), sequence_length);
    Ok((
        Tensor::from_vec(inputs, shape, device)?,
        Tensor::from_vec(targets, shape, device)?,
    ))
}

/// Scales every gradient so their global L2 norm is at most `max_norm`; returns the norm
/// before clipping.
fn clip_gradients(
    grads: &mut candle_core::backprop::GradStore,
    vars: &[Var],
    max_norm: f64,
) -> Result<f64> {
    let mut squares = Vec::with_capacity(vars.len());
    for var in vars {
        if let Some(grad) = grads.get(var.as_tensor()) {
            squares.push(grad.sqr()?.sum_all()?);
        }
    }
    let norm = Tensor::stack(&squares, 0)?
        .sum_all()?
        .to_dtype(DType::F64)?
        .to_scalar::<f64>()?
        .sqrt();
    if norm > max_norm {
        let scale = max_norm / (norm + 1e-6);
        for var in vars {
            if let Some(grad) = grads.remove(var.as_tensor()) {
                grads.insert(var.as_tensor(), (grad * scale)?);
            }
        }
    }
    Ok(norm)
}

/// Evenly spaced `count` windows of `window` tokens over `tokens` (all distinct when the
/// stream is long enough).
fn eval_windows(tokens: &[u32], window: usize, count: usize) -> Vec<&[u32]> {
    let last_start = tokens.len() - window;
    let count = count.min(last_start + 1);
    (0..count)
        .map(|i| {
            let start = if count == 1 {
                0
            } else {
                i * last_start / (count - 1)
            };
            &tokens[start..start + window]
        })
        .collect()
}

/// Mean loss of `model` on the held-out windows of each domain.
pub fn evaluate(
    model: &Gpt,
    valid: &[DomainTokens],
    settings: &TrainSettings,
    device: &Device,
) -> Result<Vec<f64>> {
    let t = settings.model.sequence_length;
    valid
        .iter()
        .map(|domain| {
            if domain.tokens.len() < t + 1 {
                return Err(ProxyError::Config(format!(
                    "domain `{}` has {} held-out tokens, fewer than one sequence of {}",
                    domain.domain,
                    domain.tokens.len(),
                    t + 1
                )));
            }
            let windows = eval_windows(&domain.tokens, t + 1, settings.eval_windows);
            let mut total = 0.0;
            for chunk in windows.chunks(settings.batch_size) {
                let (inputs, targets) = batch_tensors(chunk, t, device)?;
                let loss = model.held_out_loss(&inputs, &targets)?;
                total += f64::from(loss) * chunk.len() as f64;
            }
            Ok(total / windows.len() as f64)
        })
        .collect()
}

/// One proxy run between optimizer steps: the model, its AdamW states (decay on matrices
/// only), the mixture sampler and the training losses logged so far. [`train_proxy`] steps it
/// `settings.steps` times; online reweighting changes its mixture between steps.
#[derive(Debug)]
pub struct Trainer<'a> {
    settings: &'a TrainSettings,
    data: &'a ProxyData,
    device: Device,
    model: Gpt,
    sampler: SequenceSampler<'a>,
    all_vars: Vec<Var>,
    decayed: AdamW,
    not_decayed: AdamW,
    schedule: LrSchedule,
    log_every: usize,
    train_loss: Vec<(usize, f32)>,
    steps_taken: usize,
    started: Instant,
}

impl<'a> Trainer<'a> {
    /// The model for `settings.seed` and a sampler of `data.train` by `weights` (one per
    /// domain).
    pub fn new(data: &'a ProxyData, weights: &[f64], settings: &'a TrainSettings) -> Result<Self> {
        settings.validate()?;
        blend_kernels::allocator::keep_freed_memory_for_tensors();
        if settings.model.vocab_size < data.vocab_size {
            return Err(ProxyError::Config(format!(
                "the model's vocabulary ({}) is smaller than the data's ({})",
                settings.model.vocab_size, data.vocab_size
            )));
        }
        let device = settings.device.open()?;
        let model = Gpt::new(
            settings.model,
            settings.seed,
            &device,
            settings.device.compute_dtype(),
        )?;
        let sampler = SequenceSampler::new(
            &data.train,
            weights.to_vec(),
            settings.model.sequence_length,
            settings.seed,
        )?;
        let (matrices, vectors) = model.parameters();
        let all_vars: Vec<Var> = matrices.iter().chain(&vectors).cloned().collect();
        let adamw = |vars: Vec<Var>, weight_decay: f64| {
            AdamW::new(
                vars,
                ParamsAdamW {
                    lr: settings.peak_lr,
                    beta1: 0.9,
                    beta2: 0.95,
                    eps: 1e-8,
                    weight_decay,
                },
            )
        };
        let decayed = adamw(matrices, settings.weight_decay)?;
        let not_decayed = adamw(vectors, 0.0)?;
        Ok(Self {
            settings,
            data,
            device,
            model,
            sampler,
            all_vars,
            decayed,
            not_decayed,
            schedule: settings.schedule(),
            log_every: (settings.steps / 50).max(1),
            train_loss: Vec::new(),
            steps_taken: 0,
            started: Instant::now(),
        })
    }

    pub fn model(&self) -> &Gpt {
        &self.model
    }

    /// Draws the following batches by `weights` (checked as in [`SequenceSampler::new`]).
    pub fn set_weights(&mut self, weights: &[f64]) -> Result<()> {
        Ok(self.sampler.set_weights(weights.to_vec())?)
    }

    /// One optimizer step at `step` of the schedule (0-based, below `settings.steps`);
    /// returns the batch's loss, still on the device. The loss is read back and logged on
    /// the first, last and every `steps / 50`-th step.
    pub fn step(&mut self, step: usize) -> Result<Tensor> {
        let settings = self.settings;
        let windows: Vec<&[u32]> = (0..settings.batch_size)
            .map(|_| self.sampler.next_window().1)
            .collect();
        let (inputs, targets) =
            batch_tensors(&windows, settings.model.sequence_length, &self.device)?;
        let loss = self.model.loss(&inputs, &targets)?;
        let mut grads = loss.backward()?;
        clip_gradients(&mut grads, &self.all_vars, settings.grad_clip)?;
        let lr = self.schedule.at(step);
        self.decayed.set_learning_rate(lr);
        self.not_decayed.set_learning_rate(lr);
        self.decayed.step(&grads)?;
        self.not_decayed.step(&grads)?;
        if step.is_multiple_of(self.log_every) || step + 1 == settings.steps {
            let value = loss.to_scalar::<f32>()?;
            if !value.is_finite() {
                return Err(ProxyError::Diverged { step, loss: value });
            }
            self.train_loss.push((step, value));
        }
        self.steps_taken += 1;
        Ok(loss)
    }

    /// Scores the model on every domain's held-out windows; returns the run's outcome and
    /// the trained model.
    pub fn finish(self) -> Result<(ProxyOutcome, Gpt)> {
        let train_seconds = self.started.elapsed().as_secs_f64();
        let started = Instant::now();
        let valid_loss = evaluate(&self.model, &self.data.valid, self.settings, &self.device)?;
        let outcome = ProxyOutcome {
            train_loss: self.train_loss,
            valid_loss,
            tokens: (self.steps_taken * self.settings.tokens_per_step()) as u64,
            train_seconds,
            eval_seconds: started.elapsed().as_secs_f64(),
        };
        Ok((outcome, self.model))
    }
}

/// Trains one proxy on `data` mixed by `weights` (one per domain, summing to 1).
/// `on_step(step)` is called after every optimizer step.
pub fn train_proxy(
    data: &ProxyData,
    weights: &[f64],
    settings: &TrainSettings,
    on_step: &(dyn Fn(usize) + Sync),
) -> Result<ProxyOutcome> {
    let mut trainer = Trainer::new(data, weights, settings)?;
    for step in 0..settings.steps {
        trainer.step(step)?;
        on_step(step);
    }
    Ok(trainer.finish()?.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Preset;

    /// Two domains with different, learnable structure: counting up by one, and a repeated
    /// short cycle.
    fn toy_data() -> ProxyData {
        let counting: Vec<u32> = (0..4000u32).map(|i| i % 60).collect();
        let cycle: Vec<u32> = (0..4000u32).map(|i| 59 + (i * 7) % 5).collect();
        let split = |tokens: &[u32], name: &str| {
            (
                DomainTokens {
                    domain: name.into(),
                    tokens: tokens[..3000].to_vec(),
                },
                DomainTokens {
                    domain: name.into(),
                    tokens: tokens[3000..].to_vec(),
                },
            )
        };
        let (a_train, a_valid) = split(&counting, "counting");
        let (b_train, b_valid) = split(&cycle, "cycle");
        ProxyData {
            domains: vec!["counting".into(), "cycle".into()],
            vocab_size: 64,
            train: vec![a_train, b_train],
            valid: vec![a_valid, b_valid],
        }
    }

    fn settings(steps: usize, seed: u64) -> TrainSettings {
        let mut settings = TrainSettings::new(Preset::Tiny.config(64, 16), steps, seed);
        settings.batch_size = 8;
        settings.eval_windows = 8;
        settings
    }

    #[test]
    fn loss_falls_and_runs_are_deterministic() {
        let data = toy_data();
        let first = train_proxy(&data, &[0.5, 0.5], &settings(60, 3), &|_| {}).unwrap();
        assert!(
            first.last_train_loss() < 0.5 * first.first_train_loss(),
            "{:?}",
            first.train_loss
        );
        assert!(
            first.valid_loss.iter().all(|l| *l < (64f64).ln() * 0.6),
            "{:?}",
            first.valid_loss
        );
        let again = train_proxy(&data, &[0.5, 0.5], &settings(60, 3), &|_| {}).unwrap();
        assert_eq!(first.train_loss, again.train_loss);
        assert_eq!(first.valid_loss, again.valid_loss);
    }

    #[test]
    fn the_mixture_moves_the_held_out_losses() {
        // A proxy trained only on one domain is better on it than one trained on the other.
        let data = toy_data();
        let counting = train_proxy(&data, &[1.0, 0.0], &settings(40, 5), &|_| {}).unwrap();
        let cycle = train_proxy(&data, &[0.0, 1.0], &settings(40, 5), &|_| {}).unwrap();
        assert!(
            counting.valid_loss[0] < cycle.valid_loss[0],
            "{counting:?} {cycle:?}"
        );
        assert!(
            cycle.valid_loss[1] < counting.valid_loss[1],
            "{counting:?} {cycle:?}"
        );
    }

    /// CPU (f32) and CUDA (bf16 matmuls) from the same seed: the same batches and init, so
    /// the losses agree up to bf16 rounding. Runs only with `--features cuda` and a GPU.
    #[cfg(feature = "cuda")]
    #[test]
    fn cuda_losses_match_the_cpu_reference() {
        if let Err(error) = DeviceChoice::Cuda(0).open() {
            eprintln!("skipping: no CUDA device ({error})");
            return;
        }
        let data = toy_data();
        let cpu = train_proxy(&data, &[0.5, 0.5], &settings(40, 3), &|_| {}).unwrap();
        let mut on_gpu = settings(40, 3);
        on_gpu.device = DeviceChoice::Cuda(0);
        let gpu = train_proxy(&data, &[0.5, 0.5], &on_gpu, &|_| {}).unwrap();
        for ((step, a), (_, b)) in cpu.train_loss.iter().zip(&gpu.train_loss) {
            assert!(
                (a - b).abs() < 0.05 + 0.02 * a,
                "step {step}: cpu {a} vs cuda {b}"
            );
        }
        for (a, b) in cpu.valid_loss.iter().zip(&gpu.valid_loss) {
            assert!(
                (a - b).abs() < 0.05 + 0.02 * a,
                "held-out: cpu {a} vs cuda {b}"
            );
        }
    }

    #[test]
    fn clipping_bounds_the_global_norm() {
        let device = Device::Cpu;
        let a = Var::from_tensor(&Tensor::new(&[3f32, 0.0], &device).unwrap()).unwrap();
        let b = Var::from_tensor(&Tensor::new(&[0f32, 4.0], &device).unwrap()).unwrap();
        let loss = ((a.as_tensor() * 1.0)
            .unwrap()
            .sqr()
            .unwrap()
            .sum_all()
            .unwrap()
            + b.as_tensor().sqr().unwrap().sum_all().unwrap())
        .unwrap();
        let mut grads = loss.backward().unwrap();
        // Gradients (6, 0) and (0, 8): norm 10.
        let norm = clip_gradients(&mut grads, &[a.clone(), b.clone()], 1.0).unwrap();
        assert!((norm - 10.0).abs() < 1e-5);
        let ga: Vec<f32> = grads.get(a.as_tensor()).unwrap().to_vec1().unwrap();
        let gb: Vec<f32> = grads.get(b.as_tensor()).unwrap().to_vec1().unwrap();
        assert!(
            (ga[0] - 0.6).abs() < 1e-4 && (gb[1] - 0.8).abs() < 1e-4,
            "{ga:?} {gb:?}"
        );
    }

    #[test]
    fn eval_windows_are_spread_and_in_bounds() {
        let tokens: Vec<u32> = (0..100).collect();
        let windows = eval_windows(&tokens, 10, 4);
        let starts: Vec<u32> = windows.iter().map(|w| w[0]).collect();
        assert_eq!(starts, vec![0, 30, 60, 90]);
        assert_eq!(eval_windows(&tokens, 100, 4).len(), 1);
    }
}
