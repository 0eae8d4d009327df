//! Made-up languages: each is a syllable inventory (onsets, vowels, codas) over its own
//! script, from which seeded vocabularies of general and domain words are drawn.

use blend_kernels::SeededRng;

/// A synthetic language: its name and its syllable parts.
#[derive(Debug, Clone, Copy)]
pub struct Language {
    pub name: &'static str,
    onsets: &'static [&'static str],
    vowels: &'static [&'static str],
    codas: &'static [&'static str],
    /// Typical syllables per word (min, max).
    syllables: (u64, u64),
}

pub const LANGUAGES: [Language; 4] = [
    Language {
        name: "tesko",
        onsets: &[
            "p", "t", "k", "b", "d", "g", "m", "n", "s", "l", "r", "v", "f", "h", "w",
        ],
        vowels: &["a", "e", "i", "o", "u"],
        codas: &["", "", "", "n", "s", "r", "l"],
        syllables: (1, 3),
    },
    Language {
        name: "ovari",
        onsets: &[
            "b", "c", "d", "f", "g", "j", "k", "l", "m", "n", "p", "r", "s", "t", "z", "sz", "cs",
            "gy",
        ],
        vowels: &[
            "a", "á", "e", "é", "i", "í", "o", "ó", "ö", "ő", "u", "ú", "ü",
        ],
        codas: &["", "", "k", "t", "n", "l", "sz"],
        syllables: (2, 4),
    },
    Language {
        name: "dravik",
        onsets: &[
            "б", "в", "г", "д", "ж", "з", "к", "л", "м", "н", "п", "р", "с", "т", "ф", "х", "ч",
            "ш",
        ],
        vowels: &["а", "е", "и", "о", "у", "ы", "я", "ю"],
        codas: &["", "", "й", "н", "с", "т", "р"],
        syllables: (1, 3),
    },
    Language {
        name: "elthea",
        onsets: &[
            "β", "γ", "δ", "ζ", "θ", "κ", "λ", "μ", "ν", "ξ", "π", "ρ", "σ", "τ", "φ", "χ",
        ],
        vowels: &["α", "ε", "η", "ι", "ο", "υ", "ω", "ά", "έ"],
        codas: &["", "", "ς", "ν", "ρ"],
        syllables: (2, 3),
    },
];

/// Share of documents per language, in `LANGUAGES` order.
pub const LANGUAGE_WEIGHTS: [f64; 4] = [0.55, 0.15, 0.15, 0.15];

impl Language {
    fn syllable(&self, rng: &mut SeededRng) -> String {
        let mut s = String::new();
        s.push_str(rng.pick::<&str>(self.onsets));
        s.push_str(rng.pick::<&str>(self.vowels));
        s.push_str(rng.pick::<&str>(self.codas));
        s
    }

    /// A word of `min..=max` syllables.
    pub fn word(&self, rng: &mut SeededRng, min: u64, max: u64) -> String {
        let count = rng.range_inclusive(min, max);
        (0..count).map(|_| self.syllable(rng)).collect()
    }

    /// `size` distinct words, shortest first (so Zipf sampling makes short words common,
    /// as function words are).
    pub fn vocabulary(&self, seed: u64, stream: &str, size: usize) -> Vec<String> {
        let mut rng = SeededRng::for_stream(seed, &format!("vocab/{}/{stream}", self.name));
        let mut seen = std::collections::HashSet::new();
        let mut words = Vec::with_capacity(size);
        let mut attempts = 0;
        while words.len() < size && attempts < size * 50 {
            attempts += 1;
            let word = self.word(&mut rng, self.syllables.0, self.syllables.1 + 1);
            if seen.insert(word.clone()) {
                words.push(word);
            }
        }
        words.sort_by_key(|w| (w.chars().count(), w.clone()));
        // Keep a little disorder among the long tail so frequent ≠ strictly shortest.
        let head = words.len().min(20);
        rng.shuffle(&mut words[head..]);
        words
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocabularies_are_seeded_distinct_and_script_specific() {
        let latin = LANGUAGES[0].vocabulary(1, "general", 500);
        assert_eq!(latin, LANGUAGES[0].vocabulary(1, "general", 500));
        assert_ne!(latin, LANGUAGES[0].vocabulary(2, "general", 500));
        assert_eq!(latin.len(), 500);
        assert!(latin.iter().all(|w| w.is_ascii()));
        let cyrillic = LANGUAGES[2].vocabulary(1, "general", 300);
        assert!(
            cyrillic
                .iter()
                .all(|w| w.chars().all(|c| ('а'..='я').contains(&c) || c == 'й'))
        );
    }
}
