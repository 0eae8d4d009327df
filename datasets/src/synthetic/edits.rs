//! Near duplicates: token-level edits (substitute, delete, insert) at a planned rate,
//! keeping line structure, with at least one edit so a near copy never equals its original.

use blend_kernels::SeededRng;

use super::domains::Vocabulary;

/// `text` with about `rate` of its whitespace tokens edited; returns the new text and the
/// number of edits made (≥ 1).
pub fn edit_tokens(
    text: &str,
    rate: f64,
    vocab: &Vocabulary,
    rng: &mut SeededRng,
) -> (String, u32) {
    let mut edits = 0u32;
    let lines: Vec<Vec<&str>> = text.split('\n').map(|l| l.split(' ').collect()).collect();
    let token_count: usize = lines.iter().map(Vec::len).sum();
    // Position of one forced edit, so even a short document changes.
    let forced = rng.below(token_count.max(1) as u64) as usize;
    let mut position = 0usize;
    let mut out_lines = Vec::with_capacity(lines.len());
    for line in lines {
        let mut out: Vec<String> = Vec::with_capacity(line.len() + 2);
        for token in line {
            let edit_here = rng.bernoulli(rate) || (position == forced && edits == 0);
            position += 1;
            if !edit_here || token.is_empty() {
                out.push(token.to_string());
                continue;
            }
            edits += 1;
            match rng.below(4) {
                0 | 1 => out.push(vocab.word(rng).to_string()),
                2 => {}
                _ => {
                    out.push(token.to_string());
                    out.push(vocab.word(rng).to_string());
                }
            }
        }
        out_lines.push(out.join(" "));
    }
    (out_lines.join("\n"), edits)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synthetic::language::LANGUAGES;

    #[test]
    fn edit_rate_is_close_to_plan_and_never_zero() {
        let vocab = Vocabulary::new(&LANGUAGES[0], 3, "prose");
        let mut rng = SeededRng::new(4);
        let text = (0..2000)
            .map(|i| format!("w{i}"))
            .collect::<Vec<_>>()
            .join(" ");
        let (edited, edits) = edit_tokens(&text, 0.15, &vocab, &mut rng);
        assert_ne!(edited, text);
        let rate = f64::from(edits) / 2000.0;
        assert!((0.12..0.18).contains(&rate), "{rate}");
        let (tiny, tiny_edits) = edit_tokens("one", 0.0, &vocab, &mut rng);
        assert!(tiny_edits >= 1);
        assert_ne!(tiny, "one");
    }
}
