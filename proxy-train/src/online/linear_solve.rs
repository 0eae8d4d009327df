//! Dense `M · X = B` for the small square systems online reweighting solves (one row and
//! one column per domain): Gaussian elimination with partial pivoting, several right-hand
//! sides at once. Plain loops over `Vec<Vec<f64>>`; k is a handful of domains.

/// Pivots smaller than this (relative to the matrix's largest entry) count as zero.
const SINGULAR_TOLERANCE: f64 = 1e-12;

/// `X` with `matrix · X = rhs`; `matrix` is k×k, `rhs` is k×m (rows of equal length).
/// `None` when the matrix is singular or the shapes disagree.
pub fn solve(matrix: &[Vec<f64>], rhs: &[Vec<f64>]) -> Option<Vec<Vec<f64>>> {
    let k = matrix.len();
    let columns = rhs.first().map_or(0, Vec::len);
    if rhs.len() != k
        || matrix.iter().any(|row| row.len() != k)
        || rhs.iter().any(|row| row.len() != columns)
    {
        return None;
    }
    let scale = matrix
        .iter()
        .flatten()
        .fold(0.0f64, |largest, x| largest.max(x.abs()));
    if !(scale > 0.0 && scale.is_finite()) {
        return None;
    }
    let mut left = matrix.to_vec();
    let mut right = rhs.to_vec();
    for pivot_column in 0..k {
        let pivot_row = (pivot_column..k)
            .max_by(|&a, &b| {
                left[a][pivot_column]
                    .abs()
                    .total_cmp(&left[b][pivot_column].abs())
            })
            .expect("a non-empty range");
        if left[pivot_row][pivot_column].abs() <= SINGULAR_TOLERANCE * scale {
            return None;
        }
        left.swap(pivot_column, pivot_row);
        right.swap(pivot_column, pivot_row);
        let (left_done, left_below) = left.split_at_mut(pivot_column + 1);
        let (right_done, right_below) = right.split_at_mut(pivot_column + 1);
        let (pivot_left, pivot_right) = (&left_done[pivot_column], &right_done[pivot_column]);
        for (row_left, row_right) in left_below.iter_mut().zip(right_below.iter_mut()) {
            let factor = row_left[pivot_column] / pivot_left[pivot_column];
            for (x, pivot_x) in row_left.iter_mut().zip(pivot_left).skip(pivot_column) {
                *x -= factor * pivot_x;
            }
            for (x, pivot_x) in row_right.iter_mut().zip(pivot_right) {
                *x -= factor * pivot_x;
            }
        }
    }
    let mut solution = vec![vec![0.0; columns]; k];
    for row in (0..k).rev() {
        for column in 0..columns {
            let known: f64 = (row + 1..k)
                .map(|j| left[row][j] * solution[j][column])
                .sum();
            solution[row][column] = (right[row][column] - known) / left[row][row];
        }
    }
    Some(solution)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn multiply(a: &[Vec<f64>], b: &[Vec<f64>]) -> Vec<Vec<f64>> {
        a.iter()
            .map(|row| {
                (0..b[0].len())
                    .map(|j| row.iter().zip(b).map(|(x, b_row)| x * b_row[j]).sum())
                    .collect()
            })
            .collect()
    }

    fn assert_close(a: &[Vec<f64>], b: &[Vec<f64>]) {
        for (x, y) in a.iter().flatten().zip(b.iter().flatten()) {
            assert!((x - y).abs() < 1e-9, "{a:?} vs {b:?}");
        }
    }

    #[test]
    fn recovers_a_known_solution_with_several_right_hand_sides() {
        // A zero in the top-left corner needs a row swap.
        let matrix = vec![
            vec![0.0, 2.0, 1.0],
            vec![1.0, -1.0, 3.0],
            vec![4.0, 0.5, -2.0],
        ];
        let known = vec![vec![1.0, -2.0], vec![0.5, 3.0], vec![-1.5, 0.25]];
        let rhs = multiply(&matrix, &known);
        assert_close(&solve(&matrix, &rhs).unwrap(), &known);
    }

    #[test]
    fn singular_and_misshapen_systems_are_none() {
        let singular = vec![vec![1.0, 2.0], vec![2.0, 4.0]];
        assert!(solve(&singular, &[vec![1.0], vec![2.0]]).is_none());
        assert!(solve(&[vec![0.0]], &[vec![1.0]]).is_none());
        assert!(solve(&[vec![1.0, 0.0]], &[vec![1.0]]).is_none());
        assert!(solve(&[vec![1.0]], &[vec![1.0], vec![2.0]]).is_none());
    }
}
