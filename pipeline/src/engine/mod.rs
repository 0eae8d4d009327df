//! The engine: what a pipeline run is made of. A `pipeline.toml` ([`config`]) becomes a
//! graph of stages ([`dag`]) that run over Parquet parts on one DataFusion session
//! ([`session`]): the read stage ([`read`]), then each configured operator or filter
//! ([`transform`]), then the tokenizer ([`tokenizer`], [`encode`]) and the shards with their
//! natural mixture ([`shards`]). Every step is cached by a typed key ([`cache`]), and
//! [`runner`] strings them together into a [`summary::RunSummary`]. One run at a time
//! writes a work folder ([`work_lock`]).
//!
//! The engine knows nothing of reports or CLI verbs: nothing in it imports the report or
//! workflow layers (a test in `lib.rs` checks this). Its public face is the config, the
//! summary, the tokenizer and encoder, and the mixture search; the steps themselves are
//! crate-private and reached through the workflows.

pub mod byte_size;
pub(crate) mod cache;
pub mod checksums;
pub(crate) mod cluster_stage;
pub mod config;
pub(crate) mod dag;
pub mod encode;
pub mod heap;
pub mod mixture_search;
pub mod mixture_summary;
pub(crate) mod read;
pub(crate) mod runner;
pub(crate) mod session;
pub(crate) mod shards;
pub mod step_cost;
pub mod summary;
pub mod tokenizer;
pub(crate) mod transform;
pub mod work_lock;
