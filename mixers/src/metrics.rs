//! How well predictions match measurements: Spearman's ρ (the figure RegMix reports), R²
//! and mean absolute error.

/// Ranks from 1, ties sharing their average rank.
pub fn ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0.0; values.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && values[order[end]] == values[order[start]] {
            end += 1;
        }
        let rank = (start + end + 1) as f64 / 2.0;
        for &i in &order[start..end] {
            ranks[i] = rank;
        }
        start = end;
    }
    ranks
}

/// Pearson's correlation; NaN when either side is constant.
pub fn pearson(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len(), "pearson over slices of different lengths");
    let n = a.len() as f64;
    let (mean_a, mean_b) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let (mut cov, mut var_a, mut var_b) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        cov += (x - mean_a) * (y - mean_b);
        var_a += (x - mean_a).powi(2);
        var_b += (y - mean_b).powi(2);
    }
    cov / (var_a * var_b).sqrt()
}

/// Spearman's rank correlation (Pearson over average ranks).
pub fn spearman(a: &[f64], b: &[f64]) -> f64 {
    pearson(&ranks(a), &ranks(b))
}

/// Coefficient of determination of `predicted` for `actual`.
pub fn r_squared(actual: &[f64], predicted: &[f64]) -> f64 {
    let mean = actual.iter().sum::<f64>() / actual.len() as f64;
    let residual: f64 = actual
        .iter()
        .zip(predicted)
        .map(|(a, p)| (a - p).powi(2))
        .sum();
    let total: f64 = actual.iter().map(|a| (a - mean).powi(2)).sum();
    1.0 - residual / total
}

pub fn mean_absolute_error(actual: &[f64], predicted: &[f64]) -> f64 {
    actual
        .iter()
        .zip(predicted)
        .map(|(a, p)| (a - p).abs())
        .sum::<f64>()
        / actual.len() as f64
}

/// ρ, R² and MAE of one set of predictions.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FitQuality {
    pub spearman: f64,
    pub r_squared: f64,
    pub mae: f64,
}

impl FitQuality {
    pub fn of(actual: &[f64], predicted: &[f64]) -> Self {
        Self {
            spearman: spearman(actual, predicted),
            r_squared: r_squared(actual, predicted),
            mae: mean_absolute_error(actual, predicted),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_share_ranks() {
        assert_eq!(ranks(&[3.0, 1.0, 3.0, 2.0]), vec![3.5, 1.0, 3.5, 2.0]);
    }

    #[test]
    fn spearman_of_monotone_and_reversed() {
        let a = [1.0, 2.0, 3.0, 4.0, 5.0];
        let cubed: Vec<f64> = a.iter().map(|x: &f64| x.powi(3)).collect();
        assert!((spearman(&a, &cubed) - 1.0).abs() < 1e-12);
        let reversed: Vec<f64> = a.iter().rev().copied().collect();
        assert!((spearman(&a, &reversed) + 1.0).abs() < 1e-12);
        // scipy.stats.spearmanr([1,2,3,4,5], [2,1,4,3,5]) = 0.8
        assert!((spearman(&a, &[2.0, 1.0, 4.0, 3.0, 5.0]) - 0.8).abs() < 1e-12);
        assert!(spearman(&a, &[1.0; 5]).is_nan());
    }

    #[test]
    fn r_squared_and_mae() {
        let actual = [1.0, 2.0, 3.0];
        assert_eq!(r_squared(&actual, &actual), 1.0);
        assert_eq!(r_squared(&actual, &[2.0, 2.0, 2.0]), 0.0);
        assert!((mean_absolute_error(&actual, &[1.5, 2.0, 2.0]) - 0.5).abs() < 1e-12);
    }
}
