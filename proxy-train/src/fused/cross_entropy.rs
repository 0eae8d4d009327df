//! Next-token cross-entropy fused into one CPU pass per row, forward and backward. The
//! composite form (log-softmax from max, subtract, exp, sum, log, then gather) makes six
//! vocabulary-wide tensors per step and as many in the backward pass; with a 4096-token
//! vocabulary and 2048 tokens per batch each is 32 MB, and allocating, filling and freeing
//! them took over half of a proxy's step (measured with `perf`). Other devices use candle-nn's
//! composite `cross_entropy`.

use candle_core::{CpuStorage, CustomOp2, CustomOp3, DType, Layout, Shape, Tensor};
use rayon::prelude::*;

use super::cpu_slice;
use crate::Result;

/// Rows per parallel task.
const ROWS_PER_TASK: usize = 64;

/// log Σ exp(row), computed stably.
fn log_sum_exp(row: &[f32]) -> f32 {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let sum: f32 = row.iter().map(|&x| (x - max).exp()).sum();
    max + sum.ln()
}

pub(super) fn check_target(target: u32, vocab: usize) -> candle_core::Result<usize> {
    let target = target as usize;
    if target >= vocab {
        candle_core::bail!("target token {target} is outside the vocabulary of {vocab}");
    }
    Ok(target)
}

/// (logits [N, V], targets [N]) → per-row loss [N].
#[derive(Debug)]
struct RowLoss;

impl CustomOp2 for RowLoss {
    fn name(&self) -> &'static str {
        "fused-cross-entropy"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (rows, vocab) = l1.shape().dims2()?;
        let logits: &[f32] = cpu_slice(s1, l1, "logits")?;
        let targets: &[u32] = cpu_slice(s2, l2, "targets")?;
        let losses = logits
            .par_chunks(vocab * ROWS_PER_TASK)
            .zip(targets.par_chunks(ROWS_PER_TASK))
            .map(|(block, block_targets)| {
                block
                    .chunks_exact(vocab)
                    .zip(block_targets)
                    .map(|(row, &t)| Ok(log_sum_exp(row) - row[check_target(t, vocab)?]))
                    .collect::<candle_core::Result<Vec<f32>>>()
            })
            .collect::<candle_core::Result<Vec<Vec<f32>>>>()?
            .concat();
        Ok((CpuStorage::F32(losses), Shape::from(rows)))
    }

    fn bwd(
        &self,
        logits: &Tensor,
        targets: &Tensor,
        _res: &Tensor,
        grad_res: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let grad = logits.apply_op3_no_bwd(targets, &grad_res.contiguous()?, &RowLossGrad)?;
        Ok((Some(grad), None))
    }
}

/// (logits [N, V], targets [N], upstream gradient [N]) → (softmax − one-hot) · gradient.
#[derive(Debug)]
struct RowLossGrad;

impl CustomOp3 for RowLossGrad {
    fn name(&self) -> &'static str {
        "fused-cross-entropy-grad"
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
        let (rows, vocab) = l1.shape().dims2()?;
        let logits: &[f32] = cpu_slice(s1, l1, "logits")?;
        let targets: &[u32] = cpu_slice(s2, l2, "targets")?;
        let upstream: &[f32] = cpu_slice(s3, l3, "the upstream gradient")?;
        let mut grad = vec![0f32; rows * vocab];
        grad.par_chunks_mut(vocab * ROWS_PER_TASK)
            .zip(logits.par_chunks(vocab * ROWS_PER_TASK))
            .zip(
                targets
                    .par_chunks(ROWS_PER_TASK)
                    .zip(upstream.par_chunks(ROWS_PER_TASK)),
            )
            .try_for_each(|((out, block), (block_targets, block_upstream))| {
                for ((out_row, row), (&t, &g)) in out
                    .chunks_exact_mut(vocab)
                    .zip(block.chunks_exact(vocab))
                    .zip(block_targets.iter().zip(block_upstream))
                {
                    let lse = log_sum_exp(row);
                    for (o, &x) in out_row.iter_mut().zip(row) {
                        *o = (x - lse).exp() * g;
                    }
                    out_row[check_target(t, vocab)?] -= g;
                }
                Ok::<(), candle_core::Error>(())
            })?;
        Ok((CpuStorage::F32(grad), l1.shape().clone()))
    }
}

