//! The five domains and their styles: prose (paragraphs), web (title, navigation line,
//! short paragraphs, footer), chat (User/Assistant turns), code (a made-up language with
//! identifiers from the domain vocabulary) and math (worked problems with formulas).

use blend_kernels::SeededRng;

use super::language::Language;

pub const DOMAINS: [&str; 5] = ["prose", "web", "chat", "code", "math"];
/// Share of documents per domain, in `DOMAINS` order.
pub const DOMAIN_WEIGHTS: [f64; 5] = [0.30, 0.25, 0.15, 0.15, 0.15];

/// Words of one (language, domain): the language's general words and the domain's own.
#[derive(Debug, Clone)]
pub struct Vocabulary {
    pub general: Vec<String>,
    pub domain: Vec<String>,
}

impl Vocabulary {
    pub fn new(language: &Language, seed: u64, domain: &str) -> Self {
        Self {
            general: language.vocabulary(seed, "general", 2000),
            domain: language.vocabulary(seed, &format!("domain/{domain}"), 400),
        }
    }

    /// A word: mostly general, one in three from the domain's own words.
    pub fn word(&self, rng: &mut SeededRng) -> &str {
        if rng.bernoulli(0.33) {
            &self.domain[rng.zipf(self.domain.len(), 1.0)]
        } else {
            &self.general[rng.zipf(self.general.len(), 1.05)]
        }
    }

    pub fn domain_word(&self, rng: &mut SeededRng) -> &str {
        &self.domain[rng.zipf(self.domain.len(), 0.9)]
    }
}

fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A sentence of `min..=max` words ending in terminal punctuation.
pub fn sentence(vocab: &Vocabulary, rng: &mut SeededRng, min: u64, max: u64) -> String {
    let count = rng.range_inclusive(min, max) as usize;
    let mut out = String::new();
    for i in 0..count {
        let word = vocab.word(rng);
        if i == 0 {
            out.push_str(&capitalize(word));
        } else {
            out.push(' ');
            out.push_str(word);
            if i + 1 < count && rng.bernoulli(0.08) {
                out.push(',');
            }
        }
    }
    let end = match rng.below(10) {
        0 => '?',
        1 => '!',
        _ => '.',
    };
    out.push(end);
    out
}

