//! The proxy GPT: token embedding (tied with the output head), `layers` pre-norm blocks of
//! causal multi-head attention with RoPE and a SwiGLU MLP, RMSNorm, and a final norm.
//! Weights are f32 `Var`s initialized from a seeded stream (normal, std 0.02; residual
//! projections scaled by 1/√(2·layers), as GPT-2), so the same seed gives the same model on
//! any device. Matmuls run in the device's compute dtype (bf16 on CUDA).
//!
//! Only ops with candle gradients are used: candle-nn's fused softmax, RMSNorm and RoPE
//! kernels have no backward pass, so those are written out from basic ops here.

use blend_kernels::SeededRng;
use candle_core::{D, DType, Device, Tensor, Var};

use crate::Result;
use crate::model_config::ModelConfig;

const INIT_STD: f64 = 0.02;
const NORM_EPS: f64 = 1e-5;
const ROPE_THETA: f64 = 10_000.0;

#[derive(Debug)]
struct Block {
    attention_norm: Var,
    /// (3·d, d): query, key and value projections stacked.
    qkv: Var,
    /// (d, d)
    attention_out: Var,
    mlp_norm: Var,
    /// (hidden, d) each
    gate: Var,
    up: Var,
    /// (d, hidden)
    down: Var,
}

#[derive(Debug)]
pub struct Gpt {
    config: ModelConfig,
    compute_dtype: DType,
    /// (vocab, d)
    embedding: Var,
    blocks: Vec<Block>,
    final_norm: Var,
    /// (T, head_dim) each, for positions 0..sequence_length.
    rope_cos: Tensor,
    rope_sin: Tensor,
    /// (T, T): 0 on and below the diagonal, −∞ above.
    causal_mask: Tensor,
}

fn normal_var(
    rng: &mut SeededRng,
    shape: (usize, usize),
    std: f64,
    device: &Device,
) -> Result<Var> {
    let count = shape.0 * shape.1;
    let mut values = Vec::with_capacity(count);
    while values.len() < count {
        // Box–Muller: two independent normals per pair of uniforms.
        let u1 = rng.next_f64().max(f64::MIN_POSITIVE);
        let u2 = rng.next_f64();
        let radius = (-2.0 * u1.ln()).sqrt() * std;
        let angle = std::f64::consts::TAU * u2;
        values.push((radius * angle.cos()) as f32);
        values.push((radius * angle.sin()) as f32);
    }
    values.truncate(count);
    Ok(Var::from_tensor(&Tensor::from_vec(values, shape, device)?)?)
}

fn ones_var(width: usize, device: &Device) -> Result<Var> {
    Ok(Var::ones(width, DType::F32, device)?)
}

fn rms_norm(x: &Tensor, weight: &Tensor) -> Result<Tensor> {
    let width = x.dim(D::Minus1)? as f64;
    let mean_square = (x.sqr()?.sum_keepdim(D::Minus1)? / width)?;
    let normed = x.broadcast_div(&(mean_square + NORM_EPS)?.sqrt()?)?;
    Ok(normed.broadcast_mul(weight)?)
}

/// Softmax over the last dimension from differentiable ops (the max is a constant shift).
fn softmax_last_dim(x: &Tensor) -> Result<Tensor> {
    let max = x.max_keepdim(D::Minus1)?.detach();
    let exp = x.broadcast_sub(&max)?.exp()?;
    Ok(exp.broadcast_div(&exp.sum_keepdim(D::Minus1)?)?)
}

/// x·cos + rotate_half(x)·sin over the last dimension (GPT-NeoX/Llama's half rotation).
fn apply_rope(x: &Tensor, cos: &Tensor, sin: &Tensor) -> Result<Tensor> {
    let half = x.dim(D::Minus1)? / 2;
    let first = x.narrow(D::Minus1, 0, half)?;
    let second = x.narrow(D::Minus1, half, half)?;
    let rotated = Tensor::cat(&[&second.neg()?, &first], D::Minus1)?;
    Ok((x.broadcast_mul(cos)? + rotated.broadcast_mul(sin)?)?)
}

