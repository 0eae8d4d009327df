//! Dense document embeddings from hashed TF-IDF: lowercase word unigrams and bigrams are
//! hashed (xxh3, seeded) into `2^table_bits` buckets for document frequencies, weighted
//! `(1 + ln tf) · idf` with scikit-learn's smooth idf `ln((1 + n) / (1 + df)) + 1`, and
//! projected to `dim` dense values by a sparse random projection (each bucket adds its weight,
//! with a hashed sign, to `SLOTS` hashed output coordinates), then L2-normalized. No
//! vocabulary is stored: two passes (document frequencies, then vectors) over the same text
//! give the same vectors for the same seed.
//!
//! Optionally a second block of `layout_dim` values describes the document's *layout*
//! rather than its words: every character is mapped to a class (`A` upper-case letter, `a`
//! other letter, `0` digit, whitespace kept as space, newline or tab, any other character
//! as itself), runs of one letter or digit class collapse to one symbol, runs of spaces
//! are capped at 4, and the 3- to 5-grams of that class string are weighted and projected
//! like words. Code (`a_a(a, a):` and indentation), formulas (`0*a + 0 = 0`), dialogue
//! (`\nAa: Aa`) and prose (`a a a.`) differ there in any language, which words alone do not
//! show across languages. The two blocks are normalized separately and scaled so that the
//! layout block holds `layout_weight` of the squared norm: the cosine of two embeddings is
//! `(1 − w) · cos(words) + w · cos(layout)`.

use rayon::prelude::*;
use xxhash_rust::xxh3::xxh3_64_with_seed;

use crate::words::split_words;

/// Output coordinates each feature contributes to.
const SLOTS: usize = 4;
/// Seed offsets of the three feature kinds, so equal strings of different kinds differ.
const BIGRAM_SEED: u64 = 0x9e37_79b9_7f4a_7c15;
const LAYOUT_SEED: u64 = 0xc2b2_ae3d_27d4_eb4f;
const PROJECTION_SEED: u64 = 0x51_7cc1;
/// Shortest and longest layout n-gram, in class symbols.
const LAYOUT_NGRAMS: std::ops::RangeInclusive<usize> = 3..=5;
/// Longest run of spaces kept in the layout string (deeper indentation looks the same).
const MAX_SPACE_RUN: usize = 4;

#[derive(Debug, Clone, PartialEq)]
pub struct HashedTfIdf {
    /// Values of the word block.
    pub dim: usize,
    /// Values of the layout block (0: no layout block).
    pub layout_dim: usize,
    /// Share of the squared norm the layout block holds, in [0, 1].
    pub layout_weight: f32,
    pub table_bits: u32,
    pub seed: u64,
    /// Documents counted.
    pub documents: u64,
    /// Documents holding each bucket's features.
    pub document_frequency: Vec<u32>,
}

/// The hashed word features (unigrams, then bigrams) of `text`, lowercased.
fn word_hashes(text: &str, seed: u64) -> Vec<u64> {
    let words: Vec<String> = split_words(text).map(str::to_lowercase).collect();
    let mut hashes: Vec<u64> = words
        .iter()
        .map(|w| xxh3_64_with_seed(w.as_bytes(), seed))
        .collect();
    for pair in words.windows(2) {
        let joined = format!("{} {}", pair[0], pair[1]);
        hashes.push(xxh3_64_with_seed(joined.as_bytes(), seed ^ BIGRAM_SEED));
    }
    hashes
}

