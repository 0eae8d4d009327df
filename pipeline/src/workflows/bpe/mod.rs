//! `blend infer-mixture` and `blend bpe-eval`: BPE mixture inference (Hayase et al.) on
//! samples of candidate categories ([`infer`]), the known-mixture evaluation of it
//! ([`eval`]), and their reports ([`report`]).

pub mod eval;
pub mod infer;
pub mod report;
