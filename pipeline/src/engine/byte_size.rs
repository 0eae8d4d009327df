//! Byte sizes as users write them: `4GiB`, `512MiB`, `2G`, `1.5GB`, `65536`. Binary and
//! decimal suffixes both mean powers of 1024 for memory budgets (`4G` = `4GiB`), as most
//! data tools read them.

/// Parses `text` into bytes; the error says what was expected.
pub fn parse_byte_size(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a size; expected e.g. 4GiB, 512MiB or 1000000"))?;
    let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        other => {
            return Err(format!(
                "`{text}`: unknown unit `{other}`; use B, KiB, MiB, GiB or TiB"
            ));
        }
    };
    let bytes = value * multiplier as f64;
    if !(bytes >= 1.0 && bytes < u64::MAX as f64) {
        return Err(format!("`{text}` is not a positive size"));
    }
    Ok(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_byte_size("4GiB"), Ok(4 << 30));
        assert_eq!(parse_byte_size("512MiB"), Ok(512 << 20));
        assert_eq!(parse_byte_size("2g"), Ok(2 << 30));
        assert_eq!(parse_byte_size("1.5 GB"), Ok(3 << 29));
        assert_eq!(parse_byte_size("65536"), Ok(65536));
        assert!(
            parse_byte_size("4 parsecs")
                .unwrap_err()
                .contains("unknown unit")
        );
        assert!(parse_byte_size("lots").unwrap_err().contains("not a size"));
        assert!(parse_byte_size("0").is_err());
    }
}
