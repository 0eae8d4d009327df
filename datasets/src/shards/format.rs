//! The shard formats blend writes, and one writer that puts the same sequences into every
//! requested format: Megatron MMIDIDX (`<name>.bin` + `<name>.idx`), nanoGPT
//! (`<name>.nanogpt.bin`), llm.c (`<name>.llmc.bin`) and Parquet (`<name>.parquet`).

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::flat::{FlatLayout, FlatWriter, read_flat};
use super::manifest::FileEntry;
use super::megatron::{MegatronReader, MegatronWriter, TokenDtype};
use super::parquet_tokens::{ParquetTokenWriter, read_parquet_tokens};
use crate::{DatasetError, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ShardFormat {
    Megatron,
    Nanogpt,
    Llmc,
    Parquet,
}

/// A format by name, case and surrounding spaces ignored.
impl std::str::FromStr for ShardFormat {
    type Err = String;

    fn from_str(text: &str) -> std::result::Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|f| f.name() == text.trim().to_ascii_lowercase())
            .ok_or_else(|| {
                format!(
                    "unknown shard format `{text}`; expected megatron, nanogpt, llmc or parquet"
                )
            })
    }
}

impl std::fmt::Display for ShardFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl ShardFormat {
    pub const ALL: [Self; 4] = [Self::Megatron, Self::Nanogpt, Self::Llmc, Self::Parquet];

    pub fn name(self) -> &'static str {
        match self {
            Self::Megatron => "megatron",
            Self::Nanogpt => "nanogpt",
            Self::Llmc => "llmc",
            Self::Parquet => "parquet",
        }
    }

    /// Whether the format keeps sequence boundaries (nanoGPT and llm.c are flat streams).
    pub fn keeps_sequences(self) -> bool {
        matches!(self, Self::Megatron | Self::Parquet)
    }
}

enum FormatWriter {
    Megatron(MegatronWriter),
    Flat(FlatWriter, ShardFormat),
    Parquet(Box<ParquetTokenWriter>),
}

impl std::fmt::Debug for FormatWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Megatron(_) => "Megatron",
            Self::Flat(_, format) => format.name(),
            Self::Parquet(_) => "Parquet",
        })
    }
}

/// One shard, written in several formats at once.
#[derive(Debug)]
pub struct ShardSetWriter {
    name: String,
    writers: Vec<FormatWriter>,
    sequences: u64,
    tokens: u64,
}

impl ShardSetWriter {
    /// `with_documents`: each sequence is one whole document (Parquet then stores its id
    /// and domain).
    pub fn create(
        dir: &Path,
        name: &str,
        formats: &[ShardFormat],
        dtype: TokenDtype,
        with_documents: bool,
    ) -> Result<Self> {
        let mut writers = Vec::new();
        for &format in formats {
            writers.push(match format {
                ShardFormat::Megatron => {
                    FormatWriter::Megatron(MegatronWriter::create(&dir.join(name), dtype)?)
                }
                ShardFormat::Nanogpt => FormatWriter::Flat(
                    FlatWriter::create(
                        &dir.join(format!("{name}.nanogpt.bin")),
                        FlatLayout::NanoGpt,
                    )?,
                    format,
                ),
                ShardFormat::Llmc => FormatWriter::Flat(
                    FlatWriter::create(&dir.join(format!("{name}.llmc.bin")), FlatLayout::Llmc)?,
                    format,
                ),
                ShardFormat::Parquet => {
                    FormatWriter::Parquet(Box::new(ParquetTokenWriter::create(
                        &dir.join(format!("{name}.parquet")),
                        with_documents,
                    )?))
                }
            });
        }
        Ok(Self {
            name: name.to_string(),
            writers,
            sequences: 0,
            tokens: 0,
        })
    }

    pub fn tokens(&self) -> u64 {
        self.tokens
    }

    pub fn sequences(&self) -> u64 {
        self.sequences
    }

    pub fn add_sequence(&mut self, tokens: &[u32], id: &str, domain: &str) -> Result<()> {
        for writer in &mut self.writers {
            match writer {
                FormatWriter::Megatron(w) => w.add_document(tokens)?,
                FormatWriter::Flat(w, _) => w.add_tokens(tokens)?,
                FormatWriter::Parquet(w) => w.add_sequence(tokens, id, domain)?,
            }
        }
        self.sequences += 1;
        self.tokens += tokens.len() as u64;
        Ok(())
    }

