//! Megatron-LM's MMIDIDX indexed dataset. `.bin` holds the tokens of every document back
//! to back (uint16 when the vocabulary is below 65,500, else int32, little endian). `.idx`:
//! `MMIDIDX\0\0`, u64 version 1, u8 dtype code (8 = uint16, 4 = int32), u64 sequence count,
//! u64 document-index length (documents + 1), i32 sequence lengths, i64 byte pointers, i64
//! document indices (0, 1, …, n: one sequence per document).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::files::{hex, sha256_file};
use crate::{DatasetError, Result};

pub const INDEX_MAGIC: &[u8; 9] = b"MMIDIDX\0\0";
pub const INDEX_VERSION: u64 = 1;

/// Token width on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenDtype {
    Uint16,
    Int32,
}

impl TokenDtype {
    /// Megatron's rule: uint16 when the vocabulary is below 65,500 ids.
    pub fn for_vocab_size(vocab_size: usize) -> Self {
        if vocab_size < 65_500 {
            Self::Uint16
        } else {
            Self::Int32
        }
    }

    pub fn code(self) -> u8 {
        match self {
            Self::Uint16 => 8,
            Self::Int32 => 4,
        }
    }

    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            8 => Some(Self::Uint16),
            4 => Some(Self::Int32),
            _ => None,
        }
    }

    pub fn width(self) -> usize {
        match self {
            Self::Uint16 => 2,
            Self::Int32 => 4,
        }
    }
}

/// The paths, sizes and hashes of a finished `.bin`/`.idx` pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenShard {
    pub bin_path: PathBuf,
    pub idx_path: PathBuf,
    pub bin_sha256: String,
    pub idx_sha256: String,
    pub bin_bytes: u64,
    pub idx_bytes: u64,
    pub documents: u64,
    pub tokens: u64,
}

/// Streams documents into `<prefix>.bin` and writes `<prefix>.idx` on `finish`.
#[derive(Debug)]
pub struct MegatronWriter {
    prefix: PathBuf,
    dtype: TokenDtype,
    bin: BufWriter<File>,
    bin_hasher: Sha256,
    lengths: Vec<i32>,
    pointers: Vec<i64>,
    next_pointer: i64,
    scratch: Vec<u8>,
}

