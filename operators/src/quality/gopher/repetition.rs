//! `quality.gopher_repetition`
//!
//! What it does: Gopher's repetition rules as datatrove's `GopherRepetitionFilter` applies
//! them, in its order, with its reason names: duplicated paragraphs (split at 2+ newlines of
//! the stripped text) as a share of paragraphs (`dup_para_frac`) and of characters
//! (`dup_para_char_frac`); duplicated lines (split at newline runs) likewise
//! (`dup_line_frac`, `dup_line_char_frac`); the most frequent word 2-, 3- and 4-gram's
//! characters × count over the text's characters (`top_{n}_gram`); and characters inside
//! repeated word 5- to 10-grams, counted greedily (`duplicated_{n}_n_grams`). Empty text fails
//! with `empty`.
//!
//! Why: repeated lines, paragraphs and n-grams mark templates, spam and degenerate text;
//! Gopher's thresholds (defaults here) are what FineWeb and datatrove ship.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use blend_kernels::english_words;
use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::Xxh3DefaultBuilder;

use crate::operator::default_text_column;
use crate::quality::datatrove_text::{char_len, find_duplicates, python_strip};
use crate::quality::document_rule::DocumentRule;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GopherRepetition {
    #[serde(default = "default_text_column")]
    pub text_column: String,
    #[serde(default = "dup_line_frac")]
    pub dup_line_frac: f64,
    #[serde(default = "dup_para_frac")]
    pub dup_para_frac: f64,
    #[serde(default = "dup_line_char_frac")]
    pub dup_line_char_frac: f64,
    #[serde(default = "dup_para_char_frac")]
    pub dup_para_char_frac: f64,
    /// (n, max share of characters) for the most frequent n-gram.
    #[serde(default = "top_n_grams")]
    pub top_n_grams: Vec<(usize, f64)>,
    /// (n, max share of characters) in repeated n-grams.
    #[serde(default = "dup_n_grams")]
    pub dup_n_grams: Vec<(usize, f64)>,
}

fn dup_line_frac() -> f64 {
    0.3
}
fn dup_para_frac() -> f64 {
    0.3
}
fn dup_line_char_frac() -> f64 {
    0.2
}
fn dup_para_char_frac() -> f64 {
    0.2
}
fn top_n_grams() -> Vec<(usize, f64)> {
    vec![(2, 0.2), (3, 0.18), (4, 0.16)]
}
fn dup_n_grams() -> Vec<(usize, f64)> {
    vec![
        (5, 0.15),
        (6, 0.14),
        (7, 0.13),
        (8, 0.12),
        (9, 0.11),
        (10, 0.1),
    ]
}

const TOP_REASONS: [&str; 11] = [
    "top_0_gram",
    "top_1_gram",
    "top_2_gram",
    "top_3_gram",
    "top_4_gram",
    "top_5_gram",
    "top_6_gram",
    "top_7_gram",
    "top_8_gram",
    "top_9_gram",
    "top_10_gram",
];
const DUP_REASONS: [&str; 11] = [
    "duplicated_0_n_grams",
    "duplicated_1_n_grams",
    "duplicated_2_n_grams",
    "duplicated_3_n_grams",
    "duplicated_4_n_grams",
    "duplicated_5_n_grams",
    "duplicated_6_n_grams",
    "duplicated_7_n_grams",
    "duplicated_8_n_grams",
    "duplicated_9_n_grams",
    "duplicated_10_n_grams",
];

/// Characters × count of the most frequent n-gram (words joined by spaces); ties go to the
/// n-gram seen first. Words are numbered first, so n-grams are compared as id tuples (equal
/// to comparing the joined strings: words hold no spaces).
pub fn top_n_gram_chars(words: &[&str], n: usize) -> usize {
    top_n_gram_chars_of_ids(&word_ids(words), words, n)
}

fn word_ids(words: &[&str]) -> Vec<u32> {
    let mut ids: HashMap<&str, u32, Xxh3DefaultBuilder> =
        HashMap::with_capacity_and_hasher(words.len(), Xxh3DefaultBuilder);
    words
        .iter()
        .map(|w| {
            let next = ids.len() as u32;
            *ids.entry(w).or_insert(next)
        })
        .collect()
}

