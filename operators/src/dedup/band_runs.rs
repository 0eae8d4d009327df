//! The LSH band table without holding it in memory: (band key, document) records are
//! appended through small buffers to P partition files chosen by the key's high bits, and
//! grouped one partition at a time (load, parallel sort, scan runs of equal keys). P is the
//! smallest power of two for which one partition fits in half the memory budget, so peak
//! memory is set by the budget, not by the corpus. With P = 1 nothing touches the disk.
//!
//! Measured against DataFusion's spilling `GROUP BY key` over the same records
//! (`bench/dedup/grouping.sh`): partitioned runs were faster and stayed inside the budget.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use rayon::slice::ParallelSliceMut;

use crate::{OperatorError, Result};

/// One band-table record: a band key and the document's index in stable order.
pub type BandRecord = (u64, u32);

/// Bytes of one record on disk.
const RECORD_BYTES: usize = 12;
/// Records buffered per partition before a write (fewer when there are many partitions,
/// so all buffers together stay within an eighth of the budget).
const MAX_BUFFER_RECORDS: usize = 4096;

#[derive(Debug)]
pub struct BandRuns {
    operator: &'static str,
    dir: PathBuf,
    partition_bits: u32,
    buffer_records: usize,
    buffers: Vec<Vec<BandRecord>>,
    files: Vec<Option<BufWriter<File>>>,
    records: u64,
    spilled_bytes: u64,
}

/// What grouping found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GroupingStats {
    /// Keys shared by two or more documents.
    pub shared_keys: u64,
    /// Edges given to the caller (group size − 1 per shared key).
    pub edges: u64,
    /// The largest partition, in records.
    pub largest_partition: u64,
    /// Bytes written to partition files.
    pub spilled_bytes: u64,
}

impl BandRuns {
    /// Partitions for `expected_records` records so that one partition, in memory as
    /// 16-byte tuples, takes at most half of `memory_budget`. With one partition, `new`
    /// reserves exactly the expected records, so the table does not overshoot by growing.
    pub fn partitions_for(expected_records: u64, memory_budget: u64) -> usize {
        let in_memory = expected_records.saturating_mul(16);
        let per_partition = (memory_budget / 2).max(4096);
        let needed = in_memory.div_ceil(per_partition).max(1);
        needed.next_power_of_two().min(1 << 16) as usize
    }

    pub fn new(
        operator: &'static str,
        dir: &Path,
        partitions: usize,
        memory_budget: u64,
        expected_records: u64,
    ) -> Result<Self> {
        assert!(
            partitions.is_power_of_two(),
            "partitions must be a power of two"
        );
        if partitions > 1 {
            std::fs::create_dir_all(dir).map_err(|e| OperatorError::io(operator, dir, e))?;
        }
        let mut buffers: Vec<Vec<BandRecord>> = (0..partitions).map(|_| Vec::new()).collect();
        if partitions == 1 {
            buffers[0].reserve_exact(expected_records as usize);
        }
        Ok(Self {
            operator,
            dir: dir.to_path_buf(),
            partition_bits: partitions.trailing_zeros(),
            buffer_records: ((memory_budget / 8) as usize / (partitions * 16))
                .clamp(64, MAX_BUFFER_RECORDS),
            buffers,
            files: (0..partitions).map(|_| None).collect(),
            records: 0,
            spilled_bytes: 0,
        })
    }

    pub fn partitions(&self) -> usize {
        self.buffers.len()
    }

    pub fn records(&self) -> u64 {
        self.records
    }

    pub fn spilled_bytes(&self) -> u64 {
        self.spilled_bytes
    }

    fn partition_of(&self, key: u64) -> usize {
        if self.partition_bits == 0 {
            0
        } else {
            (key >> (64 - self.partition_bits)) as usize
        }
    }

    fn path(&self, partition: usize) -> PathBuf {
        self.dir.join(format!("bands-{partition:05}.bin"))
    }

    pub fn push(&mut self, key: u64, doc: u32) -> Result<()> {
        let partition = self.partition_of(key);
        self.buffers[partition].push((key, doc));
        self.records += 1;
        if self.partition_bits > 0 && self.buffers[partition].len() >= self.buffer_records {
            self.flush(partition)?;
        }
        Ok(())
    }

    fn flush(&mut self, partition: usize) -> Result<()> {
        let path = self.path(partition);
        let operator = self.operator;
        if self.files[partition].is_none() {
            let file = File::create(&path).map_err(|e| OperatorError::io(operator, &path, e))?;
            self.files[partition] = Some(BufWriter::with_capacity(64 << 10, file));
        }
        let writer = self.files[partition].as_mut().expect("opened above");
        let mut bytes = Vec::with_capacity(self.buffers[partition].len() * RECORD_BYTES);
        for (key, doc) in self.buffers[partition].drain(..) {
            bytes.extend_from_slice(&key.to_le_bytes());
            bytes.extend_from_slice(&doc.to_le_bytes());
        }
        writer
            .write_all(&bytes)
            .map_err(|e| OperatorError::io(operator, &path, e))?;
        self.spilled_bytes += bytes.len() as u64;
        Ok(())
    }

