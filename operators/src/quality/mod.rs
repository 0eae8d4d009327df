//! Heuristic quality rules. Each rule adds a score column and a `<rule>_pass` column; none
//! removes rows. `quality.gopher`, `quality.gopher_repetition`, `quality.c4` and
//! `quality.fineweb` follow datatrove's filters check by check (`datatrove_text` holds what
//! they share) and add `<prefix>_pass` and `<prefix>_reason`.

pub mod c4;
pub mod datatrove_text;
pub mod document_rule;
pub mod fineweb;
pub mod gopher;
