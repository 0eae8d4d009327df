//! Token counts as users write them: `2B`, `500M`, `1.5e9`, `10_000`, `64k` (decimal units),
//! in a flag or in `pipeline.toml` (a string or an integer).

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A positive number of tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct TokenCount(pub u64);

impl TokenCount {
    pub fn get(self) -> u64 {
        self.0
    }
}

/// Parses token counts such as `2B`, `500M`, `1.5e9`, `10_000`, `64k` (decimal units).
pub fn parse_token_count(text: &str) -> Option<u64> {
    let cleaned: String = text
        .trim()
        .chars()
        .filter(|c| *c != '_' && *c != ',')
        .collect();
    let (number, multiplier) = match cleaned.chars().last()?.to_ascii_uppercase() {
        'K' => (&cleaned[..cleaned.len() - 1], 1e3),
        'M' => (&cleaned[..cleaned.len() - 1], 1e6),
        'B' | 'G' => (&cleaned[..cleaned.len() - 1], 1e9),
        'T' => (&cleaned[..cleaned.len() - 1], 1e12),
        _ => (cleaned.as_str(), 1.0),
    };
    let value: f64 = number.parse().ok()?;
    let tokens = value * multiplier;
    (1.0..1e19).contains(&tokens).then(|| tokens.round() as u64)
}

impl std::str::FromStr for TokenCount {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        parse_token_count(text)
            .map(Self)
            .ok_or_else(|| format!("`{text}`: expected a positive count such as 2B, 500M or 64000"))
    }
}

impl std::fmt::Display for TokenCount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl Serialize for TokenCount {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(self.0)
    }
}

impl<'de> Deserialize<'de> for TokenCount {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Written {
            Number(u64),
            Text(String),
        }
        match Written::deserialize(deserializer)? {
            Written::Number(0) => Err(serde::de::Error::custom("a token count must be positive")),
            Written::Number(n) => Ok(Self(n)),
            Written::Text(text) => text.parse().map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_counts_parse() {
        assert_eq!(parse_token_count("2B"), Some(2_000_000_000));
        assert_eq!(parse_token_count("500m"), Some(500_000_000));
        assert_eq!(parse_token_count("64k"), Some(64_000));
        assert_eq!(parse_token_count("1.5e6"), Some(1_500_000));
        assert_eq!(parse_token_count("10_000"), Some(10_000));
        assert_eq!(parse_token_count("0"), None);
        assert_eq!(parse_token_count("lots"), None);
    }

    #[test]
    fn token_counts_read_from_strings_and_integers() {
        #[derive(Deserialize)]
        struct Holder {
            tokens: TokenCount,
        }
        let read = |text: &str| toml::from_str::<Holder>(text).map(|h| h.tokens.get());
        assert_eq!(read("tokens = \"2M\"").unwrap(), 2_000_000);
        assert_eq!(read("tokens = 5000").unwrap(), 5000);
        assert!(read("tokens = 0").is_err());
        assert!(
            read("tokens = \"lots\"")
                .unwrap_err()
                .to_string()
                .contains("lots")
        );
    }
}
