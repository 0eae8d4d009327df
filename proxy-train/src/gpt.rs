//! The proxy GPT: token embedding (tied with the output head), `layers` pre-norm blocks of
//! causal multi-head attention with RoPE and a SwiGLU MLP, RMSNorm, and a final norm.
//! Weights are f32 `Var`s initialized from a seeded stream (normal, std 0.02; residual
//! projections scaled by 1/√(2·layers), as GPT-2), so the same seed gives the same model on
//! any device. Matmuls run in the device's compute dtype (bf16 on CUDA).
//!
//! Two paths compute the same function ([`OpPath`]). On the CPU, attention (with RoPE),
//! RMSNorm, SwiGLU and the output head with the loss are single-pass ops with their own
//! backward passes ([`crate::fused`]). On other devices, and as the reference those are
//! tested against, they are composite graphs of candle ops ([`crate::composite`]).

use std::sync::Arc;

use blend_kernels::SeededRng;
use candle_core::{DType, Device, Tensor, Var};

use crate::Result;
use crate::composite::{self, AttentionTables};
use crate::fused::{
    CausalSelfAttention, RmsNorm, RopeTable, linear_cross_entropy, linear_cross_entropy_value,
    swiglu,
};
use crate::model_config::ModelConfig;

const INIT_STD: f64 = 0.02;
const NORM_EPS: f64 = 1e-5;

/// How attention, RMSNorm, SwiGLU and the loss are computed: fused single-pass ops (CPU
/// only) or composite graphs of candle ops (any device; the reference).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpPath {
    Fused,
    Composite,
}

impl OpPath {
    /// Fused on the CPU; composite elsewhere, since the fused ops have no CUDA kernels.
    pub fn for_device(device: &Device) -> Self {
        if device.is_cpu() {
            Self::Fused
        } else {
            Self::Composite
        }
    }
}

#[derive(Debug)]
struct Block {
    attention_norm: Var,
    /// (3·d, d): query, key and value projections stacked.
    qkv: Var,
    /// (d, d)
    attention_out: Var,
    mlp_norm: Var,
    /// (2·hidden, d): the SwiGLU gate and up projections stacked.
    gate_up: Var,
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
    op_path: OpPath,
    /// RoPE's tables for positions 0..sequence_length (the fused attention's).
    rope: Arc<RopeTable>,
    /// The same tables and the causal mask as tensors (the composite attention's).
    attention_tables: AttentionTables,
}

