//! k-means over dense f32 rows: k-means++ seeding (greedy, with 2 + ln k trials per centre as
//! scikit-learn does), then Lloyd iterations with the assignment step in parallel, or
//! mini-batch updates (Sculley 2010) for millions of points. Points are assigned in chunks by
//! ‖c‖² − 2x·c, the x·c of a chunk against all centres from one matrix product (`gemm`, the
//! kernel candle uses), and the exact distance to the chosen centre is kept. Deterministic for a seed: rows
//! are visited in a fixed order and every reduction sums in chunk order, whatever the number
//! of threads. A cluster left empty takes the point farthest from its centre.

use rayon::prelude::*;

use crate::SeededRng;
use crate::matmul::{MatrixMut, MatrixRef};

/// Rows per parallel chunk; sums are combined in chunk order, so results do not depend on
/// the thread count.
const CHUNK: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KMeansConfig {
    pub k: usize,
    pub max_iterations: usize,
    /// Stop when the centres' total squared shift is at most this times the mean per-feature
    /// variance of the data (scikit-learn's definition).
    pub tolerance: f64,
    pub seed: u64,
    /// Mini-batch size; `None` runs full Lloyd iterations.
    pub mini_batch: Option<usize>,
}

impl KMeansConfig {
    pub fn new(k: usize, seed: u64) -> Self {
        Self {
            k,
            max_iterations: 100,
            tolerance: 1e-4,
            seed,
            mini_batch: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct KMeans {
    pub dim: usize,
    /// Row-major `k × dim`.
    pub centroids: Vec<f32>,
    pub assignments: Vec<u32>,
    /// Sum of squared distances of the points to their centres.
    pub inertia: f64,
    pub iterations: usize,
    /// Clusters that were empty after an update and were given a far point.
    pub repaired: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KMeansError {
    Shape(String),
}

impl std::fmt::Display for KMeansError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Shape(message) => write!(f, "k-means: {message}"),
        }
    }
}

impl std::error::Error for KMeansError {}

/// Squared Euclidean distance with 8 independent accumulators, so the compiler can keep
/// them in vector registers (a single running sum is a serial dependency chain).
fn squared_distance(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0f32; 8];
    let (a_blocks, b_blocks) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = a_blocks
        .remainder()
        .iter()
        .zip(b_blocks.remainder())
        .map(|(x, y)| (x - y) * (x - y))
        .sum();
    for (x, y) in a_blocks.zip(b_blocks) {
        for lane in 0..8 {
            let d = x[lane] - y[lane];
            lanes[lane] += d * d;
        }
    }
    lanes.iter().sum::<f32>() + tail
}

/// The nearest centre of `point` and its squared distance, by direct distances (the
/// reference the matrix-product assignment is tested against).
#[cfg(test)]
fn nearest(point: &[f32], centroids: &[f32], dim: usize) -> (u32, f32) {
    let mut best = (0u32, f32::INFINITY);
    for (c, centre) in centroids.chunks_exact(dim).enumerate() {
        let d = squared_distance(point, centre);
        if d < best.1 {
            best = (c as u32, d);
        }
    }
    best
}

/// `out[i·k + j] = rows[i] · centroids[j]` for the `m` rows, one matrix product.
fn dot_products(rows: &[f32], centroids: &[f32], dim: usize, out: &mut [f32]) {
    let m = rows.len() / dim;
    let k = centroids.len() / dim;
    assert!(rows.len() == m * dim && centroids.len() == k * dim && out.len() == m * k);
    crate::matmul::matmul(
        MatrixMut::row_major(out, m, k),
        MatrixRef::row_major(rows, m, dim),
        MatrixRef::row_major(centroids, k, dim).t(),
        false,
    );
}

/// Nearest centre of each row of `rows` by ‖c‖² − 2x·c (the x·c of a chunk from one matrix
/// product, as scikit-learn does), then the exact squared distance to it.
fn assign_chunk(
    rows: &[f32],
    dim: usize,
    centroids: &[f32],
    centroid_norms: &[f32],
    labels: &mut [u32],
    distances: &mut [f32],
) {
    let k = centroid_norms.len();
    let mut dots = vec![0f32; labels.len() * k];
    dot_products(rows, centroids, dim, &mut dots);
    for (((row, dots), label), distance) in rows
        .chunks_exact(dim)
        .zip(dots.chunks_exact(k))
        .zip(labels)
        .zip(distances)
    {
        let mut best = (0usize, f32::INFINITY);
        for (c, (&norm, &dot)) in centroid_norms.iter().zip(dots).enumerate() {
            let score = norm - 2.0 * dot;
            if score < best.1 {
                best = (c, score);
            }
        }
        *label = best.0 as u32;
        *distance = squared_distance(row, &centroids[best.0 * dim..(best.0 + 1) * dim]);
    }
}

