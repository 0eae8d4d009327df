//! One-permutation hashing (Li, Owen & Zhang 2012) with optimal densification
//! (Shrivastava 2017): each shingle is hashed once, the hash range is cut into k bins and
//! each bin keeps its minimum; an empty bin copies the value of a non-empty bin found by a
//! seeded probe sequence of its own, which keeps the estimator unbiased. k times fewer hash
//! evaluations than k permutations.

use super::fmix64;
use crate::rng::SeededRng;

#[derive(Debug, Clone)]
pub struct OnePermutationHasher {
    bins: usize,
    seed: u64,
}

impl OnePermutationHasher {
    pub fn new(bins: usize, seed: u64) -> Self {
        let seed = SeededRng::for_stream(seed, "minhash.one_permutation").next_u64();
        Self { bins, seed }
    }

    /// The densified signature of a shingle set into `signature` (length k). All `u64::MAX`
    /// for an empty set.
    pub fn sign(&self, shingles: &[u64], signature: &mut [u64]) {
        let k = self.bins;
        assert_eq!(signature.len(), k, "signature length must be k");
        signature.fill(u64::MAX);
        if shingles.is_empty() {
            return;
        }
        let mut filled = vec![false; k];
        for &x in shingles {
            let h = fmix64(x ^ self.seed);
            let bin = ((u128::from(h) * k as u128) >> 64) as usize;
            // The position inside the bin: the low bits, independent of the bin choice.
            let value = h.wrapping_mul(0x9E37_79B9_7F4A_7C15);
            if value < signature[bin] {
                signature[bin] = value;
            }
            filled[bin] = true;
        }
        if filled.iter().all(|f| *f) {
            return;
        }
        let original = signature.to_vec();
        for bin in 0..k {
            if filled[bin] {
                continue;
            }
            let mut attempt = 0u64;
            loop {
                let probe = fmix64(self.seed ^ ((bin as u64) << 32) ^ attempt);
                let donor = ((u128::from(probe) * k as u128) >> 64) as usize;
                if filled[donor] {
                    signature[bin] = original[donor];
                    break;
                }
                attempt += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bin_is_filled_and_identical_sets_agree() {
        let hasher = OnePermutationHasher::new(64, 5);
        let mut a = vec![0; 64];
        let mut b = vec![0; 64];
        hasher.sign(&[1, 2, 3], &mut a);
        hasher.sign(&[3, 2, 1], &mut b);
        assert_eq!(a, b);
        assert!(a.iter().all(|v| *v != u64::MAX));
        hasher.sign(&[], &mut a);
        assert!(a.iter().all(|v| *v == u64::MAX));
    }
}
