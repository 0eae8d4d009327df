//! `quality.fineweb`
//!
//! What it does: FineWeb's own rules as datatrove's `FineWebQualityFilter` applies them, in
//! its order, with its reason names, over the non-blank lines: at least `line_punct_thr` of
//! them end in terminal punctuation (`line_punct_ratio`), at most `short_line_thr` are at most
//! `short_line_length` characters (`short_line_ratio`), duplicated lines hold at most
//! `char_duplicates_ratio` of the characters (`char_dup_ratio`), and newlines per word are at
//! most `new_line_ratio` (`list_ratio`). Text without a non-blank line fails with `empty`.
//!
//! Why: FineWeb (Penedo et al. 2024) found these three signals on top of C4's and Gopher's
//! rules improved its ablation models; they catch lists, menus and pasted boilerplate.

use blend_kernels::english_words;
use serde::{Deserialize, Serialize};

use crate::operator::default_text_column;
use crate::quality::datatrove_text::{char_len, find_duplicates, is_terminal_punctuation};
use crate::quality::document_rule::DocumentRule;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FineWebQuality {
    #[serde(default = "default_text_column")]
    pub text_column: String,
    #[serde(default = "line_punct_thr")]
    pub line_punct_thr: f64,
    /// Let documents with no line ending in punctuation through (datatrove's flag).
    #[serde(default)]
    pub line_punct_exclude_zero: bool,
    #[serde(default = "short_line_thr")]
    pub short_line_thr: f64,
    #[serde(default = "short_line_length")]
    pub short_line_length: usize,
    #[serde(default = "char_duplicates_ratio")]
    pub char_duplicates_ratio: f64,
    #[serde(default = "new_line_ratio")]
    pub new_line_ratio: f64,
}

fn line_punct_thr() -> f64 {
    0.12
}
fn short_line_thr() -> f64 {
    0.67
}
fn short_line_length() -> usize {
    30
}
fn char_duplicates_ratio() -> f64 {
    0.01
}
fn new_line_ratio() -> f64 {
    0.3
}

impl DocumentRule for FineWebQuality {
    const NAME: &'static str = "quality.fineweb";
    const PREFIX: &'static str = "fineweb_quality";

    fn text_column(&self) -> &str {
        &self.text_column
    }

    fn check(&self, text: &str) -> Result<(), &'static str> {
        let lines: Vec<&str> = text.split('\n').filter(|l| !l.trim().is_empty()).collect();
        if lines.is_empty() {
            return Err("empty");
        }
        let n_lines = lines.len() as f64;
        let ending = lines
            .iter()
            .filter(|l| l.chars().next_back().is_some_and(is_terminal_punctuation))
            .count() as f64
            / n_lines;
        if ending < self.line_punct_thr && !(ending == 0.0 && self.line_punct_exclude_zero) {
            return Err("line_punct_ratio");
        }
        let short = lines
            .iter()
            .filter(|l| char_len(l) <= self.short_line_length)
            .count() as f64
            / n_lines;
        if short > self.short_line_thr {
            return Err("short_line_ratio");
        }
        let (_, duplicated) = find_duplicates(lines.iter().copied());
        let characters = text.chars().filter(|&c| c != '\n').count();
        if duplicated as f64 / characters as f64 > self.char_duplicates_ratio {
            return Err("char_dup_ratio");
        }
        let newlines = text.matches('\n').count() as f64;
        let words = english_words(text).len() as f64;
        if newlines / words > self.new_line_ratio {
            return Err("list_ratio");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule() -> FineWebQuality {
        serde_json::from_value(serde_json::json!({})).unwrap()
    }

    #[test]
    fn each_check_fails_with_datatroves_reason() {
        let rule = rule();
        let line = |i: usize| format!("This is line number {i} of a long enough paragraph.");
        let good: String = (0..10).map(|i| line(i) + "\n").collect();
        assert_eq!(rule.check(&good), Ok(()));
        assert_eq!(rule.check(" \n\t\n"), Err("empty"));
        let unpunctuated: String = (0..10)
            .map(|i| format!("menu entry number {i} without a stop here\n"))
            .collect();
        assert_eq!(rule.check(&unpunctuated), Err("line_punct_ratio"));
        // A line ending in a space does not end in punctuation (raw lines).
        assert_eq!(
            rule.check(&good.replace(".\n", ". \n")),
            Err("line_punct_ratio")
        );
        let short: String = (0..10).map(|i| format!("Item {i}.\n")).collect();
        assert_eq!(rule.check(&short), Err("short_line_ratio"));
        let repeated = format!("{good}{}\n", line(3));
        assert_eq!(rule.check(&repeated), Err("char_dup_ratio"));
        let listy = format!("{}{}", line(1), "\n".repeat(40));
        assert_eq!(rule.check(&listy), Err("list_ratio"));
    }
}