/// The character-class string of `text` (see the module docs).
pub fn layout_classes(text: &str) -> Vec<char> {
    let mut classes: Vec<char> = Vec::with_capacity(text.len() / 3);
    let mut spaces = 0;
    for ch in text.chars() {
        let class = if ch.is_alphabetic() {
            if ch.is_uppercase() { 'A' } else { 'a' }
        } else if ch.is_numeric() {
            '0'
        } else if ch == '\n' || ch == '\t' {
            ch
        } else if ch.is_whitespace() {
            ' '
        } else {
            ch
        };
        if class == ' ' {
            spaces += 1;
            if spaces > MAX_SPACE_RUN {
                continue;
            }
        } else {
            spaces = 0;
        }
        // Runs of one letter or digit class collapse: "Hello" is `Aa`, "HELLO" is `A`, "2024" is `0`.
        if matches!(class, 'A' | 'a' | '0') && classes.last() == Some(&class) {
            continue;
        }
        classes.push(class);
    }
    classes
}

/// The hashed layout n-grams of `text`.
fn layout_hashes(text: &str, seed: u64) -> Vec<u64> {
    let classes = layout_classes(text);
    let mut hashes = Vec::with_capacity(classes.len() * 3);
    let mut buffer = [0u8; 4 * 5];
    for n in LAYOUT_NGRAMS {
        for gram in classes.windows(n) {
            let mut len = 0;
            for ch in gram {
                len += ch.encode_utf8(&mut buffer[len..]).len();
            }
            hashes.push(xxh3_64_with_seed(&buffer[..len], seed ^ LAYOUT_SEED));
        }
    }
    hashes
}

impl HashedTfIdf {
    /// An empty model: `dim` output values, `2^table_bits` frequency buckets, no layout block.
    pub fn new(dim: usize, table_bits: u32, seed: u64) -> Self {
        Self {
            dim: dim.max(1),
            layout_dim: 0,
            layout_weight: 0.0,
            table_bits: table_bits.clamp(8, 30),
            seed,
            documents: 0,
            document_frequency: vec![0; 1 << table_bits.clamp(8, 30)],
        }
    }

    /// Adds a layout block of `layout_dim` values holding `weight` of the squared norm.
    pub fn with_layout(mut self, layout_dim: usize, weight: f32) -> Self {
        self.layout_dim = layout_dim;
        self.layout_weight = if layout_dim == 0 {
            0.0
        } else {
            weight.clamp(0.0, 1.0)
        };
        self
    }

    /// Values per embedding: the word block, then the layout block.
    pub fn output_dim(&self) -> usize {
        self.dim + self.layout_dim
    }

    fn bucket(&self, hash: u64) -> usize {
        (hash >> (64 - self.table_bits)) as usize
    }

    /// Buckets of the word features and of the layout features of `text`.
    fn buckets(&self, text: &str) -> (Vec<usize>, Vec<usize>) {
        let words = word_hashes(text, self.seed)
            .into_iter()
            .map(|h| self.bucket(h))
            .collect();
        let layout = if self.layout_dim == 0 {
            Vec::new()
        } else {
            layout_hashes(text, self.seed)
                .into_iter()
                .map(|h| self.bucket(h))
                .collect()
        };
        (words, layout)
    }

