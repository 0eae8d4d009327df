//! The output head and the mean next-token cross-entropy as one CPU op: `mean_i CE(x_i·Wᵀ,
//! t_i)` for hidden states `x` `(N, d)` and the head `W` `(V, d)` (the tied embedding).
//!
//! The two-step form materializes the logits `(N, V)` and their gradient, 64 MB each for a
//! 4096-token vocabulary and 4096 tokens a step, and candle adds the gradient into a fresh
//! zero tensor of the same size. Here rows go through in blocks: a block's logits live in a
//! small buffer, turn into `softmax − one-hot` in place, and give the block's `dx` and its
//! share of `dW` by two products right away. Because the loss is a mean (one upstream
//! scalar), the gradients are computed in the forward pass and kept with the op; the
//! backward pass only scales them (as Liger-Kernel's fused linear cross-entropy does).
//!
//! Rows are split into a fixed number of ranges, each summing its `dW` share in order, and
//! the shares are added in range order: the result does not depend on the thread count.

use std::sync::{Arc, Mutex};

use blend_kernels::matmul::{MatrixMut, MatrixRef, matmul};
use blend_kernels::softmax_row;
use candle_core::{CpuStorage, CustomOp3, Layout, Shape, Tensor};
use rayon::prelude::*;

use super::cpu_slice;
use super::cross_entropy::check_target;

/// Rows whose logits are held at once by one task.
const BLOCK_ROWS: usize = 64;
/// Row ranges summed separately (and in parallel), then added in order.
const RANGES: usize = 8;

/// `dx` `(N, d)` and `dW` `(V, d)` of the mean loss, for an upstream gradient of 1.
#[derive(Debug, Default)]
struct Gradients {
    d_hidden: Vec<f32>,
    d_head: Vec<f32>,
}

/// The op; build one per forward pass ([`linear_cross_entropy`] does). Without
/// `keep_gradients` (scoring) it computes the loss only and has no backward pass.
#[derive(Debug, Clone)]
struct LinearCrossEntropy {
    keep_gradients: bool,
    gradients: Arc<Mutex<Option<Gradients>>>,
}

impl LinearCrossEntropy {
    fn new(keep_gradients: bool) -> Self {
        Self {
            keep_gradients,
            gradients: Arc::default(),
        }
    }
}

/// Mean cross-entropy of `hidden · headᵀ` against `targets`, differentiable in `hidden` and
/// `head`; the logits are never materialized. CPU, f32.
pub fn linear_cross_entropy(
    hidden: &Tensor,
    head: &Tensor,
    targets: &Tensor,
) -> candle_core::Result<Tensor> {
    hidden.contiguous()?.apply_op3(
        &head.contiguous()?,
        &targets.contiguous()?,
        LinearCrossEntropy::new(true),
    )
}

/// The same loss for scoring: no gradients are computed and the result has no graph.
pub fn linear_cross_entropy_value(
    hidden: &Tensor,
    head: &Tensor,
    targets: &Tensor,
) -> candle_core::Result<Tensor> {
    hidden.contiguous()?.apply_op3_no_bwd(
        &head.contiguous()?,
        &targets.contiguous()?,
        &LinearCrossEntropy::new(false),
    )
}

/// One range of rows: the sum of its losses, its rows of `dx` and its share of `dW`.
struct RangeResult {
    loss_sum: f64,
    d_hidden: Vec<f32>,
    d_head: Vec<f32>,
}

fn range_result(
    hidden: &[f32],
    head: &[f32],
    targets: &[u32],
    (width, vocab, scale, with_gradients): (usize, usize, f32, bool),
) -> candle_core::Result<RangeResult> {
    let rows = targets.len();
    let gradient_len = |len: usize| if with_gradients { len } else { 0 };
    let mut result = RangeResult {
        loss_sum: 0.0,
        d_hidden: vec![0f32; gradient_len(rows * width)],
        d_head: vec![0f32; gradient_len(vocab * width)],
    };
    let head_view = MatrixRef::row_major(head, vocab, width);
    let mut logits = vec![0f32; BLOCK_ROWS.min(rows) * vocab];
    for start in (0..rows).step_by(BLOCK_ROWS) {
        let count = BLOCK_ROWS.min(rows - start);
        let block = &mut logits[..count * vocab];
        let x = MatrixRef::row_major(&hidden[start * width..], count, width);
        matmul(
            MatrixMut::row_major(block, count, vocab),
            x,
            head_view.t(),
            false,
        );
        // Each row becomes (softmax − one-hot) · scale (one exp per logit), its loss added up.
        for (row, &target) in block
            .chunks_exact_mut(vocab)
            .zip(&targets[start..start + count])
        {
            let target = check_target(target, vocab)?;
            let target_logit = row[target];
            let max = softmax_row::max(row);
            let sum = softmax_row::exp_sum(row, max);
            result.loss_sum += f64::from(max + sum.ln() - target_logit);
            if with_gradients {
                let factor = scale / sum;
                row.iter_mut().for_each(|z| *z *= factor);
                row[target] -= scale;
            }
        }
        if !with_gradients {
            continue;
        }
        let gradient = MatrixRef::row_major(block, count, vocab);
        matmul(
            MatrixMut::row_major(&mut result.d_hidden[start * width..], count, width),
            gradient,
            head_view,
            false,
        );
        matmul(
            MatrixMut::row_major(&mut result.d_head, vocab, width),
            gradient.t(),
            x,
            true,
        );
    }
    Ok(result)
}

