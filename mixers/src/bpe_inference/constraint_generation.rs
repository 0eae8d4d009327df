//! Lazy constraint generation over the replayed merge lists (Hayase et al., §3.2).
//!
//! The full program has a constraint for every merge and every pair that existed at that
//! merge: far too many to write down. Starting from uniform weights, a round walks the merges
//! in order keeping each pair's mixed count (Σ_i α_i c_i / n_i) in a max-heap, collects the
//! pairs that beat the chosen merge under the current weights and slacks, adds them as
//! constraints, and re-solves. When a walk finds no violated constraint, the weights are
//! optimal for the full program.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashSet};
use std::time::Instant;

use blend_kernels::bpe_replay::{Merge, PairMap, ReplayLog, pair_key};

use super::slack_lp::{PairConstraint, SlackSolution, solve_slack_lp};
use crate::{MixerError, Result};

/// Pair counts are compared per this many bytes of each category's sample.
const PER_BYTES: f64 = 1e6;
const ABSENT: u32 = u32::MAX;

/// Knobs of the constraint generation.
#[derive(Debug, Clone, Copy)]
pub struct InferenceOptions {
    /// At most this many new competitors per merge in one walk.
    pub competitors_per_merge: usize,
    /// A walk stops and the program is re-solved after this many new constraints.
    pub constraints_per_round: usize,
    /// Give up (with an error) after this many rounds.
    pub max_rounds: usize,
}

impl Default for InferenceOptions {
    fn default() -> Self {
        Self {
            competitors_per_merge: 10,
            constraints_per_round: 20_000,
            max_rounds: 10_000,
        }
    }
}

/// One category's replayed merges.
#[derive(Debug, Clone)]
pub struct CategoryLog {
    pub name: String,
    pub bytes: u64,
    pub log: ReplayLog,
}

/// The inferred mixture and how it was found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MixtureEstimate {
    pub categories: Vec<String>,
    pub weights: Vec<f64>,
    /// Merges walked.
    pub merges: usize,
    /// Merges whose pair occurs in no category's sample (no constraint can be written).
    pub merges_missing: usize,
    pub constraints: usize,
    pub rounds: usize,
    /// Total slack at the optimum (per million bytes): how far the samples are from
    /// explaining the merge order.
    pub objective: f64,
    pub solver_seconds: f64,
    pub seconds: f64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct HeapEntry {
    priority: f64,
    pair: u32,
}

impl Eq for HeapEntry {}

impl Ord for HeapEntry {
    fn cmp(&self, other: &Self) -> Ordering {
        self.priority
            .total_cmp(&other.priority)
            .then_with(|| other.pair.cmp(&self.pair))
    }
}

impl PartialOrd for HeapEntry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Pair ids shared by all categories.
struct PairIndex {
    /// Per category: local pair id → global id.
    to_global: Vec<Vec<u32>>,
    /// Per category: global id → local id (or [`ABSENT`]).
    to_local: Vec<Vec<u32>>,
    /// Global id of each merge's pair (or [`ABSENT`]).
    merge_pairs: Vec<u32>,
    pairs: usize,
}

impl PairIndex {
    fn new(logs: &[CategoryLog], merges: &[Merge]) -> Self {
        let mut global: PairMap<u32> = PairMap::default();
        let to_global: Vec<Vec<u32>> = logs
            .iter()
            .map(|category| {
                category
                    .log
                    .pair_keys
                    .iter()
                    .map(|&key| {
                        let next = global.len() as u32;
                        *global.entry(key).or_insert(next)
                    })
                    .collect()
            })
            .collect();
        let pairs = global.len();
        let to_local = to_global
            .iter()
            .map(|locals| {
                let mut map = vec![ABSENT; pairs];
                for (local, &g) in locals.iter().enumerate() {
                    map[g as usize] = local as u32;
                }
                map
            })
            .collect();
        let merge_pairs = merges
            .iter()
            .map(|m| {
                global
                    .get(&pair_key(m.left, m.right))
                    .copied()
                    .unwrap_or(ABSENT)
            })
            .collect();
        Self {
            to_global,
            to_local,
            merge_pairs,
            pairs,
        }
    }
}

/// Everything one walk over the merges needs from the last solution.
struct WalkState<'a> {
    logs: &'a [CategoryLog],
    index: &'a PairIndex,
    /// α_i · PER_BYTES / n_i.
    mix: Vec<f64>,
    /// 1 / n_i · PER_BYTES.
    scale: Vec<f64>,
    merge_slack: &'a [f64],
    pair_slack: &'a [f64],
}

