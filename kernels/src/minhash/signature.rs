//! MinHash signatures: k hash functions `h_i(x) = a_i·x + b_i mod 2^64` (odd `a_i`, seeded)
//! applied to 64-bit shingle hashes, keeping the minimum of each. The inner loop over the k
//! functions is branch-free and vectorizes; it is compiled for AVX-512 (64-bit multiply and
//! unsigned min in one instruction each), AVX2 and portable code, chosen at run time
//! (`BLEND_SIMD=portable` forces the portable reference). Documents run in parallel with
//! rayon; a signature never depends on the thread count.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::one_permutation::OnePermutationHasher;
use super::shingles::{ShingleConfig, shingle_hashes};
use crate::rng::SeededRng;
pub use crate::simd_level::simd_name;
use crate::simd_level::{SimdLevel, simd_level};

/// Which MinHash scheme computes signatures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignatureKind {
    /// k independent permutations (the classic scheme; datasketch, datatrove).
    Permutations,
    /// One permutation split into k bins with optimal densification: one hash per
    /// shingle instead of k, so much faster on long documents.
    OnePermutation,
}

/// k seeded permutations.
#[derive(Debug, Clone)]
pub struct MinHasher {
    multipliers: Vec<u64>,
    increments: Vec<u64>,
}

impl MinHasher {
    pub fn new(num_perm: usize, seed: u64) -> Self {
        let mut rng = SeededRng::for_stream(seed, "minhash.permutations");
        let multipliers = (0..num_perm).map(|_| rng.next_u64() | 1).collect();
        let increments = (0..num_perm).map(|_| rng.next_u64()).collect();
        Self {
            multipliers,
            increments,
        }
    }

    pub fn num_perm(&self) -> usize {
        self.multipliers.len()
    }

    /// The signature of a set of shingle hashes into `signature` (length k). All `u64::MAX`
    /// for an empty set.
    pub fn sign(&self, shingles: &[u64], signature: &mut [u64]) {
        assert_eq!(
            signature.len(),
            self.num_perm(),
            "signature length must be k"
        );
        signature.fill(u64::MAX);
        match simd_level() {
            #[cfg(target_arch = "x86_64")]
            SimdLevel::Avx512 => {
                // SAFETY: simd_level() returned Avx512 only after the CPU reported
                // avx512f and avx512dq.
                #[allow(unsafe_code)]
                unsafe {
                    min_loop_avx512(&self.multipliers, &self.increments, shingles, signature)
                }
            }
            #[cfg(target_arch = "x86_64")]
            SimdLevel::Avx2 => {
                // SAFETY: simd_level() returned Avx2 only after the CPU reported avx2.
                #[allow(unsafe_code)]
                unsafe {
                    min_loop_avx2(&self.multipliers, &self.increments, shingles, signature)
                }
            }
            SimdLevel::Portable => {
                min_loop(&self.multipliers, &self.increments, shingles, signature)
            }
        }
    }

    /// The portable reference of [`MinHasher::sign`], for tests.
    pub fn sign_portable(&self, shingles: &[u64], signature: &mut [u64]) {
        signature.fill(u64::MAX);
        min_loop(&self.multipliers, &self.increments, shingles, signature);
    }
}

/// Signature values computed together, kept in registers while every shingle streams by.
const LANES: usize = 32;

