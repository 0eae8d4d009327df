//! The proxy's ops as composite graphs of candle ops with gradients: the path on devices
//! without fused kernels (CUDA) and the reference the fused CPU ops are tested against.
//! candle-nn's fused softmax, RMSNorm and RoPE kernels have no backward pass, so those are
//! written out from basic ops here.

use candle_core::{D, DType, Device, Tensor};

use crate::Result;
use crate::fused::RopeTable;

/// `a · b` in `compute_dtype`, result in f32.
pub fn matmul(a: &Tensor, b: &Tensor, compute_dtype: DType) -> Result<Tensor> {
    if compute_dtype == DType::F32 {
        return Ok(a.matmul(b)?);
    }
    let a = a.to_dtype(compute_dtype)?;
    let b = b.to_dtype(compute_dtype)?;
    Ok(a.matmul(&b)?.to_dtype(DType::F32)?)
}

/// `x / √(mean(x²) + eps) ∘ weight` over the last dimension.
pub fn rms_norm(x: &Tensor, weight: &Tensor, eps: f64) -> Result<Tensor> {
    let width = x.dim(D::Minus1)? as f64;
    let mean_square = (x.sqr()?.sum_keepdim(D::Minus1)? / width)?;
    let normed = x.broadcast_div(&(mean_square + eps)?.sqrt()?)?;
    Ok(normed.broadcast_mul(weight)?)
}

/// SwiGLU's gate: `silu(g) ∘ u` for the stacked projections `[g | u]` `(N, 2·h)`.
pub fn swiglu(gate_up: &Tensor) -> Result<Tensor> {
    let h = gate_up.dim(D::Minus1)? / 2;
    let gate = gate_up.narrow(D::Minus1, 0, h)?;
    let up = gate_up.narrow(D::Minus1, h, h)?;
    Ok((gate.silu()? * up)?)
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

/// The tables causal attention needs on a device: RoPE's cos and sin `(T, head_dim)` and
/// the mask `(T, T)`, 0 on and below the diagonal and −∞ above.
#[derive(Debug, Clone)]
pub struct AttentionTables {
    cos: Tensor,
    sin: Tensor,
    mask: Tensor,
}

impl AttentionTables {
    pub fn new(rope: &RopeTable, device: &Device) -> Result<Self> {
        let (cos, sin) = rope.tensors(device)?;
        let t = rope.positions;
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
            cos,
            sin,
            mask: Tensor::from_vec(mask, (t, t), device)?,
        })
    }
}

/// Causal multi-head attention with RoPE: context `(B·T, d)` for the stacked query, key and
/// value projection `qkv` `(B·T, 3·d)` of `batch` sequences of `t` tokens.
pub fn causal_attention(
    qkv: &Tensor,
    (batch, t, heads): (usize, usize, usize),
    tables: &AttentionTables,
    compute_dtype: DType,
) -> Result<Tensor> {
    let d = qkv.dim(1)? / 3;
    let hd = d / heads;
    let split = |index: usize| -> Result<Tensor> {
        Ok(qkv
            .narrow(1, index * d, d)?
            .reshape((batch, t, heads, hd))?
            .transpose(1, 2)?
            .contiguous()?)
    };
    let cos = tables.cos.narrow(0, 0, t)?;
    let sin = tables.sin.narrow(0, 0, t)?;
    let q = apply_rope(&split(0)?, &cos, &sin)?;
    let k = apply_rope(&split(1)?, &cos, &sin)?;
    let v = split(2)?;
    let scores = (matmul(&q, &k.t()?.contiguous()?, compute_dtype)? / (hd as f64).sqrt())?;
    let mask = tables.mask.narrow(0, 0, t)?.narrow(1, 0, t)?;
    let probabilities = softmax_last_dim(&scores.broadcast_add(&mask)?)?;
    Ok(matmul(&probabilities, &v, compute_dtype)? // (B, H, T, hd)
        .transpose(1, 2)?
        .contiguous()?
        .reshape((batch * t, d))?)
}