/// A `shape` matrix of normal values (mean 0, `std`) from `rng`, by Box–Muller.
pub(crate) fn normal_var(
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
                    gate_up: normal_var(&mut rng, (2 * config.mlp_hidden, d), INIT_STD, device)?,
                    down: normal_var(&mut rng, (d, config.mlp_hidden), residual_std, device)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let rope = RopeTable::new(config.head_dim(), config.sequence_length);
        let attention_tables = AttentionTables::new(&rope, device)?;
        Ok(Self {
            config,
            compute_dtype,
            embedding,
            blocks,
            final_norm: ones_var(d, device)?,
            op_path: OpPath::for_device(device),
            rope: Arc::new(rope),
            attention_tables,
        })
    }

    /// The same model computed along `path` (the composite graph needs no fused kernels).
    pub fn with_op_path(mut self, path: OpPath) -> Result<Self> {
        if path == OpPath::Fused && !self.device().is_cpu() {
            return Err(crate::ProxyError::Config(
                "the fused proxy ops run on the CPU only".into(),
            ));
        }
        self.op_path = path;
        Ok(self)
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
                block.gate_up.clone(),
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
        composite::matmul(a, b, self.compute_dtype)
    }

    fn attention(&self, block: &Block, x: &Tensor, batch: usize, t: usize) -> Result<Tensor> {
        let heads = self.config.heads;
        let qkv = self.matmul_t(x, &block.qkv)?; // (B·T, 3d)
        let context = match self.op_path {
            OpPath::Fused => CausalSelfAttention {
                batch,
                seq: t,
                heads,
                head_dim: self.config.head_dim(),
                rope: self.rope.clone(),
            }
            .apply(&qkv)?,
            OpPath::Composite => composite::causal_attention(
                &qkv,
                (batch, t, heads),
                &self.attention_tables,
                self.compute_dtype,
            )?,
        };
        self.matmul_t(&context, &block.attention_out)
    }

    fn norm(&self, x: &Tensor, weight: &Tensor) -> Result<Tensor> {
        match self.op_path {
            OpPath::Fused => Ok(RmsNorm {
                eps: NORM_EPS as f32,
            }
            .apply(x, weight)?),
            OpPath::Composite => composite::rms_norm(x, weight, NORM_EPS),
        }
    }

    fn mlp(&self, block: &Block, x: &Tensor) -> Result<Tensor> {
        let gate_up = self.matmul_t(x, &block.gate_up)?; // (B·T, 2·hidden)
        let hidden = match self.op_path {
            OpPath::Fused => swiglu(&gate_up)?,
            OpPath::Composite => composite::swiglu(&gate_up)?,
        };
        self.matmul_t(&hidden, &block.down)
    }

    /// Final-normed hidden states (B·T, d) for token ids (B, T).
    fn hidden_states(&self, ids: &Tensor) -> Result<Tensor> {
        let (batch, t) = ids.dims2()?;
        let mut x = self.embedding.as_tensor().embedding(&ids.flatten_all()?)?; // (B·T, d)
        for block in &self.blocks {
            let attention =
                self.attention(block, &self.norm(&x, &block.attention_norm)?, batch, t)?;
            x = (x + attention)?;
            let mlp = self.mlp(block, &self.norm(&x, &block.mlp_norm)?)?;
            x = (x + mlp)?;
        }
        self.norm(&x, &self.final_norm)
    }

    /// Logits (B·T, vocab) for token ids (B, T).
    pub fn forward(&self, ids: &Tensor) -> Result<Tensor> {
        self.matmul_t(&self.hidden_states(ids)?, &self.embedding)
    }

    /// Mean next-token cross-entropy (nats) of each sequence: (B,) for `ids` and `targets`
    /// (B, T). For scoring, not training: the caller drops the graph without a backward pass.
    pub fn sequence_losses(&self, ids: &Tensor, targets: &Tensor) -> Result<Tensor> {
        let (batch, t) = ids.dims2()?;
        let logits = self.forward(ids)?;
        let token_losses =
            crate::fused::cross_entropy::row_cross_entropy(&logits, &targets.flatten_all()?)?;
        Ok(token_losses.reshape((batch, t))?.mean(1)?.detach())
    }

    /// Mean next-token cross-entropy (nats) of `targets` (B, T) given `ids` (B, T).
    pub fn loss(&self, ids: &Tensor, targets: &Tensor) -> Result<Tensor> {
        let targets = targets.flatten_all()?;
        if self.op_path == OpPath::Fused {
            let hidden = self.hidden_states(ids)?;
            return Ok(linear_cross_entropy(&hidden, &self.embedding, &targets)?);
        }
        crate::fused::cross_entropy::cross_entropy(&self.forward(ids)?, &targets)
    }

    /// The same mean loss for scoring held-out text: no gradients, no graph.
    pub fn held_out_loss(&self, ids: &Tensor, targets: &Tensor) -> Result<f32> {
        let targets = targets.flatten_all()?;
        let loss = if self.op_path == OpPath::Fused {
            let hidden = self.hidden_states(ids)?;
            linear_cross_entropy_value(&hidden, &self.embedding, &targets)?
        } else {
            crate::fused::cross_entropy::cross_entropy(&self.forward(ids)?, &targets)?
        };
        Ok(loss.to_scalar::<f32>()?)
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
    fn fused_and_composite_paths_give_the_same_loss_and_gradients() {
        let device = Device::Cpu;
        // 70 positions: the fused attention's second row tile is a partial one.
        let config = crate::Preset::Tiny.config(50, 70);
        let ids =
            Tensor::from_vec((0..140u32).map(|i| i * 7 % 50).collect(), (2, 70), &device).unwrap();
        let targets =
            Tensor::from_vec((0..140u32).map(|i| i * 3 % 50).collect(), (2, 70), &device).unwrap();
        let run = |path: OpPath| {
            let model = Gpt::new(config, 4, &device, DType::F32)
                .unwrap()
                .with_op_path(path)
                .unwrap();
            let loss = model.loss(&ids, &targets).unwrap();
            let grads = loss.backward().unwrap();
            let (matrices, vectors) = model.parameters();
            let gradients: Vec<Tensor> = matrices
                .iter()
                .chain(&vectors)
                .map(|v| grads.get(v.as_tensor()).unwrap().clone())
                .collect();
            (loss, gradients)
        };
        let (fused_loss, fused) = run(OpPath::Fused);
        let (composite_loss, composite) = run(OpPath::Composite);
        crate::fused::parity::assert_close(&fused_loss, &composite_loss, "loss");
        for (i, (f, c)) in fused.iter().zip(&composite).enumerate() {
            crate::fused::parity::assert_close(f, c, &format!("gradient of parameter {i}"));
        }
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