fn with_suffix(prefix: &Path, suffix: &str) -> PathBuf {
    let mut name = prefix.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

impl MegatronWriter {
    pub fn create(prefix: &Path, dtype: TokenDtype) -> Result<Self> {
        let bin_path = with_suffix(prefix, ".bin");
        let bin = File::create(&bin_path).map_err(|e| DatasetError::io(&bin_path, e))?;
        Ok(Self {
            prefix: prefix.to_path_buf(),
            dtype,
            bin: BufWriter::with_capacity(1 << 20, bin),
            bin_hasher: Sha256::new(),
            lengths: Vec::new(),
            pointers: Vec::new(),
            next_pointer: 0,
            scratch: Vec::new(),
        })
    }

    pub fn documents(&self) -> u64 {
        self.lengths.len() as u64
    }

    pub fn tokens(&self) -> u64 {
        self.next_pointer as u64 / self.dtype.width() as u64
    }

    /// Appends one document (one sequence). Fails if a token does not fit the dtype.
    pub fn add_document(&mut self, tokens: &[u32]) -> Result<()> {
        let bin_path = with_suffix(&self.prefix, ".bin");
        let length = i32::try_from(tokens.len()).map_err(|_| {
            DatasetError::invalid(
                &bin_path,
                format!("document of {} tokens exceeds i32", tokens.len()),
            )
        })?;
        self.scratch.clear();
        match self.dtype {
            TokenDtype::Uint16 => {
                for &token in tokens {
                    let narrow = u16::try_from(token).map_err(|_| {
                        DatasetError::invalid(
                            &bin_path,
                            format!("token id {token} does not fit uint16"),
                        )
                    })?;
                    self.scratch.extend_from_slice(&narrow.to_le_bytes());
                }
            }
            TokenDtype::Int32 => {
                for &token in tokens {
                    let wide = i32::try_from(token).map_err(|_| {
                        DatasetError::invalid(
                            &bin_path,
                            format!("token id {token} does not fit int32"),
                        )
                    })?;
                    self.scratch.extend_from_slice(&wide.to_le_bytes());
                }
            }
        }
        self.bin
            .write_all(&self.scratch)
            .map_err(|e| DatasetError::io(&bin_path, e))?;
        self.bin_hasher.update(&self.scratch);
        self.lengths.push(length);
        self.pointers.push(self.next_pointer);
        self.next_pointer += self.scratch.len() as i64;
        Ok(())
    }

    /// Flushes `.bin` and writes `.idx`.
    pub fn finish(mut self) -> Result<WrittenShard> {
        let bin_path = with_suffix(&self.prefix, ".bin");
        let idx_path = with_suffix(&self.prefix, ".idx");
        self.bin
            .flush()
            .map_err(|e| DatasetError::io(&bin_path, e))?;
        self.bin
            .get_ref()
            .sync_all()
            .map_err(|e| DatasetError::io(&bin_path, e))?;
        let sequences = self.lengths.len() as u64;
        let mut index = Vec::with_capacity(34 + self.lengths.len() * 20 + 8);
        index.extend_from_slice(INDEX_MAGIC);
        index.extend_from_slice(&INDEX_VERSION.to_le_bytes());
        index.push(self.dtype.code());
        index.extend_from_slice(&sequences.to_le_bytes());
        index.extend_from_slice(&(sequences + 1).to_le_bytes());
        for length in &self.lengths {
            index.extend_from_slice(&length.to_le_bytes());
        }
        for pointer in &self.pointers {
            index.extend_from_slice(&pointer.to_le_bytes());
        }
        for document in 0..=sequences {
            index.extend_from_slice(&(document as i64).to_le_bytes());
        }
        crate::files::write_atomic(&idx_path, &index)?;
        Ok(WrittenShard {
            bin_sha256: hex(&self.bin_hasher.finalize()),
            idx_sha256: crate::files::sha256_bytes(&index),
            bin_bytes: self.next_pointer as u64,
            idx_bytes: index.len() as u64,
            documents: sequences,
            tokens: self.next_pointer as u64 / self.dtype.width() as u64,
            bin_path,
            idx_path,
        })
    }
}

/// Reads a `.bin`/`.idx` pair, checking the index against the data file.
#[derive(Debug)]
pub struct MegatronReader {
    pub dtype: TokenDtype,
    lengths: Vec<i32>,
    pointers: Vec<i64>,
    document_indices: Vec<i64>,
    bin: Vec<u8>,
}

struct IndexCursor<'a> {
    bytes: &'a [u8],
    offset: usize,
    path: &'a Path,
}

impl IndexCursor<'_> {
    fn take(&mut self, count: usize) -> Result<&[u8]> {
        let end = self
            .offset
            .checked_add(count)
            .filter(|end| *end <= self.bytes.len());
        let Some(end) = end else {
            return Err(DatasetError::invalid(
                self.path,
                format!(
                    "index truncated at byte {} (needed {count} more bytes)",
                    self.offset
                ),
            ));
        };
        let slice = &self.bytes[self.offset..end];
        self.offset = end;
        Ok(slice)
    }

    /// `count` items of `width` bytes; a count too large for the file is an error, not an
    /// overflow.
    fn take_items(&mut self, what: &str, count: u64, width: usize) -> Result<&[u8]> {
        let bytes = usize::try_from(count)
            .ok()
            .and_then(|count| count.checked_mul(width));
        match bytes {
            Some(bytes) => self.take(bytes),
            None => Err(DatasetError::invalid(
                self.path,
                format!(
                    "index claims {count} {what} at byte {}, more than any file holds",
                    self.offset
                ),
            )),
        }
    }

    fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }
}

