//! Junk documents of four kinds: one line repeated many times, symbol soup, very short
//! texts, and navigation/legal boilerplate. Each carries random words so no two collide.

use blend_kernels::SeededRng;

use super::domains::{Vocabulary, sentence};
use super::truth::JunkKind;

pub const JUNK_KINDS: [JunkKind; 4] = [
    JunkKind::RepeatedLines,
    JunkKind::SymbolSoup,
    JunkKind::VeryShort,
    JunkKind::Boilerplate,
];

const SYMBOLS: &[char] = &[
    '#', '$', '%', '&', '*', '@', '!', '~', '^', '+', '=', '<', '>', '|', '/', '\\',
];

pub fn generate(kind: JunkKind, vocab: &Vocabulary, rng: &mut SeededRng) -> String {
    match kind {
        JunkKind::RepeatedLines => {
            let line = sentence(vocab, rng, 4, 9);
            let times = rng.range_inclusive(20, 60) as usize;
            vec![line; times].join("\n")
        }
        JunkKind::SymbolSoup => {
            let tokens = rng.range_inclusive(80, 300);
            (0..tokens)
                .map(|_| {
                    let len = rng.range_inclusive(1, 14);
                    (0..len).map(|_| *rng.pick(SYMBOLS)).collect::<String>()
                })
                .collect::<Vec<_>>()
                .join(" ")
        }
        JunkKind::VeryShort => sentence(vocab, rng, 2, 8),
        JunkKind::Boilerplate => {
            let brand = vocab.domain_word(rng).to_string();
            [
                format!("Home | About {brand} | Contact | Login | Register"),
                "Accept cookies".to_string(),
                format!(
                    "Copyright {} {brand}. All rights reserved.",
                    2000 + rng.below(25)
                ),
                "Privacy policy | Terms of use".to_string(),
                format!("Share: {} {}", vocab.word(rng), vocab.word(rng)),
            ]
            .join("\n")
        }
    }
}
