//! LP solvers for BPE mixture inference on the same problem: Clarabel (interior point, the
//! one blend uses) against microlp (the pure-Rust simplex behind good_lp's default backend).
//!
//! The problem is real: GPT-2's merge list replayed over English, code and multilingual
//! samples from ../shared/data/corpora (skipped, saying so, when absent). Both solvers run the
//! same lazy constraint generation; the benchmark prints rounds, constraints, time and how
//! far apart the weights are.
//!
//! `cargo bench -p blend-mixers --bench bpe_lp -- [MERGES] [BYTES_PER_CATEGORY]`

#![allow(clippy::print_stdout)]

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::time::Instant;

use blend_mixers::bpe_inference::{
    InferenceOptions, LpSolver, MergeList, PairConstraint, SlackSolution, WordCounter,
    infer_weights_with, replay_categories, solve_slack_lp,
};
use blend_mixers::{MixerError, Result};
use microlp::{ComparisonOp, OptimizationDirection, Problem};

fn texts_of(files: &[PathBuf], max_bytes: usize) -> Vec<String> {
    let mut texts = Vec::new();
    let per_file = max_bytes / files.len();
    for file in files {
        let reader = std::io::BufReader::new(std::fs::File::open(file).expect("readable"));
        let mut bytes = 0;
        for line in reader.lines() {
            let value: serde_json::Value =
                serde_json::from_str(&line.expect("line")).expect("json");
            let text = value["text"].as_str().unwrap_or_default().to_string();
            bytes += text.len();
            texts.push(text);
            if bytes >= per_file {
                break;
            }
        }
    }
    texts
}

/// The same program as `solve_slack_lp`, by microlp's simplex.
fn solve_with_microlp(categories: usize, constraints: &[&PairConstraint]) -> Result<SlackSolution> {
    let mut problem = Problem::new(OptimizationDirection::Minimize);
    let weights: Vec<_> = (0..categories)
        .map(|_| problem.add_var(0.0, (0.0, f64::INFINITY)))
        .collect();
    let mut merges: Vec<u32> = constraints.iter().map(|c| c.merge).collect();
    merges.sort_unstable();
    merges.dedup();
    let mut pairs: Vec<u32> = constraints.iter().map(|c| c.pair).collect();
    pairs.sort_unstable();
    pairs.dedup();
    let merge_vars: Vec<_> = merges
        .iter()
        .map(|_| problem.add_var(1.0, (0.0, f64::INFINITY)))
        .collect();
    let pair_vars: Vec<_> = pairs
        .iter()
        .map(|_| problem.add_var(1.0, (0.0, f64::INFINITY)))
        .collect();
    let sum: Vec<_> = weights.iter().map(|&w| (w, 1.0)).collect();
    problem.add_constraint(sum.as_slice(), ComparisonOp::Eq, 1.0);
    for constraint in constraints {
        let mut row: Vec<_> = weights
            .iter()
            .zip(&constraint.coefficients)
            .filter(|(_, d)| **d != 0.0)
            .map(|(&w, &d)| (w, d))
            .collect();
        row.push((
            merge_vars[merges.binary_search(&constraint.merge).expect("indexed")],
            1.0,
        ));
        row.push((
            pair_vars[pairs.binary_search(&constraint.pair).expect("indexed")],
            1.0,
        ));
        problem.add_constraint(row.as_slice(), ComparisonOp::Ge, 0.0);
    }
    let solution = problem
        .solve()
        .map_err(|e| MixerError::Lp {
            solver: "microlp",
            message: e.to_string(),
        })?
        .into_solution()
        .map_err(|e| MixerError::Lp {
            solver: "microlp",
            message: format!("{e:?}"),
        })?;
    let mut w: Vec<f64> = weights
        .iter()
        .map(|&v| solution.var_value(v).max(0.0))
        .collect();
    let total: f64 = w.iter().sum();
    w.iter_mut().for_each(|x| *x /= total);
    Ok(SlackSolution {
        weights: w,
        merge_slacks: merges
            .iter()
            .zip(&merge_vars)
            .map(|(&t, &v)| (t, solution.var_value(v).max(0.0)))
            .collect(),
        pair_slacks: pairs
            .iter()
            .zip(&pair_vars)
            .map(|(&p, &v)| (p, solution.var_value(v).max(0.0)))
            .collect(),
        objective: solution.objective(),
        iterations: 0,
    })
}

fn main() {
    // `cargo test --all-targets` runs this binary without arguments: measure only when
    // asked (`cargo bench` passes --bench).
    if !std::env::args().any(|a| a == "--bench") {
        println!(
            "bpe_lp benchmark: run `cargo bench -p blend-mixers --bench bpe_lp -- [MERGES] [BYTES]`"
        );
        return;
    }
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let merges: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(2000);
    let bytes: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(1 << 20);
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data");
    if !data.is_dir() {
        println!("skipping: {} is absent", data.display());
        return;
    }
    let corpora = data.join("corpora");
    let categories: Vec<(&str, Vec<PathBuf>)> = vec![
        (
            "code",
            vec![
                corpora.join("code_python_ruff.jsonl"),
                corpora.join("code_c_cuda_llmc.jsonl"),
            ],
        ),
        (
            "english",
            vec![
                corpora.join("wiki_wt103.jsonl"),
                corpora.join("books_gutenberg.jsonl"),
                corpora.join("web_dclm_quality.jsonl"),
            ],
        ),
        (
            "multilingual",
            vec![corpora.join("multilingual_udhr.jsonl")],
        ),
    ];
    let list = MergeList::from_file(&data.join("tokenizers/gpt_2_tokenizer.json")).expect("gpt-2");
    let merge_slice = &list.merges[..merges.min(list.merges.len())];
    let samples = categories
        .iter()
        .map(|(name, files)| {
            let texts = texts_of(files, bytes);
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            let mut counter = WordCounter::default();
            counter.add_texts(&refs, &list).expect("words");
            counter.finish(name, &list)
        })
        .collect();
    let logs = replay_categories(samples, merge_slice, &|_| {});
    println!(
        "GPT-2, {} merges, 3 categories x {} bytes",
        merge_slice.len(),
        bytes
    );
    println!(
        "{:<10} {:>8} {:>12} {:>10} {:>10} {:>14}  weights",
        "solver", "rounds", "constraints", "LP s", "total s", "objective"
    );
    let options = InferenceOptions::default();
    let mut results = Vec::new();
    for (name, solver) in [
        ("clarabel", solve_slack_lp as LpSolver),
        ("microlp", solve_with_microlp),
    ] {
        let started = Instant::now();
        match infer_weights_with(&logs, merge_slice, &options, &|_, _| {}, solver) {
            Ok(estimate) => {
                println!(
                    "{:<10} {:>8} {:>12} {:>10.2} {:>10.2} {:>14.4}  {:?}",
                    name,
                    estimate.rounds,
                    estimate.constraints,
                    estimate.solver_seconds,
                    started.elapsed().as_secs_f64(),
                    estimate.objective,
                    estimate
                        .weights
                        .iter()
                        .map(|w| (w * 1e4).round() / 1e4)
                        .collect::<Vec<_>>()
                );
                results.push(estimate.weights);
            }
            Err(error) => println!("{name:<10} failed: {error}"),
        }
    }
    if let [a, b] = results.as_slice() {
        let gap = a
            .iter()
            .zip(b)
            .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()));
        println!("largest weight difference between the solvers: {gap:.2e}");
    }
}
