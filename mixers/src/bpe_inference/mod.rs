//! BPE mixture inference (Hayase et al., "Data Mixture Inference: What do BPE Tokenizers
//! Reveal about their Training Data?"): from a tokenizer's ordered merge list and sample text
//! per candidate category, solve for the category proportions that best explain why each
//! merge was the most frequent pair when it was chosen.
//!
//! [`merge_list`] reads the tokenizer, [`category_sample`] turns text into its words,
//! `blend_kernels::bpe_replay` replays the merges over them, and
//! [`constraint_generation`] solves the linear program ([`slack_lp`]) lazily.

pub mod bpe_json_check;
pub mod category_sample;
pub mod constraint_generation;
pub mod merge_list;
pub mod slack_lp;

use blend_kernels::bpe_replay::{Merge, replay_merges};
use rayon::prelude::*;

pub use bpe_json_check::check_bpe_merges;
pub use category_sample::{CategorySample, WordCounter};
pub use constraint_generation::{
    CategoryLog, InferenceOptions, LpSolver, MixtureEstimate, infer_weights, infer_weights_with,
};
pub use merge_list::{MergeList, WordSplitting};
pub use slack_lp::{PairConstraint, SlackSolution, solve_slack_lp};

/// Replays `merges` over each category's words, categories in parallel; `progress` gets the
/// number of merges a category has finished.
pub fn replay_categories(
    samples: Vec<CategorySample>,
    merges: &[Merge],
    progress: &(dyn Fn(usize) + Sync),
) -> Vec<CategoryLog> {
    samples
        .into_par_iter()
        .map(|sample| CategoryLog {
            log: replay_merges(sample.words, sample.word_counts, merges, progress),
            name: sample.name,
            bytes: sample.bytes,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use blend_kernels::SeededRng;
    use blend_kernels::bpe_replay::{PairCounter, pair_key};

    use super::*;

    /// Words of one category: symbols drawn from a category-specific skewed distribution.
    fn category_words(rng: &mut SeededRng, alphabet: u32) -> (Vec<Vec<u32>>, Vec<u64>) {
        let mut order: Vec<u32> = (0..alphabet).collect();
        rng.shuffle(&mut order);
        let words: Vec<Vec<u32>> = (0..400)
            .map(|_| {
                let len = 2 + rng.below(6) as usize;
                (0..len)
                    .map(|_| order[rng.zipf(alphabet as usize, 1.2)])
                    .collect()
            })
            .collect();
        let counts = (0..words.len()).map(|_| 1 + rng.below(20)).collect();
        (words, counts)
    }

    /// Trains BPE on the α-weighted categories the way a tokenizer trainer would (the most
    /// frequent pair of the mixture, smallest key on ties) and returns its merge list.
    fn train_merges(samples: &[CategorySample], alpha: &[f64], merges: usize) -> Vec<Merge> {
        let mut counters: Vec<PairCounter> = samples
            .iter()
            .map(|s| PairCounter::new(s.words.clone(), s.word_counts.clone()))
            .collect();
        let mut out = Vec::new();
        for step in 0..merges {
            let mut mixed: std::collections::BTreeMap<u64, f64> = Default::default();
            for ((counter, sample), a) in counters.iter().zip(samples).zip(alpha) {
                for (id, &count) in counter.counts().iter().enumerate() {
                    if count > 0 {
                        *mixed.entry(counter.pair_key_of(id as u32)).or_insert(0.0) +=
                            a * count as f64 / sample.bytes as f64;
                    }
                }
            }
            let Some((&key, _)) = mixed
                .iter()
                .max_by(|a, b| a.1.total_cmp(b.1).then(b.0.cmp(a.0)))
            else {
                break;
            };
            let merge = Merge {
                left: (key >> 32) as u32,
                right: key as u32,
                merged: 1000 + step as u32,
            };
            assert_ne!(pair_key(merge.left, merge.right), u64::MAX);
            for counter in &mut counters {
                counter.apply(merge);
            }
            out.push(merge);
        }
        out
    }

    #[test]
    fn recovers_a_planted_mixture_from_the_merges_it_caused() {
        let mut rng = SeededRng::new(7);
        let alphabet = 24;
        let samples: Vec<CategorySample> = (0..5)
            .map(|i| {
                let (words, word_counts) = category_words(&mut rng, alphabet);
                let bytes = words
                    .iter()
                    .zip(&word_counts)
                    .map(|(w, c)| w.len() as u64 * c)
                    .sum();
                CategorySample {
                    name: format!("c{i}"),
                    documents: 1,
                    bytes,
                    words,
                    word_counts,
                }
            })
            .collect();
        let alpha = [0.42, 0.05, 0.28, 0.16, 0.09];
        let merges = train_merges(&samples, &alpha, 300);
        assert_eq!(merges.len(), 300);
        let logs = replay_categories(samples, &merges, &|_| {});
        let estimate =
            infer_weights(&logs, &merges, &InferenceOptions::default(), &|_, _| {}).unwrap();
        let mse: f64 = estimate
            .weights
            .iter()
            .zip(alpha)
            .map(|(w, a)| (w - a).powi(2))
            .sum::<f64>()
            / 5.0;
        assert!(mse < 1e-5, "weights {:?} (mse {mse:e})", estimate.weights);
        assert!(estimate.objective < 1e-4, "the true mixture needs no slack");
        assert_eq!(estimate.merges_missing, 0);
        assert!(estimate.constraints > 0 && estimate.rounds > 0);
        // Same input, same answer.
        let again =
            infer_weights(&logs, &merges, &InferenceOptions::default(), &|_, _| {}).unwrap();
        assert_eq!(again.weights, estimate.weights);
    }
}
