//! MinHash-LSH near-duplicate detection kernels: shingling, MinHash signatures (k
//! permutations or one-permutation hashing), LSH banding with a parameter chooser,
//! union-find for connected components, and exact Jaccard for verification. No I/O.

pub mod jaccard;
pub mod lsh;
pub mod one_permutation;
pub mod shingles;
pub mod signature;
pub mod union_find;

pub use jaccard::{jaccard, sorted_set};
pub use lsh::{LshParams, band_keys};
pub use one_permutation::OnePermutationHasher;
pub use shingles::{ShingleConfig, ShingleKind, shingle_hashes};
pub use signature::{MinHasher, SignatureKind, SignatureScheme, simd_name};
pub use union_find::UnionFind;

/// The 64-bit finalizer of MurmurHash3: a bijection that spreads every input bit.
#[inline(always)]
pub fn fmix64(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^= h >> 33;
    h
}
