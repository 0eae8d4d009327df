//! CLIMB's merge step: many fine clusters are joined into a few superclusters by centroid
//! similarity. Agglomerative: the two closest groups are joined until `target` groups remain,
//! closeness given by the [`Linkage`]. Ties go to the lowest indices, so the result is the
//! same on every run.

/// How close two groups of centroids are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Linkage {
    /// Ward: join the pair whose union least increases the within-group sum of squares,
    /// `nA·nB / (nA + nB) · ‖μA − μB‖²` over size-weighted means (the k-means objective).
    Ward,
    /// Average: mean cosine similarity of the member centroids, weighted by their sizes.
    Average,
}

impl Linkage {
    /// The name used in configs and reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Ward => "ward",
            Self::Average => "average",
        }
    }
}

/// Group of each centroid after merging `centroids` (row-major, `sizes.len() × dim`, each
/// weighted by its size) into `target` groups. Groups are numbered by descending total size
/// (ties: the group holding the lowest centroid index first).
pub fn merge_centroids(
    centroids: &[f32],
    dim: usize,
    sizes: &[u64],
    target: usize,
    linkage: Linkage,
) -> Vec<u32> {
    let k = sizes.len();
    assert_eq!(centroids.len(), k * dim, "centroids are sizes.len() × dim");
    let target = target.clamp(1, k.max(1));
    let rows: Vec<Vec<f64>> = (0..k)
        .map(|i| {
            centroids[i * dim..(i + 1) * dim]
                .iter()
                .map(|&x| f64::from(x))
                .collect()
        })
        .collect();
    let mut weights: Vec<f64> = sizes.iter().map(|&s| s.max(1) as f64).collect();
    // Size-weighted sums of each group (Ward's means are sums / weights).
    let mut sums: Vec<Vec<f64>> = rows
        .iter()
        .zip(&weights)
        .map(|(row, w)| row.iter().map(|x| x * w).collect())
        .collect();
    let units: Vec<Vec<f64>> = rows.iter().map(|r| unit(r)).collect();
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    // Closeness: higher joins first (Ward's cost is negated).
    let ward = |sa: &[f64], wa: f64, sb: &[f64], wb: f64| {
        let distance: f64 = sa
            .iter()
            .zip(sb)
            .map(|(a, b)| (a / wa - b / wb).powi(2))
            .sum();
        -(wa * wb / (wa + wb)) * distance
    };
    let mut table = vec![0f64; k * k];
    for i in 0..k {
        for j in (i + 1)..k {
            let s = match linkage {
                Linkage::Ward => ward(&sums[i], weights[i], &sums[j], weights[j]),
                Linkage::Average => dot(&units[i], &units[j]),
            };
            table[i * k + j] = s;
            table[j * k + i] = s;
        }
    }
    let mut group: Vec<usize> = (0..k).collect();
    let mut active = vec![true; k];
    let mut remaining = k;
    let best_of = |i: usize, table: &[f64], active: &[bool]| -> Option<(f64, usize)> {
        let mut best: Option<(f64, usize)> = None;
        for j in (0..k).filter(|&j| j != i && active[j]) {
            if best.is_none_or(|(s, _)| table[i * k + j] > s) {
                best = Some((table[i * k + j], j));
            }
        }
        best
    };
    let mut best: Vec<Option<(f64, usize)>> = (0..k).map(|i| best_of(i, &table, &active)).collect();
    while remaining > target {
        let mut pick: Option<(f64, usize, usize)> = None;
        for i in (0..k).filter(|&i| active[i]) {
            if let Some((s, j)) = best[i]
                && pick.is_none_or(|(ps, _, _)| s > ps)
            {
                pick = Some((s, i, j));
            }
        }
        let Some((_, a, b)) = pick else { break };
        let (keep, gone) = (a.min(b), a.max(b));
        for g in group.iter_mut().filter(|g| **g == gone) {
            *g = keep;
        }
        for r in (0..k).filter(|&r| active[r] && r != keep && r != gone) {
            let s = match linkage {
                Linkage::Ward => {
                    let merged: Vec<f64> = sums[keep]
                        .iter()
                        .zip(&sums[gone])
                        .map(|(x, y)| x + y)
                        .collect();
                    ward(&merged, weights[keep] + weights[gone], &sums[r], weights[r])
                }
                Linkage::Average => {
                    (weights[keep] * table[keep * k + r] + weights[gone] * table[gone * k + r])
                        / (weights[keep] + weights[gone])
                }
            };
            table[keep * k + r] = s;
            table[r * k + keep] = s;
        }
        let gone_sum = std::mem::take(&mut sums[gone]);
        for (x, y) in sums[keep].iter_mut().zip(&gone_sum) {
            *x += y;
        }
        weights[keep] += weights[gone];
        active[gone] = false;
        remaining -= 1;
        for r in (0..k).filter(|&r| active[r]) {
            best[r] = match best[r] {
                Some((_, j)) if r == keep || j == keep || j == gone => best_of(r, &table, &active),
                Some((s, j))
                    if table[r * k + keep] > s || (table[r * k + keep] == s && keep < j) =>
                {
                    Some((table[r * k + keep], keep))
                }
                other => other,
            };
        }
    }
    // Renumber groups by descending size, ties by lowest member.
    let mut totals: Vec<(u64, usize)> = (0..k)
        .filter(|&i| active[i])
        .map(|i| {
            let total = (0..k).filter(|&m| group[m] == i).map(|m| sizes[m]).sum();
            (total, i)
        })
        .collect();
    totals.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut number = vec![0u32; k];
    for (n, (_, root)) in totals.iter().enumerate() {
        number[*root] = n as u32;
    }
    group.iter().map(|&g| number[g]).collect()
}

