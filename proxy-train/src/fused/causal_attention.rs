//! Causal multi-head self-attention with RoPE as one CPU op, forward and backward, straight
//! from the stacked query/key/value projection `(B·T, 3·d)` to the heads' context `(B·T, d)`.
//!
//! The composite graph (split and transpose the heads, rotate, `q·kᵀ`, scale, mask, max,
//! subtract, exp, sum, divide, `p·v`, transpose back) makes a dozen `(B, H, T, T)` tensors a
//! layer and as many again in the backward pass; their batched matmuls of `T × head_dim`
//! blocks ran at a sixth of plain matmuls' speed (measured with `perf`). Here each (sequence,
//! head) pair is one task: its rows are gathered and rotated once, scores and probabilities
//! live in one `T × T` buffer, and row tiles skip the products above the diagonal. The
//! backward pass recomputes the probabilities from the inputs (nothing is kept between
//! passes) and uses `dS = P ∘ (dP − rowsum(P ∘ dP))`.
//!
//! Tasks run in parallel and each is single-threaded, so the result does not depend on the
//! number of threads.

use std::sync::Arc;

use blend_kernels::matmul::{MatrixMut, MatrixRef, matmul};
use blend_kernels::softmax_row;
use candle_core::{CpuStorage, CustomOp1, CustomOp2, Layout, Shape, Tensor};
use rayon::prelude::*;

use super::cpu_slice;
use super::rope::RopeTable;

/// Query rows per tile: a tile of rows needs the keys up to its last row only.
const TILE: usize = 64;

/// The op; `rope` must cover at least `seq` positions with `head_dim` columns.
#[derive(Debug, Clone)]
pub struct CausalSelfAttention {
    pub batch: usize,
    pub seq: usize,
    pub heads: usize,
    pub head_dim: usize,
    pub rope: Arc<RopeTable>,
}

/// One (sequence, head) pair's rotated and scaled queries, rotated keys and values
/// (`seq × head_dim` each), and its attention probabilities (`seq × seq`, zero above the
/// diagonal).
struct HeadBlock {
    q: Vec<f32>,
    k: Vec<f32>,
    v: Vec<f32>,
    p: Vec<f32>,
}

impl CausalSelfAttention {
    /// Context `(B·T, d)` for `qkv` `(B·T, 3·d)`; differentiable.
    pub fn apply(&self, qkv: &Tensor) -> candle_core::Result<Tensor> {
        qkv.contiguous()?.apply_op1(self.clone())
    }

    fn d_model(&self) -> usize {
        self.heads * self.head_dim
    }

    fn check(&self, layout: &Layout, what: &str) -> candle_core::Result<()> {
        let (rows, cols) = layout.shape().dims2()?;
        let d = self.d_model();
        if rows != self.batch * self.seq || cols != 3 * d || !self.head_dim.is_multiple_of(2) {
            candle_core::bail!(
                "{what}: expected ({} × {}, 3 × {d}) with an even head width, got ({rows}, {cols})",
                self.batch,
                self.seq
            );
        }
        if self.rope.positions < self.seq || self.rope.head_dim != self.head_dim {
            candle_core::bail!(
                "{what}: the RoPE table covers {} positions of width {}, the op needs {} of {}",
                self.rope.positions,
                self.rope.head_dim,
                self.seq,
                self.head_dim
            );
        }
        Ok(())
    }

    /// Writes one pair's `T × head_dim` rows into columns `column..column + head_dim` of
    /// sequence `sequence`'s rows of `out` (`(B·T, width)`).
    fn scatter(&self, out: &mut [f32], width: usize, sequence: usize, column: usize, rows: &[f32]) {
        let hd = self.head_dim;
        for (row, values) in rows.chunks_exact(hd).enumerate() {
            let at = (sequence * self.seq + row) * width + column;
            out[at..at + hd].copy_from_slice(values);
        }
    }

