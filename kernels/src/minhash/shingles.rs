//! Shingles of a document as 64-bit hashes. Text is lowercased; a word is a maximal run of
//! alphanumeric characters (punctuation and whitespace only separate words, so `Hello,
//! world` and `hello world` shingle alike). Word n-grams (default 5) or character n-grams
//! over the words joined by single spaces. A document with fewer than n units but at least
//! one gives one shingle of all of them; a document without words gives none, so it is
//! never a near duplicate of anything.

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::xxh3_64;

use super::fmix64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShingleKind {
    Word,
    Char,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShingleConfig {
    pub kind: ShingleKind,
    /// Words (or characters) per shingle.
    pub n: usize,
}

impl ShingleConfig {
    pub fn words(n: usize) -> Self {
        Self {
            kind: ShingleKind::Word,
            n,
        }
    }
}

/// ASCII bytes mapped to their lowercase form, or 0 when not alphanumeric.
const ASCII_WORD: [u8; 128] = {
    let mut table = [0u8; 128];
    let mut b = 0;
    while b < 128 {
        let byte = b as u8;
        if byte.is_ascii_alphanumeric() {
            table[b] = byte.to_ascii_lowercase();
        }
        b += 1;
    }
    table
};

/// Calls `on_word` with each lowercased word of `text` (its UTF-8 bytes). Lowercase ASCII
/// words are passed straight from `text`; only words with capitals or non-ASCII letters are
/// copied.
pub fn for_each_word(text: &str, mut on_word: impl FnMut(&[u8])) {
    let bytes = text.as_bytes();
    let mut word: Vec<u8> = Vec::with_capacity(64);
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        if byte < 0x80 && ASCII_WORD[byte as usize] == 0 {
            i += 1;
            continue;
        }
        // An ASCII run first: most words end here.
        let start = i;
        let mut has_upper = false;
        while i < bytes.len() && bytes[i] < 0x80 && ASCII_WORD[bytes[i] as usize] != 0 {
            has_upper |= bytes[i].is_ascii_uppercase();
            i += 1;
        }
        if i == bytes.len() || bytes[i] < 0x80 {
            if has_upper {
                word.clear();
                word.extend(bytes[start..i].iter().map(|b| ASCII_WORD[*b as usize]));
                on_word(&word);
            } else {
                on_word(&bytes[start..i]);
            }
            continue;
        }
        // The word goes on (or starts) with a non-ASCII character: decode char by char.
        word.clear();
        word.extend(bytes[start..i].iter().map(|b| ASCII_WORD[*b as usize]));
        while i < bytes.len() {
            let byte = bytes[i];
            if byte < 0x80 {
                let lower = ASCII_WORD[byte as usize];
                if lower == 0 {
                    break;
                }
                word.push(lower);
                i += 1;
                continue;
            }
            let ch = text[i..].chars().next().expect("i is on a char boundary");
            if !ch.is_alphanumeric() {
                if word.is_empty() {
                    // A separator that is not ASCII: skip it.
                    i += ch.len_utf8();
                }
                break;
            }
            let mut utf8 = [0u8; 4];
            for lower in ch.to_lowercase() {
                word.extend_from_slice(lower.encode_utf8(&mut utf8).as_bytes());
            }
            i += ch.len_utf8();
        }
        if !word.is_empty() {
            on_word(&word);
        }
    }
}

/// Multiplier of the rolling polynomial hash over word hashes (odd, so invertible mod 2^64).
const ROLLING_BASE: u64 = 0x9E37_79B9_7F4A_7C15;

/// Appends the shingle hashes of `text` to `out` (duplicates included; callers that need a
/// set sort and dedup).
pub fn shingle_hashes(text: &str, config: &ShingleConfig, out: &mut Vec<u64>) {
    let n = config.n.max(1);
    match config.kind {
        ShingleKind::Word => word_shingles(text, n, out),
        ShingleKind::Char => char_shingles(text, n, out),
    }
}

/// Word n-grams by a rolling hash: the window's hash is Σ wᵢ·B^(n−1−i) over its word
/// hashes wᵢ (mod 2^64), updated in O(1) per word and finalized with `fmix64`, so a shingle
/// costs the same at any n.
fn word_shingles(text: &str, n: usize, out: &mut Vec<u64>) {
    let oldest_weight = (1..n).fold(1u64, |acc, _| acc.wrapping_mul(ROLLING_BASE));
    let mut ring = vec![0u64; n];
    let (mut slot, mut seen, mut window) = (0usize, 0usize, 0u64);
    for_each_word(text, |word| {
        let hash = xxh3_64(word);
        if seen >= n {
            window = window.wrapping_sub(ring[slot].wrapping_mul(oldest_weight));
        }
        window = window.wrapping_mul(ROLLING_BASE).wrapping_add(hash);
        ring[slot] = hash;
        slot += 1;
        if slot == n {
            slot = 0;
        }
        seen += 1;
        if seen >= n {
            out.push(fmix64(window));
        }
    });
    if seen > 0 && seen < n {
        out.push(fmix64(window));
    }
}

