//! SwiGLU's gate as one CPU op, forward and backward: `silu(g) ∘ u` for the stacked gate and
//! up projections `[g | u]` `(N, 2·h)` → `(N, h)`. The composite graph (narrow both halves,
//! silu, multiply; silu's gradient alone is five elementwise ops) makes a dozen `(N, h)`
//! tensors a layer; here the forward and the backward pass read each row once.

use blend_kernels::softmax_row::exp;
use candle_core::{CpuStorage, CustomOp1, CustomOp2, Layout, Shape, Tensor};
use rayon::prelude::*;

use super::cpu_slice;

/// Rows per parallel task.
const ROWS_PER_TASK: usize = 32;

/// `silu(g) ∘ u` of `[g | u]`; differentiable.
pub fn swiglu(gate_up: &Tensor) -> candle_core::Result<Tensor> {
    gate_up.contiguous()?.apply_op1(SwiGlu)
}

/// σ(g) = 1 / (1 + e⁻ᵍ).
#[inline(always)]
fn sigmoid(g: f32) -> f32 {
    1.0 / (1.0 + exp(-g))
}

fn half_width(layout: &Layout) -> candle_core::Result<usize> {
    let (_, width) = layout.shape().dims2()?;
    if !width.is_multiple_of(2) {
        candle_core::bail!("SwiGLU input of odd width {width}: expected [gate | up]");
    }
    Ok(width / 2)
}

#[derive(Debug, Clone, Copy)]
struct SwiGlu;

impl CustomOp1 for SwiGlu {
    fn name(&self) -> &'static str {
        "fused-swiglu"
    }

    fn cpu_fwd(
        &self,
        storage: &CpuStorage,
        layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let h = half_width(layout)?;
        let gate_up: &[f32] = cpu_slice(storage, layout, "SwiGLU input")?;
        let rows = gate_up.len() / (2 * h).max(1);
        let mut out = vec![0f32; rows * h];
        out.par_chunks_mut(h * ROWS_PER_TASK)
            .zip(gate_up.par_chunks(2 * h * ROWS_PER_TASK))
            .for_each(|(out, gate_up)| {
                for (out, row) in out.chunks_exact_mut(h).zip(gate_up.chunks_exact(2 * h)) {
                    let (gate, up) = row.split_at(h);
                    for ((o, &g), &u) in out.iter_mut().zip(gate).zip(up) {
                        *o = g * sigmoid(g) * u;
                    }
                }
            });
        Ok((CpuStorage::F32(out), Shape::from((rows, h))))
    }

    fn bwd(
        &self,
        gate_up: &Tensor,
        _res: &Tensor,
        grad_res: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        Ok(Some(
            gate_up.apply_op2_no_bwd(&grad_res.contiguous()?, &SwiGluGrad)?,
        ))
    }
}

/// ([g | u], dy) → [dy ∘ u ∘ σ(g)(1 + g(1 − σ(g))) | dy ∘ silu(g)].
#[derive(Debug)]
struct SwiGluGrad;

impl CustomOp2 for SwiGluGrad {
    fn name(&self) -> &'static str {
        "fused-swiglu-grad"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let h = half_width(l1)?;
        let gate_up: &[f32] = cpu_slice(s1, l1, "SwiGLU input")?;
        let dy: &[f32] = cpu_slice(s2, l2, "SwiGLU output gradient")?;
        if dy.len() * 2 != gate_up.len() {
            candle_core::bail!(
                "SwiGLU gradient of {} values for an input of {}",
                dy.len(),
                gate_up.len()
            );
        }
        let mut out = vec![0f32; gate_up.len()];
        out.par_chunks_mut(2 * h * ROWS_PER_TASK)
            .zip(gate_up.par_chunks(2 * h * ROWS_PER_TASK))
            .zip(dy.par_chunks(h * ROWS_PER_TASK))
            .for_each(|((out, gate_up), dy)| {
                let rows = out.chunks_exact_mut(2 * h).zip(gate_up.chunks_exact(2 * h));
                for ((out, row), dy) in rows.zip(dy.chunks_exact(h)) {
                    let (gate, up) = row.split_at(h);
                    let (d_gate, d_up) = out.split_at_mut(h);
                    for i in 0..h {
                        let (g, u, d) = (gate[i], up[i], dy[i]);
                        let s = sigmoid(g);
                        d_gate[i] = d * u * (s * (1.0 + g * (1.0 - s)));
                        d_up[i] = d * g * s;
                    }
                }
            });
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::composite;
    use crate::fused::parity::{assert_close, assert_same_gradients, normal_var};

    #[test]
    fn matches_the_composite_graph_and_its_gradient() {
        // 70 rows: two full tasks and a partial one.
        let gate_up = normal_var((70, 2 * 24), 2.0, 1);
        let upstream = normal_var((70, 24), 1.0, 2);
        let fused = swiglu(gate_up.as_tensor()).unwrap();
        let reference = composite::swiglu(gate_up.as_tensor()).unwrap();
        assert_close(&fused, &reference, "SwiGLU output");
        let inputs = [(&gate_up, "the SwiGLU input")];
        assert_same_gradients(&fused, &reference, upstream.as_tensor(), &inputs);
    }

    #[test]
    fn an_odd_width_is_an_error() {
        let gate_up = normal_var((3, 5), 1.0, 1);
        let error = swiglu(gate_up.as_tensor()).unwrap_err();
        assert!(error.to_string().contains("odd width 5"), "{error}");
    }
}