    /// Gathers, rotates and scales one pair's inputs and computes its probabilities.
    fn head_block(&self, qkv: &[f32], sequence: usize, head: usize) -> HeadBlock {
        let (t, hd) = (self.seq, self.head_dim);
        let width = 3 * self.d_model();
        let scale = 1.0 / (hd as f32).sqrt();
        let mut q = vec![0f32; t * hd];
        let mut k = vec![0f32; t * hd];
        let mut v = vec![0f32; t * hd];
        let start = |part: usize, row: usize| {
            (sequence * t + row) * width + part * self.d_model() + head * hd
        };
        for row in 0..t {
            let span = row * hd..(row + 1) * hd;
            let (q_at, k_at, v_at) = (start(0, row), start(1, row), start(2, row));
            self.rope
                .rotate(&qkv[q_at..q_at + hd], row, scale, &mut q[span.clone()]);
            self.rope
                .rotate(&qkv[k_at..k_at + hd], row, 1.0, &mut k[span.clone()]);
            v[span].copy_from_slice(&qkv[v_at..v_at + hd]);
        }
        let mut p = vec![0f32; t * t];
        for (row, rows) in tiles(t) {
            let keys = row + rows;
            matmul(
                MatrixMut::row_major(&mut p, t, t).block(row, rows, 0, keys),
                MatrixRef::row_major(&q, t, hd).block(row, rows, 0, hd),
                MatrixRef::row_major(&k, t, hd).block(0, keys, 0, hd).t(),
                false,
            );
        }
        for (i, scores) in p.chunks_exact_mut(t).enumerate() {
            causal_softmax(scores, i);
        }
        HeadBlock { q, k, v, p }
    }

    /// `P·V` for one pair, `T × head_dim`.
    fn head_context(&self, block: &HeadBlock) -> Vec<f32> {
        let (t, hd) = (self.seq, self.head_dim);
        let mut context = vec![0f32; t * hd];
        for (row, rows) in tiles(t) {
            let keys = row + rows;
            matmul(
                MatrixMut::row_major(&mut context, t, hd).block(row, rows, 0, hd),
                MatrixRef::row_major(&block.p, t, t).block(row, rows, 0, keys),
                MatrixRef::row_major(&block.v, t, hd).block(0, keys, 0, hd),
                false,
            );
        }
        context
    }

    /// Gradients of one pair's query, key and value rows (`T × head_dim` each, before the
    /// rotation) from the gradient of its context rows.
    fn head_gradients(
        &self,
        qkv: &[f32],
        grad: &[f32],
        sequence: usize,
        head: usize,
    ) -> [Vec<f32>; 3] {
        let (t, hd) = (self.seq, self.head_dim);
        let block = self.head_block(qkv, sequence, head);
        let mut d_out = vec![0f32; t * hd];
        for (row, out) in d_out.chunks_exact_mut(hd).enumerate() {
            let at = (sequence * t + row) * self.d_model() + head * hd;
            out.copy_from_slice(&grad[at..at + hd]);
        }
        let d_out_view = MatrixRef::row_major(&d_out, t, hd);
        // dP = dO·Vᵀ below the diagonal, then dS = P ∘ (dP − rowsum(P ∘ dP)) in place.
        let mut d_scores = vec![0f32; t * t];
        for (row, rows) in tiles(t) {
            let keys = row + rows;
            matmul(
                MatrixMut::row_major(&mut d_scores, t, t).block(row, rows, 0, keys),
                d_out_view.block(row, rows, 0, hd),
                MatrixRef::row_major(&block.v, t, hd)
                    .block(0, keys, 0, hd)
                    .t(),
                false,
            );
        }
        for (i, (ds, p)) in d_scores
            .chunks_exact_mut(t)
            .zip(block.p.chunks_exact(t))
            .enumerate()
        {
            softmax_backward(&mut ds[..=i], &p[..=i]);
            ds[i + 1..].fill(0.0);
        }
        let p_view = MatrixRef::row_major(&block.p, t, t);
        let ds_view = MatrixRef::row_major(&d_scores, t, t);
        // dQ = dS·K (rows), dK = dSᵀ·Q and dV = Pᵀ·dO (key rows j take query rows i ≥ j).
        let mut d_q = vec![0f32; t * hd];
        let mut d_k = vec![0f32; t * hd];
        let mut d_v = vec![0f32; t * hd];
        for (row, rows) in tiles(t) {
            let keys = row + rows;
            matmul(
                MatrixMut::row_major(&mut d_q, t, hd).block(row, rows, 0, hd),
                ds_view.block(row, rows, 0, keys),
                MatrixRef::row_major(&block.k, t, hd).block(0, keys, 0, hd),
                false,
            );
            let queries = t - row;
            matmul(
                MatrixMut::row_major(&mut d_k, t, hd).block(row, rows, 0, hd),
                ds_view.block(row, queries, row, rows).t(),
                MatrixRef::row_major(&block.q, t, hd).block(row, queries, 0, hd),
                false,
            );
            matmul(
                MatrixMut::row_major(&mut d_v, t, hd).block(row, rows, 0, hd),
                p_view.block(row, queries, row, rows).t(),
                d_out_view.block(row, queries, 0, hd),
                false,
            );
        }
        // Undo the rotations (and the queries' scale) on each row.
        let scale = 1.0 / (hd as f32).sqrt();
        let mut rotated = vec![0f32; hd];
        for row in 0..t {
            let span = row * hd..(row + 1) * hd;
            self.rope
                .rotate_back(&d_q[span.clone()], row, scale, &mut rotated);
            d_q[span.clone()].copy_from_slice(&rotated);
            self.rope
                .rotate_back(&d_k[span.clone()], row, 1.0, &mut rotated);
            d_k[span].copy_from_slice(&rotated);
        }
        [d_q, d_k, d_v]
    }

