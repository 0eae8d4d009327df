//! The linear program of mixture inference, solved with Clarabel (a sparse interior-point
//! solver in pure Rust):
//!
//! ```text
//! minimize   Σ_t v_t + Σ_p v_p
//! subject to Σ_i α_i d_i(t, p) + v_t + v_p ≥ 0   for each constraint (merge t, competing pair p)
//!            Σ_i α_i = 1,  α ≥ 0,  v ≥ 0
//! ```
//!
//! where `d_i(t, p)` is how much more often category `i` holds merge `t`'s pair than pair `p`
//! just before merge `t` (per million bytes of its sample).

use clarabel::algebra::CscMatrix;
use clarabel::solver::{
    DefaultSettingsBuilder, DefaultSolver, IPSolver, SolverStatus, SupportedConeT,
};

use crate::{MixerError, Result};

const SOLVER: &str = "Clarabel";

/// One constraint: merge `merge` must be at least as frequent as pair `pair`.
#[derive(Debug, Clone)]
pub struct PairConstraint {
    pub merge: u32,
    pub pair: u32,
    /// `d_i` per category.
    pub coefficients: Vec<f64>,
}

/// A solution of the program.
#[derive(Debug, Clone)]
pub struct SlackSolution {
    /// Category weights, clipped at 0 and summing to 1.
    pub weights: Vec<f64>,
    /// `(merge, v_t)` for merges with a constraint.
    pub merge_slacks: Vec<(u32, f64)>,
    /// `(pair, v_p)` for pairs with a constraint.
    pub pair_slacks: Vec<(u32, f64)>,
    pub objective: f64,
    pub iterations: u32,
}

/// Solves the program over `constraints` for `categories` weights.
pub fn solve_slack_lp(categories: usize, constraints: &[&PairConstraint]) -> Result<SlackSolution> {
    let mut merge_index: Vec<u32> = constraints.iter().map(|c| c.merge).collect();
    merge_index.sort_unstable();
    merge_index.dedup();
    let mut pair_index: Vec<u32> = constraints.iter().map(|c| c.pair).collect();
    pair_index.sort_unstable();
    pair_index.dedup();
    let merge_var = |merge: u32| categories + merge_index.binary_search(&merge).expect("indexed");
    let pair_var = |pair: u32| {
        categories + merge_index.len() + pair_index.binary_search(&pair).expect("indexed")
    };
    let variables = categories + merge_index.len() + pair_index.len();

    let mut rows = Vec::new();
    let mut columns = Vec::new();
    let mut values = Vec::new();
    // Row 0: the weights sum to 1 (zero cone).
    for i in 0..categories {
        rows.push(0);
        columns.push(i);
        values.push(1.0);
    }
    // Rows 1..=variables: every variable is non-negative.
    for j in 0..variables {
        rows.push(1 + j);
        columns.push(j);
        values.push(-1.0);
    }
    // Then one row per constraint: d·α + v_t + v_p ≥ 0.
    for (k, constraint) in constraints.iter().enumerate() {
        let row = 1 + variables + k;
        for (i, &d) in constraint.coefficients.iter().enumerate() {
            if d != 0.0 {
                rows.push(row);
                columns.push(i);
                values.push(-d);
            }
        }
        rows.push(row);
        columns.push(merge_var(constraint.merge));
        values.push(-1.0);
        rows.push(row);
        columns.push(pair_var(constraint.pair));
        values.push(-1.0);
    }
    let m = 1 + variables + constraints.len();
    let a = CscMatrix::new_from_triplets(m, variables, rows, columns, values);
    let p = CscMatrix::zeros((variables, variables));
    let mut q = vec![1.0; variables];
    q[..categories].fill(0.0);
    let mut b = vec![0.0; m];
    b[0] = 1.0;
    let cones = [
        SupportedConeT::ZeroConeT(1),
        SupportedConeT::NonnegativeConeT(variables + constraints.len()),
    ];
    let settings = DefaultSettingsBuilder::default()
        .verbose(false)
        .max_iter(400)
        .tol_gap_abs(1e-7)
        .tol_gap_rel(1e-7)
        .tol_feas(1e-7)
        .build()
        .map_err(|e| MixerError::Lp {
            solver: SOLVER,
            message: format!("settings: {e}"),
        })?;
    let mut solver =
        DefaultSolver::new(&p, &q, &a, &b, &cones, settings).map_err(|e| MixerError::Lp {
            solver: SOLVER,
            message: format!("setup: {e}"),
        })?;
    solver.solve();
    let solution = &solver.solution;
    if !matches!(
        solution.status,
        SolverStatus::Solved | SolverStatus::AlmostSolved
    ) {
        return Err(MixerError::LpStatus {
            solver: SOLVER,
            status: format!("{:?}", solution.status),
            iterations: solution.iterations,
            constraints: constraints.len(),
        });
    }
    let x = &solution.x;
    let mut weights: Vec<f64> = x[..categories].iter().map(|w| w.max(0.0)).collect();
    let total: f64 = weights.iter().sum();
    if total > 0.0 {
        weights.iter_mut().for_each(|w| *w /= total);
    }
    Ok(SlackSolution {
        weights,
        merge_slacks: merge_index
            .iter()
            .enumerate()
            .map(|(k, &t)| (t, x[categories + k].max(0.0)))
            .collect(),
        pair_slacks: pair_index
            .iter()
            .enumerate()
            .map(|(k, &pair)| (pair, x[categories + merge_index.len() + k].max(0.0)))
            .collect(),
        objective: solution.obj_val,
        iterations: solution.iterations,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feasible_constraints_pin_the_weights_without_slack() {
        // Category 0 favours the merge by 1, category 1 disfavours it by 3: α0 − 3 α1 ≥ 0
        // and, from a second constraint, −α0 + 3 α1 ≥ 0, so α = (0.75, 0.25) exactly.
        let constraints = [
            PairConstraint {
                merge: 0,
                pair: 10,
                coefficients: vec![1.0, -3.0],
            },
            PairConstraint {
                merge: 1,
                pair: 11,
                coefficients: vec![-1.0, 3.0],
            },
        ];
        let solution = solve_slack_lp(2, &constraints.iter().collect::<Vec<_>>()).unwrap();
        assert!((solution.weights[0] - 0.75).abs() < 1e-6, "{solution:?}");
        assert!(solution.objective.abs() < 1e-6);
    }

    #[test]
    fn infeasible_constraints_pay_the_smallest_slack() {
        // α0 ≥ 1 + ... : the merge needs 2 units more than category 1 can give; cheapest is
        // all weight on category 0 with slack 0 there.
        let constraints = [
            PairConstraint {
                merge: 0,
                pair: 5,
                coefficients: vec![-1.0, -2.0],
            },
            PairConstraint {
                merge: 1,
                pair: 6,
                coefficients: vec![1.0, -1.0],
            },
        ];
        let solution = solve_slack_lp(2, &constraints.iter().collect::<Vec<_>>()).unwrap();
        // Minimizing max(0, α0 + 2α1) + max(0, α1 − α0): α = (1, 0) costs 1; the optimum is
        // there since v_0 ≥ α0 + 2 α1 ≥ 1 always.
        assert!((solution.weights[0] - 1.0).abs() < 1e-5, "{solution:?}");
        assert!((solution.objective - 1.0).abs() < 1e-5);
        assert_eq!(solution.merge_slacks.len(), 2);
        assert_eq!(solution.pair_slacks.len(), 2);
    }
}