fn unit(values: &[f64]) -> Vec<f64> {
    let norm = values.iter().map(|x| x * x).sum::<f64>().sqrt();
    if norm > 0.0 {
        values.iter().map(|x| x / norm).collect()
    } else {
        values.to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearby_centroids_merge_first_and_groups_are_numbered_by_size() {
        // Two directions, three centroids near each; the second direction holds more docs.
        let centroids = [
            1.0, 0.0, 0.98, 0.2, 0.97, -0.2, // near x
            0.0, 1.0, 0.2, 0.98, -0.2, 0.97, // near y
        ];
        let sizes = [10, 10, 10, 30, 20, 20];
        for linkage in [Linkage::Ward, Linkage::Average] {
            let groups = merge_centroids(&centroids, 2, &sizes, 2, linkage);
            assert_eq!(groups, vec![1, 1, 1, 0, 0, 0], "{linkage:?}");
            let unmerged = merge_centroids(&centroids, 2, &sizes, 6, linkage);
            assert_eq!(unmerged, vec![3, 4, 5, 0, 1, 2]);
            assert_eq!(
                merge_centroids(&centroids, 2, &sizes, 1, linkage),
                vec![0; 6]
            );
        }
    }

    #[test]
    fn average_linkage_weighs_members_by_size() {
        // Unit vectors a, b, c, d at 0°, 22°, 50° and 80°: a and b (22° apart) merge first.
        // With equal sizes a+b's mean cosine to c is (cos 50° + cos 28°) / 2 = 0.76 < cos 30°,
        // so c joins d; when b holds most documents it is ≈ cos 28° = 0.88 and c joins a+b.
        let at = |degrees: f32| [degrees.to_radians().cos(), degrees.to_radians().sin()];
        let centroids = [at(0.0), at(22.0), at(50.0), at(80.0)].concat();
        assert_eq!(
            merge_centroids(&centroids, 2, &[1, 1, 1, 1], 2, Linkage::Average),
            vec![0, 0, 1, 1]
        );
        assert_eq!(
            merge_centroids(&centroids, 2, &[1, 1000, 1, 1], 2, Linkage::Average),
            vec![0, 0, 0, 1]
        );
    }
}