/// What a walk found.
struct WalkResult {
    new_constraints: Vec<PairConstraint>,
    missing: usize,
}

impl WalkState<'_> {
    /// Walks the first `merges` merges, comparing each merge's mixed count with the pairs
    /// that beat it, until `constraints_per_round` new constraints are found.
    fn walk(
        &self,
        merges: usize,
        known: &mut HashSet<(u32, u32)>,
        options: &InferenceOptions,
    ) -> WalkResult {
        let categories = self.logs.len();
        let mut current = self.initial_counts();
        let mut priority = self.initial_priorities(&current);
        let mut heap: BinaryHeap<HeapEntry> = priority
            .iter()
            .enumerate()
            .filter(|&(_, &p)| p > 0.0)
            .map(|(pair, &priority)| HeapEntry {
                priority,
                pair: pair as u32,
            })
            .collect();
        let mut new_constraints = Vec::new();
        let mut missing = 0;
        for t in 0..merges {
            let merge_pair = self.index.merge_pairs[t];
            let merge_counts: Vec<u64> = if merge_pair == ABSENT {
                vec![0; categories]
            } else {
                (0..categories)
                    .map(|i| self.count_of(&current, i, merge_pair))
                    .collect()
            };
            if merge_counts.iter().all(|&c| c == 0) {
                missing += 1;
            } else {
                let beating =
                    self.pairs_beating(t, &merge_counts, &priority, &mut heap, known, options);
                for pair in beating {
                    known.insert((t as u32, pair));
                    let coefficients = (0..categories)
                        .map(|i| {
                            (merge_counts[i] as f64 - self.count_of(&current, i, pair) as f64)
                                * self.scale[i]
                        })
                        .collect();
                    new_constraints.push(PairConstraint {
                        merge: t as u32,
                        pair,
                        coefficients,
                    });
                }
            }
            if new_constraints.len() >= options.constraints_per_round {
                break;
            }
            self.apply_merge(t, &mut current, &mut priority, &mut heap);
        }
        WalkResult {
            new_constraints,
            missing,
        }
    }

    /// Each category's pair counts before the first merge, by local pair id.
    fn initial_counts(&self) -> Vec<Vec<u64>> {
        self.logs
            .iter()
            .map(|c| {
                let mut counts = vec![0u64; c.log.pair_keys.len()];
                for &(id, count) in &c.log.initial {
                    counts[id as usize] = count;
                }
                counts
            })
            .collect()
    }

    /// Each global pair's mixed count under the current weights, less its slack.
    fn initial_priorities(&self, current: &[Vec<u64>]) -> Vec<f64> {
        let mut priority = vec![0.0f64; self.index.pairs];
        for (i, counts) in current.iter().enumerate() {
            for (local, &count) in counts.iter().enumerate() {
                if count > 0 {
                    priority[self.index.to_global[i][local] as usize] += self.mix[i] * count as f64;
                }
            }
        }
        for (pair, slack) in priority.iter_mut().zip(self.pair_slack) {
            *pair -= slack;
        }
        priority
    }

    /// Category `i`'s count of global `pair` now.
    fn count_of(&self, current: &[Vec<u64>], i: usize, pair: u32) -> u64 {
        let local = self.index.to_local[i][pair as usize];
        if local == ABSENT {
            0
        } else {
            current[i][local as usize]
        }
    }

    /// Up to `competitors_per_merge` pairs, not yet constrained against merge `t`, whose
    /// mixed count beats the merge's (with its slack); the heap is left as it was, minus
    /// stale entries.
    fn pairs_beating(
        &self,
        t: usize,
        merge_counts: &[u64],
        priority: &[f64],
        heap: &mut BinaryHeap<HeapEntry>,
        known: &HashSet<(u32, u32)>,
        options: &InferenceOptions,
    ) -> Vec<u32> {
        let merge_pair = self.index.merge_pairs[t];
        let merge_priority: f64 = merge_counts
            .iter()
            .zip(&self.mix)
            .map(|(&c, m)| c as f64 * m)
            .sum();
        let cutoff = merge_priority + self.merge_slack[t] + 1e-9 * merge_priority.abs().max(1.0);
        let mut popped = Vec::new();
        let mut candidates = Vec::new();
        while let Some(&top) = heap.peek() {
            if top.priority != priority[top.pair as usize] {
                heap.pop(); // stale
                continue;
            }
            if top.priority <= cutoff {
                break;
            }
            heap.pop();
            popped.push(top);
            if top.pair != merge_pair
                && !candidates.contains(&top.pair)
                && !known.contains(&(t as u32, top.pair))
            {
                candidates.push(top.pair);
                if candidates.len() >= options.competitors_per_merge {
                    break;
                }
            }
        }
        heap.extend(popped);
        candidates
    }

    /// Applies merge `t`'s count changes in every category to the counts, the priorities
    /// and the heap.
    fn apply_merge(
        &self,
        t: usize,
        current: &mut [Vec<u64>],
        priority: &mut [f64],
        heap: &mut BinaryHeap<HeapEntry>,
    ) {
        let mut changed = Vec::new();
        for (i, category) in self.logs.iter().enumerate() {
            for &(local, after) in category.log.changes_of(t) {
                let before = std::mem::replace(&mut current[i][local as usize], after);
                let g = self.index.to_global[i][local as usize];
                priority[g as usize] += self.mix[i] * (after as f64 - before as f64);
                changed.push(g);
            }
        }
        changed.sort_unstable();
        changed.dedup();
        heap.extend(changed.into_iter().map(|pair| HeapEntry {
            priority: priority[pair as usize],
            pair,
        }));
    }
}

