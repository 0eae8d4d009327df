//! The MiniLM encoder's self-attention on the CPU, for a batch padded at the end: each
//! (sequence, head) pair is one task that multiplies its query rows by the keys of its real
//! tokens only, takes the softmax of each row in place and multiplies by the values. The
//! composite graph (split and transpose heads, `q·kᵀ` over every padded position, scale, add
//! the mask, softmax, `p·v`, transpose back) made five `(B, H, T, T)` tensors a layer, and its
//! batched matmuls of `T × 32` blocks ran far below plain matmuls' speed. Inference only:
//! there is no backward pass. Other devices use the composite graph ([`composite_attention`]),
//! which is also the reference the fused one is tested against.

use blend_kernels::matmul::{MatrixMut, MatrixRef, matmul};
use blend_kernels::softmax_row;
use candle_core::Tensor;
use rayon::prelude::*;

/// Context `(B, T, hidden)` of queries, keys and values `(B, T, hidden)` (`heads` heads of
/// `hidden / heads`), where sequence `b` has `lengths[b]` real tokens followed by padding.
/// Padded positions attend like real ones (to the real tokens); pooling ignores them.
pub fn padded_attention(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    lengths: &[usize],
    heads: usize,
) -> candle_core::Result<Tensor> {
    let (batch, t, hidden) = q.dims3()?;
    if lengths.len() != batch || lengths.iter().any(|&n| n == 0 || n > t) || hidden % heads != 0 {
        candle_core::bail!(
            "attention over {batch} sequences of {t} tokens with lengths {lengths:?} and {heads} heads of a width {hidden}"
        );
    }
    let device = q.device().clone();
    let values = |x: &Tensor| x.contiguous()?.flatten_all()?.to_vec1::<f32>();
    let (q, k, v) = (values(q)?, values(k)?, values(v)?);
    let hd = hidden / heads;
    let scale = 1.0 / (hd as f32).sqrt();
    let pairs: Vec<(usize, usize)> = (0..batch)
        .flat_map(|b| (0..heads).map(move |h| (b, h)))
        .collect();
    fn head_view(
        data: &[f32],
        (t, hidden, hd): (usize, usize, usize),
        b: usize,
        h: usize,
    ) -> MatrixRef<'_> {
        let sequence = &data[b * t * hidden..(b + 1) * t * hidden];
        MatrixRef::row_major(sequence, t, hidden).block(0, t, h * hd, hd)
    }
    let shape = (t, hidden, hd);
    let contexts: Vec<Vec<f32>> = pairs
        .par_iter()
        .map(|&(b, h)| {
            let keys = lengths[b];
            let mut scores = vec![0f32; t * keys];
            matmul(
                MatrixMut::row_major(&mut scores, t, keys),
                head_view(&q, shape, b, h),
                head_view(&k, shape, b, h).block(0, keys, 0, hd).t(),
                false,
            );
            for row in scores.chunks_exact_mut(keys) {
                row.iter_mut().for_each(|s| *s *= scale);
                softmax_row::softmax(row);
            }
            let mut context = vec![0f32; t * hd];
            matmul(
                MatrixMut::row_major(&mut context, t, hd),
                MatrixRef::row_major(&scores, t, keys),
                head_view(&v, shape, b, h).block(0, keys, 0, hd),
                false,
            );
            context
        })
        .collect();
    let mut out = vec![0f32; batch * t * hidden];
    for (&(b, h), context) in pairs.iter().zip(&contexts) {
        for (row, values) in context.chunks_exact(hd).enumerate() {
            let at = (b * t + row) * hidden + h * hd;
            out[at..at + hd].copy_from_slice(values);
        }
    }
    Tensor::from_vec(out, (batch, t, hidden), &device)
}

/// The same attention as a graph of candle ops, for any device: `mask_bias` `(B, 1, 1, T)`
/// is 0 on real tokens and very negative on padding.
pub fn composite_attention(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    mask_bias: &Tensor,
    heads: usize,
) -> candle_core::Result<Tensor> {
    let (batch, tokens, hidden) = q.dims3()?;
    let head_dim = hidden / heads;
    let split = |t: &Tensor| -> candle_core::Result<Tensor> {
        t.reshape((batch, tokens, heads, head_dim))?
            .transpose(1, 2)?
            .contiguous()
    };
    let (q, k, v) = (split(q)?, split(k)?, split(v)?);
    let scores = (q.matmul(&k.t()?.contiguous()?)? / (head_dim as f64).sqrt())?;
    let probs = candle_nn::ops::softmax_last_dim(&scores.broadcast_add(mask_bias)?)?;
    probs
        .matmul(&v)?
        .transpose(1, 2)?
        .contiguous()?
        .reshape((batch, tokens, hidden))
}

#[cfg(test)]
mod tests {
    use blend_kernels::SeededRng;
    use candle_core::Device;

    use super::*;

    fn random(shape: (usize, usize, usize), seed: u64) -> Tensor {
        let mut rng = SeededRng::new(seed);
        let count = shape.0 * shape.1 * shape.2;
        let values: Vec<f32> = (0..count)
            .map(|_| rng.next_f64() as f32 * 4.0 - 2.0)
            .collect();
        Tensor::from_vec(values, shape, &Device::Cpu).unwrap()
    }

    #[test]
    fn matches_the_composite_graph_on_real_tokens() {
        let (batch, t, hidden, heads) = (3, 9, 12, 3);
        let (q, k, v) = (
            random((batch, t, hidden), 1),
            random((batch, t, hidden), 2),
            random((batch, t, hidden), 3),
        );
        let lengths = [9, 4, 1];
        let bias: Vec<f32> = lengths
            .iter()
            .flat_map(|&n| (0..t).map(move |i| if i < n { 0.0 } else { -1e9 }))
            .collect();
        let bias = Tensor::from_vec(bias, (batch, 1, 1, t), &Device::Cpu).unwrap();
        let fused = padded_attention(&q, &k, &v, &lengths, heads)
            .unwrap()
            .to_vec3::<f32>()
            .unwrap();
        let composite = composite_attention(&q, &k, &v, &bias, heads)
            .unwrap()
            .to_vec3::<f32>()
            .unwrap();
        for (b, &n) in lengths.iter().enumerate() {
            for i in 0..t {
                for (c, (x, y)) in fused[b][i].iter().zip(&composite[b][i]).enumerate() {
                    assert!(
                        (x - y).abs() <= 1e-5 * (1.0 + y.abs()),
                        "sequence {b} ({n} real) row {i} column {c}: {x} vs {y}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_length_past_the_batch_is_an_error() {
        let q = random((1, 4, 4), 1);
        let error = padded_attention(&q, &q, &q, &[5], 2).unwrap_err();
        assert!(error.to_string().contains("lengths [5]"), "{error}");
    }
}
