//! The row operations of a softmax over f32 values (max, exp with a shift and its sum,
//! dot products), written in lanes so they vectorize, and compiled for AVX-512, AVX2 and
//! portable code, chosen at run time ([`crate::simd_level`]).
//!
//! `exp` is a polynomial (Cephes' `expf`: `2ⁿ · p(r)` with `x = n·ln 2 + r`, |r| ≤ ln 2 / 2),
//! within 2 ulp of the true value; libm's `expf` is called one value at a time and took
//! most of a softmax row's time. Every level runs the same additions and multiplications in
//! the same order (no fused multiply-add), so every level gives the same bits; sums add
//! `LANES` partial sums in a fixed order. Inputs below −87.3 give 2⁻¹²⁶·p (about 1e-38)
//! rather than 0, and NaN stays NaN.

use crate::simd_level::{SimdLevel, simd_level};

/// Values handled side by side (one AVX-512 register).
const LANES: usize = 16;

const LOG2_E: f32 = std::f32::consts::LOG2_E;
/// ln 2 split in two, so `n·LN2_HI` is exact for the n that occur.
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;
/// Adding and subtracting 1.5·2²³ rounds to the nearest integer.
const ROUNDER: f32 = 12_582_912.0;
const MIN_INPUT: f32 = -87.3;
const MAX_INPUT: f32 = 88.3;
const P: [f32; 6] = [
    1.987_569_1e-4,
    1.398_199_9e-3,
    8.333_452e-3,
    4.166_579_6e-2,
    1.666_666_5e-1,
    0.5,
];

/// eˣ by the polynomial, for one value.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    let clamped = x.clamp(MIN_INPUT, MAX_INPUT);
    let shifted = clamped * LOG2_E + ROUNDER;
    let n = shifted - ROUNDER;
    let r = (clamped - n * LN2_HI) - n * LN2_LO;
    let p = ((((P[0] * r + P[1]) * r + P[2]) * r + P[3]) * r + P[4]) * r + P[5];
    let y = (p * (r * r) + r) + 1.0;
    // `shifted`'s low mantissa bits hold n (ROUNDER's are zero there): n + 127 moved into
    // the exponent field is 2ⁿ. Integer ops only, so the loop stays vectorized.
    let power = f32::from_bits(shifted.to_bits().wrapping_add(127) << 23);
    if x.is_nan() { x } else { y * power }
}

#[inline(always)]
fn max_body(values: &[f32]) -> f32 {
    let mut lanes = [f32::NEG_INFINITY; LANES];
    let mut chunks = values.chunks_exact(LANES);
    for chunk in &mut chunks {
        for (m, &v) in lanes.iter_mut().zip(chunk) {
            *m = if v > *m { v } else { *m };
        }
    }
    let tail = chunks.remainder().iter().copied();
    lanes
        .into_iter()
        .chain(tail)
        .fold(f32::NEG_INFINITY, |m, v| if v > m { v } else { m })
}

#[inline(always)]
fn exp_sum_body(values: &mut [f32], shift: f32) -> f32 {
    let mut lanes = [0f32; LANES];
    let mut chunks = values.chunks_exact_mut(LANES);
    for chunk in &mut chunks {
        for (sum, v) in lanes.iter_mut().zip(chunk) {
            *v = exp(*v - shift);
            *sum += *v;
        }
    }
    let mut tail = 0f32;
    for v in chunks.into_remainder() {
        *v = exp(*v - shift);
        tail += *v;
    }
    lanes.iter().sum::<f32>() + tail
}

#[inline(always)]
fn dot_body(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0f32; LANES];
    let (a_chunks, b_chunks) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: f32 = (a_chunks.remainder().iter())
        .zip(b_chunks.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in a_chunks.zip(b_chunks) {
        for ((sum, &x), &y) in lanes.iter_mut().zip(x).zip(y) {
            *sum += x * y;
        }
    }
    lanes.iter().sum::<f32>() + tail
}

