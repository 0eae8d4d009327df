//! One category's sample text as the tokenizer sees it: distinct pre-tokens (words) as
//! initial symbols with their counts, and the number of bytes they came from (the
//! normalizer of a category's pair counts).

use std::collections::HashMap;

use rayon::prelude::*;

use super::merge_list::MergeList;
use crate::Result;

/// Texts are split into words in parallel chunks of this many documents.
const CHUNK_DOCUMENTS: usize = 64;

/// Word counts of one category, built up from batches of text.
#[derive(Debug, Default)]
pub struct WordCounter {
    counts: HashMap<String, u64>,
    documents: u64,
    bytes: u64,
}

impl WordCounter {
    /// Splits `texts` into words as `merge_list`'s tokenizer does and counts them.
    pub fn add_texts(&mut self, texts: &[&str], merge_list: &MergeList) -> Result<()> {
        let partial = texts
            .par_chunks(CHUNK_DOCUMENTS)
            .map(|chunk| {
                let mut counts: HashMap<String, u64> = HashMap::new();
                for text in chunk {
                    merge_list.for_each_word(text, &mut |word| {
                        if let Some(count) = counts.get_mut(word) {
                            *count += 1;
                        } else {
                            counts.insert(word.to_string(), 1);
                        }
                    })?;
                }
                Ok(counts)
            })
            .collect::<Result<Vec<_>>>()?;
        for counts in partial {
            for (word, count) in counts {
                *self.counts.entry(word).or_insert(0) += count;
            }
        }
        self.documents += texts.len() as u64;
        self.bytes += texts.iter().map(|t| t.len() as u64).sum::<u64>();
        Ok(())
    }

    /// Bytes of text added so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The category's words as initial symbols, in a deterministic (sorted) order.
    pub fn finish(self, name: &str, merge_list: &MergeList) -> CategorySample {
        let mut entries: Vec<(String, u64)> = self.counts.into_iter().collect();
        entries.sort_unstable();
        let (words, word_counts) = entries
            .into_par_iter()
            .map(|(word, count)| (merge_list.symbols(&word), count))
            .unzip();
        CategorySample {
            name: name.to_string(),
            documents: self.documents,
            bytes: self.bytes,
            words,
            word_counts,
        }
    }
}

/// A category's words, ready for merge replay.
#[derive(Debug, Clone)]
pub struct CategorySample {
    pub name: String,
    pub documents: u64,
    /// UTF-8 bytes of the sample text: pair counts are compared per byte across categories.
    pub bytes: u64,
    pub words: Vec<Vec<u32>>,
    pub word_counts: Vec<u64>,
}
