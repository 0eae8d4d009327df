//! LSH banding: a signature of b·r values is cut into b bands of r rows and each band is
//! hashed to a 64-bit key; two documents become candidates when any band key agrees, which
//! happens with probability 1 − (1 − s^r)^b at Jaccard similarity s (the S-curve).
//! [`LshParams::optimal`] picks b and r for a threshold the way datasketch does: minimize
//! the weighted areas of false positives (below the threshold) and false negatives (above).

use serde::{Deserialize, Serialize};

use super::fmix64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LshParams {
    pub bands: usize,
    pub rows: usize,
}

/// ∫ f over [lo, hi] by composite Simpson's rule (the integrands are smooth polynomials).
fn integrate(f: impl Fn(f64) -> f64, lo: f64, hi: f64) -> f64 {
    const INTERVALS: usize = 1024;
    let h = (hi - lo) / INTERVALS as f64;
    let mut sum = f(lo) + f(hi);
    for i in 1..INTERVALS {
        let weight = if i % 2 == 1 { 4.0 } else { 2.0 };
        sum += weight * f(lo + i as f64 * h);
    }
    sum * h / 3.0
}

impl LshParams {
    /// Probability that two documents at Jaccard `s` share at least one band.
    pub fn candidate_probability(&self, s: f64) -> f64 {
        1.0 - (1.0 - s.powi(self.rows as i32)).powi(self.bands as i32)
    }

    /// Area under the S-curve below `threshold`: pairs we would wrongly call candidates.
    pub fn false_positive_area(&self, threshold: f64) -> f64 {
        integrate(|s| self.candidate_probability(s), 0.0, threshold)
    }

    /// Area above the S-curve beyond `threshold`: similar pairs we would miss.
    pub fn false_negative_area(&self, threshold: f64) -> f64 {
        integrate(|s| 1.0 - self.candidate_probability(s), threshold, 1.0)
    }

    /// The (b, r) with b·r ≤ `num_perm` minimizing `fp_weight`·FP + `fn_weight`·FN area,
    /// searched in datasketch's order (first minimum wins).
    pub fn optimal(threshold: f64, num_perm: usize, fp_weight: f64, fn_weight: f64) -> Self {
        let mut best = Self { bands: 1, rows: 1 };
        let mut best_error = f64::INFINITY;
        for bands in 1..=num_perm {
            for rows in 1..=num_perm / bands {
                let params = Self { bands, rows };
                let error = params.false_positive_area(threshold) * fp_weight
                    + params.false_negative_area(threshold) * fn_weight;
                if error < best_error {
                    best_error = error;
                    best = params;
                }
            }
        }
        best
    }

    /// Permutations the bands use (b·r).
    pub fn used_permutations(&self) -> usize {
        self.bands * self.rows
    }

    /// (similarity, candidate probability) at `points` + 1 evenly spaced similarities.
    pub fn s_curve(&self, points: usize) -> Vec<(f64, f64)> {
        (0..=points)
            .map(|i| {
                let s = i as f64 / points as f64;
                (s, self.candidate_probability(s))
            })
            .collect()
    }
}

/// Writes the b band keys of `signature` (at least b·r values) into `keys`. Keys of
/// different bands differ even for equal rows (the band index is hashed in), so all bands
/// can share one table.
pub fn band_keys(signature: &[u64], params: &LshParams, seed: u64, keys: &mut [u64]) {
    let LshParams { bands, rows } = *params;
    assert!(
        signature.len() >= bands * rows,
        "signature shorter than bands × rows"
    );
    assert_eq!(keys.len(), bands, "one key per band");
    for (band, key) in keys.iter_mut().enumerate() {
        let mut h = fmix64(seed ^ (band as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        for &value in &signature[band * rows..(band + 1) * rows] {
            h = fmix64(h.rotate_left(29) ^ value);
        }
        *key = h;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optimal_matches_datasketch_choices() {
        // datasketch 2.0 MinHashLSH(threshold, num_perm).b, .r with default weights.
        for (threshold, num_perm, bands, rows) in [
            (0.5, 128, 25, 5),
            (0.7, 128, 14, 9),
            (0.8, 128, 9, 13),
            (0.9, 128, 5, 25),
            (0.7, 112, 12, 9),
            (0.3, 128, 37, 3),
        ] {
            assert_eq!(
                LshParams::optimal(threshold, num_perm, 0.5, 0.5),
                LshParams { bands, rows },
                "threshold {threshold}, {num_perm} permutations"
            );
        }
    }

    #[test]
    fn s_curve_is_monotone_and_areas_add_up() {
        let params = LshParams { bands: 14, rows: 8 };
        let curve = params.s_curve(20);
        assert!(curve.windows(2).all(|w| w[0].1 <= w[1].1));
        assert_eq!(curve[0].1, 0.0);
        assert!((curve[20].1 - 1.0).abs() < 1e-12);
        // The whole area under the curve, split at t, adds back up.
        let total = integrate(|s| params.candidate_probability(s), 0.0, 1.0);
        let split = params.false_positive_area(0.6) + (0.4 - params.false_negative_area(0.6));
        assert!((total - split).abs() < 1e-9);
    }

    #[test]
    fn band_keys_depend_on_band_and_rows() {
        let params = LshParams { bands: 2, rows: 2 };
        let mut a = [0; 2];
        let mut b = [0; 2];
        band_keys(&[1, 2, 1, 2], &params, 0, &mut a);
        assert_ne!(a[0], a[1], "same rows in two bands give different keys");
        band_keys(&[1, 2, 9, 9], &params, 0, &mut b);
        assert_eq!(a[0], b[0]);
        assert_ne!(a[1], b[1]);
    }
}