fn top_n_gram_chars_of_ids(ids: &[u32], words: &[&str], n: usize) -> usize {
    if n == 0 || ids.len() < n {
        return 0;
    }
    // (count, first position) per n-gram; up to 4 word ids pack exactly into a u128 key.
    let (count, first) = if n <= 4 {
        let mut counts: HashMap<u128, (usize, usize), BuildHasherDefault<PrehashedKey>> =
            HashMap::with_capacity_and_hasher(ids.len(), Default::default());
        for (first, gram) in ids.windows(n).enumerate() {
            let key = gram
                .iter()
                .fold(0u128, |key, id| (key << 32) | u128::from(*id));
            counts.entry(key).or_insert((0, first)).0 += 1;
        }
        most_frequent(counts.into_values())
    } else {
        let mut counts: HashMap<&[u32], (usize, usize), Xxh3DefaultBuilder> =
            HashMap::with_capacity_and_hasher(ids.len(), Xxh3DefaultBuilder);
        for (first, gram) in ids.windows(n).enumerate() {
            counts.entry(gram).or_insert((0, first)).0 += 1;
        }
        most_frequent(counts.into_values())
    };
    let chars: usize = words[first..first + n]
        .iter()
        .map(|w| char_len(w))
        .sum::<usize>()
        + n
        - 1;
    chars * count
}

/// The (count, first position) with the highest count; ties go to the earliest.
fn most_frequent(counts: impl Iterator<Item = (usize, usize)>) -> (usize, usize) {
    counts
        .max_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)))
        .expect("at least one n-gram")
}

/// Hasher for keys that are already well mixed (packed word ids, polynomial hashes): one
/// multiply-fold instead of xxh3 over the key's bytes.
#[derive(Debug, Default, Clone, Copy)]
struct PrehashedKey(u64);

impl Hasher for PrehashedKey {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0 = xxhash_rust::xxh3::xxh3_64_with_seed(bytes, self.0);
    }
    fn write_u128(&mut self, value: u128) {
        let folded = (value as u64) ^ ((value >> 64) as u64).rotate_left(29);
        let mixed = u128::from(folded ^ self.0) * 0x9E37_79B9_7F4A_7C15_u128;
        self.0 = (mixed as u64) ^ ((mixed >> 64) as u64);
    }
}

/// Two polynomial hashes (mod 2^64) of the concatenated word bytes, as prefix sums, so the
/// hash of words `start..start + n` joined without a separator is read in O(1):
/// `H[end] − H[start] · B^(bytes in start..end)`. The bases are odd, so every power of them
/// is invertible mod 2^64, and `B^(bytes in start..end) = P[end] · P[start]⁻¹`.
struct ConcatHashes {
    /// Hash of the first i words' bytes.
    prefix: Vec<[u64; 2]>,
    /// B^(bytes of the first i words), and its inverse.
    power: Vec<[u64; 2]>,
    inverse_power: Vec<[u64; 2]>,
    chars: Vec<usize>,
}

const BASES: [u64; 2] = [0x9E37_79B9_7F4A_7C15, 0xC2B2_AE3D_27D4_EB4F];

/// x⁻¹ mod 2^64 for odd x (Newton's iteration doubles the correct bits each step).
fn inverse_mod_2_64(x: u64) -> u64 {
    let mut inverse = x; // correct to 3 bits for odd x
    for _ in 0..5 {
        inverse = inverse.wrapping_mul(2u64.wrapping_sub(x.wrapping_mul(inverse)));
    }
    inverse
}

