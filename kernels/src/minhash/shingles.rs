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

/// Calls `on_word` with each lowercased word of `text` (its UTF-8 bytes).
pub fn for_each_word(text: &str, mut on_word: impl FnMut(&[u8])) {
    let bytes = text.as_bytes();
    let mut word: Vec<u8> = Vec::with_capacity(64);
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        if byte < 0x80 {
            let lower = ASCII_WORD[byte as usize];
            if lower != 0 {
                word.push(lower);
            } else if !word.is_empty() {
                on_word(&word);
                word.clear();
            }
            i += 1;
            continue;
        }
        let ch = text[i..].chars().next().expect("i is on a char boundary");
        if ch.is_alphanumeric() {
            let mut utf8 = [0u8; 4];
            for lower in ch.to_lowercase() {
                word.extend_from_slice(lower.encode_utf8(&mut utf8).as_bytes());
            }
        } else if !word.is_empty() {
            on_word(&word);
            word.clear();
        }
        i += ch.len_utf8();
    }
    if !word.is_empty() {
        on_word(&word);
    }
}

/// Hash of an ordered window of word hashes.
#[inline(always)]
fn window_hash(words: impl Iterator<Item = u64>) -> u64 {
    let mut h = 0x9E37_79B9_7F4A_7C15u64;
    for w in words {
        h = fmix64(h.rotate_left(23) ^ w);
    }
    h
}

/// Appends the shingle hashes of `text` to `out` (duplicates included; callers that need a
/// set sort and dedup).
pub fn shingle_hashes(text: &str, config: &ShingleConfig, out: &mut Vec<u64>) {
    let n = config.n.max(1);
    match config.kind {
        ShingleKind::Word => word_shingles(text, n, out),
        ShingleKind::Char => char_shingles(text, n, out),
    }
}

fn word_shingles(text: &str, n: usize, out: &mut Vec<u64>) {
    let mut ring = vec![0u64; n];
    let mut seen = 0usize;
    for_each_word(text, |word| {
        ring[seen % n] = xxh3_64(word);
        seen += 1;
        if seen >= n {
            let start = seen % n;
            out.push(window_hash((0..n).map(|k| ring[(start + k) % n])));
        }
    });
    if seen > 0 && seen < n {
        out.push(window_hash(ring[..seen].iter().copied()));
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
