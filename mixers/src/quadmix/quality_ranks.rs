//! A domain's documents ranked by quality: every quality column becomes a within-domain
//! percentile (0 the best), the percentiles are merged by weights, and the merged scores are
//! ranked again, so a rank `r` in `[0, 1)` says "better than `1 - r` of this domain". Ties
//! share their mean position; a missing (NaN) value counts as the worst.

/// Ranks of one domain's `n` documents: `columns[j][i]` is quality column `j` of document
/// `i`, `higher_is_better[j]` its direction, `merge_weights[j]` its weight.
pub fn quality_ranks(
    columns: &[Vec<f64>],
    higher_is_better: &[bool],
    merge_weights: &[f64],
) -> Vec<f64> {
    let n = columns.first().map_or(0, Vec::len);
    let mut merged = vec![0.0; n];
    for ((values, &higher), &weight) in columns.iter().zip(higher_is_better).zip(merge_weights) {
        // Badness: lower is better, NaN the worst.
        let badness: Vec<f64> = values
            .iter()
            .map(|&v| match (v.is_nan(), higher) {
                (true, _) => f64::INFINITY,
                (false, true) => -v,
                (false, false) => v,
            })
            .collect();
        for (m, p) in merged.iter_mut().zip(percentiles(&badness)) {
            *m += weight * p;
        }
    }
    percentiles(&merged)
}

/// Each value's mean position in ascending order, divided by the count.
fn percentiles(values: &[f64]) -> Vec<f64> {
    let n = values.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut out = vec![0.0; n];
    let mut start = 0;
    while start < n {
        let mut end = start + 1;
        while end < n && values[order[end]] == values[order[start]] {
            end += 1;
        }
        let mean_position = (start + end - 1) as f64 / 2.0;
        for &i in &order[start..end] {
            out[i] = mean_position / n as f64;
        }
        start = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_best_document_ranks_first_in_either_direction() {
        let score = vec![0.9, 0.1, 0.5, 0.7];
        let ranks = quality_ranks(&[score], &[true], &[1.0]);
        assert_eq!(ranks, vec![0.0, 0.75, 0.5, 0.25]);
        let perplexity = vec![10.0, 50.0, 30.0, 20.0];
        assert_eq!(quality_ranks(&[perplexity], &[false], &[1.0]), ranks);
    }

    #[test]
    fn merge_weights_decide_between_disagreeing_columns() {
        let a = vec![1.0, 0.0, 0.5];
        let b = vec![0.0, 1.0, 0.4];
        let by_a = quality_ranks(&[a.clone(), b.clone()], &[true, true], &[0.9, 0.1]);
        assert!(by_a[0] < by_a[1], "{by_a:?}");
        let by_b = quality_ranks(&[a, b], &[true, true], &[0.1, 0.9]);
        assert!(by_b[1] < by_b[0], "{by_b:?}");
    }

    #[test]
    fn ties_share_a_rank_and_missing_values_are_worst() {
        let ranks = quality_ranks(&[vec![1.0, 1.0, f64::NAN, 0.0]], &[true], &[1.0]);
        assert_eq!(ranks[0], ranks[1]);
        assert_eq!(ranks[2], 0.75);
        assert!(ranks[3] < ranks[2]);
        assert!(quality_ranks(&[vec![]], &[true], &[1.0]).is_empty());
    }
}
