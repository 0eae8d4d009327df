//! A fast encoder for GPT-2-style byte-level BPE (what `tokenizers` calls a BPE model with a
//! `ByteLevel` pre-tokenizer): the GPT-2 split pattern, the bytes of each piece merged by
//! rank, lowest rank first and leftmost on ties, exactly as `tokenizers` does (no
//! whole-piece shortcut, which tiktoken takes and which can differ), with a per-thread cache
//! of pieces. Tests compare it token for token with `tokenizers`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use regex::Regex;

/// GPT-2's pattern without its `\s+(?!\S)` alternative, which the regex crate cannot express;
/// [`gpt2_pieces`] applies that rule by hand.
const GPT2_PATTERN: &str = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+";
const CACHE_LIMIT: usize = 1 << 17;
/// Distinguishes models in the per-thread piece cache.
static NEXT_MODEL_ID: AtomicUsize = AtomicUsize::new(0);

/// GPT-2's map from bytes to printable characters, as byte-level vocabularies spell tokens.
pub fn bytes_to_unicode() -> [char; 256] {
    let mut table = ['\0'; 256];
    let mut next = 256u32;
    for byte in 0..=255u8 {
        let printable = matches!(byte, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF);
        table[byte as usize] = if printable {
            char::from(byte)
        } else {
            let ch = char::from_u32(next).expect("valid code point");
            next += 1;
            ch
        };
    }
    table
}

/// Splits `text` into GPT-2 pre-tokens.
#[derive(Debug, Clone)]
pub struct Gpt2Splitter {
    pattern: Regex,
}

impl Default for Gpt2Splitter {
    fn default() -> Self {
        Self {
            pattern: Regex::new(GPT2_PATTERN).expect("valid pattern"),
        }
    }
}

impl Gpt2Splitter {
    /// Calls `piece` with each pre-token of `text`, in order.
    pub fn for_each_piece<'t>(&self, text: &'t str, mut piece: impl FnMut(&'t str)) {
        let mut position = 0;
        while position < text.len() {
            let Some(found) = self.pattern.find_at(text, position) else {
                break;
            };
            let (start, mut end) = (found.start(), found.end());
            let matched = found.as_str();
            // `\s+(?!\S)`: a whitespace run followed by more text gives up its last character.
            if end < text.len()
                && matched.starts_with(char::is_whitespace)
                && matched.chars().all(char::is_whitespace)
            {
                let last = matched.chars().next_back().map_or(0, char::len_utf8);
                if matched.len() > last {
                    end -= last;
                }
            }
            piece(&text[start..end]);
            position = end;
        }
    }
}

/// A byte-level BPE model: ids of single bytes and, per mergeable pair, its rank and result.
#[derive(Debug, Clone)]
pub struct ByteLevelBpe {
    model_id: usize,
    byte_ids: [u32; 256],
    merges: HashMap<(u32, u32), (u32, u32)>,
    splitter: Gpt2Splitter,
}

/// Tokens of pieces already merged, keyed by (model id, piece bytes).
type PieceCache = HashMap<(usize, Box<[u8]>), Box<[u32]>>;

thread_local! {
    static PIECE_CACHE: RefCell<PieceCache> = RefCell::new(HashMap::new());
}

impl ByteLevelBpe {
    /// From a vocabulary spelled in the byte-level alphabet and the ordered merges. Fails
    /// when a byte has no token or a merge names an unknown token.
    pub fn new(vocab: &HashMap<String, u32>, merges: &[(String, String)]) -> Result<Self, String> {
        let alphabet = bytes_to_unicode();
        let mut byte_ids = [0u32; 256];
        for (byte, ch) in alphabet.iter().enumerate() {
            byte_ids[byte] = *vocab
                .get(&ch.to_string())
                .ok_or_else(|| format!("no token for byte {byte:#04x}"))?;
        }
        let mut merge_table = HashMap::with_capacity(merges.len());
        for (rank, (left, right)) in merges.iter().enumerate() {
            let id = |token: &str| {
                vocab
                    .get(token)
                    .copied()
                    .ok_or_else(|| format!("merge {rank} names unknown token {token:?}"))
            };
            let merged = format!("{left}{right}");
            merge_table
                .entry((id(left)?, id(right)?))
                .or_insert((rank as u32, id(&merged)?));
        }
        Ok(Self {
            model_id: NEXT_MODEL_ID.fetch_add(1, Ordering::Relaxed),
            byte_ids,
            merges: merge_table,
            splitter: Gpt2Splitter::default(),
        })
    }

