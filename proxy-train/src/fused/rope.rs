//! Rotary position tables and the rotation itself on one row of a head: GPT-NeoX/Llama's
//! half rotation, `x·cos + rotate_half(x)·sin` with `rotate_half(x) = [−x₂, x₁]`, and its
//! transpose for the backward pass.

use candle_core::{Device, Tensor};

use crate::Result;

const ROPE_THETA: f64 = 10_000.0;

/// cos and sin of every position's angles, `positions × head_dim`, row-major; both halves
/// of a head rotate by the same angles.
#[derive(Debug, Clone, PartialEq)]
pub struct RopeTable {
    pub head_dim: usize,
    pub positions: usize,
    pub cos: Vec<f32>,
    pub sin: Vec<f32>,
}

impl RopeTable {
    pub fn new(head_dim: usize, positions: usize) -> Self {
        let mut cos = Vec::with_capacity(positions * head_dim);
        let mut sin = Vec::with_capacity(positions * head_dim);
        for position in 0..positions {
            let angles: Vec<f64> = (0..head_dim / 2)
                .map(|i| position as f64 * ROPE_THETA.powf(-((2 * i) as f64) / head_dim as f64))
                .collect();
            for _ in 0..2 {
                cos.extend(angles.iter().map(|a| a.cos() as f32));
                sin.extend(angles.iter().map(|a| a.sin() as f32));
            }
        }
        Self {
            head_dim,
            positions,
            cos,
            sin,
        }
    }

    /// (cos, sin) as `(positions, head_dim)` tensors, for the composite graph.
    pub fn tensors(&self, device: &Device) -> Result<(Tensor, Tensor)> {
        let shape = (self.positions, self.head_dim);
        Ok((
            Tensor::from_slice(&self.cos, shape, device)?,
            Tensor::from_slice(&self.sin, shape, device)?,
        ))
    }

    fn row(&self, position: usize) -> (&[f32], &[f32]) {
        let span = position * self.head_dim..(position + 1) * self.head_dim;
        (&self.cos[span.clone()], &self.sin[span])
    }

    /// `out = scale · rope(x)` for one head row at `position`.
    pub fn rotate(&self, x: &[f32], position: usize, scale: f32, out: &mut [f32]) {
        let (cos, sin) = self.row(position);
        let half = self.head_dim / 2;
        for c in 0..half {
            out[c] = scale * (x[c] * cos[c] - x[c + half] * sin[c]);
            out[c + half] = scale * (x[c + half] * cos[c + half] + x[c] * sin[c + half]);
        }
    }

    /// `out = scale · ropeᵀ(dy)`: the gradient of [`Self::rotate`] with respect to `x`.
    pub fn rotate_back(&self, dy: &[f32], position: usize, scale: f32, out: &mut [f32]) {
        let (cos, sin) = self.row(position);
        let half = self.head_dim / 2;
        for c in 0..half {
            out[c] = scale * (dy[c] * cos[c] + dy[c + half] * sin[c + half]);
            out[c + half] = scale * (dy[c + half] * cos[c + half] - dy[c] * sin[c]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_keeps_the_norm_and_rotate_back_inverts_it() {
        let table = RopeTable::new(8, 5);
        let x: Vec<f32> = (0..8).map(|i| i as f32 * 0.3 - 1.0).collect();
        let mut y = vec![0f32; 8];
        let mut back = vec![0f32; 8];
        table.rotate(&x, 4, 1.0, &mut y);
        table.rotate_back(&y, 4, 1.0, &mut back);
        let norm = |v: &[f32]| v.iter().map(|a| a * a).sum::<f32>().sqrt();
        assert!((norm(&x) - norm(&y)).abs() < 1e-5);
        assert_ne!(x, y, "position 4 rotates");
        for (a, b) in x.iter().zip(&back) {
            assert!((a - b).abs() < 1e-5, "{a} vs {b}");
        }
    }

    #[test]
    fn position_zero_is_the_identity() {
        let table = RopeTable::new(4, 2);
        let x = [1.0, -2.0, 3.0, 0.5];
        let mut y = [0f32; 4];
        table.rotate(&x, 0, 2.0, &mut y);
        assert_eq!(y, [2.0, -4.0, 6.0, 1.0]);
    }
}
