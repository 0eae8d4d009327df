//! End-to-end tests of blend: the whole pipeline on the synthetic corpus, bad inputs, the
//! readers, and (when present) the shared real data.

mod bad_input;
mod batch_job;
mod bpe_inference;
mod domain_clustering;
mod fast_bpe;
mod final_shards;
mod fuzz_inputs;
mod mixture_methods;
mod mixture_search;
mod near_dedup;
mod pipeline;
mod proxy_search;
mod quality_models;
mod readers;
mod report_safety;
mod shared_data;
mod web_example;
