//! Heuristic quality rules. Each rule adds a score column and a `<rule>_pass` column; none
//! removes rows.

pub mod gopher;
