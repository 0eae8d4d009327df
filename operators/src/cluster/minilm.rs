//! A BERT sentence encoder (all-MiniLM-L6-v2 and other BERT checkpoints in the
//! sentence-transformers layout) in candle: WordPiece tokens from the model's
//! `tokenizer.json`, truncated to `max_tokens` with `[SEP]` kept as sentence-transformers
//! does; absolute position and token-type embeddings; post-norm encoder layers with exact
//! (erf) GELU; mean pooling over the attention mask; L2 normalization. Weights load from
//! `model.safetensors` (with or without a `bert.` prefix) and `config.json`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{D, DType, Device, Module, Tensor};
use candle_nn::{Embedding, LayerNorm, Linear, VarBuilder};
use serde::Deserialize;
use tokenizers::{PaddingParams, Tokenizer, TruncationParams};

use super::minilm_attention::{composite_attention, padded_attention};
use crate::{OperatorError, Result};

const OPERATOR: &str = "embed";

/// The fields of a BERT `config.json` the encoder uses.
#[derive(Debug, Clone, Deserialize)]
pub struct BertConfig {
    pub hidden_size: usize,
    pub num_attention_heads: usize,
    pub num_hidden_layers: usize,
    pub intermediate_size: usize,
    pub max_position_embeddings: usize,
    pub vocab_size: usize,
    #[serde(default = "default_type_vocab")]
    pub type_vocab_size: usize,
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f64,
    #[serde(default = "default_act")]
    pub hidden_act: String,
}

fn default_type_vocab() -> usize {
    2
}
fn default_eps() -> f64 {
    1e-12
}
fn default_act() -> String {
    "gelu".into()
}

impl BertConfig {
    /// Reads `dir/config.json`, checking it describes a model this encoder runs.
    pub fn read(dir: &Path) -> Result<Self> {
        let path = dir.join("config.json");
        let bytes = std::fs::read(&path).map_err(|e| OperatorError::io(OPERATOR, &path, e))?;
        let config: Self = serde_json::from_slice(&bytes).map_err(|e| {
            OperatorError::invalid(
                OPERATOR,
                format!("{}: not a BERT config.json ({e})", path.display()),
            )
        })?;
        if config.hidden_act != "gelu" {
            return Err(OperatorError::invalid(
                OPERATOR,
                format!(
                    "{}: hidden_act `{}` is not supported (only `gelu`)",
                    path.display(),
                    config.hidden_act
                ),
            ));
        }
        if config.num_attention_heads == 0
            || !config
                .hidden_size
                .is_multiple_of(config.num_attention_heads)
        {
            return Err(OperatorError::invalid(
                OPERATOR,
                format!(
                    "{}: hidden_size is not a multiple of num_attention_heads",
                    path.display()
                ),
            ));
        }
        Ok(config)
    }
}

fn candle(context: &str, error: &candle_core::Error) -> OperatorError {
    OperatorError::invalid(OPERATOR, format!("{context}: {error}"))
}

/// The device named `cpu`, `cuda` or `cuda:N`.
pub fn parse_device(name: &str) -> Result<Device> {
    let ordinal = match name {
        "cpu" => return Ok(Device::Cpu),
        "cuda" => Some(0),
        other => other
            .strip_prefix("cuda:")
            .and_then(|n| n.parse::<usize>().ok()),
    };
    let ordinal = ordinal.ok_or_else(|| {
        OperatorError::params(
            OPERATOR,
            format!("device `{name}` is not cpu, cuda or cuda:N"),
        )
    })?;
    Device::new_cuda(ordinal).map_err(|e| {
        candle(
            &format!("device `{name}` (build blend with `--features cuda` for GPUs)"),
            &e,
        )
    })
}

/// Where each sequence of a padded batch ends: its length (the CPU attention's) and a bias
/// `(B, 1, 1, T)`, 0 on real tokens and very negative on padding (the composite one's).
struct PaddingMask {
    lengths: Vec<usize>,
    bias: Tensor,
}

#[derive(Debug)]
struct EncoderLayer {
    query: Linear,
    key: Linear,
    value: Linear,
    attention_out: Linear,
    attention_norm: LayerNorm,
    intermediate: Linear,
    output: Linear,
    output_norm: LayerNorm,
}

