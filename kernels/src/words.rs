//! Word splitting for the heuristic quality rules: whitespace-separated tokens with leading
//! and trailing punctuation stripped, and the test for tokens made only of symbols.

/// Tokens of `text` split on Unicode whitespace, with ASCII and Unicode punctuation trimmed
/// from both ends. Tokens that were only punctuation come back empty-trimmed as themselves so
/// callers can count them as symbols (see [`is_symbol_only`]).
pub fn split_words(text: &str) -> impl Iterator<Item = &str> {
    text.split_whitespace().map(|token| {
        let trimmed = token.trim_matches(is_punctuation);
        if trimmed.is_empty() { token } else { trimmed }
    })
}

/// True when a token has no alphanumeric character (e.g. `--`, `|`, `%%%`).
pub fn is_symbol_only(token: &str) -> bool {
    !token.chars().any(char::is_alphanumeric)
}

fn is_punctuation(ch: char) -> bool {
    ch.is_ascii_punctuation()
        || matches!(
            ch,
            '“' | '”'
                | '‘'
                | '’'
                | '«'
                | '»'
                | '…'
                | '—'
                | '–'
                | '¿'
                | '¡'
                | '。'
                | '、'
                | '，'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_edge_punctuation_only() {
        let words: Vec<&str> = split_words("Hello, world! (it's) e-mail ...").collect();
        assert_eq!(words, ["Hello", "world", "it's", "e-mail", "..."]);
        assert!(is_symbol_only("..."));
        assert!(!is_symbol_only("e-mail"));
        assert!(!is_symbol_only("42"));
    }

    #[test]
    fn non_latin_words_are_words() {
        let words: Vec<&str> = split_words("Привет, мир «дом»").collect();
        assert_eq!(words, ["Привет", "мир", "дом"]);
    }

    #[test]
    fn empty_text_has_no_words() {
        assert_eq!(split_words("  \n\t ").count(), 0);
    }
}