/// Compiles `$body` once per level and calls the detected one.
macro_rules! dispatch {
    ($name:ident, $avx512:ident, $avx2:ident, $body:ident, ($($arg:ident: $ty:ty),*) -> $ret:ty) => {
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx512f,avx512dq,avx512vl")]
        fn $avx512($($arg: $ty),*) -> $ret {
            $body($($arg),*)
        }

        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2")]
        fn $avx2($($arg: $ty),*) -> $ret {
            $body($($arg),*)
        }

        #[allow(unsafe_code)]
        pub fn $name($($arg: $ty),*) -> $ret {
            match simd_level() {
                #[cfg(target_arch = "x86_64")]
                // SAFETY: simd_level() returns Avx512 only after the CPU reported avx512f,
                // avx512dq and avx512vl.
                SimdLevel::Avx512 => unsafe { $avx512($($arg),*) },
                #[cfg(target_arch = "x86_64")]
                // SAFETY: simd_level() returns Avx2 only after the CPU reported avx2.
                SimdLevel::Avx2 => unsafe { $avx2($($arg),*) },
                SimdLevel::Portable => $body($($arg),*),
            }
        }
    };
}

dispatch!(max, max_avx512, max_avx2, max_body, (values: &[f32]) -> f32);
dispatch!(exp_sum, exp_sum_avx512, exp_sum_avx2, exp_sum_body, (values: &mut [f32], shift: f32) -> f32);
dispatch!(dot, dot_avx512, dot_avx2, dot_body, (a: &[f32], b: &[f32]) -> f32);

/// Softmax of `values` in place: `exp(v − max) / Σ`.
pub fn softmax(values: &mut [f32]) {
    let sum = exp_sum(values, max(values));
    let inverse = 1.0 / sum;
    values.iter_mut().for_each(|v| *v *= inverse);
}

/// The portable references, for the tests that compare levels.
#[cfg(test)]
mod portable {
    pub(super) use super::{dot_body as dot, exp_sum_body as exp_sum, max_body as max};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_is_within_two_ulp_over_the_softmax_range() {
        let mut worst = 0f64;
        for i in 0..=200_000 {
            let x = -87.0 + 175.0 * i as f32 / 200_000.0;
            let exact = f64::from(x).exp();
            let ulp = f64::from(f32::EPSILON) * exact;
            worst = worst.max((f64::from(exp(x)) - exact).abs() / ulp);
        }
        assert!(worst <= 2.0, "worst error {worst} ulp");
    }

    #[test]
    fn softmax_sums_to_one_in_order() {
        let mut row = [1.0f32, 3.0, 2.0, -1.0];
        softmax(&mut row);
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(row[1] > row[2] && row[2] > row[0] && row[0] > row[3]);
    }

    #[test]
    fn exp_edges() {
        assert_eq!(exp(0.0), 1.0);
        assert!(exp(f32::NAN).is_nan());
        assert!(exp(f32::NEG_INFINITY) < 2e-38);
        assert!(exp(100.0).is_finite(), "clamped below overflow");
    }

    /// Seeded rows of 0..100 values in `low..high`.
    fn rows(low: f32, high: f32) -> impl Iterator<Item = Vec<f32>> {
        let mut rng = crate::SeededRng::new(17);
        (0..300).map(move |_| {
            let len = (rng.next_f64() * 100.0) as usize;
            let span = f64::from(high - low);
            (0..len)
                .map(|_| low + (rng.next_f64() * span) as f32)
                .collect()
        })
    }

    #[test]
    fn every_level_gives_the_portable_bits() {
        for (case, values) in rows(-80.0, 10.0).enumerate() {
            let shift = (case % 11) as f32 - 5.0;
            let mut fast = values.clone();
            let mut reference = values.clone();
            let sums = (
                exp_sum(&mut fast, shift),
                portable::exp_sum(&mut reference, shift),
            );
            assert_eq!(sums.0.to_bits(), sums.1.to_bits(), "case {case}");
            assert_eq!(fast, reference, "case {case}");
            assert_eq!(max(&values).to_bits(), portable::max(&values).to_bits());
            assert_eq!(
                dot(&values, &fast).to_bits(),
                portable::dot(&values, &fast).to_bits()
            );
        }
    }

    #[test]
    fn rows_match_the_sequential_definitions() {
        for values in rows(-30.0, 30.0).filter(|v| !v.is_empty()) {
            let expected_max = values.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            assert_eq!(max(&values), expected_max);
            let mut exps = values.clone();
            let sum = f64::from(exp_sum(&mut exps, expected_max));
            let expected: f64 = values
                .iter()
                .map(|&v| f64::from(v - expected_max).exp())
                .sum();
            assert!(
                (sum - expected).abs() <= 1e-5 * expected,
                "{sum} vs {expected}"
            );
            let squares: f64 = values.iter().map(|&v| f64::from(v) * f64::from(v)).sum();
            let dot = f64::from(dot(&values, &values));
            assert!(
                (dot - squares).abs() <= 1e-5 * squares.max(1.0),
                "{dot} vs {squares}"
            );
        }
    }
}