    fn load(&mut self, partition: usize) -> Result<Vec<BandRecord>> {
        let mut records = std::mem::take(&mut self.buffers[partition]);
        let Some(writer) = self.files[partition].take() else {
            return Ok(records);
        };
        let path = self.path(partition);
        let operator = self.operator;
        let file = writer
            .into_inner()
            .map_err(|e| OperatorError::io(operator, &path, e.into_error()))?;
        drop(file);
        let file = File::open(&path).map_err(|e| OperatorError::io(operator, &path, e))?;
        let on_disk = file
            .metadata()
            .map_err(|e| OperatorError::io(operator, &path, e))?
            .len() as usize;
        records.reserve(on_disk / RECORD_BYTES);
        let mut reader = BufReader::with_capacity(1 << 20, file);
        let mut record = [0u8; RECORD_BYTES];
        for _ in 0..on_disk / RECORD_BYTES {
            reader
                .read_exact(&mut record)
                .map_err(|e| OperatorError::io(operator, &path, e))?;
            let key = u64::from_le_bytes(record[..8].try_into().expect("8 bytes"));
            let doc = u32::from_le_bytes(record[8..].try_into().expect("4 bytes"));
            records.push((key, doc));
        }
        std::fs::remove_file(&path).map_err(|e| OperatorError::io(operator, &path, e))?;
        Ok(records)
    }

    /// Calls `on_group` with the documents (ascending, distinct) of every key shared by two
    /// or more documents, partition by partition. Consumes the runs.
    pub fn group(mut self, mut on_group: impl FnMut(&[u32])) -> Result<GroupingStats> {
        if self.partition_bits > 0 {
            for partition in 0..self.partitions() {
                if !self.buffers[partition].is_empty() {
                    self.flush(partition)?;
                }
            }
        }
        let mut stats = GroupingStats {
            spilled_bytes: self.spilled_bytes,
            ..GroupingStats::default()
        };
        let mut docs: Vec<u32> = Vec::new();
        for partition in 0..self.partitions() {
            let mut records = self.load(partition)?;
            stats.largest_partition = stats.largest_partition.max(records.len() as u64);
            records.par_sort_unstable();
            let mut start = 0;
            while start < records.len() {
                let key = records[start].0;
                let mut end = start + 1;
                while end < records.len() && records[end].0 == key {
                    end += 1;
                }
                if end - start > 1 {
                    docs.clear();
                    docs.extend(records[start..end].iter().map(|r| r.1));
                    docs.dedup();
                    if docs.len() > 1 {
                        stats.shared_keys += 1;
                        stats.edges += docs.len() as u64 - 1;
                        on_group(&docs);
                    }
                }
                start = end;
            }
        }
        Ok(stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn groups(partitions: usize, records: &[BandRecord]) -> (Vec<Vec<u32>>, u64) {
        let dir = tempfile::tempdir().unwrap();
        let mut runs = BandRuns::new(
            "test",
            dir.path(),
            partitions,
            1 << 20,
            records.len() as u64,
        )
        .unwrap();
        for &(key, doc) in records {
            runs.push(key, doc).unwrap();
        }
        let mut found = Vec::new();
        let stats = runs.group(|docs| found.push(docs.to_vec())).unwrap();
        found.sort();
        (found, stats.spilled_bytes)
    }

    #[test]
    fn partitioned_grouping_equals_in_memory_grouping() {
        let mut rng = blend_kernels::SeededRng::new(5);
        let records: Vec<BandRecord> = (0..50_000)
            .map(|i| {
                (
                    rng.below(20_000).wrapping_mul(0x9E37_79B9_7F4A_7C15),
                    i as u32,
                )
            })
            .collect();
        let (in_memory, no_spill) = groups(1, &records);
        let (partitioned, spill) = groups(64, &records);
        assert_eq!(in_memory, partitioned);
        assert!(!in_memory.is_empty());
        assert_eq!(no_spill, 0);
        assert_eq!(spill, 50_000 * RECORD_BYTES as u64);
        assert!(in_memory.iter().all(|g| g.windows(2).all(|w| w[0] < w[1])));
    }

    #[test]
    fn partitions_follow_the_budget() {
        assert_eq!(BandRuns::partitions_for(1000, 4 << 30), 1);
        assert_eq!(BandRuns::partitions_for(70_000_000, 4 << 30), 1);
        assert_eq!(BandRuns::partitions_for(70_000_000, 512 << 20), 8);
    }
}
