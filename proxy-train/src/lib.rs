//! Proxy training: a small GPT in candle (CPU reference, CUDA behind the `cuda` feature)
//! trained on per-domain token streams sampled by a mixture's weights, scored by its
//! held-out loss on every domain: the runs the mixers regress on.
//!
//! - [`model_config`]: shapes and presets (`tiny`, `regmix-1m`);
//! - [`gpt`]: the model (RoPE, RMSNorm, SwiGLU, tied embeddings);
//! - [`fused`]: its CPU ops as single passes (attention, RMSNorm, SwiGLU, head + loss);
//! - [`composite`]: the same ops as candle graphs (the CUDA path and the reference);
//! - [`train`]: AdamW + warmup/cosine + clipping, per-domain evaluation;
//! - [`proxy_data`]: the per-domain train/valid Megatron streams;
//! - [`sequence_sampler`]: mixture-weighted windows, deterministic for a seed;
//! - [`parallel`]: several proxies at once;
//! - [`online`]: one proxy whose mixture is reweighted as it trains (Aioli, DoReMi).

pub mod composite;
pub mod device;
pub mod error;
pub mod fused;
pub mod gpt;
pub mod lr_schedule;
pub mod model_config;
pub mod online;
pub mod parallel;
pub mod proxy_data;
pub mod sequence_sampler;
pub mod train;

pub use device::DeviceChoice;
pub use error::{ProxyError, Result};
pub use model_config::{ModelConfig, Preset};
pub use online::{
    OnlineAlgorithm, OnlineError, OnlineOutcome, OnlineSettings, WeightUpdate, train_online,
};
pub use proxy_data::{ProxyData, ProxyDataManifest, ProxyDataWriter};
pub use sequence_sampler::{DomainTokens, SamplerError, SequenceSampler};
pub use train::{ProxyOutcome, TrainSettings, Trainer, train_proxy};