fn squared_norms(centroids: &[f32], dim: usize) -> Vec<f32> {
    let origin = vec![0f32; dim];
    centroids
        .chunks_exact(dim)
        .map(|c| squared_distance(c, &origin))
        .collect()
}

/// Assigns every row; returns the squared distances beside.
fn assign(points: &[f32], dim: usize, centroids: &[f32], assignments: &mut [u32]) -> Vec<f32> {
    let norms = squared_norms(centroids, dim);
    let mut distances = vec![0f32; assignments.len()];
    points
        .par_chunks(CHUNK * dim)
        .zip(assignments.par_chunks_mut(CHUNK))
        .zip(distances.par_chunks_mut(CHUNK))
        .for_each(|((rows, labels), dists)| {
            assign_chunk(rows, dim, centroids, &norms, labels, dists);
        });
    distances
}

/// The nearest of `centroids` (row-major, `dim` each) to every row of `points`, as
/// [`kmeans`] assigns them: what a streaming pass uses to place documents that were not in
/// the fitted sample.
pub fn nearest_centroids(points: &[f32], dim: usize, centroids: &[f32]) -> Vec<u32> {
    assert!(
        dim > 0 && points.len().is_multiple_of(dim) && centroids.len().is_multiple_of(dim),
        "rows of {dim} values"
    );
    let mut assignments = vec![0u32; points.len() / dim];
    assign(points, dim, centroids, &mut assignments);
    assignments
}

/// k-means++ seeding: each new centre is the best (lowest potential) of `2 + ln k`
/// candidates drawn with probability proportional to the squared distance to the nearest
/// chosen centre.
fn seed_centroids(points: &[f32], dim: usize, k: usize, rng: &mut SeededRng) -> Vec<f32> {
    let n = points.len() / dim;
    let row = |i: usize| &points[i * dim..(i + 1) * dim];
    let trials = 2 + (k as f64).ln().floor() as usize;
    let mut centroids = Vec::with_capacity(k * dim);
    let first = rng.below(n as u64) as usize;
    centroids.extend_from_slice(row(first));
    let mut closest: Vec<f32> = points
        .par_chunks(dim)
        .map(|p| squared_distance(p, row(first)))
        .collect();
    for _ in 1..k {
        let total: f64 = closest.iter().map(|&d| f64::from(d)).sum();
        let mut best: Option<(f64, usize, Vec<f32>)> = None;
        for _ in 0..trials {
            let candidate = if total > 0.0 {
                let mut target = rng.next_f64() * total;
                let mut chosen = n - 1;
                for (i, &d) in closest.iter().enumerate() {
                    target -= f64::from(d);
                    if target <= 0.0 {
                        chosen = i;
                        break;
                    }
                }
                chosen
            } else {
                rng.below(n as u64) as usize
            };
            let updated: Vec<f32> = points
                .par_chunks(dim)
                .zip(&closest)
                .map(|(p, &d)| d.min(squared_distance(p, row(candidate))))
                .collect();
            let potential: f64 = updated.iter().map(|&d| f64::from(d)).sum();
            if best.as_ref().is_none_or(|b| potential < b.0) {
                best = Some((potential, candidate, updated));
            }
        }
        let (_, chosen, updated) = best.expect("at least one trial");
        centroids.extend_from_slice(row(chosen));
        closest = updated;
    }
    centroids
}

/// Per-cluster coordinate sums and counts over `points` with `assignments`, summed per chunk
/// and combined in chunk order.
fn cluster_sums(points: &[f32], dim: usize, k: usize, assignments: &[u32]) -> (Vec<f64>, Vec<u64>) {
    let partials: Vec<(Vec<f64>, Vec<u64>)> = points
        .par_chunks(CHUNK * dim)
        .zip(assignments.par_chunks(CHUNK))
        .map(|(rows, labels)| {
            let mut sums = vec![0f64; k * dim];
            let mut counts = vec![0u64; k];
            for (row, &label) in rows.chunks_exact(dim).zip(labels) {
                let c = label as usize;
                counts[c] += 1;
                for (s, &x) in sums[c * dim..(c + 1) * dim].iter_mut().zip(row) {
                    *s += f64::from(x);
                }
            }
            (sums, counts)
        })
        .collect();
    let mut sums = vec![0f64; k * dim];
    let mut counts = vec![0u64; k];
    for (partial_sums, partial_counts) in partials {
        for (s, p) in sums.iter_mut().zip(partial_sums) {
            *s += p;
        }
        for (c, p) in counts.iter_mut().zip(partial_counts) {
            *c += p;
        }
    }
    (sums, counts)
}