impl EncoderLayer {
    fn load(vb: &VarBuilder, config: &BertConfig) -> candle_core::Result<Self> {
        let h = config.hidden_size;
        let eps = config.layer_norm_eps;
        let attention = vb.pp("attention");
        Ok(Self {
            query: candle_nn::linear(h, h, attention.pp("self").pp("query"))?,
            key: candle_nn::linear(h, h, attention.pp("self").pp("key"))?,
            value: candle_nn::linear(h, h, attention.pp("self").pp("value"))?,
            attention_out: candle_nn::linear(h, h, attention.pp("output").pp("dense"))?,
            attention_norm: candle_nn::layer_norm(h, eps, attention.pp("output").pp("LayerNorm"))?,
            intermediate: candle_nn::linear(
                h,
                config.intermediate_size,
                vb.pp("intermediate").pp("dense"),
            )?,
            output: candle_nn::linear(config.intermediate_size, h, vb.pp("output").pp("dense"))?,
            output_norm: candle_nn::layer_norm(h, eps, vb.pp("output").pp("LayerNorm"))?,
        })
    }

    /// `x`: (batch, tokens, hidden).
    fn forward(&self, x: &Tensor, mask: &PaddingMask, heads: usize) -> candle_core::Result<Tensor> {
        let (q, k, v) = (
            self.query.forward(x)?,
            self.key.forward(x)?,
            self.value.forward(x)?,
        );
        let context = if x.device().is_cpu() {
            padded_attention(&q, &k, &v, &mask.lengths, heads)?
        } else {
            composite_attention(&q, &k, &v, &mask.bias, heads)?
        };
        let attended = self
            .attention_norm
            .forward(&(self.attention_out.forward(&context)? + x)?)?;
        let inner = self.intermediate.forward(&attended)?.gelu_erf()?;
        self.output_norm
            .forward(&(self.output.forward(&inner)? + attended)?)
    }
}

/// A loaded sentence encoder.
#[derive(Debug)]
pub struct MiniLm {
    config: BertConfig,
    word: Embedding,
    position: Embedding,
    token_type: Embedding,
    embedding_norm: LayerNorm,
    layers: Vec<EncoderLayer>,
    tokenizer: Tokenizer,
    device: Device,
    max_tokens: usize,
    pub model_dir: PathBuf,
}

