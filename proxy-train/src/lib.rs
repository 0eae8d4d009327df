//! The data side of proxy training: fixed-length training sequences drawn from per-domain
//! token streams in proportion to a mixture's weights, deterministically for a seed. The
//! candle model that consumes them lives beside this (see the proxy-training issue).

pub mod sequence_sampler;

pub use sequence_sampler::{DomainTokens, SamplerError, SequenceSampler};