impl ConcatHashes {
    fn new(words: &[&str]) -> Self {
        let inverse_bases = BASES.map(inverse_mod_2_64);
        let mut prefix = Vec::with_capacity(words.len() + 1);
        let mut power = Vec::with_capacity(words.len() + 1);
        let mut inverse_power = Vec::with_capacity(words.len() + 1);
        let (mut h, mut p, mut q) = ([0u64; 2], [1u64; 2], [1u64; 2]);
        prefix.push(h);
        power.push(p);
        inverse_power.push(q);
        for word in words {
            for &byte in word.as_bytes() {
                for k in 0..2 {
                    h[k] = h[k]
                        .wrapping_mul(BASES[k])
                        .wrapping_add(u64::from(byte) + 1);
                    p[k] = p[k].wrapping_mul(BASES[k]);
                    q[k] = q[k].wrapping_mul(inverse_bases[k]);
                }
            }
            prefix.push(h);
            power.push(p);
            inverse_power.push(q);
        }
        let chars = words.iter().map(|w| char_len(w)).collect();
        Self {
            prefix,
            power,
            inverse_power,
            chars,
        }
    }

    fn of(&self, start: usize, n: usize) -> u128 {
        let end = start + n;
        let h = [0, 1].map(|k| {
            let scale = self.power[end][k].wrapping_mul(self.inverse_power[start][k]);
            self.prefix[end][k].wrapping_sub(self.prefix[start][k].wrapping_mul(scale))
        });
        (u128::from(h[0]) << 64) | u128::from(h[1])
    }
}

/// Characters of repeated n-grams (words joined without a separator), scanning greedily: a
/// repeat skips its n words, anything else moves on by one. N-grams are compared by a 128-bit
/// hash of their joined bytes rather than by building each joined string. (The maps here
/// hash with a multiply-fold instead of SipHash: their keys are word ids and hashes.)
pub fn duplicated_n_gram_chars(words: &[&str], n: usize) -> usize {
    duplicated_n_gram_chars_of(&ConcatHashes::new(words), words.len(), n)
}

fn duplicated_n_gram_chars_of(hashes: &ConcatHashes, n_words: usize, n: usize) -> usize {
    if n == 0 || n_words < n {
        return 0;
    }
    let mut seen: HashSet<u128, BuildHasherDefault<PrehashedKey>> =
        HashSet::with_capacity_and_hasher(n_words, Default::default());
    let (mut repeated, mut index) = (0, 0);
    while index < n_words - n + 1 {
        if seen.insert(hashes.of(index, n)) {
            index += 1;
        } else {
            repeated += hashes.chars[index..index + n].iter().sum::<usize>();
            index += n;
        }
    }
    repeated
}

/// `text` split where `pattern` (a run of at least `min` newlines) matches, as Python's
/// `re.split(r"\n{min,}", text)`.
fn split_newline_runs(text: &str, min: usize) -> Vec<&str> {
    let mut parts = Vec::new();
    let bytes = text.as_bytes();
    let (mut start, mut i) = (0, 0);
    while i < bytes.len() {
        if bytes[i] == b'\n' {
            let run = bytes[i..].iter().take_while(|&&b| b == b'\n').count();
            if run >= min {
                parts.push(&text[start..i]);
                start = i + run;
            }
            i += run;
        } else {
            i += 1;
        }
    }
    parts.push(&text[start..]);
    parts
}

impl DocumentRule for GopherRepetition {
    const NAME: &'static str = "quality.gopher_repetition";
    const PREFIX: &'static str = "gopher_repetition";

    fn text_column(&self) -> &str {
        &self.text_column
    }

    fn validate(&self) -> Result<(), String> {
        if self
            .top_n_grams
            .iter()
            .chain(&self.dup_n_grams)
            .any(|(n, _)| *n == 0 || *n > 10)
        {
            return Err("n-gram sizes must be in 1..=10".into());
        }
        Ok(())
    }

