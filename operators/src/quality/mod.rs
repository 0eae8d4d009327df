//! Heuristic quality rules. Each rule adds a score column and a `<rule>_pass` column; none
//! removes rows. `quality.gopher_quality`, `quality.gopher_repetition`, `quality.c4` and
//! `quality.fineweb` follow datatrove's filters check by check (`datatrove_text` holds what
//! they share) and add `<prefix>_pass` and `<prefix>_reason`. `quality.language` adds `lang` and
//! `lang_score` (whatlang); `quality.classifier` adds `quality_score` from a model of
//! `blend quality train`.

pub mod c4;
pub mod classifier;
pub mod datatrove_text;
pub mod document_rule;
pub mod fineweb;
pub mod gopher;
pub mod language;
pub mod score_histogram;
