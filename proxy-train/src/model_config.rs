//! The proxy model's shape and its presets: `tiny` for tests (about 100k parameters with a
//! 512-token vocabulary) and `regmix-1m`, RegMix's 1M proxy (2 layers, 8 heads, d_model 256,
//! SwiGLU 512).

use serde::{Deserialize, Serialize};

use crate::{ProxyError, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelConfig {
    pub vocab_size: usize,
    pub layers: usize,
    pub heads: usize,
    pub d_model: usize,
    /// Hidden width of the SwiGLU MLP.
    pub mlp_hidden: usize,
    /// Tokens per training sequence (RoPE tables are built for this length).
    pub sequence_length: usize,
}

/// A named model shape; the vocabulary comes from the tokenizer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Preset {
    Tiny,
    Regmix1m,
}

impl std::str::FromStr for Preset {
    type Err = String;

    fn from_str(text: &str) -> std::result::Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|p| p.name() == text)
            .ok_or_else(|| format!("`{text}`: expected tiny or regmix-1m"))
    }
}

impl std::fmt::Display for Preset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Preset {
    pub const ALL: [Self; 2] = [Self::Tiny, Self::Regmix1m];

    pub fn name(self) -> &'static str {
        match self {
            Self::Tiny => "tiny",
            Self::Regmix1m => "regmix-1m",
        }
    }

    pub fn config(self, vocab_size: usize, sequence_length: usize) -> ModelConfig {
        let (layers, heads, d_model, mlp_hidden) = match self {
            Self::Tiny => (2, 4, 64, 128),
            Self::Regmix1m => (2, 8, 256, 512),
        };
        ModelConfig {
            vocab_size,
            layers,
            heads,
            d_model,
            mlp_hidden,
            sequence_length,
        }
    }
}

impl ModelConfig {
    pub fn head_dim(&self) -> usize {
        self.d_model / self.heads
    }

    pub fn validate(&self) -> Result<()> {
        let fail = |message: String| Err(ProxyError::Config(message));
        if self.vocab_size < 2 || self.layers == 0 || self.heads == 0 || self.sequence_length == 0 {
            return fail(format!(
                "vocab {}, layers {}, heads {}, sequence length {}: all must be positive (vocab ≥ 2)",
                self.vocab_size, self.layers, self.heads, self.sequence_length
            ));
        }
        if !self.d_model.is_multiple_of(self.heads) || !self.head_dim().is_multiple_of(2) {
            return fail(format!(
                "d_model {} must split into {} heads of an even width (RoPE rotates pairs)",
                self.d_model, self.heads
            ));
        }
        Ok(())
    }

    /// Parameters without the (tied) embedding matrix: attention, MLP and norms.
    pub fn non_embedding_parameters(&self) -> usize {
        let d = self.d_model;
        let per_layer = 4 * d * d + 3 * d * self.mlp_hidden + 2 * d;
        self.layers * per_layer + d
    }

    /// All trainable parameters (the output head shares the embedding matrix).
    pub fn parameters(&self) -> usize {
        self.non_embedding_parameters() + self.vocab_size * self.d_model
    }

    /// Forward + backward FLOPs per trained token (6 × parameters in the matmuls, plus the
    /// attention scores), for MFU.
    pub fn train_flops_per_token(&self) -> f64 {
        let matmul = (self.non_embedding_parameters() + self.vocab_size * self.d_model) as f64;
        let attention = (self.layers * self.sequence_length * self.d_model) as f64 * 2.0;
        6.0 * matmul + 6.0 * attention
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_have_their_documented_sizes() {
        let tiny = Preset::Tiny.config(512, 64);
        assert!(
            (90_000..130_000).contains(&tiny.parameters()),
            "{}",
            tiny.parameters()
        );
        let regmix = Preset::Regmix1m.config(50_257, 512);
        // RegMix counts the 1M without embeddings: 2 × (4·256² + 3·256·512 + 2·256) + 256.
        assert_eq!(regmix.non_embedding_parameters(), 1_312_000);
        assert_eq!("regmix-1m".parse(), Ok(Preset::Regmix1m));
        assert!("huge".parse::<Preset>().is_err());
        tiny.validate().unwrap();
        let odd = ModelConfig { heads: 3, ..tiny };
        assert!(odd.validate().is_err());
    }
}