impl Gpt {
    pub fn new(
        config: ModelConfig,
        seed: u64,
        device: &Device,
        compute_dtype: DType,
    ) -> Result<Self> {
        config.validate()?;
        let mut rng = SeededRng::for_stream(seed, "proxy/init");
        let d = config.d_model;
        let residual_std = INIT_STD / (2.0 * config.layers as f64).sqrt();
        let embedding = normal_var(&mut rng, (config.vocab_size, d), INIT_STD, device)?;
        let blocks = (0..config.layers)
            .map(|_| {
                Ok(Block {
                    attention_norm: ones_var(d, device)?,
                    qkv: normal_var(&mut rng, (3 * d, d), INIT_STD, device)?,
                    attention_out: normal_var(&mut rng, (d, d), residual_std, device)?,
                    mlp_norm: ones_var(d, device)?,
                    gate: normal_var(&mut rng, (config.mlp_hidden, d), INIT_STD, device)?,
                    up: normal_var(&mut rng, (config.mlp_hidden, d), INIT_STD, device)?,
                    down: normal_var(&mut rng, (d, config.mlp_hidden), residual_std, device)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let head_dim = config.head_dim();
        let t = config.sequence_length;
        let mut cos = Vec::with_capacity(t * head_dim);
        let mut sin = Vec::with_capacity(t * head_dim);
        for position in 0..t {
            let angles: Vec<f64> = (0..head_dim / 2)
                .map(|i| position as f64 * ROPE_THETA.powf(-((2 * i) as f64) / head_dim as f64))
                .collect();
            // Both halves of a head rotate by the same angles.
            for _ in 0..2 {
                cos.extend(angles.iter().map(|a| a.cos() as f32));
                sin.extend(angles.iter().map(|a| a.sin() as f32));
            }
        }
        let mask: Vec<f32> = (0..t * t)
            .map(|i| {
                if i % t > i / t {
                    f32::NEG_INFINITY
                } else {
                    0.0
                }
            })
            .collect();
        Ok(Self {
            config,
            compute_dtype,
            embedding,
            blocks,
            final_norm: ones_var(d, device)?,
            rope_cos: Tensor::from_vec(cos, (t, head_dim), device)?,
            rope_sin: Tensor::from_vec(sin, (t, head_dim), device)?,
            causal_mask: Tensor::from_vec(mask, (t, t), device)?,
        })
    }

    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// Where the weights live.
    pub fn device(&self) -> &Device {
        self.embedding.device()
    }

    /// Matrices (weight-decayed) and vectors (norm gains, not decayed).
    pub fn parameters(&self) -> (Vec<Var>, Vec<Var>) {
        let mut matrices = vec![self.embedding.clone()];
        let mut vectors = vec![self.final_norm.clone()];
        for block in &self.blocks {
            matrices.extend([
                block.qkv.clone(),
                block.attention_out.clone(),
                block.gate.clone(),
                block.up.clone(),
                block.down.clone(),
            ]);
            vectors.extend([block.attention_norm.clone(), block.mlp_norm.clone()]);
        }
        (matrices, vectors)
    }

    /// `a · bᵀ` in the compute dtype, result in f32.
    fn matmul_t(&self, a: &Tensor, b: &Tensor) -> Result<Tensor> {
        self.matmul(a, &b.t()?)
    }

    /// `a · b` in the compute dtype, result in f32.
    fn matmul(&self, a: &Tensor, b: &Tensor) -> Result<Tensor> {
        if self.compute_dtype == DType::F32 {
            return Ok(a.matmul(b)?);
        }
        let a = a.to_dtype(self.compute_dtype)?;
        let b = b.to_dtype(self.compute_dtype)?;
        Ok(a.matmul(&b)?.to_dtype(DType::F32)?)
    }

    fn attention(&self, block: &Block, x: &Tensor, batch: usize, t: usize) -> Result<Tensor> {
        let (h, hd, d) = (
            self.config.heads,
            self.config.head_dim(),
            self.config.d_model,
        );
        let qkv = self.matmul_t(x, &block.qkv)?; // (B·T, 3d)
        let split = |index: usize| -> Result<Tensor> {
            Ok(qkv
                .narrow(1, index * d, d)?
                .reshape((batch, t, h, hd))?
                .transpose(1, 2)?
                .contiguous()?)
        };
        let cos = self.rope_cos.narrow(0, 0, t)?;
        let sin = self.rope_sin.narrow(0, 0, t)?;
        let q = apply_rope(&split(0)?, &cos, &sin)?;
        let k = apply_rope(&split(1)?, &cos, &sin)?;
        let v = split(2)?;
        let scores = (self.matmul(&q, &k.t()?.contiguous()?)? / (hd as f64).sqrt())?;
        let mask = self.causal_mask.narrow(0, 0, t)?.narrow(1, 0, t)?;
        let probabilities = softmax_last_dim(&scores.broadcast_add(&mask)?)?;
        let context = self
            .matmul(&probabilities, &v)? // (B, H, T, hd)
            .transpose(1, 2)?
            .contiguous()?
            .reshape((batch * t, d))?;
        self.matmul_t(&context, &block.attention_out)
    }

    fn mlp(&self, block: &Block, x: &Tensor) -> Result<Tensor> {
        let gate = self.matmul_t(x, &block.gate)?.silu()?;
        let up = self.matmul_t(x, &block.up)?;
        self.matmul_t(&(gate * up)?, &block.down)
    }

    /// Logits (B·T, vocab) for token ids (B, T).
    pub fn forward(&self, ids: &Tensor) -> Result<Tensor> {
        let (batch, t) = ids.dims2()?;
        let mut x = self.embedding.as_tensor().embedding(&ids.flatten_all()?)?; // (B·T, d)
        for block in &self.blocks {
            let attention =
                self.attention(block, &rms_norm(&x, &block.attention_norm)?, batch, t)?;
            x = (x + attention)?;
            let mlp = self.mlp(block, &rms_norm(&x, &block.mlp_norm)?)?;
            x = (x + mlp)?;
        }
        let x = rms_norm(&x, &self.final_norm)?;
        self.matmul_t(&x, &self.embedding)
    }

    /// Mean next-token cross-entropy (nats) of each sequence: (B,) for `ids` and `targets`
    /// (B, T). For scoring, not training: the caller drops the graph without a backward pass.
    pub fn sequence_losses(&self, ids: &Tensor, targets: &Tensor) -> Result<Tensor> {
        let (batch, t) = ids.dims2()?;
        let logits = self.forward(ids)?;
        let token_losses =
            crate::cross_entropy::row_cross_entropy(&logits, &targets.flatten_all()?)?;
        Ok(token_losses.reshape((batch, t))?.mean(1)?.detach())
    }

    /// Mean next-token cross-entropy (nats) of `targets` (B, T) given `ids` (B, T).
    pub fn loss(&self, ids: &Tensor, targets: &Tensor) -> Result<Tensor> {
        let logits = self.forward(ids)?;
        crate::cross_entropy::cross_entropy(&logits, &targets.flatten_all()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> ModelConfig {
        crate::Preset::Tiny.config(50, 8)
    }

    #[test]
    fn untrained_loss_is_near_uniform_and_seeded() {
        let device = Device::Cpu;
        let model = Gpt::new(tiny(), 7, &device, DType::F32).unwrap();
        let ids = Tensor::from_vec((0..16u32).map(|i| i % 50).collect(), (2, 8), &device).unwrap();
        let targets =
            Tensor::from_vec((1..17u32).map(|i| i % 50).collect(), (2, 8), &device).unwrap();
        let loss = model
            .loss(&ids, &targets)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!((loss - (50f32).ln()).abs() < 0.1, "{loss} vs ln 50");
        let again = Gpt::new(tiny(), 7, &device, DType::F32).unwrap();
        let other = Gpt::new(tiny(), 8, &device, DType::F32).unwrap();
        let loss_again = again
            .loss(&ids, &targets)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        let loss_other = other
            .loss(&ids, &targets)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert_eq!(loss.to_bits(), loss_again.to_bits());
        assert_ne!(loss.to_bits(), loss_other.to_bits());
    }

    #[test]
    fn sequence_losses_average_to_the_batch_loss() {
        let device = Device::Cpu;
        let model = Gpt::new(tiny(), 2, &device, DType::F32).unwrap();
        let ids =
            Tensor::from_vec((0..24u32).map(|i| i * 7 % 50).collect(), (3, 8), &device).unwrap();
        let targets =
            Tensor::from_vec((0..24u32).map(|i| i * 3 % 50).collect(), (3, 8), &device).unwrap();
        let per_sequence: Vec<f32> = model
            .sequence_losses(&ids, &targets)
            .unwrap()
            .to_vec1()
            .unwrap();
        assert_eq!(per_sequence.len(), 3);
        let batch: f32 = model.loss(&ids, &targets).unwrap().to_scalar().unwrap();
        assert!((per_sequence.iter().sum::<f32>() / 3.0 - batch).abs() < 1e-5);
        let first: f32 = model
            .loss(
                &ids.narrow(0, 0, 1).unwrap(),
                &targets.narrow(0, 0, 1).unwrap(),
            )
            .unwrap()
            .to_scalar()
            .unwrap();
        assert!((per_sequence[0] - first).abs() < 1e-5);
    }

    #[test]
    fn attention_is_causal() {
        // Changing a later token must not change the logits of earlier positions.
        let device = Device::Cpu;
        let model = Gpt::new(tiny(), 1, &device, DType::F32).unwrap();
        let a: Vec<u32> = vec![1, 2, 3, 4, 5, 6, 7, 8];
        let mut b = a.clone();
        b[6] = 40;
        let logits = |ids: Vec<u32>| {
            model
                .forward(&Tensor::from_vec(ids, (1, 8), &device).unwrap())
                .unwrap()
                .to_vec2::<f32>()
                .unwrap()
        };
        let (la, lb) = (logits(a), logits(b));
        for position in 0..6 {
            assert_eq!(la[position], lb[position], "position {position}");
        }
        assert_ne!(la[6], lb[6]);
    }

    #[test]
    fn gradients_match_finite_differences() {
        let device = Device::Cpu;
        let config = ModelConfig {
            vocab_size: 11,
            layers: 1,
            heads: 2,
            d_model: 8,
            mlp_hidden: 12,
            sequence_length: 5,
        };
        let model = Gpt::new(config, 3, &device, DType::F32).unwrap();
        let ids =
            Tensor::from_vec(vec![1u32, 4, 2, 9, 3, 7, 0, 5, 6, 10], (2, 5), &device).unwrap();
        let targets =
            Tensor::from_vec(vec![4u32, 2, 9, 3, 7, 0, 5, 6, 10, 1], (2, 5), &device).unwrap();
        let loss = model.loss(&ids, &targets).unwrap();
        let grads = loss.backward().unwrap();
        let (matrices, vectors) = model.parameters();
        for var in matrices.iter().chain(&vectors) {
            let grad = grads
                .get(var.as_tensor())
                .expect("every parameter gets a gradient");
            let analytic: Vec<f32> = grad.flatten_all().unwrap().to_vec1().unwrap();
            let original: Vec<f32> = var.as_tensor().flatten_all().unwrap().to_vec1().unwrap();
            // Probe the three entries with the largest gradients.
            let mut order: Vec<usize> = (0..analytic.len()).collect();
            order.sort_by(|&a, &b| analytic[b].abs().total_cmp(&analytic[a].abs()));
            for &index in order.iter().take(3) {
                let step = 1e-2f32;
                let mut values = original.clone();
                let mut eval = |delta: f32| {
                    values[index] = original[index] + delta;
                    var.set(&Tensor::from_vec(values.clone(), var.dims(), &device).unwrap())
                        .unwrap();
                    model
                        .loss(&ids, &targets)
                        .unwrap()
                        .to_scalar::<f32>()
                        .unwrap()
                };
                let numeric = (eval(step) - eval(-step)) / (2.0 * step);
                eval(0.0);
                let tolerance = 2e-3 + 0.05 * numeric.abs();
                assert!(
                    (numeric - analytic[index]).abs() < tolerance,
                    "{:?}[{index}]: numeric {numeric} vs analytic {}",
                    var.shape(),
                    analytic[index]
                );
            }
        }
    }
}