fn paragraph(
    vocab: &Vocabulary,
    rng: &mut SeededRng,
    sentences: (u64, u64),
    words: (u64, u64),
) -> String {
    let count = rng.range_inclusive(sentences.0, sentences.1);
    (0..count)
        .map(|_| sentence(vocab, rng, words.0, words.1))
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn prose(vocab: &Vocabulary, rng: &mut SeededRng) -> String {
    let paragraphs = rng.range_inclusive(2, 6);
    (0..paragraphs)
        .map(|_| paragraph(vocab, rng, (3, 7), (6, 18)))
        .collect::<Vec<_>>()
        .join("\n\n")
}

pub fn web(vocab: &Vocabulary, rng: &mut SeededRng) -> String {
    let title: Vec<String> = (0..rng.range_inclusive(3, 7))
        .map(|_| capitalize(vocab.domain_word(rng)))
        .collect();
    let nav: Vec<String> = (0..4).map(|_| capitalize(vocab.domain_word(rng))).collect();
    let mut lines = vec![title.join(" "), nav.join(" | ")];
    for _ in 0..rng.range_inclusive(3, 7) {
        lines.push(paragraph(vocab, rng, (2, 4), (5, 14)));
    }
    lines.push(format!(
        "Posted {}-{:02}-{:02} by {}. {} {}.",
        2010 + rng.below(15),
        1 + rng.below(12),
        1 + rng.below(28),
        capitalize(vocab.word(rng)),
        capitalize(vocab.domain_word(rng)),
        vocab.domain_word(rng)
    ));
    lines.join("\n")
}

pub fn chat(vocab: &Vocabulary, rng: &mut SeededRng) -> String {
    let turns = rng.range_inclusive(2, 6);
    let mut lines = Vec::new();
    for _ in 0..turns {
        lines.push(format!("User: {}", paragraph(vocab, rng, (1, 3), (4, 14))));
        lines.push(format!(
            "Assistant: {}",
            paragraph(vocab, rng, (2, 5), (6, 16))
        ));
    }
    lines.join("\n")
}

fn identifier(vocab: &Vocabulary, rng: &mut SeededRng) -> String {
    let parts = rng.range_inclusive(1, 2);
    (0..parts)
        .map(|_| ascii_fold(vocab.domain_word(rng)))
        .collect::<Vec<_>>()
        .join("_")
}

/// Identifiers stay ASCII whatever the language, as in most real code.
fn ascii_fold(word: &str) -> String {
    let folded: String = word
        .chars()
        .map(|c| {
            if c.is_ascii_alphabetic() {
                c
            } else {
                char::from(b'a' + (u32::from(c) % 26) as u8)
            }
        })
        .collect();
    folded.to_lowercase()
}

pub fn code(vocab: &Vocabulary, rng: &mut SeededRng) -> String {
    let mut lines = vec![format!("# {}", sentence(vocab, rng, 5, 12))];
    for _ in 0..rng.range_inclusive(2, 5) {
        let name = identifier(vocab, rng);
        let args: Vec<String> = (0..rng.range_inclusive(1, 3))
            .map(|_| identifier(vocab, rng))
            .collect();
        lines.push(String::new());
        lines.push(format!("def {name}({}):", args.join(", ")));
        lines.push(format!("    \"\"\"{}\"\"\"", sentence(vocab, rng, 4, 10)));
        let mut locals = args.clone();
        for _ in 0..rng.range_inclusive(2, 6) {
            let target = identifier(vocab, rng);
            let left = rng.pick(&locals).clone();
            let statement = match rng.below(4) {
                0 => format!("    {target} = {left} + {}", rng.below(100)),
                1 => format!("    {target} = {}({left})", identifier(vocab, rng)),
                2 => format!(
                    "    if {left} > {}:\n        {target} = {left} * 2\n    else:\n        {target} = {left}",
                    rng.below(50)
                ),
                _ => format!(
                    "    {target} = [{left} for {left} in range({})]",
                    rng.below(20) + 1
                ),
            };
            lines.push(statement);
            locals.push(target);
        }
        lines.push(format!("    return {}", rng.pick(&locals)));
    }
    lines.join("\n")
}

pub fn math(vocab: &Vocabulary, rng: &mut SeededRng) -> String {
    let mut lines = Vec::new();
    for number in 1..=rng.range_inclusive(1, 3) {
        let a = rng.range_inclusive(2, 19);
        let b = rng.range_inclusive(1, 99);
        let x = rng.range_inclusive(1, 30);
        let var = ascii_fold(vocab.domain_word(rng));
        lines.push(format!(
            "Problem {number}. {} Let {var} satisfy {a}*{var} + {b} = {}. {}",
            sentence(vocab, rng, 5, 12),
            a * x + b,
            sentence(vocab, rng, 4, 10)
        ));
        lines.push(format!(
            "Solution. Subtracting {b} gives {a}*{var} = {}, therefore {var} = {}/{a} = {x}. {}",
            a * x,
            a * x,
            sentence(vocab, rng, 5, 12)
        ));
        lines.push(format!(
            "Check: {a}*{x} + {b} = {}. {}",
            a * x + b,
            paragraph(vocab, rng, (1, 3), (6, 14))
        ));
    }
    lines.join("\n\n")
}

/// Generates a document of `domain` (an entry of `DOMAINS`).
pub fn generate(domain: &str, vocab: &Vocabulary, rng: &mut SeededRng) -> String {
    match domain {
        "prose" => prose(vocab, rng),
        "web" => web(vocab, rng),
        "chat" => chat(vocab, rng),
        "code" => code(vocab, rng),
        "math" => math(vocab, rng),
        other => unreachable!("unknown synthetic domain {other}"),
    }
}
