//! Expected improvement (Jones et al., 1998), the acquisition of [`crate::bayes_opt`]: how
//! much a point is expected to beat the incumbent under a Gaussian posterior,
//! `EI = (I) Φ(I/σ) + σ φ(I/σ)` with `I` the improvement of the mean over the incumbent.
//! No exploration offset (`ξ = 0`).

use std::f64::consts::{FRAC_1_SQRT_2, PI};

/// The expected improvement over `incumbent` of a point whose value is `N(mean, std²)`;
/// improvement means lower when `minimize`, higher otherwise. With `std` 0 it is the plain
/// improvement, floored at 0.
pub fn expected_improvement(mean: f64, std: f64, incumbent: f64, minimize: bool) -> f64 {
    let improvement = if minimize {
        incumbent - mean
    } else {
        mean - incumbent
    };
    if std <= 0.0 || !std.is_finite() {
        return improvement.max(0.0);
    }
    let z = improvement / std;
    (improvement * normal_cdf(z) + std * normal_pdf(z)).max(0.0)
}

pub fn normal_pdf(z: f64) -> f64 {
    (-0.5 * z * z).exp() / (2.0 * PI).sqrt()
}

pub fn normal_cdf(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 - 0.5 * erfc(z * FRAC_1_SQRT_2)
    } else {
        0.5 * erfc(-z * FRAC_1_SQRT_2)
    }
}

/// The complementary error function for `x ≥ 0`: the all-positive series
/// `erf x = 2/√π e^{-x²} Σ 2ⁿ x^{2n+1} / (1·3·…·(2n+1))` below 2.5, Lentz's continued
/// fraction `erfc x = e^{-x²}/√π · 1/(x + ½/(x + 1/(x + 3/2/(x + …))))` above; both to about
/// 1e-15 relative.
fn erfc(x: f64) -> f64 {
    if x < 2.5 {
        let mut term = x;
        let mut sum = x;
        let mut n = 0.0;
        while term > 1e-17 * sum {
            n += 1.0;
            term *= 2.0 * x * x / (2.0 * n + 1.0);
            sum += term;
        }
        return 1.0 - 2.0 / PI.sqrt() * (-x * x).exp() * sum;
    }
    // f = x + a₁/(x + a₂/(x + …)) with aₖ = k/2, by the modified Lentz method.
    let tiny = 1e-300;
    let mut f = x;
    let mut c = x;
    let mut d = 0.0;
    for k in 1..200 {
        let a = k as f64 / 2.0;
        d = x + a * d;
        d = if d.abs() < tiny { tiny } else { d };
        c = x + a / c;
        c = if c.abs() < tiny { tiny } else { c };
        d = 1.0 / d;
        let delta = c * d;
        f *= delta;
        if (delta - 1.0).abs() < 1e-16 {
            break;
        }
    }
    (-x * x).exp() / PI.sqrt() / f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_normal_distribution_matches_tabulated_values() {
        assert!((normal_cdf(0.0) - 0.5).abs() < 1e-15);
        assert!((normal_cdf(1.0) - 0.841_344_746_068_542_9).abs() < 1e-14);
        assert!((normal_cdf(-1.959_963_984_540_054) - 0.025).abs() < 1e-14);
        assert!((normal_cdf(3.0) - 0.998_650_101_968_369_9).abs() < 1e-14);
        assert!((normal_cdf(-5.0) / 2.866_515_718_791_939e-7 - 1.0).abs() < 1e-12);
        assert!((normal_pdf(1.0) - 0.241_970_724_519_143_37).abs() < 1e-15);
    }

    #[test]
    fn expected_improvement_matches_the_closed_form() {
        // At the incumbent: σ φ(0) = 2 / √(2π).
        let at_incumbent = expected_improvement(5.0, 2.0, 5.0, true);
        assert!((at_incumbent - 0.797_884_560_802_865_4).abs() < 1e-14);
        // Mean one σ better: I Φ(1) + σ φ(1) = 0.841344746… + 0.241970724….
        let better = expected_improvement(0.0, 1.0, 1.0, true);
        assert!((better - 1.083_315_470_587_686_2).abs() < 1e-14);
        // One σ worse: −Φ(−1) + φ(1).
        let worse = expected_improvement(2.0, 1.0, 1.0, true);
        assert!((worse - 0.083_315_470_587_686_23).abs() < 1e-14);
        // Maximizing mirrors minimizing.
        assert_eq!(expected_improvement(2.0, 1.0, 1.0, false), better);
        assert_eq!(expected_improvement(0.0, 1.0, 1.0, false), worse);
    }

    #[test]
    fn certain_points_improve_by_their_mean_or_not_at_all() {
        assert_eq!(expected_improvement(0.5, 0.0, 1.0, true), 0.5);
        assert_eq!(expected_improvement(1.5, 0.0, 1.0, true), 0.0);
        assert!(expected_improvement(30.0, 1.0, 0.0, true) >= 0.0);
    }
}