/// Gives every empty cluster the point currently farthest from its centre (each point at
/// most once); returns how many were repaired.
fn repair_empty(
    points: &[f32],
    dim: usize,
    counts: &[u64],
    distances: &[f32],
    centroids: &mut [f32],
) -> usize {
    let empty: Vec<usize> = (0..counts.len()).filter(|&c| counts[c] == 0).collect();
    if empty.is_empty() {
        return 0;
    }
    let mut far: Vec<usize> = (0..distances.len()).collect();
    far.sort_by(|&a, &b| distances[b].total_cmp(&distances[a]).then(a.cmp(&b)));
    for (&cluster, &point) in empty.iter().zip(&far) {
        centroids[cluster * dim..(cluster + 1) * dim]
            .copy_from_slice(&points[point * dim..(point + 1) * dim]);
    }
    empty.len()
}

/// Mean over features of each feature's variance.
fn mean_feature_variance(points: &[f32], dim: usize) -> f64 {
    let n = (points.len() / dim) as f64;
    let mut sum = vec![0f64; dim];
    let mut square = vec![0f64; dim];
    for row in points.chunks_exact(dim) {
        for ((s, q), &x) in sum.iter_mut().zip(&mut square).zip(row) {
            *s += f64::from(x);
            *q += f64::from(x) * f64::from(x);
        }
    }
    let variance: f64 = sum
        .iter()
        .zip(&square)
        .map(|(s, q)| (q / n - (s / n).powi(2)).max(0.0))
        .sum();
    variance / dim as f64
}