/// A constraint stays out of the LP while it has this many tolerances of room.
const SET_ASIDE_ROOM: f64 = 1e3;
/// A constraint set aside this often stays in the LP for good (no cycling).
const MAX_SET_ASIDE: u8 = 2;

/// A generated constraint and whether the LP holds it now.
struct PooledConstraint {
    constraint: PairConstraint,
    active: bool,
    set_aside: u8,
    /// Violations smaller than this are rounding.
    tolerance: f64,
}

impl PooledConstraint {
    fn new(constraint: PairConstraint) -> Self {
        let largest = constraint
            .coefficients
            .iter()
            .fold(0.0f64, |m, c| m.max(c.abs()));
        Self {
            constraint,
            active: true,
            set_aside: 0,
            tolerance: 1e-7 * (1.0 + largest),
        }
    }

    /// `d·α + v_t + v_p`: negative when the constraint is violated.
    fn residual(&self, weights: &[f64], merge_slack: &[f64], pair_slack: &[f64]) -> f64 {
        let c = &self.constraint;
        c.coefficients
            .iter()
            .zip(weights)
            .map(|(d, w)| d * w)
            .sum::<f64>()
            + merge_slack[c.merge as usize]
            + pair_slack[c.pair as usize]
    }
}

/// Every category has text and a replay of at least `merges` merges.
fn check_logs(logs: &[CategoryLog], merges: usize) -> Result<()> {
    if logs.is_empty() {
        return Err(MixerError::NoCategories);
    }
    for category in logs {
        if category.bytes == 0 {
            return Err(MixerError::EmptyCategory {
                category: category.name.clone(),
            });
        }
        if category.log.merges() < merges {
            return Err(MixerError::ShortReplay {
                category: category.name.clone(),
                replayed: category.log.merges(),
                merges,
            });
        }
    }
    Ok(())
}

/// Brings back every set-aside constraint the current solution violates; returns how many.
fn reactivate_violated(
    pool: &mut [PooledConstraint],
    weights: &[f64],
    merge_slack: &[f64],
    pair_slack: &[f64],
) -> usize {
    let mut reactivated = 0;
    for pooled in pool.iter_mut().filter(|p| !p.active) {
        if pooled.residual(weights, merge_slack, pair_slack) < -pooled.tolerance {
            pooled.active = true;
            reactivated += 1;
        }
    }
    reactivated
}

/// Sets aside the active constraints with clear room at the solution (each at most
/// `MAX_SET_ASIDE` times, so nothing cycles).
fn set_aside_slack(
    pool: &mut [PooledConstraint],
    weights: &[f64],
    merge_slack: &[f64],
    pair_slack: &[f64],
) {
    for pooled in pool
        .iter_mut()
        .filter(|p| p.active && p.set_aside < MAX_SET_ASIDE)
    {
        if pooled.residual(weights, merge_slack, pair_slack) > SET_ASIDE_ROOM * pooled.tolerance {
            pooled.active = false;
            pooled.set_aside += 1;
        }
    }
}

