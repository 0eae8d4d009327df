//! Runs the `parquet` crate on files blend did not write. Some damaged files make the crate
//! panic instead of returning an error (an `unimplemented!` for an unknown type in the
//! embedded Arrow schema, an assertion on a page's bit width — found by fuzzing); this turns
//! such a panic into the file's [`DatasetError::Parquet`], so a bad input is an error naming
//! its file rather than a crash.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use parquet::errors::ParquetError;

use crate::{DatasetError, Result};

/// `read()`, with a panic inside it reported as `path` being unreadable while doing `what`.
pub(crate) fn guarded<T>(path: &Path, what: &str, read: impl FnOnce() -> Result<T>) -> Result<T> {
    catch_unwind(AssertUnwindSafe(read)).unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("a panic");
        Err(DatasetError::Parquet {
            path: path.to_path_buf(),
            source: ParquetError::General(format!("{what}: the decoder failed: {message}")),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_an_error_naming_the_file() {
        let error = guarded(
            Path::new("docs.parquet"),
            "reading rows",
            || -> Result<()> { panic!("assertion failed: num_bits <= 64") },
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("docs.parquet: not a readable Parquet file")
                && error.contains("reading rows: the decoder failed: assertion failed"),
            "{error}"
        );
        assert_eq!(guarded(Path::new("x"), "", || Ok(3)).unwrap(), 3);
    }
}