/// Clusters the `n × dim` row-major `points` into `config.k` clusters.
pub fn kmeans(points: &[f32], dim: usize, config: &KMeansConfig) -> Result<KMeans, KMeansError> {
    if dim == 0 || !points.len().is_multiple_of(dim) {
        return Err(KMeansError::Shape(format!(
            "{} values are not rows of {dim}",
            points.len()
        )));
    }
    let n = points.len() / dim;
    if config.k == 0 || config.k > n {
        return Err(KMeansError::Shape(format!(
            "k = {} needs between 1 and {n} points",
            config.k
        )));
    }
    if points.iter().any(|x| !x.is_finite()) {
        return Err(KMeansError::Shape(
            "the points hold NaN or infinite values".into(),
        ));
    }
    let k = config.k;
    let mut rng = SeededRng::for_stream(config.seed, "kmeans");
    let mut centroids = match config.mini_batch {
        // Mini-batch seeds on a sample of 3 batches (scikit-learn's `init_size`), not on all
        // points: seeding all of them costs more than the updates.
        Some(batch) if 3 * batch < n && 3 * batch >= k => {
            let mut sample: Vec<usize> = (0..n).collect();
            rng.shuffle(&mut sample);
            let mut rows = Vec::with_capacity(3 * batch * dim);
            for &i in &sample[..3 * batch] {
                rows.extend_from_slice(&points[i * dim..(i + 1) * dim]);
            }
            seed_centroids(&rows, dim, k, &mut rng)
        }
        _ => seed_centroids(points, dim, k, &mut rng),
    };
    let tolerance = config.tolerance * mean_feature_variance(points, dim);
    let mut assignments = vec![0u32; n];
    let mut repaired = 0;
    let mut iterations = 0;
    match config.mini_batch {
        None => {
            for _ in 0..config.max_iterations {
                iterations += 1;
                let distances = assign(points, dim, &centroids, &mut assignments);
                let (sums, counts) = cluster_sums(points, dim, k, &assignments);
                let mut shift = 0f64;
                for c in 0..k {
                    if counts[c] == 0 {
                        continue;
                    }
                    for j in 0..dim {
                        let value = (sums[c * dim + j] / counts[c] as f64) as f32;
                        let old = centroids[c * dim + j];
                        shift += f64::from(value - old).powi(2);
                        centroids[c * dim + j] = value;
                    }
                }
                let fixed = repair_empty(points, dim, &counts, &distances, &mut centroids);
                repaired += fixed;
                if fixed == 0 && shift <= tolerance {
                    break;
                }
            }
        }
        Some(batch) => {
            let batch = batch.clamp(1, n);
            let mut seen = vec![0u64; k];
            let mut rows = Vec::with_capacity(batch);
            let mut gathered = Vec::with_capacity(batch * dim);
            for _ in 0..config.max_iterations {
                iterations += 1;
                rows.clear();
                rows.extend((0..batch).map(|_| rng.below(n as u64) as usize));
                gathered.clear();
                for &i in &rows {
                    gathered.extend_from_slice(&points[i * dim..(i + 1) * dim]);
                }
                let mut labels = vec![0u32; batch];
                assign(&gathered, dim, &centroids, &mut labels);
                for (&i, &label) in rows.iter().zip(&labels) {
                    let c = label as usize;
                    seen[c] += 1;
                    let rate = 1.0 / seen[c] as f32;
                    let centre = &mut centroids[c * dim..(c + 1) * dim];
                    for (x, &p) in centre.iter_mut().zip(&points[i * dim..(i + 1) * dim]) {
                        *x += rate * (p - *x);
                    }
                }
            }
        }
    }
    let distances = assign(points, dim, &centroids, &mut assignments);
    let inertia = distances.iter().map(|&d| f64::from(d)).sum();
    Ok(KMeans {
        dim,
        centroids,
        assignments,
        inertia,
        iterations,
        repaired,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `per` points around each of `centres` (2-D), spread ±`spread`.
    fn blobs(centres: &[(f32, f32)], per: usize, spread: f32, seed: u64) -> (Vec<f32>, Vec<usize>) {
        let mut rng = SeededRng::new(seed);
        let mut points = Vec::new();
        let mut truth = Vec::new();
        for (c, &(x, y)) in centres.iter().enumerate() {
            for _ in 0..per {
                points.push(x + spread * (2.0 * rng.next_f64() as f32 - 1.0));
                points.push(y + spread * (2.0 * rng.next_f64() as f32 - 1.0));
                truth.push(c);
            }
        }
        (points, truth)
    }

    fn pure(assignments: &[u32], truth: &[usize]) -> bool {
        // Every true blob maps to exactly one cluster, and clusters are not shared.
        let mut map = std::collections::HashMap::new();
        for (&a, &t) in assignments.iter().zip(truth) {
            if *map.entry(t).or_insert(a) != a {
                return false;
            }
        }
        let clusters: std::collections::HashSet<_> = map.values().collect();
        clusters.len() == map.len()
    }

    #[test]
    fn separates_well_spread_blobs_deterministically() {
        let centres = [
            (0.0, 0.0),
            (10.0, 0.0),
            (0.0, 10.0),
            (10.0, 10.0),
            (5.0, 20.0),
        ];
        let (points, truth) = blobs(&centres, 300, 1.0, 3);
        let result = kmeans(&points, 2, &KMeansConfig::new(5, 7)).unwrap();
        assert!(pure(&result.assignments, &truth));
        let again = kmeans(&points, 2, &KMeansConfig::new(5, 7)).unwrap();
        assert_eq!(result, again);
        // Inertia of uniform ±1 noise in 2-D: 2/3 per point.
        let per_point = result.inertia / truth.len() as f64;
        assert!((per_point - 2.0 / 3.0).abs() < 0.1, "{per_point}");
        assert_eq!(
            nearest_centroids(&points, 2, &result.centroids),
            result.assignments,
            "a streaming pass places every point where k-means did"
        );
    }

    #[test]
    fn thread_count_does_not_change_the_result() {
        let (points, _) = blobs(&[(0.0, 0.0), (3.0, 1.0), (1.0, 4.0)], 5000, 2.0, 4);
        let config = KMeansConfig::new(8, 1);
        let run = |threads: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| kmeans(&points, 2, &config).unwrap())
        };
        assert_eq!(run(1), run(3));
    }

    #[test]
    fn mini_batch_comes_close_to_lloyd() {
        let centres: Vec<(f32, f32)> = (0..10)
            .map(|i| ((i % 5) as f32 * 8.0, (i / 5) as f32 * 8.0))
            .collect();
        let (points, truth) = blobs(&centres, 500, 1.5, 5);
        let full = kmeans(&points, 2, &KMeansConfig::new(10, 2)).unwrap();
        let mut config = KMeansConfig::new(10, 2);
        config.mini_batch = Some(256);
        config.max_iterations = 200;
        let mini = kmeans(&points, 2, &config).unwrap();
        assert!(pure(&full.assignments, &truth));
        assert!(
            mini.inertia < full.inertia * 1.05,
            "{} vs {}",
            mini.inertia,
            full.inertia
        );
    }

    #[test]
    fn empty_clusters_are_repaired_and_bad_shapes_rejected() {
        // Three distinct points, one duplicated many times: k = 3 must still use 3 clusters.
        let mut points = vec![0.0f32, 0.0, 5.0, 5.0, 9.0, 0.0];
        points.extend(std::iter::repeat_n([0.0f32, 0.0], 50).flatten());
        let result = kmeans(&points, 2, &KMeansConfig::new(3, 0)).unwrap();
        let used: std::collections::HashSet<_> = result.assignments.iter().collect();
        assert_eq!(used.len(), 3);
        assert!(result.inertia < 1e-9);
        assert!(kmeans(&points, 3, &KMeansConfig::new(2, 0)).is_err());
        assert!(kmeans(&points, 2, &KMeansConfig::new(0, 0)).is_err());
        assert!(kmeans(&[f32::NAN, 0.0], 2, &KMeansConfig::new(1, 0)).is_err());
    }

    #[test]
    fn matrix_product_assignment_matches_direct_distances() {
        // Random points and centres away from the origin (where ‖x‖² − 2x·c + ‖c‖² loses
        // the most precision): labels agree except where two centres are within rounding,
        // and the kept distance is always the exact one to the chosen centre.
        let mut rng = SeededRng::new(9);
        let dim = 37;
        let points: Vec<f32> = (0..5000 * dim)
            .map(|_| 5.0 + rng.next_f64() as f32)
            .collect();
        let centroids: Vec<f32> = (0..23 * dim).map(|_| 5.0 + rng.next_f64() as f32).collect();
        let mut labels = vec![0u32; 5000];
        let distances = assign(&points, dim, &centroids, &mut labels);
        let max_centre_norm = squared_norms(&centroids, dim)
            .into_iter()
            .fold(0f32, f32::max);
        for (i, row) in points.chunks_exact(dim).enumerate() {
            let (best, best_distance) = nearest(row, &centroids, dim);
            assert!(
                (distances[i]
                    - squared_distance(row, &centroids[labels[i] as usize * dim..][..dim]))
                .abs()
                    < 1e-6
            );
            if labels[i] != best {
                // ‖c‖² − 2x·c in f32 is exact to a few ulps of ‖x‖² + ‖c‖².
                let row_norm: f32 = row.iter().map(|x| x * x).sum();
                let bound = 8.0 * f32::EPSILON * (row_norm + max_centre_norm);
                assert!(
                    distances[i] - best_distance <= bound,
                    "row {i}: {} at {} vs {best} at {best_distance}",
                    labels[i],
                    distances[i]
                );
            }
        }
    }

    #[test]
    fn an_empty_cluster_takes_the_farthest_point() {
        let points = [0.0f32, 0.0, 1.0, 0.0, 9.0, 9.0, 2.0, 0.0];
        let mut centroids = vec![1.0f32, 0.0, 50.0, 50.0];
        let counts = [4u64, 0];
        let distances = [1.0f32, 0.0, 128.0, 1.0];
        let repaired = repair_empty(&points, 2, &counts, &distances, &mut centroids);
        assert_eq!(repaired, 1);
        assert_eq!(centroids, vec![1.0, 0.0, 9.0, 9.0]);
        assert_eq!(
            repair_empty(&points, 2, &[2, 2], &distances, &mut centroids),
            0
        );
    }

    #[test]
    fn lloyd_never_raises_the_inertia_of_its_seeding() {
        // Property: over random data, the final inertia is at most the seeding's.
        for seed in 0..10 {
            let mut rng = SeededRng::new(seed);
            let points: Vec<f32> = (0..600).map(|_| rng.next_f64() as f32).collect();
            let mut config = KMeansConfig::new(6, seed);
            config.max_iterations = 0;
            let seeded = kmeans(&points, 3, &config).unwrap();
            config.max_iterations = 50;
            let fitted = kmeans(&points, 3, &config).unwrap();
            assert!(fitted.inertia <= seeded.inertia + 1e-9, "seed {seed}");
        }
    }
}
