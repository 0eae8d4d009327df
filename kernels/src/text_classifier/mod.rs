//! A fastText-style supervised text classifier (Joulin et al., 2017, "Bag of Tricks for
//! Efficient Text Classification"): a document is the average of the embeddings of its
//! hashed word uni- and n-grams, a linear layer maps that to label scores, softmax gives
//! probabilities, and SGD with a linearly decaying learning rate trains both layers.
//!
//! It differs from the fastText binary where that makes it deterministic and small:
//! - one thread, examples shuffled per epoch by a seeded RNG (fastText runs Hogwild threads);
//! - unigrams are hashed like n-grams (no word dictionary), and only the hash buckets seen
//!   in training get an embedding row, so memory and the model file grow with the training
//!   text rather than with `buckets` (fastText allocates all `buckets` rows up front);
//! - at prediction time an untrained unigram is skipped (fastText skips out-of-vocabulary
//!   words) and an untrained n-gram counts as a zero row (fastText's is a random row near
//!   zero), see [`TextClassifier::probabilities`];
//! - the weights are rounded to half precision after training and stored so.

mod features;
mod half;
mod metrics;
mod model;
mod model_bytes;
mod train;

pub use features::{FeatureHasher, token_count};
pub use metrics::{BinaryMetrics, roc_auc};
pub use model::TextClassifier;
pub use model_bytes::ModelBytesError;
pub use train::{TrainConfig, train};
