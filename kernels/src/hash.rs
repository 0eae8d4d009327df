//! Content hashes for deduplication. `dedup_key_hash` is xxh3-128 over a canonical form of
//! the text (lowercase, whitespace runs collapsed, trimmed) so trivially reformatted copies
//! of a document share a key.

use xxhash_rust::xxh3::Xxh3;

/// xxh3-128 of the dedup key of `text`: lowercase, every whitespace run collapsed to one
/// space, leading and trailing whitespace removed. Hashes word by word without building the key.
pub fn dedup_key_hash(text: &str) -> u128 {
    let mut hasher = Xxh3::new();
    let mut first = true;
    let mut lowered: Vec<u8> = Vec::new();
    for word in text.split_whitespace() {
        if !first {
            hasher.update(b" ");
        }
        first = false;
        if word.is_ascii() {
            if word.bytes().any(|b| b.is_ascii_uppercase()) {
                lowered.clear();
                lowered.extend(word.bytes().map(|b| b.to_ascii_lowercase()));
                hasher.update(&lowered);
            } else {
                hasher.update(word.as_bytes());
            }
        } else {
            // str::to_lowercase, not per char: it knows word-final sigma.
            hasher.update(word.to_lowercase().as_bytes());
        }
    }
    hasher.digest128()
}

/// Lower-case hex of a 128-bit hash, 32 characters.
pub fn hash128_hex(hash: u128) -> String {
    format!("{hash:032x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The obviously-correct reference: build the key string, then hash it.
    fn reference_key_hash(text: &str) -> u128 {
        let key = text
            .split_whitespace()
            .map(str::to_lowercase)
            .collect::<Vec<_>>()
            .join(" ");
        xxhash_rust::xxh3::xxh3_128(key.as_bytes())
    }

    #[test]
    fn streaming_hash_matches_reference() {
        for text in [
            "",
            "   ",
            "Hello World",
            "  hello\tworld \n\n",
            "ÄÖÜ straße İstanbul",
            "multi   space\r\nline",
            "ΣΊΣΥΦΟΣ",
        ] {
            assert_eq!(dedup_key_hash(text), reference_key_hash(text), "{text:?}");
        }
    }

    #[test]
    fn case_and_whitespace_do_not_change_the_key() {
        assert_eq!(
            dedup_key_hash("The  quick\nbrown fox"),
            dedup_key_hash("the quick brown FOX ")
        );
        assert_ne!(
            dedup_key_hash("the quick brown fox"),
            dedup_key_hash("the quick brown fax")
        );
        assert_ne!(dedup_key_hash("ab c"), dedup_key_hash("a bc"));
    }

    #[test]
    fn hex_is_32_chars() {
        assert_eq!(hash128_hex(1).len(), 32);
        assert_eq!(hash128_hex(u128::MAX), "f".repeat(32));
    }
}