    fn check(&self, text: &str) -> Result<(), &'static str> {
        if text.is_empty() {
            return Err("empty");
        }
        let length = char_len(text) as f64;
        let paragraphs = split_newline_runs(python_strip(text), 2);
        let (count, chars) = find_duplicates(paragraphs.iter().copied());
        if count as f64 / paragraphs.len() as f64 > self.dup_para_frac {
            return Err("dup_para_frac");
        }
        if chars as f64 / length > self.dup_para_char_frac {
            return Err("dup_para_char_frac");
        }
        let lines = split_newline_runs(text, 1);
        let (count, chars) = find_duplicates(lines.iter().copied());
        if count as f64 / lines.len() as f64 > self.dup_line_frac {
            return Err("dup_line_frac");
        }
        if chars as f64 / length > self.dup_line_char_frac {
            return Err("dup_line_char_frac");
        }
        let words = english_words(text);
        let ids = word_ids(&words);
        for &(n, max) in &self.top_n_grams {
            if top_n_gram_chars_of_ids(&ids, &words, n) as f64 / length > max {
                return Err(TOP_REASONS[n]);
            }
        }
        let hashes = ConcatHashes::new(&words);
        for &(n, max) in &self.dup_n_grams {
            if duplicated_n_gram_chars_of(&hashes, words.len(), n) as f64 / length > max {
                return Err(DUP_REASONS[n]);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule() -> GopherRepetition {
        serde_json::from_value(serde_json::json!({})).unwrap()
    }

    #[test]
    fn each_check_fails_with_datatroves_reason() {
        let rule = rule();
        let varied: String = (0..40).map(|i| format!("word{i} ")).collect();
        assert_eq!(rule.check(&varied), Ok(()));
        assert_eq!(rule.check(""), Err("empty"));
        assert_eq!(
            rule.check("   "),
            Ok(()),
            "whitespace only passes, as in datatrove"
        );
        assert_eq!(rule.check("\n\n"), Err("dup_line_frac"));
        // "hello world" alone: its one 2-gram is all of the text.
        assert_eq!(rule.check("hello world"), Err("top_2_gram"));
        let same = "same paragraph here\n\n";
        let paragraphs = format!("{varied}\n\n{same}{same}{same}other");
        assert_eq!(rule.check(&paragraphs), Err("dup_para_frac"));
        let lines = format!("{varied}\nrepeated line\nrepeated line\nrepeated line\nx\ny");
        assert_eq!(rule.check(&lines), Err("dup_line_frac"));
    }

    #[test]
    fn range_hashes_equal_hashes_of_the_joined_bytes() {
        let words = ["ab", "c", "déf", "ab", "c", "x", "ab"];
        let hashes = ConcatHashes::new(&words);
        for start in 0..words.len() {
            for n in 1..=words.len() - start {
                let joined = words[start..start + n].concat();
                let direct = ConcatHashes::new(&[joined.as_str()]).of(0, 1);
                assert_eq!(hashes.of(start, n), direct, "{start}+{n}");
            }
        }
        assert_ne!(hashes.of(0, 2), hashes.of(1, 2));
        for base in BASES {
            assert_eq!(inverse_mod_2_64(base).wrapping_mul(base), 1);
        }
        // Packed keys: up to 4 ids, and n-grams of 5+ words through the slice map.
        let ids = ["a", "b", "c", "d", "e", "a", "b", "c", "d", "e"];
        assert_eq!(top_n_gram_chars(&ids, 4), 7 * 2);
        assert_eq!(top_n_gram_chars(&ids, 5), 9 * 2);
    }

    #[test]
    fn n_gram_counts_follow_datatrove() {
        let words = ["a", "b", "a", "b", "a", "b", "c"];
        // "a b" three times: 3 chars × 3.
        assert_eq!(top_n_gram_chars(&words, 2), 9);
        // Ties go to the first n-gram seen: "aa b" (x2) vs "b aa" (x2) → "aa b".
        assert_eq!(top_n_gram_chars(&["aa", "b", "aa", "b", "aa"], 2), 8);
        // Greedy: "ab" new, "ba" new, "ab" repeat (+2, skip 2), "ab" repeat (+2): 4.
        assert_eq!(duplicated_n_gram_chars(&words, 2), 4);
        // Joined without a separator, as datatrove: "ab"+"c" repeats "a"+"bc".
        assert_eq!(duplicated_n_gram_chars(&["ab", "c", "a", "bc"], 2), 3);
        assert_eq!(split_newline_runs("a\n\n\nb\nc", 2), ["a", "b\nc"]);
        assert_eq!(split_newline_runs("\na\n", 1), ["", "a", ""]);
    }
}