    /// Every (sequence, head) pair, in a fixed order.
    fn pairs(&self) -> Vec<(usize, usize)> {
        (0..self.batch)
            .flat_map(|b| (0..self.heads).map(move |h| (b, h)))
            .collect()
    }
}

/// (first row, rows) of each tile of `t` rows.
fn tiles(t: usize) -> impl Iterator<Item = (usize, usize)> {
    (0..t)
        .step_by(TILE)
        .map(move |row| (row, TILE.min(t - row)))
}

/// Softmax of `scores[..=i]` in place; the rest of the row becomes 0.
fn causal_softmax(scores: &mut [f32], i: usize) {
    let (visible, hidden) = scores.split_at_mut(i + 1);
    softmax_row::softmax(visible);
    hidden.fill(0.0);
}

/// `dp ← p ∘ (dp − Σ p ∘ dp)`: the gradient through one softmax row.
fn softmax_backward(dp: &mut [f32], p: &[f32]) {
    let dot = softmax_row::dot(dp, p);
    for (d, &p) in dp.iter_mut().zip(p) {
        *d = p * (*d - dot);
    }
}

impl CustomOp1 for CausalSelfAttention {
    fn name(&self) -> &'static str {
        "fused-causal-self-attention"
    }

    fn cpu_fwd(
        &self,
        storage: &CpuStorage,
        layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        self.check(layout, "attention input")?;
        let qkv: &[f32] = cpu_slice(storage, layout, "the stacked q/k/v projection")?;
        let contexts: Vec<Vec<f32>> = self
            .pairs()
            .into_par_iter()
            .map(|(b, h)| self.head_context(&self.head_block(qkv, b, h)))
            .collect();
        let d = self.d_model();
        let mut out = vec![0f32; self.batch * self.seq * d];
        for ((b, h), context) in self.pairs().into_iter().zip(&contexts) {
            self.scatter(&mut out, d, b, h * self.head_dim, context);
        }
        Ok((
            CpuStorage::F32(out),
            Shape::from((self.batch * self.seq, d)),
        ))
    }

    fn bwd(
        &self,
        qkv: &Tensor,
        _res: &Tensor,
        grad_res: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        let grad = qkv.apply_op2_no_bwd(&grad_res.contiguous()?, &AttentionGrad(self.clone()))?;
        Ok(Some(grad))
    }
}

/// (qkv `(B·T, 3·d)`, gradient of the context `(B·T, d)`) → gradient of qkv.
#[derive(Debug)]
struct AttentionGrad(CausalSelfAttention);

impl CustomOp2 for AttentionGrad {
    fn name(&self) -> &'static str {
        "fused-causal-self-attention-grad"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let op = &self.0;
        op.check(l1, "attention input")?;
        let qkv: &[f32] = cpu_slice(s1, l1, "the stacked q/k/v projection")?;
        let grad: &[f32] = cpu_slice(s2, l2, "the context's gradient")?;
        if grad.len() != op.batch * op.seq * op.d_model() {
            candle_core::bail!(
                "the context's gradient has {} values, expected {}",
                grad.len(),
                op.batch * op.seq * op.d_model()
            );
        }
        let gradients: Vec<[Vec<f32>; 3]> = op
            .pairs()
            .into_par_iter()
            .map(|(b, h)| op.head_gradients(qkv, grad, b, h))
            .collect();
        let mut out = vec![0f32; qkv.len()];
        for ((b, h), parts) in op.pairs().into_iter().zip(&gradients) {
            for (part, rows) in parts.iter().enumerate() {
                let column = part * op.d_model() + h * op.head_dim;
                op.scatter(&mut out, 3 * op.d_model(), b, column, rows);
            }
        }
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }
}

