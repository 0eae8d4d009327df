//! `quality.gopher_quality` (formerly `quality.gopher`)
//!
//! What it does: Gopher's quality rules (Rae et al. 2021, appendix A) as datatrove's
//! `GopherQualityFilter` applies them, in its order, with its reason names: non-symbol word
//! count in `[min_doc_words, max_doc_words]` (`gopher_short_doc` / `gopher_long_doc`), mean
//! non-symbol word length in `[min_avg_word_length, max_avg_word_length]`, `#` per word and
//! `...`/`…` per word at most `max_symbol_word_ratio`, at most `max_bullet_lines_ratio` of the
//! lines starting with `•` or `-`, at most `max_ellipsis_lines_ratio` ending in an ellipsis,
//! at least `min_alpha_words_ratio` of the words holding a letter, and at least
//! `min_stop_words` distinct English stop words (case-sensitive). Words are datatrove's
//! English words (`blend_kernels::english_words`, spaCy's splitting); a word is a symbol when
//! every character is datatrove punctuation.
//!
//! Why: these rules remove boilerplate, lists, tables and machine text cheaply; matching
//! datatrove's decisions lets a team compare blend's output with FineWeb-style pipelines.

use blend_kernels::english_words;
use serde::{Deserialize, Serialize};

use crate::operator::default_text_column;
use crate::quality::datatrove_text::{char_len, is_punctuation, python_splitlines};
use crate::quality::document_rule::DocumentRule;

pub const STOP_WORDS: [&str; 8] = ["the", "be", "to", "of", "and", "that", "have", "with"];

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GopherQuality {
    #[serde(default = "default_text_column")]
    pub text_column: String,
    #[serde(default = "min_doc_words")]
    pub min_doc_words: usize,
    #[serde(default = "max_doc_words")]
    pub max_doc_words: usize,
    #[serde(default = "min_avg_word_length")]
    pub min_avg_word_length: f64,
    #[serde(default = "max_avg_word_length")]
    pub max_avg_word_length: f64,
    #[serde(default = "max_ratio_01")]
    pub max_symbol_word_ratio: f64,
    #[serde(default = "max_bullet_lines_ratio")]
    pub max_bullet_lines_ratio: f64,
    #[serde(default = "max_ellipsis_lines_ratio")]
    pub max_ellipsis_lines_ratio: f64,
    #[serde(default = "min_alpha_words_ratio")]
    pub min_alpha_words_ratio: f64,
    #[serde(default = "min_stop_words")]
    pub min_stop_words: usize,
}

fn min_doc_words() -> usize {
    50
}
fn max_doc_words() -> usize {
    100_000
}
fn min_avg_word_length() -> f64 {
    3.0
}
fn max_avg_word_length() -> f64 {
    10.0
}
fn max_ratio_01() -> f64 {
    0.1
}
fn max_bullet_lines_ratio() -> f64 {
    0.9
}
fn max_ellipsis_lines_ratio() -> f64 {
    0.3
}
fn min_alpha_words_ratio() -> f64 {
    0.8
}
fn min_stop_words() -> usize {
    2
}

