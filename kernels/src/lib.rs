//! Hot loops of blend that touch no files: text hashing, MinHash-LSH, hashed TF-IDF embeddings, k-means, matrix products, softmax rows, centroid merging, cluster agreement, fastText-style text classification, seeded random
//! numbers and word splitting. Every function here is a plain CPU reference that faster paths are tested against.

pub mod allocator;
pub mod bpe_replay;
pub mod byte_level_bpe;
pub mod centroid_merge;
pub mod cluster_agreement;
pub mod english_words;
pub mod hash;
pub mod hashed_tfidf;
pub mod kmeans;
pub mod matmul;
pub mod minhash;
pub mod rng;
pub mod simd_level;
pub mod softmax_row;
pub mod text_classifier;
pub mod words;

pub use centroid_merge::{Linkage, merge_centroids};
pub use cluster_agreement::{Agreement, agreement, agreement_from_counts};
pub use english_words::english_words;
pub use hash::{dedup_key_hash, hash128_hex};
pub use hashed_tfidf::HashedTfIdf;
pub use kmeans::{KMeans, KMeansConfig, KMeansError, kmeans, nearest_centroids};
pub use rng::SeededRng;
pub use text_classifier::{TextClassifier, roc_auc};
pub use words::{is_symbol_only, split_words};
