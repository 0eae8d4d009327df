//! Property tests of the MinHash-LSH kernels: signature agreement estimates Jaccard within
//! its standard error, the LSH candidate rate follows the S-curve, and the two signature
//! schemes behave alike.

use blend_kernels::SeededRng;
use blend_kernels::minhash::{
    LshParams, MinHasher, OnePermutationHasher, band_keys, jaccard, sorted_set,
};

/// Two random sets with exactly `common` shared elements and `only_a`/`only_b` of their own.
fn set_pair(
    rng: &mut SeededRng,
    common: usize,
    only_a: usize,
    only_b: usize,
) -> (Vec<u64>, Vec<u64>) {
    let shared: Vec<u64> = (0..common).map(|_| rng.next_u64()).collect();
    let mut a = shared.clone();
    a.extend((0..only_a).map(|_| rng.next_u64()));
    let mut b = shared;
    b.extend((0..only_b).map(|_| rng.next_u64()));
    (a, b)
}

fn agreement(a: &[u64], b: &[u64]) -> f64 {
    a.iter().zip(b).filter(|(x, y)| x == y).count() as f64 / a.len() as f64
}

fn check_estimates(k: usize, sign: &dyn Fn(&[u64], &mut [u64])) {
    let mut rng = SeededRng::new(k as u64);
    let mut total_error = 0.0;
    let pairs = 300;
    for pair in 0..pairs {
        let union = 50 + rng.below(400) as usize;
        let common = rng.below(union as u64 + 1) as usize;
        let only_a = rng.below((union - common) as u64 + 1) as usize;
        let (a, b) = set_pair(&mut rng, common, only_a, union - common - only_a);
        let exact = jaccard(&sorted_set(a.clone()), &sorted_set(b.clone()));
        let mut sig_a = vec![0; k];
        let mut sig_b = vec![0; k];
        sign(&a, &mut sig_a);
        sign(&b, &mut sig_b);
        let estimate = agreement(&sig_a, &sig_b);
        let standard_error = (exact * (1.0 - exact) / k as f64).sqrt();
        assert!(
            (estimate - exact).abs() <= 4.5 * standard_error + 1e-9,
            "k={k} pair {pair}: estimate {estimate:.4} vs exact {exact:.4} (se {standard_error:.4})"
        );
        total_error += estimate - exact;
    }
    let mean_error = total_error / pairs as f64;
    assert!(
        mean_error.abs() < 0.01,
        "k={k}: biased, mean error {mean_error:.4}"
    );
}

#[test]
fn permutation_minhash_estimates_jaccard() {
    for k in [64, 128, 256] {
        let hasher = MinHasher::new(k, 42);
        check_estimates(k, &|set, sig| hasher.sign(set, sig));
    }
}

#[test]
fn one_permutation_minhash_estimates_jaccard() {
    for k in [64, 128] {
        let hasher = OnePermutationHasher::new(k, 42);
        check_estimates(k, &|set, sig| hasher.sign(set, sig));
    }
}

#[test]
fn candidate_rate_follows_the_s_curve() {
    let params = LshParams { bands: 14, rows: 8 };
    let k = params.used_permutations();
    let hasher = MinHasher::new(k, 7);
    let mut rng = SeededRng::new(99);
    let trials = 600;
    for similarity in [0.5, 0.7, 0.85] {
        let union = 300;
        let common = (similarity * union as f64).round() as usize;
        let mut candidates = 0;
        for _ in 0..trials {
            let (a, b) = set_pair(
                &mut rng,
                common,
                (union - common) / 2,
                union - common - (union - common) / 2,
            );
            let (mut sa, mut sb) = (vec![0; k], vec![0; k]);
            hasher.sign(&a, &mut sa);
            hasher.sign(&b, &mut sb);
            let (mut ka, mut kb) = (vec![0; params.bands], vec![0; params.bands]);
            band_keys(&sa, &params, 1, &mut ka);
            band_keys(&sb, &params, 1, &mut kb);
            if ka.iter().zip(&kb).any(|(x, y)| x == y) {
                candidates += 1;
            }
        }
        let s = common as f64 / union as f64;
        let expected = params.candidate_probability(s);
        let rate = candidates as f64 / trials as f64;
        let tolerance = 4.0 * (expected * (1.0 - expected) / trials as f64).sqrt() + 0.01;
        assert!(
            (rate - expected).abs() <= tolerance,
            "s={s:.2}: candidate rate {rate:.3}, S-curve says {expected:.3}"
        );
    }
}