impl DocumentRule for GopherQuality {
    const NAME: &'static str = "quality.gopher_quality";
    const ALIASES: &'static [&'static str] = &["quality.gopher"];
    const PREFIX: &'static str = "gopher_quality";

    fn text_column(&self) -> &str {
        &self.text_column
    }

    fn validate(&self) -> Result<(), String> {
        if self.min_doc_words > self.max_doc_words
            || self.min_avg_word_length > self.max_avg_word_length
        {
            return Err("a minimum is above its maximum".into());
        }
        Ok(())
    }

    fn check(&self, text: &str) -> Result<(), &'static str> {
        let words = english_words(text);
        let n_words = words.len() as f64;
        let non_symbol: Vec<&str> = words
            .iter()
            .copied()
            .filter(|w| w.chars().any(|c| !is_punctuation(c)))
            .collect();
        if non_symbol.len() < self.min_doc_words {
            return Err("gopher_short_doc");
        }
        if non_symbol.len() > self.max_doc_words {
            return Err("gopher_long_doc");
        }
        let mean_length =
            non_symbol.iter().map(|w| char_len(w)).sum::<usize>() as f64 / non_symbol.len() as f64;
        if mean_length < self.min_avg_word_length {
            return Err("gopher_below_avg_threshold");
        }
        if mean_length > self.max_avg_word_length {
            return Err("gopher_above_avg_threshold");
        }
        if text.matches('#').count() as f64 / n_words > self.max_symbol_word_ratio {
            return Err("gopher_too_many_hashes");
        }
        let ellipses = text.matches("...").count() + text.matches('…').count();
        if ellipses as f64 / n_words > self.max_symbol_word_ratio {
            return Err("gopher_too_many_ellipsis");
        }
        let lines = python_splitlines(text);
        let n_lines = lines.len().max(1) as f64;
        let bullets = lines
            .iter()
            .filter(|l| {
                let l = l.trim_start();
                l.starts_with('•') || l.starts_with('-')
            })
            .count();
        if bullets as f64 / n_lines > self.max_bullet_lines_ratio {
            return Err("gopher_too_many_bullets");
        }
        let trailing = lines
            .iter()
            .filter(|l| {
                let l = l.trim_end();
                l.ends_with("...") || l.ends_with('…')
            })
            .count();
        if trailing as f64 / n_lines > self.max_ellipsis_lines_ratio {
            return Err("gopher_too_many_end_ellipsis");
        }
        let alpha = words
            .iter()
            .filter(|w| w.chars().any(char::is_alphabetic))
            .count();
        if (alpha as f64) / n_words < self.min_alpha_words_ratio {
            return Err("gopher_below_alpha_threshold");
        }
        let stop_words = STOP_WORDS.iter().filter(|s| words.contains(s)).count();
        if stop_words < self.min_stop_words {
            return Err("gopher_enough_stop_words");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule() -> GopherQuality {
        serde_json::from_value(serde_json::json!({})).unwrap()
    }

    fn prose(words: usize) -> String {
        let base = [
            "the", "river", "runs", "past", "mill", "and", "with", "bright", "water",
        ];
        (0..words)
            .map(|i| base[i % base.len()])
            .collect::<Vec<_>>()
            .join(" ")
            + "."
    }

    #[test]
    fn each_check_fails_with_datatroves_reason() {
        let rule = rule();
        assert_eq!(rule.check(&prose(60)), Ok(()));
        assert_eq!(rule.check(&prose(49)), Err("gopher_short_doc"));
        assert_eq!(rule.check(""), Err("gopher_short_doc"));
        assert_eq!(
            rule.check(&"ab cd ".repeat(40)),
            Err("gopher_below_avg_threshold")
        );
        assert_eq!(
            rule.check(&"extraordinarily ".repeat(60)),
            Err("gopher_above_avg_threshold")
        );
        assert_eq!(
            rule.check(&format!("{} {}", prose(60), "# ".repeat(12))),
            Err("gopher_too_many_hashes")
        );
        let bullets: String = (0..20).map(|_| format!("- {}\n", prose(4))).collect();
        assert_eq!(rule.check(&bullets), Err("gopher_too_many_bullets"));
        let trailing: String = (0..20)
            .map(|i| format!("{}{}\n", prose(4), if i % 2 == 0 { "…" } else { "" }))
            .collect();
        assert_eq!(rule.check(&trailing), Err("gopher_too_many_end_ellipsis"));
        // Punctuation tokens count as words without letters: 60 words + 30 numbers.
        assert_eq!(
            rule.check(&format!("{} {}", prose(60), "12 ".repeat(30))),
            Err("gopher_below_alpha_threshold")
        );
        // Stop words are matched case-sensitively: "The" and "And" do not count.
        let capitalized = "The And river runs past mill bright water ".repeat(8);
        assert_eq!(rule.check(&capitalized), Err("gopher_enough_stop_words"));
    }
}
