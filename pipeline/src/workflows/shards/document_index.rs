//! Pass 1 of the final shards: every output document's tokens (EOS appended) go to one
//! temporary file of little-endian u32, and per document only its offset, length, domain, id
//! and split are kept, so memory grows with documents, not tokens.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use futures::StreamExt;

use super::{FinalInputs, is_valid_document};
use crate::engine::encode::encode_batch;
use crate::engine::session::{new_session, stream_parts};
use crate::engine::shards::domain_column;
use crate::progress::Progress;
use crate::workflows::search::proxy_quality::{quality_value, quality_values};
use crate::{PipelineError, Result};

/// Per-document facts kept between the passes.
#[derive(Debug, Default)]
pub(super) struct DocumentIndex {
    pub offsets: Vec<u64>,
    pub lengths: Vec<u32>,
    pub domains: Vec<u32>,
    pub ids: Vec<String>,
    pub valid: Vec<bool>,
    pub domain_names: Vec<String>,
    /// The mixture's quality columns (QuaDMix), column → value per document (NaN where
    /// missing); empty without a sampling function.
    pub quality: Vec<Vec<f64>>,
}

impl DocumentIndex {
    /// The domain name of document `doc`.
    pub fn domain(&self, doc: usize) -> &str {
        &self.domain_names[self.domains[doc] as usize]
    }

    fn domain_index(&mut self, name: &str, lookup: &mut HashMap<String, u32>) -> u32 {
        *lookup.entry(name.to_string()).or_insert_with(|| {
            self.domain_names.push(name.to_string());
            (self.domain_names.len() - 1) as u32
        })
    }
}

/// Pass 1: tokens of every output document into `token_path` (u32 little endian), and the
/// per-document index; a seeded `valid_fraction` of documents (by id) is held out.
pub(super) async fn tokenize_into(
    inputs: &FinalInputs,
    valid_fraction: f64,
    token_path: &Path,
    progress: &dyn Progress,
) -> Result<DocumentIndex> {
    const STAGE: &str = "tokenize";
    let (docs_dir, docs_manifest) = (&inputs.docs_dir, &inputs.docs_manifest);
    let tokenizer = &inputs.tokenizer;
    let ctx = new_session(4096);
    let mut stream = stream_parts(&ctx, STAGE, docs_dir, &docs_manifest.parts).await?;
    let domain_column = domain_column(&stream.schema(), &inputs.domain_column);
    let mut out = BufWriter::with_capacity(
        1 << 20,
        File::create(token_path).map_err(|e| PipelineError::io(token_path, e))?,
    );
    let mut index = DocumentIndex::default();
    let mut lookup = HashMap::new();
    let mut offset = 0u64;
    let task = progress.start("tokenize", Some(docs_manifest.rows_out), "docs");
    let quality_columns = inputs
        .mixture
        .sampling
        .as_ref()
        .map_or_else(Vec::new, |s| s.quality_columns.clone());
    index.quality = vec![Vec::new(); quality_columns.len()];
    while let Some(batch) = stream.next().await {
        let batch = batch.map_err(|e| PipelineError::datafusion(STAGE, e))?;
        let encoded = encode_batch(STAGE, &batch, tokenizer, &domain_column)?;
        for (values, array) in index
            .quality
            .iter_mut()
            .zip(quality_values(&batch, &quality_columns)?)
        {
            values.extend((0..array.len()).map(|row| quality_value(&array, row)));
        }
        for (row, tokens) in encoded.tokens.iter().enumerate() {
            let bytes: Vec<u8> = tokens.iter().flat_map(|t| t.to_le_bytes()).collect();
            out.write_all(&bytes)
                .map_err(|e| PipelineError::io(token_path, e))?;
            let domain_index = index.domain_index(encoded.domain(row), &mut lookup);
            index.offsets.push(offset);
            index.lengths.push(u32::try_from(tokens.len()).map_err(|_| {
                PipelineError::DocumentTooLong {
                    id: encoded.ids.value(row).to_string(),
                }
            })?);
            index.domains.push(domain_index);
            index.ids.push(encoded.ids.value(row).to_string());
            let id = encoded.ids.value(row);
            index
                .valid
                .push(is_valid_document(id, inputs.seed, valid_fraction));
            offset += tokens.len() as u64;
        }
        task.advance(batch.num_rows() as u64);
    }
    out.flush().map_err(|e| PipelineError::io(token_path, e))?;
    task.finish(&format!(
        "{} documents, {offset} tokens",
        index.lengths.len()
    ));
    Ok(index)
}

/// Reads documents' tokens back from pass 1's token file.
#[derive(Debug)]
pub(super) struct TokenFile {
    file: File,
    path: PathBuf,
}

impl TokenFile {
    pub fn open(path: &Path) -> Result<Self> {
        Ok(Self {
            file: File::open(path).map_err(|e| PipelineError::io(path, e))?,
            path: path.to_path_buf(),
        })
    }

    /// The tokens of document `doc` into `buffer`.
    pub fn read(&self, index: &DocumentIndex, doc: usize, buffer: &mut Vec<u32>) -> Result<()> {
        let length = index.lengths[doc] as usize;
        let mut bytes = vec![0u8; length * 4];
        self.file
            .read_exact_at(&mut bytes, index.offsets[doc] * 4)
            .map_err(|e| PipelineError::io(&self.path, e))?;
        buffer.clear();
        buffer.extend(
            bytes
                .chunks_exact(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])),
        );
        Ok(())
    }
}
