//! Domain clustering: `domain.embed` turns each document into a dense vector (hashed TF-IDF with a
//! layout block by default, MiniLM through candle as an option) and `domain.cluster` groups the
//! vectors CLIMB's way — k-means to many fine clusters, prune the low-quality ones, merge
//! the rest into a few labelled domains.

pub mod domains;
pub mod embed;
pub mod embedding_column;
pub mod labels;
pub mod minilm;
pub mod minilm_attention;
pub mod projection;
