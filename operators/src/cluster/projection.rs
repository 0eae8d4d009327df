//! A 2-D view of cluster centroids for the report: weighted PCA by power iteration (the
//! first two principal axes of the centroids, each weighted by its documents), with each
//! axis's sign fixed so the same centroids always draw the same picture.

/// Coordinates of each row of `points` (row-major, `weights.len() × dim`) on the first two
/// principal axes.
pub fn pca_2d(points: &[f32], dim: usize, weights: &[f64]) -> Vec<(f64, f64)> {
    let n = weights.len();
    assert_eq!(points.len(), n * dim, "points are weights.len() × dim");
    if n == 0 || dim == 0 {
        return vec![(0.0, 0.0); n];
    }
    let total: f64 = weights.iter().sum::<f64>().max(f64::MIN_POSITIVE);
    let mut mean = vec![0f64; dim];
    for (row, w) in points.chunks_exact(dim).zip(weights) {
        for (m, x) in mean.iter_mut().zip(row) {
            *m += w * f64::from(*x) / total;
        }
    }
    let centered: Vec<Vec<f64>> = points
        .chunks_exact(dim)
        .map(|row| {
            row.iter()
                .zip(&mean)
                .map(|(x, m)| f64::from(*x) - m)
                .collect()
        })
        .collect();
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    let mut axes: Vec<Vec<f64>> = Vec::new();
    for axis in 0..2 {
        // Start from the centered row farthest from the mean (deterministic, and never
        // orthogonal to the leading axis unless every row is).
        let start = (0..n)
            .max_by(|&a, &b| {
                dot(&centered[a], &centered[a])
                    .total_cmp(&dot(&centered[b], &centered[b]))
                    .then(b.cmp(&a))
            })
            .unwrap_or(0);
        let mut v = centered[start].clone();
        if axis == 1 {
            v.iter_mut()
                .enumerate()
                .for_each(|(i, x)| *x += (i % 7) as f64 * 1e-3);
        }
        for _ in 0..200 {
            let mut next = vec![0f64; dim];
            for (row, w) in centered.iter().zip(weights) {
                let along = w * dot(row, &v);
                for (a, x) in next.iter_mut().zip(row) {
                    *a += along * x;
                }
            }
            for previous in &axes {
                let along = dot(&next, previous);
                for (a, p) in next.iter_mut().zip(previous) {
                    *a -= along * p;
                }
            }
            let norm = dot(&next, &next).sqrt();
            if norm < 1e-12 {
                next = vec![0.0; dim];
                v = next;
                break;
            }
            next.iter_mut().for_each(|x| *x /= norm);
            v = next;
        }
        // Sign: the coordinate of largest magnitude is positive.
        if let Some(largest) = v.iter().copied().max_by(|a, b| a.abs().total_cmp(&b.abs()))
            && largest < 0.0
        {
            v.iter_mut().for_each(|x| *x = -*x);
        }
        axes.push(v);
    }
    centered
        .iter()
        .map(|row| (dot(row, &axes[0]), dot(row, &axes[1])))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_the_spread_directions_of_a_flat_cloud() {
        // Points on a 3-D plane spanned by (1,1,0)/√2 (spread 10) and (0,0,1) (spread 1).
        let mut points = Vec::new();
        for (a, b) in [(-10.0, 1.0), (-10.0, -1.0), (10.0, 1.0), (10.0, -1.0)] {
            let s = std::f32::consts::FRAC_1_SQRT_2 * a;
            points.extend([s, s, b]);
        }
        let xy = pca_2d(&points, 3, &[1.0; 4]);
        for ((x, y), (a, b)) in
            xy.iter()
                .zip([(-10.0, 1.0), (-10.0, -1.0), (10.0, 1.0), (10.0, -1.0)])
        {
            assert!((x.abs() - f64::abs(a)).abs() < 1e-4, "{xy:?}");
            assert!((y.abs() - f64::abs(b)).abs() < 1e-4, "{xy:?}");
        }
        assert_eq!(xy, pca_2d(&points, 3, &[1.0; 4]));
        assert_eq!(pca_2d(&points[..3], 3, &[1.0]), vec![(0.0, 0.0)]);
    }
}