    /// Counts the documents each bucket appears in.
    pub fn count_documents(&mut self, texts: &[&str]) {
        let mut per_doc: Vec<Vec<usize>> = texts
            .par_iter()
            .map(|text| {
                let (mut buckets, layout) = self.buckets(text);
                buckets.extend(layout);
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

    /// Adds the projected TF-IDF vector of `buckets` to `out`, normalized to length `scale`.
    fn project(&self, mut buckets: Vec<usize>, out: &mut [f32], scale: f32) {
        buckets.sort_unstable();
        let mut counts: Vec<(usize, u32)> = Vec::new();
        for b in buckets {
            match counts.last_mut() {
                Some((last, count)) if *last == b => *count += 1,
                _ => counts.push((b, 1)),
            }
        }
        for (bucket, tf) in counts {
            let weight = (1.0 + (tf as f32).ln()) * self.idf(bucket);
            let mut h =
                xxh3_64_with_seed(&(bucket as u64).to_le_bytes(), self.seed ^ PROJECTION_SEED);
            for _ in 0..SLOTS {
                let coordinate = (h % out.len() as u64) as usize;
                let sign = if (h >> 63) == 1 { -1.0 } else { 1.0 };
                out[coordinate] += sign * weight;
                h = xxh3_64_with_seed(&h.to_le_bytes(), self.seed);
            }
        }
        let norm = out.iter().map(|x| x * x).sum::<f32>().sqrt();
        if norm > 0.0 {
            let factor = scale / norm;
            for x in out.iter_mut() {
                *x *= factor;
            }
        }
    }

    /// The embedding of `text`: unit length, or all zeros when it has no words (and no
    /// layout block, or nothing but whitespace).
    pub fn embed(&self, text: &str) -> Vec<f32> {
        let (words, layout) = self.buckets(text);
        let mut out = vec![0f32; self.output_dim()];
        let (word_block, layout_block) = out.split_at_mut(self.dim);
        let has_words = !words.is_empty();
        let has_layout = !layout.is_empty();
        let layout_share = match (has_words, has_layout) {
            (true, true) => self.layout_weight,
            (false, true) => 1.0,
            _ => 0.0,
        };
        self.project(words, word_block, (1.0 - layout_share).sqrt());
        if has_layout {
            self.project(layout, layout_block, layout_share.sqrt());
        }
        out
    }

    /// Embeddings of `texts`, row-major `texts.len() × output_dim()`, in parallel, in order.
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

    #[test]
    fn layout_classes_collapse_runs_and_keep_structure() {
        let classes: String = layout_classes("Hello WORLD 2024,\n        x_y(Ωμέγα)")
            .into_iter()
            .collect();
        assert_eq!(classes, "Aa A 0,\n    a_a(Aa)");
    }

    #[test]
    fn layout_block_groups_documents_by_shape_across_vocabularies() {
        // Two code snippets and two prose lines in disjoint vocabularies: words alone cannot
        // tell code from prose, the layout block can.
        let texts = [
            "def kora_mel(tika, ven):\n    return tika + 4",
            "def zub_dro(pela):\n    return pela * 2",
            "Kora mel tika ven sora lim, return pada kel.",
            "Zub dro pela nim tavo, rus return gedo fal.",
        ];
        let mut words_only = HashedTfIdf::new(256, 16, 7);
        words_only.count_documents(&texts);
        let mut with_layout = HashedTfIdf::new(256, 16, 7).with_layout(64, 0.5);
        with_layout.count_documents(&texts);
        assert_eq!(with_layout.output_dim(), 320);
        let v: Vec<Vec<f32>> = texts.iter().map(|t| with_layout.embed(t)).collect();
        for row in &v {
            assert!((cosine(row, row) - 1.0).abs() < 1e-5, "unit length");
            let layout_norm: f32 = row[256..].iter().map(|x| x * x).sum();
            assert!((layout_norm - 0.5).abs() < 1e-5, "{layout_norm}");
        }
        // Across vocabularies, code is nearer code than the prose sharing its words.
        assert!(cosine(&v[0], &v[1]) > cosine(&v[0], &v[2]) + 0.1);
        assert!(cosine(&v[2], &v[3]) > cosine(&v[3], &v[1]) + 0.1);
        let w: Vec<Vec<f32>> = texts.iter().map(|t| words_only.embed(t)).collect();
        let margin = |e: &[Vec<f32>]| cosine(&e[0], &e[1]) - cosine(&e[0], &e[2]);
        assert!(
            margin(&v) > margin(&w) + 0.1,
            "{} vs {}",
            margin(&v),
            margin(&w)
        );
        // The word block of a layout model equals the words-only model, scaled.
        let scaled: Vec<f32> = w[0].iter().map(|x| x * 0.5f32.sqrt()).collect();
        for (a, b) in v[0][..256].iter().zip(&scaled) {
            assert!((a - b).abs() < 1e-6);
        }
    }
}
