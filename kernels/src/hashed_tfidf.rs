//! Dense document embeddings from hashed TF-IDF: lowercase word unigrams and bigrams are
//! hashed (xxh3, seeded) into `2^table_bits` buckets for document frequencies, weighted
//! `(1 + ln tf) · idf` with scikit-learn's smooth idf `ln((1 + n) / (1 + df)) + 1`, and
//! projected to `dim` dense values by a sparse random projection (each bucket adds its weight,
//! with a hashed sign, to `SLOTS` hashed output coordinates), then L2-normalized. No
//! vocabulary is stored: two passes (document frequencies, then vectors) over the same text
//! give the same vectors for the same seed.

use rayon::prelude::*;
use xxhash_rust::xxh3::xxh3_64_with_seed;

use crate::words::split_words;

/// Output coordinates each feature contributes to.
const SLOTS: usize = 4;

#[derive(Debug, Clone, PartialEq)]
pub struct HashedTfIdf {
    pub dim: usize,
    pub table_bits: u32,
    pub seed: u64,
    /// Documents counted.
    pub documents: u64,
    /// Documents holding each bucket's features.
    pub document_frequency: Vec<u32>,
}

/// The hashed features (unigrams, then bigrams) of `text`, lowercased.
fn feature_hashes(text: &str, seed: u64) -> Vec<u64> {
    let words: Vec<String> = split_words(text).map(str::to_lowercase).collect();
    let mut hashes: Vec<u64> = words
        .iter()
        .map(|w| xxh3_64_with_seed(w.as_bytes(), seed))
        .collect();
    for pair in words.windows(2) {
        let joined = format!("{} {}", pair[0], pair[1]);
        hashes.push(xxh3_64_with_seed(
            joined.as_bytes(),
            seed ^ 0x9e37_79b9_7f4a_7c15,
        ));
    }
    hashes
}

impl HashedTfIdf {
    /// An empty model: `dim` output values, `2^table_bits` frequency buckets.
    pub fn new(dim: usize, table_bits: u32, seed: u64) -> Self {
        Self {
            dim: dim.max(1),
            table_bits: table_bits.clamp(8, 30),
            seed,
            documents: 0,
            document_frequency: vec![0; 1 << table_bits.clamp(8, 30)],
        }
    }

    fn bucket(&self, hash: u64) -> usize {
        (hash >> (64 - self.table_bits)) as usize
    }

    /// Counts the documents each bucket appears in.
    pub fn count_documents(&mut self, texts: &[&str]) {
        let mut per_doc: Vec<Vec<usize>> = texts
            .par_iter()
            .map(|text| {
                let mut buckets: Vec<usize> = feature_hashes(text, self.seed)
                    .into_iter()
                    .map(|h| self.bucket(h))
                    .collect();
                buckets.sort_unstable();
                buckets.dedup();
                buckets
            })
            .collect();
        for buckets in per_doc.drain(..) {
            for b in buckets {
                self.document_frequency[b] = self.document_frequency[b].saturating_add(1);
            }
        }
        self.documents += texts.len() as u64;
    }

    fn idf(&self, bucket: usize) -> f32 {
        let n = self.documents as f64;
        let df = f64::from(self.document_frequency[bucket]);
        (((1.0 + n) / (1.0 + df)).ln() + 1.0) as f32
    }

    /// The L2-normalized embedding of `text` (all zeros when it has no words).
    pub fn embed(&self, text: &str) -> Vec<f32> {
        let mut counts: Vec<(usize, u32)> = Vec::new();
        let mut buckets: Vec<usize> = feature_hashes(text, self.seed)
            .into_iter()
            .map(|h| self.bucket(h))
            .collect();
        buckets.sort_unstable();
        for b in buckets {
            match counts.last_mut() {
                Some((last, count)) if *last == b => *count += 1,
                _ => counts.push((b, 1)),
            }
        }
        let mut out = vec![0f32; self.dim];
        for (bucket, tf) in counts {
            let weight = (1.0 + (tf as f32).ln()) * self.idf(bucket);
            let mut h = xxh3_64_with_seed(&(bucket as u64).to_le_bytes(), self.seed ^ 0x51_7cc1);
            for _ in 0..SLOTS {
                let coordinate = (h % self.dim as u64) as usize;
                let sign = if (h >> 63) == 1 { -1.0 } else { 1.0 };
                out[coordinate] += sign * weight;
                h = xxh3_64_with_seed(&h.to_le_bytes(), self.seed);
            }
        }
        let norm = out.iter().map(|x| x * x).sum::<f32>().sqrt();
        if norm > 0.0 {
            for x in &mut out {
                *x /= norm;
            }
        }
        out
    }

    /// Embeddings of `texts`, row-major `texts.len() × dim`, in parallel, in order.
    pub fn embed_all(&self, texts: &[&str]) -> Vec<f32> {
        texts.par_iter().flat_map_iter(|t| self.embed(t)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cosine(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    fn model(texts: &[&str]) -> HashedTfIdf {
        let mut model = HashedTfIdf::new(256, 16, 7);
        model.count_documents(texts);
        model
    }

    #[test]
    fn related_documents_are_closer_than_unrelated_ones() {
        let texts = [
            "the compiler reports a type error in the function signature",
            "a type error in the function signature stops the compiler",
            "the recipe needs flour butter and two eggs for the dough",
            "knead the dough with flour and butter before baking",
        ];
        let model = model(&texts);
        let v: Vec<Vec<f32>> = texts.iter().map(|t| model.embed(t)).collect();
        for row in &v {
            assert!((cosine(row, row) - 1.0).abs() < 1e-5, "unit length");
        }
        assert!(cosine(&v[0], &v[1]) > cosine(&v[0], &v[2]) + 0.2);
        assert!(cosine(&v[2], &v[3]) > cosine(&v[1], &v[3]) + 0.2);
        assert_eq!(
            model.embed_all(&texts[..2]),
            [v[0].clone(), v[1].clone()].concat()
        );
    }

    #[test]
    fn common_words_weigh_less_and_results_are_seeded() {
        let texts = ["the cat", "the dog", "the bird", "the fish"];
        let model = model(&texts);
        // "the" is in every document: its idf is 1, below "cat"'s.
        let the = model.bucket(xxh3_64_with_seed(b"the", 7));
        let cat = model.bucket(xxh3_64_with_seed(b"cat", 7));
        assert!(model.idf(the) < model.idf(cat));
        assert_eq!(model.embed("the cat"), model.embed("The cat"));
        let other = {
            let mut m = HashedTfIdf::new(256, 16, 8);
            m.count_documents(&texts);
            m
        };
        assert_ne!(model.embed("the cat"), other.embed("the cat"));
        assert!(model.embed("").iter().all(|x| *x == 0.0));
    }
}