impl MegatronReader {
    pub fn open(prefix: &Path) -> Result<Self> {
        let idx_path = with_suffix(prefix, ".idx");
        let bin_path = with_suffix(prefix, ".bin");
        let index = std::fs::read(&idx_path).map_err(|e| DatasetError::io(&idx_path, e))?;
        let mut cursor = IndexCursor {
            bytes: &index,
            offset: 0,
            path: &idx_path,
        };
        if cursor.take(9)? != INDEX_MAGIC {
            return Err(DatasetError::invalid(
                &idx_path,
                "not a Megatron MMIDIDX index (bad magic)",
            ));
        }
        let version = cursor.u64()?;
        if version != INDEX_VERSION {
            return Err(DatasetError::invalid(
                &idx_path,
                format!("index version {version}, expected 1"),
            ));
        }
        let code = cursor.take(1)?[0];
        let dtype = TokenDtype::from_code(code).ok_or_else(|| {
            DatasetError::invalid(&idx_path, format!("unsupported dtype code {code}"))
        })?;
        let sequences = cursor.u64()?;
        let document_count = cursor.u64()?;
        let lengths = cursor
            .take_items("sequences", sequences, 4)?
            .chunks_exact(4)
            .map(|c| i32::from_le_bytes(c.try_into().expect("4 bytes")))
            .collect::<Vec<_>>();
        let pointers = cursor
            .take_items("sequences", sequences, 8)?
            .chunks_exact(8)
            .map(|c| i64::from_le_bytes(c.try_into().expect("8 bytes")))
            .collect::<Vec<_>>();
        let document_indices = cursor
            .take_items("documents", document_count, 8)?
            .chunks_exact(8)
            .map(|c| i64::from_le_bytes(c.try_into().expect("8 bytes")))
            .collect::<Vec<_>>();
        if cursor.offset != index.len() {
            return Err(DatasetError::invalid(
                &idx_path,
                format!(
                    "{} trailing bytes after the index",
                    index.len() - cursor.offset
                ),
            ));
        }
        let bin = std::fs::read(&bin_path).map_err(|e| DatasetError::io(&bin_path, e))?;
        let width = dtype.width() as i64;
        let mut expected = 0i64;
        for (sequence, (&length, &pointer)) in lengths.iter().zip(&pointers).enumerate() {
            if pointer != expected || length < 0 {
                return Err(DatasetError::invalid(
                    &idx_path,
                    format!("sequence {sequence}: pointer {pointer}, expected {expected}"),
                ));
            }
            expected += i64::from(length) * width;
        }
        if expected != bin.len() as i64 {
            return Err(DatasetError::invalid(
                &bin_path,
                format!("{} bytes, but the index describes {expected}", bin.len()),
            ));
        }
        Ok(Self {
            dtype,
            lengths,
            pointers,
            document_indices,
            bin,
        })
    }

    pub fn sequences(&self) -> usize {
        self.lengths.len()
    }

    pub fn document_indices(&self) -> &[i64] {
        &self.document_indices
    }

    pub fn total_tokens(&self) -> u64 {
        self.lengths.iter().map(|&l| l as u64).sum()
    }

    /// The tokens of sequence `index`.
    pub fn sequence(&self, index: usize) -> Vec<u32> {
        let start = self.pointers[index] as usize;
        let end = start + self.lengths[index] as usize * self.dtype.width();
        let bytes = &self.bin[start..end];
        match self.dtype {
            TokenDtype::Uint16 => bytes
                .chunks_exact(2)
                .map(|c| u32::from(u16::from_le_bytes([c[0], c[1]])))
                .collect(),
            TokenDtype::Int32 => bytes
                .chunks_exact(4)
                .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as u32)
                .collect(),
        }
    }
}