fn char_shingles(text: &str, n: usize, out: &mut Vec<u64>) {
    let mut normalized = String::with_capacity(text.len());
    for_each_word(text, |word| {
        if !normalized.is_empty() {
            normalized.push(' ');
        }
        normalized.push_str(std::str::from_utf8(word).expect("words are UTF-8"));
    });
    if normalized.is_empty() {
        return;
    }
    let starts: Vec<usize> = normalized
        .char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(normalized.len()))
        .collect();
    let chars = starts.len() - 1;
    if chars <= n {
        out.push(xxh3_64(normalized.as_bytes()));
        return;
    }
    for start in 0..=chars - n {
        out.push(xxh3_64(
            &normalized.as_bytes()[starts[start]..starts[start + n]],
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        let mut out = Vec::new();
        for_each_word(text, |w| out.push(String::from_utf8(w.to_vec()).unwrap()));
        out
    }

    /// The obviously-correct reference: split on non-alphanumeric chars, lowercase.
    fn reference_words(text: &str) -> Vec<String> {
        text.split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(|w| w.chars().flat_map(char::to_lowercase).collect())
            .collect()
    }

    #[test]
    fn words_are_lowercase_alphanumeric_runs() {
        assert_eq!(
            words("Hello, World! x_y 3.14"),
            ["hello", "world", "x", "y", "3", "14"]
        );
        assert_eq!(words("  "), Vec::<String>::new());
        assert_eq!(
            words("Straße ÄÖÜ Ελληνικά ПРИВЕТ мир"),
            ["straße", "äöü", "ελληνικά", "привет", "мир"]
        );
        for text in [
            "naïve café — «quoted» 東京タワー 123abc",
            "tabs\tand\nnewlines\r\n",
            "emoji 🙂 between ½ and ²",
            "İstanbul ǅemal",
        ] {
            assert_eq!(words(text), reference_words(text), "{text:?}");
        }
    }

    #[test]
    fn every_char_agrees_with_the_reference_classification() {
        for code in 0..0x11_0000u32 {
            let Some(ch) = char::from_u32(code) else {
                continue;
            };
            let text = format!("a{ch}b");
            assert_eq!(words(&text), reference_words(&text), "U+{code:04X}");
        }
    }

    #[test]
    fn word_shingles_ignore_case_and_punctuation() {
        let config = ShingleConfig::words(3);
        let mut a = Vec::new();
        let mut b = Vec::new();
        shingle_hashes("The quick, brown fox jumps.", &config, &mut a);
        shingle_hashes("the QUICK brown   fox\njumps", &config, &mut b);
        assert_eq!(a, b);
        assert_eq!(a.len(), 3);
        let mut c = Vec::new();
        shingle_hashes("quick the brown fox jumps", &config, &mut c);
        assert_ne!(a[0], c[0], "order matters inside a shingle");
    }

    #[test]
    fn rolling_hash_equals_hashing_each_window() {
        let text = "one two three four five six seven eight nine ten eleven";
        let hashes: Vec<u64> = text.split(' ').map(|w| xxh3_64(w.as_bytes())).collect();
        for n in [1, 2, 5, 11, 12] {
            let mut rolled = Vec::new();
            shingle_hashes(text, &ShingleConfig::words(n), &mut rolled);
            let expected: Vec<u64> = if n > hashes.len() {
                vec![window_reference(&hashes)]
            } else {
                hashes.windows(n).map(window_reference).collect()
            };
            assert_eq!(rolled, expected, "n={n}");
        }
    }

    fn window_reference(words: &[u64]) -> u64 {
        fmix64(
            words
                .iter()
                .fold(0u64, |h, w| h.wrapping_mul(ROLLING_BASE).wrapping_add(*w)),
        )
    }

    #[test]
    fn short_and_empty_documents() {
        let config = ShingleConfig::words(5);
        let mut out = Vec::new();
        shingle_hashes("only three words", &config, &mut out);
        assert_eq!(out.len(), 1);
        out.clear();
        shingle_hashes(" ... !!! ", &config, &mut out);
        assert!(out.is_empty());
        let chars = ShingleConfig {
            kind: ShingleKind::Char,
            n: 4,
        };
        shingle_hashes("ab", &chars, &mut out);
        assert_eq!(out.len(), 1);
        out.clear();
        shingle_hashes("Ab, cd", &chars, &mut out);
        let mut same = Vec::new();
        shingle_hashes("ab cd", &chars, &mut same);
        assert_eq!(out, same);
        assert_eq!(out.len(), 2);
    }
}
