//! Checks a BPE tokenizer.json's merges before the `tokenizers` crate builds its model: that
//! crate panics (a slice past its buffer, or a length underflow) on a merge whose parts are in
//! the vocabulary but whose merged token is longer than every vocabulary entry, or whose right
//! part is shorter than the continuing-subword prefix — found by fuzzing. Every merge must
//! join two vocabulary tokens into a third, as the crate itself requires; this says which
//! merge does not, instead of crashing.

use serde_json::Value;

/// The first merge of a BPE `model` whose parts or merged token are not in its vocabulary.
/// Other models, and a vocabulary or merge list of the wrong shape, are left for the
/// `tokenizers` crate to report.
pub fn check_bpe_merges(json: &Value) -> Result<(), String> {
    let model = &json["model"];
    if !matches!(model["type"].as_str(), None | Some("BPE")) {
        return Ok(());
    }
    let (Some(vocab), Some(merges)) = (model["vocab"].as_object(), model["merges"].as_array())
    else {
        return Ok(());
    };
    let prefix = model["continuing_subword_prefix"].as_str().unwrap_or("");
    for (rank, merge) in merges.iter().enumerate() {
        let (left, right) = match merge {
            Value::String(text) => match text.split_once(' ') {
                Some(pair) => pair,
                None => continue,
            },
            Value::Array(parts) if parts.len() == 2 => match (parts[0].as_str(), parts[1].as_str())
            {
                (Some(left), Some(right)) => (left, right),
                _ => continue,
            },
            _ => continue,
        };
        let Some(continued) = right.strip_prefix(prefix) else {
            return Err(format!(
                "merge {rank} `{left} {right}`: `{right}` does not start with the continuing-subword prefix `{prefix}`"
            ));
        };
        let merged = format!("{left}{continued}");
        if let Some(missing) = [left, right, merged.as_str()]
            .into_iter()
            .find(|token| !vocab.contains_key(*token))
        {
            return Err(format!(
                "merge {rank} `{left} {right}`: `{missing}` is not in the vocabulary"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bpe(vocab: &[&str], merges: &[&str], prefix: Option<&str>) -> Value {
        let vocab: serde_json::Map<String, Value> = vocab
            .iter()
            .enumerate()
            .map(|(id, token)| (token.to_string(), id.into()))
            .collect();
        serde_json::json!({"model": {"type": "BPE", "vocab": vocab, "merges": merges,
                                     "continuing_subword_prefix": prefix}})
    }

    #[test]
    fn merges_of_vocabulary_tokens_pass() {
        assert!(check_bpe_merges(&bpe(&["a", "b", "ab"], &["a b"], None)).is_ok());
        assert!(check_bpe_merges(&bpe(&["a", "##b", "ab"], &["a ##b"], Some("##"))).is_ok());
        assert!(check_bpe_merges(&serde_json::json!({"model": {"type": "WordPiece"}})).is_ok());
    }

    #[test]
    fn a_merged_token_missing_from_the_vocabulary_is_named() {
        let error = check_bpe_merges(&bpe(&["aaaa", "bbbb"], &["aaaa bbbb"], None)).unwrap_err();
        assert!(
            error.contains("merge 0") && error.contains("`aaaabbbb` is not in the vocabulary"),
            "{error}"
        );
    }

    #[test]
    fn a_right_part_without_the_prefix_is_named() {
        let error = check_bpe_merges(&bpe(&["a", "b", "ab"], &["a b"], Some("##"))).unwrap_err();
        assert!(
            error.contains("does not start with the continuing-subword prefix"),
            "{error}"
        );
    }
}
