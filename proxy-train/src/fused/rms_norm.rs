//! RMSNorm as one CPU op, forward and backward: `y = x / √(mean(x²) + ε) ∘ w` over each row.
//! The composite graph makes five row-sized tensors forward and more backward; here each
//! row is read once forward and twice backward. The weight's gradient is summed per fixed
//! block of rows, then over the blocks in order, so it does not depend on the thread count.

use blend_kernels::softmax_row;
use candle_core::{CpuStorage, CustomOp2, CustomOp3, Layout, Shape, Tensor};
use rayon::prelude::*;

use super::cpu_slice;

/// Rows per parallel task.
const ROWS_PER_TASK: usize = 64;

/// `x` `(N, d)` and `weight` `(d)` → `(N, d)`; differentiable in both.
#[derive(Debug, Clone, Copy)]
pub struct RmsNorm {
    pub eps: f32,
}

impl RmsNorm {
    pub fn apply(&self, x: &Tensor, weight: &Tensor) -> candle_core::Result<Tensor> {
        x.contiguous()?.apply_op2(&weight.contiguous()?, *self)
    }

    /// 1 / √(mean(row²) + ε).
    fn inverse_rms(&self, row: &[f32]) -> f32 {
        let mean_square = softmax_row::dot(row, row) / row.len() as f32;
        1.0 / (mean_square + self.eps).sqrt()
    }
}

fn row_width(layout: &Layout, weight: &[f32]) -> candle_core::Result<usize> {
    let (_, width) = layout.shape().dims2()?;
    if width != weight.len() || width == 0 {
        candle_core::bail!(
            "RMSNorm of rows of {width} values by a weight of {}",
            weight.len()
        );
    }
    Ok(width)
}

impl CustomOp2 for RmsNorm {
    fn name(&self) -> &'static str {
        "fused-rms-norm"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let x: &[f32] = cpu_slice(s1, l1, "RMSNorm input")?;
        let weight: &[f32] = cpu_slice(s2, l2, "RMSNorm weight")?;
        let width = row_width(l1, weight)?;
        let mut out = vec![0f32; x.len()];
        out.par_chunks_mut(width * ROWS_PER_TASK)
            .zip(x.par_chunks(width * ROWS_PER_TASK))
            .for_each(|(out, x)| {
                for (out, x) in out.chunks_exact_mut(width).zip(x.chunks_exact(width)) {
                    let r = self.inverse_rms(x);
                    for ((o, &x), &w) in out.iter_mut().zip(x).zip(weight) {
                        *o = x * r * w;
                    }
                }
            });
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        weight: &Tensor,
        _res: &Tensor,
        grad_res: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let grad = grad_res.contiguous()?;
        let d_x = x.apply_op3_no_bwd(weight, &grad, &InputGrad(*self))?;
        let d_weight = x.apply_op2_no_bwd(&grad, &WeightGrad(*self))?;
        Ok((Some(d_x), Some(d_weight)))
    }
}

/// (x, weight, dy) → dx = r·g − x·r³·mean(g ∘ x), with g = dy ∘ w.
#[derive(Debug)]
struct InputGrad(RmsNorm);

impl CustomOp3 for InputGrad {
    fn name(&self) -> &'static str {
        "fused-rms-norm-input-grad"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let x: &[f32] = cpu_slice(s1, l1, "RMSNorm input")?;
        let weight: &[f32] = cpu_slice(s2, l2, "RMSNorm weight")?;
        let dy: &[f32] = cpu_slice(s3, l3, "RMSNorm output gradient")?;
        let width = row_width(l1, weight)?;
        let mut out = vec![0f32; x.len()];
        out.par_chunks_mut(width * ROWS_PER_TASK)
            .zip(x.par_chunks(width * ROWS_PER_TASK))
            .zip(dy.par_chunks(width * ROWS_PER_TASK))
            .for_each(|((out, x), dy)| {
                let rows = out
                    .chunks_exact_mut(width)
                    .zip(x.chunks_exact(width))
                    .zip(dy.chunks_exact(width));
                for ((out, x), dy) in rows {
                    let r = self.0.inverse_rms(x);
                    let gx: f32 = x
                        .iter()
                        .zip(dy)
                        .zip(weight)
                        .map(|((x, dy), w)| dy * w * x)
                        .sum();
                    let correction = r * r * r * gx / width as f32;
                    for (((o, &x), &dy), &w) in out.iter_mut().zip(x).zip(dy).zip(weight) {
                        *o = r * dy * w - x * correction;
                    }
                }
            });
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }
}

/// (x, dy) → dw = Σ over rows of dy ∘ x·r.
#[derive(Debug)]
struct WeightGrad(RmsNorm);

impl CustomOp2 for WeightGrad {
    fn name(&self) -> &'static str {
        "fused-rms-norm-weight-grad"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let x: &[f32] = cpu_slice(s1, l1, "RMSNorm input")?;
        let dy: &[f32] = cpu_slice(s2, l2, "RMSNorm output gradient")?;
        let (_, width) = l1.shape().dims2()?;
        let partials: Vec<Vec<f32>> = x
            .par_chunks(width * ROWS_PER_TASK)
            .zip(dy.par_chunks(width * ROWS_PER_TASK))
            .map(|(x, dy)| {
                let mut sum = vec![0f32; width];
                for (x, dy) in x.chunks_exact(width).zip(dy.chunks_exact(width)) {
                    let r = self.0.inverse_rms(x);
                    for ((s, &x), &dy) in sum.iter_mut().zip(x).zip(dy) {
                        *s += dy * x * r;
                    }
                }
                sum
            })
            .collect();
        let mut total = vec![0f32; width];
        for partial in &partials {
            total.iter_mut().zip(partial).for_each(|(t, p)| *t += p);
        }
        Ok((CpuStorage::F32(total), Shape::from(width)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::composite::rms_norm;
    use crate::fused::parity::{assert_close, assert_same_gradients, normal_var};

    #[test]
    fn matches_the_composite_graph_and_its_gradients() {
        // 150 rows: two full tasks and a partial one.
        let x = normal_var((150, 24), 1.5, 1);
        let weight = normal_var((1, 24), 1.0, 2);
        let weight = weight.as_tensor().flatten_all().unwrap();
        let weight = candle_core::Var::from_tensor(&weight).unwrap();
        let upstream = normal_var((150, 24), 1.0, 3);
        let fused = RmsNorm { eps: 1e-5 }
            .apply(x.as_tensor(), weight.as_tensor())
            .unwrap();
        let composite = rms_norm(x.as_tensor(), weight.as_tensor(), 1e-5).unwrap();
        assert_close(&fused, &composite, "RMSNorm output");
        let inputs = [(&x, "the RMSNorm input"), (&weight, "the RMSNorm weight")];
        assert_same_gradients(&fused, &composite, upstream.as_tensor(), &inputs);
    }

    #[test]
    fn a_weight_of_the_wrong_width_is_an_error() {
        let x = normal_var((4, 6), 1.0, 1);
        let weight = Tensor::ones(5, candle_core::DType::F32, &candle_core::Device::Cpu).unwrap();
        let error = RmsNorm { eps: 1e-5 }
            .apply(x.as_tensor(), &weight)
            .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("rows of 6 values by a weight of 5"),
            "{error}"
        );
    }
}
