//! A small seeded random number generator (xoshiro256** seeded through SplitMix64) whose
//! output never changes across platforms or dependency upgrades, so every seeded artefact of
//! blend (synthetic corpora, shuffles, samples) is reproducible byte for byte.

/// xoshiro256** with SplitMix64 seeding. Not cryptographic.
#[derive(Debug, Clone)]
pub struct SeededRng {
    state: [u64; 4],
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl SeededRng {
    pub fn new(seed: u64) -> Self {
        let mut sm = seed;
        let state = [
            splitmix64(&mut sm),
            splitmix64(&mut sm),
            splitmix64(&mut sm),
            splitmix64(&mut sm),
        ];
        Self { state }
    }

    /// An independent stream for a named purpose, so adding a new consumer of randomness
    /// does not shift the numbers another consumer sees.
    pub fn for_stream(seed: u64, stream: &str) -> Self {
        let label = xxhash_rust::xxh3::xxh3_64(stream.as_bytes());
        Self::new(seed ^ label.rotate_left(17))
    }

    pub fn next_u64(&mut self) -> u64 {
        let result = self.state[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.state[1] << 17;
        self.state[2] ^= self.state[0];
        self.state[3] ^= self.state[1];
        self.state[1] ^= self.state[2];
        self.state[0] ^= self.state[3];
        self.state[2] ^= t;
        self.state[3] = self.state[3].rotate_left(45);
        result
    }

    /// Uniform in [0, 1) with 53 bits of precision.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform integer in [0, n) without modulo bias (Lemire's method). `n` must be > 0.
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "SeededRng::below needs n > 0");
        let mut product = u128::from(self.next_u64()) * u128::from(n);
        let mut low = product as u64;
        if low < n {
            let threshold = n.wrapping_neg() % n;
            while low < threshold {
                product = u128::from(self.next_u64()) * u128::from(n);
                low = product as u64;
            }
        }
        (product >> 64) as u64
    }

    /// Uniform integer in the inclusive range [low, high].
    pub fn range_inclusive(&mut self, low: u64, high: u64) -> u64 {
        assert!(low <= high, "empty range {low}..={high}");
        low + self.below(high - low + 1)
    }

    pub fn bernoulli(&mut self, probability: f64) -> bool {
        self.next_f64() < probability
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// Fisher-Yates shuffle.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }

    /// Index drawn with probability proportional to `weights` (non-negative, not all zero).
    pub fn weighted_index(&mut self, weights: &[f64]) -> usize {
        let total: f64 = weights.iter().sum();
        assert!(total > 0.0, "weighted_index needs a positive total weight");
        let mut target = self.next_f64() * total;
        for (index, weight) in weights.iter().enumerate() {
            if target < *weight {
                return index;
            }
            target -= weight;
        }
        weights.iter().rposition(|w| *w > 0.0).unwrap_or(0)
    }

    /// Zipf-like rank in [0, n): P(rank) ∝ 1 / (rank + 1)^exponent, by inverse transform
    /// on the continuous approximation. Cheap, and skewed the way word frequencies are.
    pub fn zipf(&mut self, n: usize, exponent: f64) -> usize {
        let n_f = n as f64;
        let u = self.next_f64();
        let rank = if (exponent - 1.0).abs() < 1e-9 {
            (n_f + 1.0).powf(u) - 1.0
        } else {
            let a = 1.0 - exponent;
            (((n_f + 1.0).powf(a) - 1.0) * u + 1.0).powf(1.0 / a) - 1.0
        };
        (rank as usize).min(n - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream_and_known_first_value() {
        let mut a = SeededRng::new(7);
        let mut b = SeededRng::new(7);
        let first: Vec<u64> = (0..5).map(|_| a.next_u64()).collect();
        let again: Vec<u64> = (0..5).map(|_| b.next_u64()).collect();
        assert_eq!(first, again);
        assert_ne!(SeededRng::new(8).next_u64(), first[0]);
    }

    #[test]
    fn below_is_in_range_and_roughly_uniform() {
        let mut rng = SeededRng::new(1);
        let mut counts = [0u32; 10];
        for _ in 0..100_000 {
            counts[rng.below(10) as usize] += 1;
        }
        for count in counts {
            assert!((9_000..11_000).contains(&count), "{counts:?}");
        }
    }

    #[test]
    fn weighted_index_follows_weights() {
        let mut rng = SeededRng::new(3);
        let mut hits = [0u32; 3];
        for _ in 0..60_000 {
            hits[rng.weighted_index(&[1.0, 0.0, 2.0])] += 1;
        }
        assert_eq!(hits[1], 0);
        let ratio = f64::from(hits[2]) / f64::from(hits[0]);
        assert!((1.85..2.15).contains(&ratio), "{hits:?}");
    }

    #[test]
    fn zipf_prefers_low_ranks() {
        let mut rng = SeededRng::new(5);
        let mut low = 0;
        for _ in 0..10_000 {
            let rank = rng.zipf(1000, 1.1);
            assert!(rank < 1000);
            if rank < 10 {
                low += 1;
            }
        }
        assert!(low > 3_000, "{low}");
    }

    #[test]
    fn shuffle_is_a_permutation() {
        let mut rng = SeededRng::new(9);
        let mut items: Vec<u32> = (0..100).collect();
        rng.shuffle(&mut items);
        assert_ne!(items, (0..100).collect::<Vec<_>>());
        items.sort_unstable();
        assert_eq!(items, (0..100).collect::<Vec<_>>());
    }
}
