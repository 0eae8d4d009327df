//! Reliability of `blend run` as a user meets it: a whole job (document stages, proxy runs,
//! search, validation, final shards) killed at random moments and resumed, damaged cached
//! files, two runs on one work folder, and the same bytes on 1 and 2 threads in two folders.
//! A corpus several times the memory budget runs through dedup, clustering and shards within
//! the budget plus a fixed overhead. Each test runs the real binary on synthetic corpora.

mod corruption;
mod determinism;
mod job;
mod kill_anywhere;
mod memory_budget;
mod work_lock;