/// Mean cross-entropy of `logits` [N, V] (f32) against `targets` [N] (u32).
pub fn cross_entropy(logits: &Tensor, targets: &Tensor) -> Result<Tensor> {
    if !logits.device().is_cpu() || logits.dtype() != DType::F32 {
        return Ok(candle_nn::loss::cross_entropy(logits, targets)?);
    }
    let logits = logits.contiguous()?;
    let targets = targets.contiguous()?;
    Ok(logits.apply_op2(&targets, RowLoss)?.mean_all()?)
}

/// Cross-entropy of each row of `logits` [N, V] (f32) against `targets` [N] (u32): [N].
pub fn row_cross_entropy(logits: &Tensor, targets: &Tensor) -> Result<Tensor> {
    if !logits.device().is_cpu() || logits.dtype() != DType::F32 {
        let log_probabilities = candle_nn::ops::log_softmax(logits, candle_core::D::Minus1)?;
        let picked = log_probabilities.gather(&targets.unsqueeze(1)?.contiguous()?, 1)?;
        return Ok(picked.squeeze(1)?.neg()?);
    }
    Ok(logits
        .contiguous()?
        .apply_op2(&targets.contiguous()?, RowLoss)?)
}

#[cfg(test)]
mod tests {
    use candle_core::{Device, Var};

    use super::*;

    #[test]
    fn matches_the_composite_loss_and_its_gradient() {
        let device = Device::Cpu;
        let values: Vec<f32> = (0..7 * 130)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 9.0)
            .collect();
        let logits =
            Var::from_tensor(&Tensor::from_vec(values, (130, 7), &device).unwrap()).unwrap();
        let targets = Tensor::from_vec(
            (0..130u32).map(|i| (i * 3) % 7).collect::<Vec<_>>(),
            130,
            &device,
        )
        .unwrap();
        let fused = cross_entropy(logits.as_tensor(), &targets).unwrap();
        let composite = candle_nn::loss::cross_entropy(logits.as_tensor(), &targets).unwrap();
        let (a, b) = (
            fused.to_scalar::<f32>().unwrap(),
            composite.to_scalar::<f32>().unwrap(),
        );
        assert!((a - b).abs() < 1e-5, "{a} vs {b}");
        // Scale the loss so the upstream gradient is not 1.
        let grad_fused = (fused * 3.0).unwrap().backward().unwrap();
        let grad_composite = (composite * 3.0).unwrap().backward().unwrap();
        let ga: Vec<f32> = grad_fused
            .get(logits.as_tensor())
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        let gb: Vec<f32> = grad_composite
            .get(logits.as_tensor())
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        for (x, y) in ga.iter().zip(&gb) {
            assert!((x - y).abs() < 1e-6, "{x} vs {y}");
        }
    }

    #[test]
    fn row_losses_average_to_the_mean_loss() {
        let device = Device::Cpu;
        let values: Vec<f32> = (0..5 * 9).map(|i| ((i * 11 % 23) as f32) / 4.0).collect();
        let logits = Tensor::from_vec(values.clone(), (9, 5), &device).unwrap();
        let targets =
            Tensor::from_vec((0..9u32).map(|i| i % 5).collect::<Vec<_>>(), 9, &device).unwrap();
        let rows: Vec<f32> = row_cross_entropy(&logits, &targets)
            .unwrap()
            .to_vec1()
            .unwrap();
        let mean: f32 = cross_entropy(&logits, &targets)
            .unwrap()
            .to_scalar()
            .unwrap();
        assert!((rows.iter().sum::<f32>() / 9.0 - mean).abs() < 1e-5);
        // Row 0: logits 0, 2.75, 5.5, 2.25, 5.0 (·/4 of 0, 11, 22, 10, 20), target 0.
        let row: Vec<f64> = values[..5].iter().map(|&x| f64::from(x)).collect();
        let log_sum: f64 = row.iter().map(|x| x.exp()).sum::<f64>().ln();
        assert!((f64::from(rows[0]) - (log_sum - row[0])).abs() < 1e-5);
        // The composite path other devices take (reached here through f64 logits).
        let composite: Vec<f64> =
            row_cross_entropy(&logits.to_dtype(DType::F64).unwrap(), &targets)
                .unwrap()
                .to_vec1()
                .unwrap();
        for (fused, composite) in rows.iter().zip(&composite) {
            assert!(
                (f64::from(*fused) - composite).abs() < 1e-5,
                "{rows:?} {composite:?}"
            );
        }
    }

    #[test]
    fn out_of_vocabulary_targets_are_errors() {
        let device = Device::Cpu;
        let logits = Tensor::zeros((2, 4), DType::F32, &device).unwrap();
        let targets = Tensor::from_vec(vec![1u32, 4], 2, &device).unwrap();
        assert!(cross_entropy(&logits, &targets).is_err());
    }
}
