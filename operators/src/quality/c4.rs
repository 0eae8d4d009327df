//! `quality.c4`
//!
//! What it does: C4's rules (Raffel et al. 2020) as datatrove's `C4QualityFilter` applies them
//! line by line (`split_paragraph`): a line is dropped when a word is longer than
//! `max_word_length`, when (after removing Wikipedia citation marks) it does not end in
//! `.`, `?`, `!`, `"` or `'` or ends in `...`, when it has fewer than `min_num_words` words,
//! when it mentions javascript, or a cookie / privacy / terms-of-use policy; a document fails
//! outright on `lorem ipsum` (`lorem_ipsum`) or a `{` in a kept line (`curly_bracket`), and
//! when its kept lines hold fewer than `min_num_sentences` sentences (`too_few_sentences`;
//! sentences split as spaCy's sentencizer does). Like every blend operator it keeps the text as
//! it is (datatrove rewrites it to the kept lines); [`c4_lines`] returns the lines C4 keeps.
//!
//! Why: C4's line rules remove navigation, cookie banners and code-like boilerplate from web
//! text; FineWeb applies them before its own.

use blend_kernels::english_words;
use serde::{Deserialize, Serialize};

use crate::operator::default_text_column;
use crate::quality::datatrove_text::{
    is_sentence_end, is_unicode_punctuation, python_splitlines, python_strip,
};
use crate::quality::document_rule::DocumentRule;

const END_PUNCTUATION: [char; 5] = ['.', '?', '!', '"', '\''];
const POLICY_SUBSTRINGS: [&str; 6] = [
    "terms of use",
    "privacy policy",
    "cookie policy",
    "uses cookies",
    "use of cookies",
    "use cookies",
];

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct C4Quality {
    #[serde(default = "default_text_column")]
    pub text_column: String,
    #[serde(default = "min_num_sentences")]
    pub min_num_sentences: usize,
    #[serde(default = "min_num_words")]
    pub min_num_words: usize,
    #[serde(default = "max_word_length")]
    pub max_word_length: usize,
}

fn min_num_sentences() -> usize {
    5
}
fn min_num_words() -> usize {
    3
}
fn max_word_length() -> usize {
    1000
}

/// Sentences of `line` as spaCy's sentencizer counts them: after a token that is one
/// sentence-ending mark, the next token that is not punctuation starts a new sentence.
pub fn count_sentences(line: &str) -> usize {
    let tokens = english_words(line);
    if tokens.is_empty() {
        return 0;
    }
    let mut sentences = 1;
    let mut seen_end = false;
    for token in &tokens {
        let is_end = is_sentence_end(token);
        if seen_end && !is_end && !token.chars().all(is_unicode_punctuation) {
            sentences += 1;
            seen_end = false;
        } else if is_end {
            seen_end = true;
        }
    }
    sentences
}

/// Wikipedia citation marks `[12]`, `[]`, `[edit]` and `[citation needed]` removed.
fn remove_citations(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(open) = rest.find('[') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let digits = after
            .chars()
            .take_while(|c| c.is_numeric())
            .map(char::len_utf8)
            .sum::<usize>();
        let mark_len = if after[digits..].starts_with(']') {
            Some(digits + 1)
        } else if after.starts_with("edit]") {
            Some(5)
        } else if after.starts_with("citation needed]") {
            Some(16)
        } else {
            None
        };
        match mark_len {
            Some(len) => rest = &after[len..],
            None => {
                out.push('[');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// What C4 makes of a document: `Err(reason)`, or the kept lines.
pub fn c4_lines(rule: &C4Quality, text: &str) -> Result<Vec<String>, &'static str> {
    let mut kept = Vec::new();
    let mut sentences = 0;
    for line in python_splitlines(text) {
        let line = python_strip(line);
        let words: Vec<&str> = line.split_whitespace().collect();
        if words
            .iter()
            .any(|w| w.chars().count() > rule.max_word_length)
        {
            continue;
        }
        let line = remove_citations(line);
        if !line.ends_with(END_PUNCTUATION) || line.ends_with("...") {
            continue;
        }
        if words.len() < rule.min_num_words {
            continue;
        }
        let lower = line.to_lowercase();
        if lower.contains("lorem ipsum") {
            return Err("lorem_ipsum");
        }
        if lower.contains("javascript") {
            continue;
        }
        if line.contains('{') {
            return Err("curly_bracket");
        }
        if POLICY_SUBSTRINGS.iter().any(|p| lower.contains(p)) {
            continue;
        }
        sentences += count_sentences(&line);
        kept.push(line);
    }
    if sentences < rule.min_num_sentences {
        return Err("too_few_sentences");
    }
    Ok(kept)
}

impl DocumentRule for C4Quality {
    const NAME: &'static str = "quality.c4";
    const PREFIX: &'static str = "c4_quality";

    fn text_column(&self) -> &str {
        &self.text_column
    }

    fn check(&self, text: &str) -> Result<(), &'static str> {
        c4_lines(self, text).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule() -> C4Quality {
        serde_json::from_value(serde_json::json!({})).unwrap()
    }

    #[test]
    fn lines_are_dropped_or_kept_as_c4_does() {
        let rule = rule();
        let text = "Home | About | Contact\n\
                    The river runs past the mill. It turns the wheel! Does it stop?\n\
                    This site uses cookies to improve things.\n\
                    Enable JavaScript to see this page.\n\
                    Short line.\n\
                    The mill was built in 1820.[12] It still stands today [citation needed].\n\
                    And then it ended...\n\
                    \"Quoted lines count too,\" she said.";
        let kept = c4_lines(&rule, text).unwrap();
        assert_eq!(
            kept,
            [
                "The river runs past the mill. It turns the wheel! Does it stop?",
                "The mill was built in 1820. It still stands today .",
                "\"Quoted lines count too,\" she said.",
            ]
        );
        assert_eq!(rule.check(text), Ok(()));
        assert_eq!(rule.check("One sentence here."), Err("too_few_sentences"));
        assert_eq!(rule.check(""), Err("too_few_sentences"));
        let lorem = format!("{text}\nLorem ipsum dolor sit amet.");
        assert_eq!(rule.check(&lorem), Err("lorem_ipsum"));
        let code = format!("{text}\nfunction f() {{ return 1; }} is code.");
        assert_eq!(rule.check(&code), Err("curly_bracket"));
    }

    #[test]
    fn sentences_split_after_terminal_marks() {
        assert_eq!(count_sentences("Hi!! ok?? (yes). no"), 4);
        assert_eq!(
            count_sentences("Mr. Smith went to Washington. He stayed."),
            2
        );
        assert_eq!(count_sentences("e.g. this... and that"), 1);
        assert_eq!(count_sentences(""), 0);
    }
}