impl CustomOp3 for LinearCrossEntropy {
    fn name(&self) -> &'static str {
        "fused-linear-cross-entropy"
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
        let (rows, width) = l1.shape().dims2()?;
        let (vocab, head_width) = l2.shape().dims2()?;
        let hidden: &[f32] = cpu_slice(s1, l1, "hidden states")?;
        let head: &[f32] = cpu_slice(s2, l2, "the output head")?;
        let targets: &[u32] = cpu_slice(s3, l3, "targets")?;
        if head_width != width || targets.len() != rows || rows == 0 {
            candle_core::bail!(
                "cross-entropy of {rows} hidden states of width {width} through a ({vocab}, {head_width}) head against {} targets",
                targets.len()
            );
        }
        let scale = 1.0 / rows as f32;
        let per_range = rows.div_ceil(RANGES);
        let results = targets
            .par_chunks(per_range)
            .zip(hidden.par_chunks(per_range * width))
            .map(|(targets, hidden)| {
                let shape = (width, vocab, scale, self.keep_gradients);
                range_result(hidden, head, targets, shape)
            })
            .collect::<candle_core::Result<Vec<RangeResult>>>()?;
        let loss_sum: f64 = results.iter().map(|r| r.loss_sum).sum();
        if self.keep_gradients {
            let mut gradients = Gradients {
                d_hidden: Vec::with_capacity(rows * width),
                d_head: vec![0f32; vocab * width],
            };
            for result in &results {
                gradients.d_hidden.extend_from_slice(&result.d_hidden);
                let total = gradients.d_head.iter_mut().zip(&result.d_head);
                total.for_each(|(t, r)| *t += r);
            }
            *self.gradients.lock().map_err(|_| poisoned())? = Some(gradients);
        }
        let loss = (loss_sum / rows as f64) as f32;
        Ok((CpuStorage::F32(vec![loss]), Shape::from(())))
    }

    fn bwd(
        &self,
        hidden: &Tensor,
        head: &Tensor,
        _targets: &Tensor,
        _res: &Tensor,
        grad_res: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let upstream = grad_res.to_scalar::<f32>()?;
        let kept = self.gradients.lock().map_err(|_| poisoned())?;
        let Some(gradients) = kept.as_ref() else {
            candle_core::bail!("fused linear cross-entropy: backward without kept gradients");
        };
        let scaled = |values: &[f32], like: &Tensor| {
            let values: Vec<f32> = values.iter().map(|v| v * upstream).collect();
            Tensor::from_vec(values, like.shape(), like.device())
        };
        Ok((
            Some(scaled(&gradients.d_hidden, hidden)?),
            Some(scaled(&gradients.d_head, head)?),
            None,
        ))
    }
}

fn poisoned() -> candle_core::Error {
    candle_core::Error::Msg(
        "fused linear cross-entropy: a thread panicked holding its gradients".into(),
    )
}

#[cfg(test)]
mod tests {
    use candle_core::Device;

    use super::*;
    use crate::fused::parity::{assert_close, assert_same_gradients, normal_var};

    fn targets(rows: usize, vocab: usize) -> Tensor {
        let ids: Vec<u32> = (0..rows).map(|i| ((i * 7 + 3) % vocab) as u32).collect();
        Tensor::from_vec(ids, rows, &Device::Cpu).unwrap()
    }

    #[test]
    fn matches_the_head_then_the_loss_and_their_gradients() {
        // 150 rows: ranges of 19 rows, each with a partial block.
        let (rows, width, vocab) = (150, 12, 37);
        let hidden = normal_var((rows, width), 1.0, 1);
        let head = normal_var((vocab, width), 0.5, 2);
        let targets = targets(rows, vocab);
        let fused = linear_cross_entropy(hidden.as_tensor(), head.as_tensor(), &targets).unwrap();
        let logits = hidden
            .as_tensor()
            .matmul(&head.as_tensor().t().unwrap())
            .unwrap();
        let composite = candle_nn::loss::cross_entropy(&logits, &targets).unwrap();
        assert_close(&fused, &composite, "loss");
        let value =
            linear_cross_entropy_value(hidden.as_tensor(), head.as_tensor(), &targets).unwrap();
        assert_eq!(
            value.to_scalar::<f32>().unwrap(),
            fused.to_scalar::<f32>().unwrap()
        );
        // An upstream factor of 3 scales both gradients.
        let upstream = Tensor::new(3f32, &Device::Cpu).unwrap();
        let inputs = [(&hidden, "the hidden states"), (&head, "the head")];
        assert_same_gradients(&fused, &composite, &upstream, &inputs);
    }

    #[test]
    fn results_do_not_depend_on_the_thread_count() {
        let hidden = normal_var((200, 8), 1.0, 3);
        let head = normal_var((30, 8), 1.0, 4);
        let targets = targets(200, 30);
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                let loss =
                    linear_cross_entropy(hidden.as_tensor(), head.as_tensor(), &targets).unwrap();
                let grads = loss.backward().unwrap();
                let head_gradient = grads.get(head.as_tensor()).unwrap();
                (
                    loss.to_scalar::<f32>().unwrap().to_bits(),
                    head_gradient
                        .flatten_all()
                        .unwrap()
                        .to_vec1::<f32>()
                        .unwrap(),
                )
            })
        };
        assert_eq!(run(1), run(3));
    }

    #[test]
    fn an_out_of_vocabulary_target_is_an_error() {
        let hidden = normal_var((4, 3), 1.0, 5);
        let head = normal_var((5, 3), 1.0, 6);
        let targets = Tensor::from_vec(vec![0u32, 1, 9, 2], 4, &Device::Cpu).unwrap();
        let error =
            linear_cross_entropy(hidden.as_tensor(), head.as_tensor(), &targets).unwrap_err();
        assert!(error.to_string().contains("target token 9"), "{error}");
    }
}
