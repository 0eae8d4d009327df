//! The model file: little-endian, `BLENDTC1`, then dim, word n-grams, buckets, the labels,
//! the metadata text, the trained buckets, their embedding rows and the output layer, the
//! weights as IEEE half floats (training ends by rounding them, so a saved model scores as
//! the trained one did). Only trained rows are stored: 2 × dim × (trained buckets + labels)
//! bytes plus 4 per bucket.

use super::features::FeatureHasher;
use super::half::{f16_bits_to_f32, f32_to_f16_bits};
use super::model::{BucketRows, TextClassifier};

const MAGIC: &[u8; 8] = b"BLENDTC1";

#[derive(Debug, thiserror::Error)]
pub enum ModelBytesError {
    #[error("not a blend text classifier (the file does not start with {expected:?})")]
    NotAModel { expected: String },
    #[error(
        "the model is cut short: {what} needs {needed} bytes at offset {offset}, {available} are left"
    )]
    Truncated {
        what: &'static str,
        offset: usize,
        needed: usize,
        available: usize,
    },
    #[error("the model is corrupt: {0}")]
    Corrupt(String),
}

impl TextClassifier {
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            64 + 2 * (self.input.len() + self.output.len()) + 4 * self.rows.len(),
        );
        out.extend_from_slice(MAGIC);
        for value in [
            self.dim as u32,
            self.hasher.word_ngrams as u32,
            self.hasher.buckets,
            self.labels.len() as u32,
        ] {
            out.extend_from_slice(&value.to_le_bytes());
        }
        for text in self.labels.iter().chain(std::iter::once(&self.metadata)) {
            out.extend_from_slice(&(text.len() as u32).to_le_bytes());
            out.extend_from_slice(text.as_bytes());
        }
        let mut buckets = vec![0u32; self.rows.len()];
        for (bucket, row) in &self.rows {
            buckets[*row as usize] = *bucket;
        }
        out.extend_from_slice(&(buckets.len() as u64).to_le_bytes());
        for bucket in buckets {
            out.extend_from_slice(&bucket.to_le_bytes());
        }
        for value in self.input.iter().chain(&self.output) {
            out.extend_from_slice(&f32_to_f16_bits(*value).to_le_bytes());
        }
        out
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ModelBytesError> {
        let mut reader = Reader { bytes, offset: 0 };
        if reader.take("the header", MAGIC.len())? != MAGIC {
            return Err(ModelBytesError::NotAModel {
                expected: String::from_utf8_lossy(MAGIC).into_owned(),
            });
        }
        let dim = reader.u32("dim")? as usize;
        let word_ngrams = reader.u32("word n-grams")? as usize;
        let buckets = reader.u32("buckets")?;
        let label_count = reader.u32("label count")? as usize;
        if dim == 0 || word_ngrams == 0 || buckets == 0 || label_count == 0 {
            return Err(ModelBytesError::Corrupt(format!(
                "dim {dim}, word n-grams {word_ngrams}, buckets {buckets} and labels {label_count} must all be positive"
            )));
        }
        let mut labels = Vec::with_capacity(label_count.min(1 << 16));
        for _ in 0..label_count {
            labels.push(reader.text("a label")?);
        }
        let metadata = reader.text("the metadata")?;
        let row_count = reader.u64("row count")? as usize;
        let mut rows = BucketRows::default();
        for row in 0..row_count {
            let bucket = reader.u32("a bucket")?;
            if bucket >= buckets || rows.insert(bucket, row as u32).is_some() {
                return Err(ModelBytesError::Corrupt(format!(
                    "bucket {bucket} of row {row} is out of range or repeated"
                )));
            }
        }
        let input = reader.floats("the embeddings", row_count.saturating_mul(dim))?;
        let output = reader.floats("the output layer", label_count * dim)?;
        if reader.offset != bytes.len() {
            return Err(ModelBytesError::Corrupt(format!(
                "{} unexpected bytes after the output layer",
                bytes.len() - reader.offset
            )));
        }
        Ok(Self {
            hasher: FeatureHasher {
                word_ngrams,
                buckets,
            },
            dim,
            labels,
            rows,
            input,
            output,
            metadata,
        })
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    offset: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, what: &'static str, needed: usize) -> Result<&'a [u8], ModelBytesError> {
        let available = self.bytes.len() - self.offset;
        if needed > available {
            return Err(ModelBytesError::Truncated {
                what,
                offset: self.offset,
                needed,
                available,
            });
        }
        let slice = &self.bytes[self.offset..self.offset + needed];
        self.offset += needed;
        Ok(slice)
    }

    fn u32(&mut self, what: &'static str) -> Result<u32, ModelBytesError> {
        let bytes = self.take(what, 4)?;
        Ok(u32::from_le_bytes(bytes.try_into().expect("4 bytes")))
    }

    fn u64(&mut self, what: &'static str) -> Result<u64, ModelBytesError> {
        let bytes = self.take(what, 8)?;
        Ok(u64::from_le_bytes(bytes.try_into().expect("8 bytes")))
    }

    fn text(&mut self, what: &'static str) -> Result<String, ModelBytesError> {
        let length = self.u32(what)? as usize;
        let bytes = self.take(what, length)?;
        String::from_utf8(bytes.to_vec())
            .map_err(|_| ModelBytesError::Corrupt(format!("{what} is not UTF-8")))
    }

    /// `count` half floats, as f32.
    fn floats(&mut self, what: &'static str, count: usize) -> Result<Vec<f32>, ModelBytesError> {
        let bytes = self.take(what, count.saturating_mul(2))?;
        Ok(bytes
            .chunks_exact(2)
            .map(|c| f16_bits_to_f32(u16::from_le_bytes([c[0], c[1]])))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use crate::text_classifier::{TrainConfig, train};

    use super::*;

    #[test]
    fn round_trips_and_rejects_damage() {
        let docs = [
            ("good words here", 1usize),
            ("bad spam words", 0),
            ("more good", 1),
        ];
        let mut model = train(
            &docs,
            vec!["0".into(), "1".into()],
            &TrainConfig {
                dim: 4,
                buckets: 1000,
                ..TrainConfig::default()
            },
        );
        let metadata = "{\"note\":\"é\"}";
        model.set_metadata(metadata.into());
        let bytes = model.to_bytes();
        assert_eq!(
            bytes.len(),
            8 + 16 + 2 * 5 + 4 + metadata.len() + 8 + model.trained_buckets() * (4 + 8) + 2 * 8
        );
        let back = TextClassifier::from_bytes(&bytes).unwrap();
        assert_eq!(back, model);
        assert_eq!(
            back.probabilities("good words"),
            model.probabilities("good words")
        );

        let error = TextClassifier::from_bytes(&bytes[..bytes.len() - 3]).unwrap_err();
        assert!(error.to_string().contains("the output layer"), "{error}");
        let error = TextClassifier::from_bytes(b"PK\x03\x04 not a model").unwrap_err();
        assert!(error.to_string().contains("BLENDTC1"), "{error}");
        let mut longer = bytes;
        longer.push(0);
        assert!(
            TextClassifier::from_bytes(&longer)
                .unwrap_err()
                .to_string()
                .contains("unexpected bytes")
        );
    }
}
