//! Parquet part files: a stage writes its rows as `part-00000.parquet`, `part-00001.parquet`,
//! … in row order, each closed and renamed into place before the next is opened.

use std::fs::File;
use std::path::{Path, PathBuf};

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use serde::{Deserialize, Serialize};

use crate::files::sha256_file;
use crate::{DatasetError, Result};

/// One written part: its file name (relative to the folder), rows, bytes and sha256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartFile {
    pub name: String,
    pub rows: u64,
    pub bytes: u64,
    pub sha256: String,
}

/// Writes batches into numbered Parquet parts of at most `rows_per_part` rows.
#[derive(Debug)]
pub struct PartWriter {
    dir: PathBuf,
    prefix: String,
    schema: SchemaRef,
    rows_per_part: u64,
    current: Option<(ArrowWriter<File>, PathBuf, u64)>,
    parts: Vec<PartFile>,
}

/// Bytes an open row group may buffer before it is written out, so a part of many rows is
/// written without holding them all. Fixed, not taken from the memory budget: the same rows
/// give the same bytes under any budget.
pub const ROW_GROUP_BUFFER: usize = 32 << 20;

fn writer_properties() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(3).unwrap_or_default()))
        .set_created_by(format!("blend {}", env!("CARGO_PKG_VERSION")))
        .build()
}

impl PartWriter {
    pub fn new(dir: &Path, prefix: &str, schema: SchemaRef, rows_per_part: u64) -> Self {
        Self {
            dir: dir.to_path_buf(),
            prefix: prefix.to_string(),
            schema,
            rows_per_part: rows_per_part.max(1),
            current: None,
            parts: Vec::new(),
        }
    }

    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        let mut offset = 0usize;
        while offset < batch.num_rows() {
            if self.current.is_none() {
                self.open_next()?;
            }
            let (writer, path, rows) = self.current.as_mut().expect("part is open");
            let room = (self.rows_per_part - *rows) as usize;
            let take = room.min(batch.num_rows() - offset);
            writer
                .write(&batch.slice(offset, take))
                .map_err(|source| DatasetError::Parquet {
                    path: path.clone(),
                    source,
                })?;
            *rows += take as u64;
            offset += take;
            if writer.in_progress_size() > ROW_GROUP_BUFFER {
                writer.flush().map_err(|source| DatasetError::Parquet {
                    path: path.clone(),
                    source,
                })?;
            }
            if *rows >= self.rows_per_part {
                self.close_current()?;
            }
        }
        Ok(())
    }

    fn open_next(&mut self) -> Result<()> {
        let name = format!("{}-{:05}.parquet", self.prefix, self.parts.len());
        let path = self.dir.join(&name);
        let file = File::create(&path).map_err(|e| DatasetError::io(&path, e))?;
        let writer = ArrowWriter::try_new(file, self.schema.clone(), Some(writer_properties()))
            .map_err(|source| DatasetError::Parquet {
                path: path.clone(),
                source,
            })?;
        self.current = Some((writer, path, 0));
        Ok(())
    }

    fn close_current(&mut self) -> Result<()> {
        if let Some((writer, path, rows)) = self.current.take() {
            let (bytes, sha256) = close_parquet(writer, &path)?;
            self.parts.push(PartFile {
                name: path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                rows,
                bytes,
                sha256,
            });
        }
        Ok(())
    }

    /// Closes the open part. A stage with no rows still gets one empty part, so readers
    /// always find the schema.
    pub fn finish(mut self) -> Result<Vec<PartFile>> {
        if self.current.is_none() && self.parts.is_empty() {
            self.open_next()?;
        }
        self.close_current()?;
        Ok(self.parts)
    }
}

/// Closes a Parquet writer on `path` and returns the file's (bytes, sha256).
pub fn close_parquet(writer: ArrowWriter<File>, path: &Path) -> Result<(u64, String)> {
    writer.close().map_err(|source| DatasetError::Parquet {
        path: path.to_path_buf(),
        source,
    })?;
    let bytes = std::fs::metadata(path)
        .map_err(|e| DatasetError::io(path, e))?
        .len();
    Ok((bytes, sha256_file(path)?))
}

/// Checks that every part exists with its recorded size and sha256.
pub fn verify_parts(dir: &Path, parts: &[PartFile]) -> Result<()> {
    for part in parts {
        let path = dir.join(&part.name);
        let bytes = std::fs::metadata(&path)
            .map_err(|e| DatasetError::io(&path, e))?
            .len();
        if bytes != part.bytes {
            return Err(DatasetError::invalid(
                &path,
                format!("size {bytes} differs from the recorded {}", part.bytes),
            ));
        }
        let sha = sha256_file(&path)?;
        if sha != part.sha256 {
            return Err(DatasetError::invalid(
                &path,
                "sha256 differs from the manifest",
            ));
        }
    }
    Ok(())
}