impl MiniLm {
    /// Loads `model.safetensors`, `config.json` and `tokenizer.json` from `dir`.
    pub fn load(dir: &Path, max_tokens: usize, device: Device) -> Result<Self> {
        let config = BertConfig::read(dir)?;
        blend_kernels::allocator::keep_freed_memory_for_tensors();
        let weights_path = dir.join("model.safetensors");
        if !weights_path.is_file() {
            return Err(OperatorError::invalid(
                OPERATOR,
                format!(
                    "{} is missing; `model_dir` must hold model.safetensors, config.json and tokenizer.json (e.g. all-MiniLM-L6-v2)",
                    weights_path.display()
                ),
            ));
        }
        let tensors = candle_core::safetensors::load(&weights_path, &device)
            .map_err(|e| candle(&weights_path.display().to_string(), &e))?;
        // Checkpoints saved from BertModel have no prefix; from BertForX, `bert.`.
        let tensors: HashMap<String, Tensor> = tensors
            .into_iter()
            .map(|(name, t)| (name.strip_prefix("bert.").unwrap_or(&name).to_string(), t))
            .collect();
        let vb = VarBuilder::from_tensors(tensors, DType::F32, &device);
        let load = || -> candle_core::Result<_> {
            let h = config.hidden_size;
            let e = vb.pp("embeddings");
            let layers = (0..config.num_hidden_layers)
                .map(|i| EncoderLayer::load(&vb.pp("encoder").pp("layer").pp(i), &config))
                .collect::<candle_core::Result<Vec<_>>>()?;
            Ok((
                candle_nn::embedding(config.vocab_size, h, e.pp("word_embeddings"))?,
                candle_nn::embedding(
                    config.max_position_embeddings,
                    h,
                    e.pp("position_embeddings"),
                )?,
                candle_nn::embedding(config.type_vocab_size, h, e.pp("token_type_embeddings"))?,
                candle_nn::layer_norm(h, config.layer_norm_eps, e.pp("LayerNorm"))?,
                layers,
            ))
        };
        let (word, position, token_type, embedding_norm, layers) =
            load().map_err(|e| candle(&weights_path.display().to_string(), &e))?;
        let tokenizer_path = dir.join("tokenizer.json");
        let tokenizer_error = |e: &dyn std::fmt::Display| {
            OperatorError::invalid(OPERATOR, format!("{}: {e}", tokenizer_path.display()))
        };
        // Checked as JSON first: the `tokenizers` crate panics on a syntax error inside
        // `decoder` instead of returning an error (found by fuzzing `load_tokenizer`).
        let text = std::fs::read_to_string(&tokenizer_path).map_err(|e| tokenizer_error(&e))?;
        serde_json::from_str::<serde_json::Value>(&text)
            .map_err(|e| tokenizer_error(&format!("not JSON: {e}")))?;
        let mut tokenizer: Tokenizer = text.parse().map_err(|e| tokenizer_error(&e))?;
        let max_tokens = max_tokens.clamp(2, config.max_position_embeddings);
        // The file's own limits (128, padded) are replaced by sentence-transformers' way:
        // truncate to max_tokens including [CLS]/[SEP], pad per batch.
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: max_tokens,
                ..TruncationParams::default()
            }))
            .map_err(|e| tokenizer_error(&e))?;
        tokenizer.with_padding(None::<PaddingParams>);
        Ok(Self {
            config,
            word,
            position,
            token_type,
            embedding_norm,
            layers,
            tokenizer,
            device,
            max_tokens,
            model_dir: dir.to_path_buf(),
        })
    }

    pub fn dim(&self) -> usize {
        self.config.hidden_size
    }

    pub fn max_tokens(&self) -> usize {
        self.max_tokens
    }

    /// Token ids of each text (with `[CLS]`/`[SEP]`, truncated).
    fn encode(&self, texts: &[&str]) -> Result<Vec<Vec<u32>>> {
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| OperatorError::invalid(OPERATOR, format!("tokenizing: {e}")))?;
        Ok(encodings.iter().map(|e| e.get_ids().to_vec()).collect())
    }

    /// Mean-pooled, L2-normalized embeddings of same-batch token lists, row-major.
    fn forward(&self, ids: &[&Vec<u32>]) -> candle_core::Result<Vec<f32>> {
        let batch = ids.len();
        let tokens = ids.iter().map(|i| i.len()).max().unwrap_or(0).max(1);
        let mut flat = vec![0u32; batch * tokens];
        let mut mask = vec![0f32; batch * tokens];
        for (row, list) in ids.iter().enumerate() {
            flat[row * tokens..row * tokens + list.len()].copy_from_slice(list);
            mask[row * tokens..row * tokens + list.len()].fill(1.0);
        }
        let input = Tensor::from_vec(flat, (batch, tokens), &self.device)?;
        let mask = Tensor::from_vec(mask, (batch, tokens), &self.device)?;
        let positions = Tensor::arange(0u32, tokens as u32, &self.device)?.unsqueeze(0)?;
        let types = Tensor::zeros((batch, tokens), DType::U32, &self.device)?;
        let mut x = self
            .word
            .forward(&input)?
            .broadcast_add(&self.position.forward(&positions)?)?
            .add(&self.token_type.forward(&types)?)?;
        x = self.embedding_norm.forward(&x)?;
        let padding = PaddingMask {
            lengths: ids.iter().map(|list| list.len().max(1)).collect(),
            // 0 where a token is real, a large negative number on padding.
            bias: ((mask.clone() - 1.0)? * 1e9)?.reshape((batch, 1, 1, tokens))?,
        };
        for layer in &self.layers {
            x = layer.forward(&x, &padding, self.config.num_attention_heads)?;
        }
        let weights = mask.unsqueeze(2)?;
        let summed = x.broadcast_mul(&weights)?.sum(1)?;
        let counts = weights.sum(1)?.clamp(1e-9, f64::INFINITY)?;
        let mean = summed.broadcast_div(&counts)?;
        let norm = mean
            .sqr()?
            .sum_keepdim(D::Minus1)?
            .sqrt()?
            .clamp(1e-12, f64::INFINITY)?;
        mean.broadcast_div(&norm)?.flatten_all()?.to_vec1::<f32>()
    }

    /// Embeddings of `texts` (row-major, `texts.len() × dim`), `batch_size` at a time. Texts
    /// are batched in order of token count so padding stays small; the output is in input order.
    pub fn embed_all(&self, texts: &[&str], batch_size: usize) -> Result<Vec<f32>> {
        let ids = self.encode(texts)?;
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| (ids[i].len(), i));
        let dim = self.dim();
        let mut out = vec![0f32; texts.len() * dim];
        for chunk in order.chunks(batch_size.max(1)) {
            let lists: Vec<&Vec<u32>> = chunk.iter().map(|&i| &ids[i]).collect();
            let values = self
                .forward(&lists)
                .map_err(|e| candle(&format!("encoding with {}", self.model_dir.display()), &e))?;
            for (row, &i) in chunk.iter().enumerate() {
                out[i * dim..(i + 1) * dim].copy_from_slice(&values[row * dim..(row + 1) * dim]);
            }
        }
        Ok(out)
    }
}
