//! Flat token files: nanoGPT's raw little-endian uint16 `.bin` (what its `prepare.py`
//! writes with `np.uint16`) and llm.c's `.bin` (a header of 256 little-endian int32 —
//! magic 20240520, version 1, token count — then uint16 tokens). Documents are separated
//! only by their EOS tokens.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::files::hex;
use crate::{DatasetError, Result};

pub const LLMC_MAGIC: i32 = 20_240_520;
pub const LLMC_VERSION: i32 = 1;
pub const LLMC_HEADER_INTS: usize = 256;

/// Which flat layout to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlatLayout {
    NanoGpt,
    Llmc,
}

/// Streams uint16 tokens into a flat file; llm.c's header is patched in on `finish`.
#[derive(Debug)]
pub struct FlatWriter {
    path: PathBuf,
    layout: FlatLayout,
    out: BufWriter<File>,
    tokens: u64,
    scratch: Vec<u8>,
}

impl FlatWriter {
    pub fn create(path: &Path, layout: FlatLayout) -> Result<Self> {
        let file = File::create(path).map_err(|e| DatasetError::io(path, e))?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        if layout == FlatLayout::Llmc {
            out.write_all(&[0u8; LLMC_HEADER_INTS * 4])
                .map_err(|e| DatasetError::io(path, e))?;
        }
        Ok(Self {
            path: path.to_path_buf(),
            layout,
            out,
            tokens: 0,
            scratch: Vec::new(),
        })
    }

    pub fn add_tokens(&mut self, tokens: &[u32]) -> Result<()> {
        self.scratch.clear();
        for &token in tokens {
            let narrow = u16::try_from(token).map_err(|_| {
                DatasetError::invalid(
                    &self.path,
                    format!("token id {token} does not fit uint16; nanoGPT and llm.c files need a vocabulary below 65,536"),
                )
            })?;
            self.scratch.extend_from_slice(&narrow.to_le_bytes());
        }
        self.out
            .write_all(&self.scratch)
            .map_err(|e| DatasetError::io(&self.path, e))?;
        self.tokens += tokens.len() as u64;
        Ok(())
    }

    /// Closes the file (writing llm.c's header) and returns (bytes, sha256).
    pub fn finish(self) -> Result<(u64, String)> {
        let path = self.path.clone();
        let mut file = self
            .out
            .into_inner()
            .map_err(|e| DatasetError::io(&path, e.into_error()))?;
        if self.layout == FlatLayout::Llmc {
            use std::io::{Seek, SeekFrom};
            let count = i32::try_from(self.tokens).map_err(|_| {
                DatasetError::invalid(
                    &path,
                    "llm.c files hold at most 2^31-1 tokens; lower the shard size",
                )
            })?;
            let mut header = vec![0u8; LLMC_HEADER_INTS * 4];
            header[0..4].copy_from_slice(&LLMC_MAGIC.to_le_bytes());
            header[4..8].copy_from_slice(&LLMC_VERSION.to_le_bytes());
            header[8..12].copy_from_slice(&count.to_le_bytes());
            file.seek(SeekFrom::Start(0))
                .map_err(|e| DatasetError::io(&path, e))?;
            file.write_all(&header)
                .map_err(|e| DatasetError::io(&path, e))?;
        }
        file.sync_all().map_err(|e| DatasetError::io(&path, e))?;
        drop(file);
        let bytes = std::fs::read(&path).map_err(|e| DatasetError::io(&path, e))?;
        Ok((bytes.len() as u64, hex(&Sha256::digest(&bytes))))
    }
}

/// All tokens of a flat file, checking llm.c's header.
pub fn read_flat(path: &Path, layout: FlatLayout) -> Result<Vec<u32>> {
    let bytes = std::fs::read(path).map_err(|e| DatasetError::io(path, e))?;
    let body = match layout {
        FlatLayout::NanoGpt => &bytes[..],
        FlatLayout::Llmc => {
            if bytes.len() < LLMC_HEADER_INTS * 4 {
                return Err(DatasetError::invalid(
                    path,
                    "shorter than llm.c's 1,024-byte header",
                ));
            }
            let int =
                |i: usize| i32::from_le_bytes(bytes[i * 4..i * 4 + 4].try_into().expect("4 bytes"));
            if int(0) != LLMC_MAGIC || int(1) != LLMC_VERSION {
                return Err(DatasetError::invalid(
                    path,
                    format!(
                        "llm.c header magic {} version {}, expected {LLMC_MAGIC} 1",
                        int(0),
                        int(1)
                    ),
                ));
            }
            let body = &bytes[LLMC_HEADER_INTS * 4..];
            if i64::from(int(2)) * 2 != body.len() as i64 {
                return Err(DatasetError::invalid(
                    path,
                    format!(
                        "header says {} tokens but the file holds {}",
                        int(2),
                        body.len() / 2
                    ),
                ));
            }
            body
        }
    };
    if body.len() % 2 != 0 {
        return Err(DatasetError::invalid(
            path,
            "odd number of bytes in a uint16 token file",
        ));
    }
    Ok(body
        .chunks_exact(2)
        .map(|c| u32::from(u16::from_le_bytes([c[0], c[1]])))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_layouts_round_trip_and_llmc_header_is_right() {
        let dir = tempfile::tempdir().unwrap();
        for layout in [FlatLayout::NanoGpt, FlatLayout::Llmc] {
            let path = dir.path().join(format!("{layout:?}.bin"));
            let mut writer = FlatWriter::create(&path, layout).unwrap();
            writer.add_tokens(&[1, 2, 65_535]).unwrap();
            writer.add_tokens(&[7]).unwrap();
            let (bytes, sha) = writer.finish().unwrap();
            assert_eq!(sha, crate::files::sha256_file(&path).unwrap());
            assert_eq!(read_flat(&path, layout).unwrap(), vec![1, 2, 65_535, 7]);
            let header = if layout == FlatLayout::Llmc { 1024 } else { 0 };
            assert_eq!(bytes, header + 8);
        }
        let raw = std::fs::read(dir.path().join("Llmc.bin")).unwrap();
        assert_eq!(
            i32::from_le_bytes(raw[0..4].try_into().unwrap()),
            20_240_520
        );
        assert_eq!(i32::from_le_bytes(raw[8..12].try_into().unwrap()), 4);
        let mut writer =
            FlatWriter::create(&dir.path().join("x.bin"), FlatLayout::NanoGpt).unwrap();
        assert!(
            writer
                .add_tokens(&[70_000])
                .unwrap_err()
                .to_string()
                .contains("65,536")
        );
    }

    #[test]
    fn a_negative_llmc_token_count_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.llmc.bin");
        let mut writer = FlatWriter::create(&path, FlatLayout::Llmc).unwrap();
        writer.add_tokens(&[1, 2]).unwrap();
        writer.finish().unwrap();
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[8..12].copy_from_slice(&i32::MIN.to_le_bytes());
        std::fs::write(&path, &bytes).unwrap();
        let error = read_flat(&path, FlatLayout::Llmc).unwrap_err().to_string();
        assert!(
            error.contains("s.llmc.bin") && error.contains("header says -2147483648 tokens"),
            "{error}"
        );
    }
}