    /// Closes every file; returns their entries (paths relative to the shard folder).
    pub fn finish(self) -> Result<Vec<FileEntry>> {
        let mut files = Vec::new();
        for writer in self.writers {
            match writer {
                FormatWriter::Megatron(w) => {
                    let written = w.finish()?;
                    files.push(FileEntry {
                        format: ShardFormat::Megatron,
                        path: format!("{}.bin", self.name),
                        bytes: written.bin_bytes,
                        sha256: written.bin_sha256,
                    });
                    files.push(FileEntry {
                        format: ShardFormat::Megatron,
                        path: format!("{}.idx", self.name),
                        bytes: written.idx_bytes,
                        sha256: written.idx_sha256,
                    });
                }
                FormatWriter::Flat(w, format) => {
                    let (bytes, sha256) = w.finish()?;
                    files.push(FileEntry {
                        format,
                        path: format!("{}.{}.bin", self.name, format.name()),
                        bytes,
                        sha256,
                    });
                }
                FormatWriter::Parquet(w) => {
                    let (bytes, sha256) = w.finish()?;
                    files.push(FileEntry {
                        format: ShardFormat::Parquet,
                        path: format!("{}.parquet", self.name),
                        bytes,
                        sha256,
                    });
                }
            }
        }
        Ok(files)
    }
}

/// The sequences a shard holds in `format` (a flat format gives one sequence of all its
/// tokens). `name` is the shard's name inside `dir`.
pub fn read_shard(dir: &Path, name: &str, format: ShardFormat) -> Result<Vec<Vec<u32>>> {
    Ok(match format {
        ShardFormat::Megatron => {
            let reader = MegatronReader::open(&dir.join(name))?;
            (0..reader.sequences())
                .map(|i| reader.sequence(i))
                .collect()
        }
        ShardFormat::Nanogpt => vec![read_flat(
            &dir.join(format!("{name}.nanogpt.bin")),
            FlatLayout::NanoGpt,
        )?],
        ShardFormat::Llmc => vec![read_flat(
            &dir.join(format!("{name}.llmc.bin")),
            FlatLayout::Llmc,
        )?],
        ShardFormat::Parquet => read_parquet_tokens(&dir.join(format!("{name}.parquet")))?,
    })
}

/// Parses a comma-separated format list (`megatron,nanogpt`).
pub fn parse_formats(text: &str) -> Result<Vec<ShardFormat>> {
    let mut formats = Vec::new();
    for part in text.split(',').filter(|p| !p.trim().is_empty()) {
        let format: ShardFormat = part
            .parse()
            .map_err(|message: String| DatasetError::invalid("--formats", message))?;
        if !formats.contains(&format) {
            formats.push(format);
        }
    }
    if formats.is_empty() {
        return Err(DatasetError::invalid(
            "--formats",
            "name at least one format",
        ));
    }
    Ok(formats)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_format_holds_the_same_tokens() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = ShardSetWriter::create(
            dir.path(),
            "train_00000",
            &ShardFormat::ALL,
            TokenDtype::Uint16,
            true,
        )
        .unwrap();
        let docs: Vec<Vec<u32>> = vec![vec![5, 6, 0], vec![9, 0], vec![1, 2, 3, 0]];
        for (i, doc) in docs.iter().enumerate() {
            writer.add_sequence(doc, &format!("d{i}"), "web").unwrap();
        }
        assert_eq!((writer.sequences(), writer.tokens()), (3, 9));
        let files = writer.finish().unwrap();
        assert_eq!(files.len(), 5, "megatron writes two files");
        for file in &files {
            assert_eq!(
                crate::files::sha256_file(&dir.path().join(&file.path)).unwrap(),
                file.sha256
            );
        }
        let flat: Vec<u32> = docs.concat();
        for format in ShardFormat::ALL {
            let sequences = read_shard(dir.path(), "train_00000", format).unwrap();
            assert_eq!(sequences.concat(), flat, "{format:?}");
            if format.keeps_sequences() {
                assert_eq!(sequences, docs, "{format:?}");
            }
        }
    }

    #[test]
    fn format_lists_parse() {
        assert_eq!(
            parse_formats("megatron, llmc,megatron").unwrap(),
            vec![ShardFormat::Megatron, ShardFormat::Llmc]
        );
        assert!(
            parse_formats("tfrecord")
                .unwrap_err()
                .to_string()
                .contains("tfrecord")
        );
        assert!(parse_formats("").is_err());
    }
}