/// sha256 of `<prefix>.bin` and `<prefix>.idx` as stored on disk.
pub fn shard_hashes(prefix: &Path) -> Result<(String, String)> {
    Ok((
        sha256_file(&with_suffix(prefix, ".bin"))?,
        sha256_file(&with_suffix(prefix, ".idx"))?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(dtype: TokenDtype, documents: &[Vec<u32>]) {
        let dir = tempfile::tempdir().unwrap();
        let prefix = dir.path().join("shard_00000");
        let mut writer = MegatronWriter::create(&prefix, dtype).unwrap();
        for doc in documents {
            writer.add_document(doc).unwrap();
        }
        let written = writer.finish().unwrap();
        assert_eq!(written.documents, documents.len() as u64);
        assert_eq!(
            written.tokens,
            documents.iter().map(|d| d.len() as u64).sum::<u64>()
        );
        assert_eq!(
            shard_hashes(&prefix).unwrap(),
            (written.bin_sha256.clone(), written.idx_sha256)
        );
        let reader = MegatronReader::open(&prefix).unwrap();
        assert_eq!(reader.dtype, dtype);
        assert_eq!(reader.sequences(), documents.len());
        assert_eq!(
            reader.document_indices(),
            (0..=documents.len() as i64).collect::<Vec<_>>()
        );
        for (index, doc) in documents.iter().enumerate() {
            assert_eq!(&reader.sequence(index), doc);
        }
    }

    #[test]
    fn uint16_and_int32_round_trip() {
        round_trip(
            TokenDtype::Uint16,
            &[vec![1, 2, 3], vec![], vec![65_535, 0]],
        );
        round_trip(TokenDtype::Int32, &[vec![100_000, 7], vec![42]]);
        round_trip(TokenDtype::Uint16, &[]);
    }

    #[test]
    fn header_layout_is_megatrons() {
        let dir = tempfile::tempdir().unwrap();
        let prefix = dir.path().join("s");
        let mut writer = MegatronWriter::create(&prefix, TokenDtype::Uint16).unwrap();
        writer.add_document(&[5, 6]).unwrap();
        writer.finish().unwrap();
        let index = std::fs::read(dir.path().join("s.idx")).unwrap();
        assert_eq!(&index[..9], b"MMIDIDX\0\0");
        assert_eq!(u64::from_le_bytes(index[9..17].try_into().unwrap()), 1);
        assert_eq!(index[17], 8);
        assert_eq!(u64::from_le_bytes(index[18..26].try_into().unwrap()), 1);
        assert_eq!(u64::from_le_bytes(index[26..34].try_into().unwrap()), 2);
        assert_eq!(index.len(), 34 + 4 + 8 + 16);
        assert_eq!(
            std::fs::read(dir.path().join("s.bin")).unwrap(),
            [5, 0, 6, 0]
        );
    }

    #[test]
    fn oversized_token_is_an_error_and_corrupt_index_is_caught() {
        let dir = tempfile::tempdir().unwrap();
        let prefix = dir.path().join("s");
        let mut writer = MegatronWriter::create(&prefix, TokenDtype::Uint16).unwrap();
        assert!(
            writer
                .add_document(&[70_000])
                .unwrap_err()
                .to_string()
                .contains("uint16")
        );
        writer.add_document(&[1, 2, 3]).unwrap();
        writer.finish().unwrap();
        let bin = dir.path().join("s.bin");
        std::fs::write(&bin, [1u8, 0, 2, 0]).unwrap();
        let error = MegatronReader::open(&prefix).unwrap_err().to_string();
        assert!(error.contains("index describes 6"), "{error}");
        let idx = dir.path().join("s.idx");
        let bytes = std::fs::read(&idx).unwrap();
        std::fs::write(&idx, &bytes[..20]).unwrap();
        assert!(
            MegatronReader::open(&prefix)
                .unwrap_err()
                .to_string()
                .contains("truncated")
        );
    }

    #[test]
    fn a_sequence_count_too_large_for_any_file_is_an_error_naming_the_index() {
        let dir = tempfile::tempdir().unwrap();
        let prefix = dir.path().join("s");
        let mut writer = MegatronWriter::create(&prefix, TokenDtype::Uint16).unwrap();
        writer.add_document(&[1, 2, 3]).unwrap();
        writer.finish().unwrap();
        let idx = dir.path().join("s.idx");
        let mut bytes = std::fs::read(&idx).unwrap();
        // magic (9), version (8), dtype (1), then the sequence count.
        bytes[18..26].copy_from_slice(&(u64::MAX / 3).to_le_bytes());
        std::fs::write(&idx, &bytes).unwrap();
        let error = MegatronReader::open(&prefix).unwrap_err().to_string();
        assert!(
            error.contains("s.idx") && error.contains("more than any file holds"),
            "{error}"
        );
    }
}