/// Writes sparse `(index, value)` slacks into `dense`, zero elsewhere.
fn scatter(sparse: &[(u32, f64)], dense: &mut [f64]) {
    dense.fill(0.0);
    for &(index, value) in sparse {
        dense[index as usize] = value;
    }
}

/// Solves the program over the active constraints for this many categories.
pub type LpSolver = fn(usize, &[&PairConstraint]) -> Result<SlackSolution>;

/// Infers the category weights from replayed merge logs (all over the same `merges`), with
/// Clarabel solving each round's program.
pub fn infer_weights(
    logs: &[CategoryLog],
    merges: &[Merge],
    options: &InferenceOptions,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<MixtureEstimate> {
    infer_weights_with(logs, merges, options, progress, solve_slack_lp)
}

/// [`infer_weights`] with another LP solver (the benchmark compares solvers through this).
pub fn infer_weights_with(
    logs: &[CategoryLog],
    merges: &[Merge],
    options: &InferenceOptions,
    progress: &(dyn Fn(usize, usize) + Sync),
    solve: LpSolver,
) -> Result<MixtureEstimate> {
    let started = Instant::now();
    check_logs(logs, merges.len())?;
    let categories = logs.len();
    let index = PairIndex::new(logs, merges);
    let scale: Vec<f64> = logs.iter().map(|c| PER_BYTES / c.bytes as f64).collect();
    let mut solution = SlackSolution {
        weights: vec![1.0 / categories as f64; categories],
        merge_slacks: Vec::new(),
        pair_slacks: Vec::new(),
        objective: 0.0,
        iterations: 0,
    };
    // Every constraint generated so far; only the active ones go to the solver. A
    // constraint with clear room at a solution is set aside and comes back when a later
    // solution violates it, so each LP holds about the binding constraints, not every
    // constraint ever generated.
    let mut pool: Vec<PooledConstraint> = Vec::new();
    let mut known = HashSet::new();
    let mut solver_seconds = 0.0;
    let mut rounds = 0;
    // v_t and v_p of the current solution, dense (zero where no constraint has one).
    let mut merge_slack = vec![0.0; merges.len()];
    let mut pair_slack = vec![0.0; index.pairs];
    let missing = loop {
        let reactivated =
            reactivate_violated(&mut pool, &solution.weights, &merge_slack, &pair_slack);
        let state = WalkState {
            logs,
            index: &index,
            mix: solution
                .weights
                .iter()
                .zip(&scale)
                .map(|(w, s)| w * s)
                .collect(),
            scale: scale.clone(),
            merge_slack: &merge_slack,
            pair_slack: &pair_slack,
        };
        let walk = state.walk(merges.len(), &mut known, options);
        if walk.new_constraints.is_empty() && reactivated == 0 {
            // The only walk that covers every merge, and every constraint holds.
            break walk.missing;
        }
        if rounds >= options.max_rounds {
            return Err(MixerError::NotConverged {
                rounds: options.max_rounds,
                constraints: pool.len(),
            });
        }
        pool.extend(walk.new_constraints.into_iter().map(PooledConstraint::new));
        let active: Vec<&PairConstraint> = pool
            .iter()
            .filter(|p| p.active)
            .map(|p| &p.constraint)
            .collect();
        let solve_started = Instant::now();
        solution = solve(categories, &active)?;
        solver_seconds += solve_started.elapsed().as_secs_f64();
        rounds += 1;
        tracing::debug!(
            round = rounds,
            constraints = pool.len(),
            active = active.len(),
            reactivated,
            objective = solution.objective,
            iterations = solution.iterations,
            solve_seconds = solve_started.elapsed().as_secs_f64(),
            "bpe inference LP round"
        );
        scatter(&solution.merge_slacks, &mut merge_slack);
        scatter(&solution.pair_slacks, &mut pair_slack);
        set_aside_slack(&mut pool, &solution.weights, &merge_slack, &pair_slack);
        progress(rounds, pool.len());
    };
    let constraints = pool.len();
    Ok(MixtureEstimate {
        categories: logs.iter().map(|c| c.name.clone()).collect(),
        weights: solution.weights,
        merges: merges.len(),
        merges_missing: missing,
        constraints,
        rounds,
        objective: solution.objective,
        solver_seconds,
        seconds: started.elapsed().as_secs_f64(),
    })
}
