//! Deduplication operators. `exact` flags documents whose normalized text was already seen.

pub mod exact;
