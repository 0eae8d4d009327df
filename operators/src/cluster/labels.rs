//! Labels for clusters: the words most distinctive of each cluster's documents against
//! all documents seen, scored `p(w | cluster) · ln(p(w | cluster) / p(w))` (a word's share
//! of the cluster's KL divergence from the whole), words from a bounded sample of documents
//! per cluster.

use std::collections::HashMap;

use blend_kernels::split_words;

/// Word counts per cluster from at most `sample_docs` documents each.
#[derive(Debug, Clone)]
pub struct DistinctiveTerms {
    sample_docs: usize,
    counts: Vec<HashMap<String, u64>>,
    totals: Vec<u64>,
    docs: Vec<usize>,
}

/// Words worth a label: two or more characters with a letter, letters/digits/`_`/`-` only.
fn label_words(text: &str) -> impl Iterator<Item = String> + '_ {
    split_words(text).filter_map(|w| {
        let good = w.chars().count() >= 2
            && w.chars().any(char::is_alphabetic)
            && w.chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '-');
        good.then(|| w.to_lowercase())
    })
}

impl DistinctiveTerms {
    pub fn new(clusters: usize, sample_docs: usize) -> Self {
        Self {
            sample_docs,
            counts: vec![HashMap::new(); clusters],
            totals: vec![0; clusters],
            docs: vec![0; clusters],
        }
    }

    /// Counts `text`'s words for `cluster`, unless its sample is full.
    pub fn add(&mut self, cluster: usize, text: &str) {
        if self.docs[cluster] >= self.sample_docs {
            return;
        }
        self.docs[cluster] += 1;
        for word in label_words(text) {
            *self.counts[cluster].entry(word).or_default() += 1;
            self.totals[cluster] += 1;
        }
    }

    /// The `top` most distinctive words of each cluster (seen at least twice in it), best
    /// first; ties broken alphabetically.
    pub fn labels(&self, top: usize) -> Vec<Vec<String>> {
        let mut all: HashMap<&str, u64> = HashMap::new();
        for counts in &self.counts {
            for (word, n) in counts {
                *all.entry(word.as_str()).or_default() += n;
            }
        }
        let grand_total = self.totals.iter().sum::<u64>().max(1) as f64;
        self.counts
            .iter()
            .zip(&self.totals)
            .map(|(counts, &total)| {
                let mut scored: Vec<(f64, &str)> = counts
                    .iter()
                    .filter(|(_, n)| **n >= 2)
                    .map(|(word, &n)| {
                        let p_cluster = n as f64 / total as f64;
                        let p_all = all[word.as_str()] as f64 / grand_total;
                        (p_cluster * (p_cluster / p_all).ln(), word.as_str())
                    })
                    .collect();
                scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
                scored
                    .into_iter()
                    .take(top)
                    .map(|(_, w)| w.to_string())
                    .collect()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_typical_of_a_cluster_label_it_and_shared_words_do_not() {
        let mut terms = DistinctiveTerms::new(2, 2);
        terms.add(
            0,
            "the compiler rejects the function; the compiler is strict",
        );
        terms.add(0, "the function returns and the compiler warns");
        terms.add(0, "pancake pancake pancake pancake (beyond the sample)");
        terms.add(1, "the dough rises and the oven bakes the dough");
        terms.add(1, "the oven is hot, the dough is soft");
        let labels = terms.labels(2);
        assert_eq!(labels[0], vec!["compiler", "function"]);
        assert_eq!(labels[1], vec!["dough", "oven"]);
    }
}