#[inline(always)]
fn min_loop(multipliers: &[u64], increments: &[u64], shingles: &[u64], signature: &mut [u64]) {
    let k = signature.len();
    let (multipliers, increments) = (&multipliers[..k], &increments[..k]);
    let full = k - k % LANES;
    for start in (0..full).step_by(LANES) {
        let a: [u64; LANES] = multipliers[start..start + LANES]
            .try_into()
            .expect("LANES values");
        let b: [u64; LANES] = increments[start..start + LANES]
            .try_into()
            .expect("LANES values");
        let mut lowest: [u64; LANES] = signature[start..start + LANES]
            .try_into()
            .expect("LANES values");
        for &x in shingles {
            for lane in 0..LANES {
                lowest[lane] = lowest[lane].min(a[lane].wrapping_mul(x).wrapping_add(b[lane]));
            }
        }
        signature[start..start + LANES].copy_from_slice(&lowest);
    }
    for &x in shingles {
        for i in full..k {
            let value = multipliers[i].wrapping_mul(x).wrapping_add(increments[i]);
            signature[i] = signature[i].min(value);
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq,avx512vl")]
fn min_loop_avx512(
    multipliers: &[u64],
    increments: &[u64],
    shingles: &[u64],
    signature: &mut [u64],
) {
    min_loop(multipliers, increments, shingles, signature)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn min_loop_avx2(multipliers: &[u64], increments: &[u64], shingles: &[u64], signature: &mut [u64]) {
    min_loop(multipliers, increments, shingles, signature)
}

/// Shingling plus a signature scheme: turns documents into signatures.
#[derive(Debug, Clone)]
pub struct SignatureScheme {
    pub shingles: ShingleConfig,
    pub num_perm: usize,
    hasher: Hasher,
}

#[derive(Debug, Clone)]
enum Hasher {
    Permutations(MinHasher),
    OnePermutation(OnePermutationHasher),
}

impl SignatureScheme {
    pub fn new(shingles: ShingleConfig, kind: SignatureKind, num_perm: usize, seed: u64) -> Self {
        let hasher = match kind {
            SignatureKind::Permutations => Hasher::Permutations(MinHasher::new(num_perm, seed)),
            SignatureKind::OnePermutation => {
                Hasher::OnePermutation(OnePermutationHasher::new(num_perm, seed))
            }
        };
        Self {
            shingles,
            num_perm,
            hasher,
        }
    }

    /// Signature of one document; returns false (and leaves all `u64::MAX`) when the
    /// document has no shingles.
    pub fn sign_text(
        &self,
        text: &str,
        shingle_buffer: &mut Vec<u64>,
        signature: &mut [u64],
    ) -> bool {
        shingle_buffer.clear();
        shingle_hashes(text, &self.shingles, shingle_buffer);
        match &self.hasher {
            Hasher::Permutations(hasher) => hasher.sign(shingle_buffer, signature),
            Hasher::OnePermutation(hasher) => hasher.sign(shingle_buffer, signature),
        }
        !shingle_buffer.is_empty()
    }

    /// Signatures of `texts`, k values per document in document order, computed in
    /// parallel; the flag says whether the document had any shingle.
    pub fn sign_batch(&self, texts: &[&str]) -> (Vec<u64>, Vec<bool>) {
        let k = self.num_perm;
        let mut signatures = vec![u64::MAX; texts.len() * k];
        let mut has_shingles = vec![false; texts.len()];
        signatures
            .par_chunks_mut(k.max(1))
            .zip(has_shingles.par_iter_mut())
            .zip(texts.par_iter())
            .for_each_init(Vec::new, |buffer, ((signature, has), text)| {
                *has = self.sign_text(text, buffer, signature);
            });
        (signatures, has_shingles)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_loop_equals_portable_reference() {
        let mut rng = SeededRng::new(3);
        for k in [1, 7, 64, 112, 128, 256] {
            let hasher = MinHasher::new(k, 9);
            for len in [0, 1, 5, 100] {
                let shingles: Vec<u64> = (0..len).map(|_| rng.next_u64()).collect();
                let mut fast = vec![0; k];
                let mut reference = vec![0; k];
                hasher.sign(&shingles, &mut fast);
                hasher.sign_portable(&shingles, &mut reference);
                assert_eq!(fast, reference, "k={k} len={len} simd={}", simd_name());
            }
        }
    }

    #[test]
    fn signatures_do_not_depend_on_threads_or_batching() {
        let scheme =
            SignatureScheme::new(ShingleConfig::words(3), SignatureKind::Permutations, 32, 1);
        let texts: Vec<String> = (0..50)
            .map(|i| format!("doc {i} shares some words with the others {}", i % 7))
            .collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let (all, _) = scheme.sign_batch(&refs);
        let one_thread = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let (single, _) = one_thread.install(|| scheme.sign_batch(&refs));
        assert_eq!(all, single);
        let (first_half, _) = scheme.sign_batch(&refs[..20]);
        assert_eq!(&all[..20 * 32], &first_half[..]);
        let (_, has) = scheme.sign_batch(&["", "!!!", "word"]);
        assert_eq!(has, [false, false, true]);
    }
}
