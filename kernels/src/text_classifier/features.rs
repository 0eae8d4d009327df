//! Document features: whitespace tokens (fastText's separators) plus an end-of-document
//! token, and the word n-grams over them, each hashed into `buckets`.

use xxhash_rust::xxh3::xxh3_64;

/// fastText's separators: space, tab, newline, vertical tab, form feed, carriage return, NUL.
fn is_separator(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\u{0B}' | '\u{0C}' | '\r' | '\0')
}

/// The token every document ends with (fastText's `</s>`); its embedding acts as a bias.
const END_OF_DOCUMENT: &str = "</s>";

/// fastText's multiplier for chaining word hashes into an n-gram hash.
const NGRAM_MULTIPLIER: u64 = 116_049_371;

/// Tokens of `text` as the classifier sees them, the end-of-document token included.
pub fn token_count(text: &str) -> usize {
    text.split(is_separator).filter(|t| !t.is_empty()).count() + 1
}

/// Hashes a document's word 1..=`word_ngrams`-grams into `buckets`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeatureHasher {
    pub word_ngrams: usize,
    pub buckets: u32,
}

impl FeatureHasher {
    /// Appends the bucket of every unigram, then of every n-gram (n = 2..=word_ngrams), to
    /// `out`; returns the number of tokens (the end-of-document token included).
    pub fn features(&self, text: &str, out: &mut Vec<u32>) -> usize {
        let mut hashes: Vec<u64> = text
            .split(is_separator)
            .filter(|t| !t.is_empty())
            .map(|t| xxh3_64(t.as_bytes()))
            .collect();
        hashes.push(xxh3_64(END_OF_DOCUMENT.as_bytes()));
        let buckets = u64::from(self.buckets);
        out.extend(hashes.iter().map(|h| (h % buckets) as u32));
        for start in 0..hashes.len() {
            let mut h = hashes[start];
            for next in hashes
                .iter()
                .skip(start + 1)
                .take(self.word_ngrams.saturating_sub(1))
            {
                h = h.wrapping_mul(NGRAM_MULTIPLIER).wrapping_add(*next);
                out.push((h % buckets) as u32);
            }
        }
        hashes.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unigrams_bigrams_and_the_end_token() {
        let hasher = FeatureHasher {
            word_ngrams: 2,
            buckets: 1 << 30,
        };
        let mut features = Vec::new();
        assert_eq!(hasher.features("a  b\nc", &mut features), 4);
        // a b c </s>, then a_b b_c c_</s>
        assert_eq!(features.len(), 7);
        let mut again = Vec::new();
        hasher.features("a b c", &mut again);
        assert_eq!(features, again, "separators do not matter, only tokens");
        let mut swapped = Vec::new();
        hasher.features("b a c", &mut swapped);
        assert_eq!(
            swapped[..4]
                .iter()
                .collect::<std::collections::BTreeSet<_>>()
                .len(),
            4
        );
        assert_ne!(features[4], swapped[4], "n-grams are ordered");
        assert_eq!(token_count("a  b\nc"), 4);
        assert_eq!(token_count(""), 1);
    }

    #[test]
    fn unigram_only_and_trigrams() {
        let mut features = Vec::new();
        let unigrams = FeatureHasher {
            word_ngrams: 1,
            buckets: 1000,
        };
        unigrams.features("x y z", &mut features);
        assert_eq!(features.len(), 4);
        assert!(features.iter().all(|b| *b < 1000));
        features.clear();
        let trigrams = FeatureHasher {
            word_ngrams: 3,
            buckets: 1000,
        };
        trigrams.features("x y z", &mut features);
        assert_eq!(features.len(), 4 + 3 + 2);
    }
}