#[cfg(test)]
mod tests {
    use candle_core::{DType, Device};

    use super::*;
    use crate::composite::{AttentionTables, causal_attention};
    use crate::fused::parity::{assert_close, assert_same_gradients, normal_var};

    /// Context and the gradient of `Σ context ∘ weights` with respect to qkv, both ways.
    fn compare(batch: usize, seq: usize, heads: usize, head_dim: usize) {
        let d = heads * head_dim;
        let qkv = normal_var((batch * seq, 3 * d), 1.0, 11);
        let weights = normal_var((batch * seq, d), 1.0, 12);
        let rope = Arc::new(RopeTable::new(head_dim, seq + 3));
        let op = CausalSelfAttention {
            batch,
            seq,
            heads,
            head_dim,
            rope: rope.clone(),
        };
        let fused = op.apply(qkv.as_tensor()).unwrap();
        let tables = AttentionTables::new(&rope, &Device::Cpu).unwrap();
        let composite =
            causal_attention(qkv.as_tensor(), (batch, seq, heads), &tables, DType::F32).unwrap();
        let what = format!("context, B {batch} T {seq} H {heads} hd {head_dim}");
        assert_close(&fused, &composite, &what);
        assert_same_gradients(&fused, &composite, weights.as_tensor(), &[(&qkv, &what)]);
    }

    #[test]
    fn matches_the_composite_graph_within_one_tile() {
        compare(2, 9, 2, 4);
    }

    #[test]
    fn matches_the_composite_graph_across_partial_tiles() {
        compare(1, 2 * TILE + 5, 3, 8);
    }

    #[test]
    fn the_first_position_attends_to_itself_only() {
        let (seq, head_dim) = (4, 2);
        let qkv = normal_var((seq, 3 * head_dim), 1.0, 5);
        let rope = Arc::new(RopeTable::new(head_dim, seq));
        let op = CausalSelfAttention {
            batch: 1,
            seq,
            heads: 1,
            head_dim,
            rope,
        };
        let context = op.apply(qkv.as_tensor()).unwrap().to_vec2::<f32>().unwrap();
        let values = qkv.as_tensor().to_vec2::<f32>().unwrap();
        assert_eq!(context[0], values[0][2 * head_dim..].to_vec());
    }

    #[test]
    fn a_wrong_shape_or_short_rope_table_is_an_error() {
        let qkv = normal_var((8, 12), 1.0, 5);
        let rope = Arc::new(RopeTable::new(4, 8));
        let wrong_batch = CausalSelfAttention {
            batch: 3,
            seq: 4,
            heads: 1,
            head_dim: 4,
            rope,
        };
        assert!(
            wrong_batch
                .apply(qkv.as_tensor())
                .unwrap_err()
                .to_string()
                .contains("expected (3 × 4")
        );
        let short = CausalSelfAttention {
            batch: 1,
            seq: 8,
            heads: 1,
            head_dim: 4,
            rope: Arc::new(RopeTable::new(4, 4)),
        };
        assert!(
            short
                .apply(qkv.as_tensor())
                .unwrap_err()
                .to_string()
                .contains("covers 4 positions")
        );
    }

    #[test]
    fn results_do_not_depend_on_the_thread_count() {
        let qkv = normal_var((2 * 70, 3 * 16), 1.0, 9);
        let rope = Arc::new(RopeTable::new(8, 70));
        let op = CausalSelfAttention {
            batch: 2,
            seq: 70,
            heads: 2,
            head_dim: 8,
            rope,
        };
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                let context = op.apply(qkv.as_tensor()).unwrap();
                let grad = context
                    .sqr()
                    .unwrap()
                    .sum_all()
                    .unwrap()
                    .backward()
                    .unwrap();
                (
                    context.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
                    grad.get(qkv.as_tensor())
                        .unwrap()
                        .flatten_all()
                        .unwrap()
                        .to_vec1::<f32>()
                        .unwrap(),
                )
            })
        };
        assert_eq!(run(1), run(3));
    }
}
