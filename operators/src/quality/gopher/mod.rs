//! Gopher quality rules (Rae et al. 2021, "Scaling Language Models", appendix A), with
//! datatrove's defaults. Words are whitespace tokens with edge punctuation stripped; tokens
//! made only of symbols are not words (as datatrove's `non_symbol_words`).

pub mod mean_word_length;
pub mod quality;
pub mod repetition;
pub mod word_count;

use blend_kernels::{is_symbol_only, split_words};

/// Words of `text` that contain a letter or digit.
pub(crate) fn non_symbol_words(text: &str) -> impl Iterator<Item = &str> {
    split_words(text).filter(|w| !is_symbol_only(w))
}