    fn merge_piece(&self, piece: &[u8], out: &mut Vec<u32>) {
        let mut symbols: Vec<u32> = piece.iter().map(|&b| self.byte_ids[b as usize]).collect();
        loop {
            let best = symbols
                .windows(2)
                .enumerate()
                .filter_map(|(at, pair)| {
                    self.merges
                        .get(&(pair[0], pair[1]))
                        .map(|&(rank, merged)| (rank, at, merged))
                })
                .min_by_key(|&(rank, at, _)| (rank, at));
            let Some((_, at, merged)) = best else { break };
            symbols[at] = merged;
            symbols.remove(at + 1);
        }
        out.extend_from_slice(&symbols);
    }

    /// Appends the tokens of `text` to `out`.
    pub fn encode(&self, text: &str, out: &mut Vec<u32>) {
        let model = self.model_id;
        PIECE_CACHE.with(|cache| {
            let mut cache = cache.borrow_mut();
            self.splitter.for_each_piece(text, |piece| {
                let key = (model, Box::<[u8]>::from(piece.as_bytes()));
                if let Some(tokens) = cache.get(&key) {
                    out.extend_from_slice(tokens);
                    return;
                }
                let start = out.len();
                self.merge_piece(piece.as_bytes(), out);
                if cache.len() >= CACHE_LIMIT {
                    cache.clear();
                }
                cache.insert(key, out[start..].into());
            });
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(text: &str) -> Vec<&str> {
        let mut out = Vec::new();
        Gpt2Splitter::default().for_each_piece(text, |p| out.push(p));
        out
    }

    #[test]
    fn splits_like_gpt2() {
        assert_eq!(
            pieces("Hello world's  end"),
            ["Hello", " world", "'s", " ", " end"]
        );
        assert_eq!(pieces("a\n\nb  "), ["a", "\n", "\n", "b", "  "]);
        assert_eq!(pieces("x = 42;\tok"), ["x", " =", " 42", ";", "\t", "ok"]);
        assert_eq!(pieces("  \n  foo"), ["  \n ", " foo"]);
        assert_eq!(pieces("дом 3.5"), ["дом", " 3", ".", "5"]);
        assert_eq!(pieces(""), Vec::<&str>::new());
    }

    #[test]
    fn byte_alphabet_is_gpt2s() {
        let table = bytes_to_unicode();
        assert_eq!(table[b'a' as usize], 'a');
        assert_eq!(table[b' ' as usize], 'Ġ');
        assert_eq!(table[b'\n' as usize], 'Ċ');
        let distinct: std::collections::HashSet<char> = table.iter().copied().collect();
        assert_eq!(distinct.len(), 256);
    }

    #[test]
    fn merges_lowest_rank_first_and_leftmost() {
        let alphabet = bytes_to_unicode();
        let mut vocab: HashMap<String, u32> = alphabet
            .iter()
            .enumerate()
            .map(|(i, c)| (c.to_string(), i as u32))
            .collect();
        vocab.insert("ab".into(), 300);
        vocab.insert("bc".into(), 301);
        vocab.insert("abc".into(), 302);
        let merges = vec![
            ("b".to_string(), "c".to_string()),
            ("a".to_string(), "b".to_string()),
            ("a".to_string(), "bc".to_string()),
        ];
        let bpe = ByteLevelBpe::new(&vocab, &merges).unwrap();
        let mut out = Vec::new();
        bpe.encode("abc", &mut out);
        assert_eq!(out, vec![302], "bc first (rank 0), then a+bc");
        out.clear();
        bpe.encode("abab", &mut out);
        assert_eq!(out, vec![300, 300]);
        assert!(ByteLevelBpe::new(&vocab, &[("a".into(), "zz".into())]).is_err());
    }
}
