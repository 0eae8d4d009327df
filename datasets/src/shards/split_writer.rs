//! Writes the documents of one split (`train`, `valid`) into numbered shards in every
//! requested format, rolling to a new shard past `max_tokens_per_shard`, optionally packing
//! documents into fixed-length sequences. It counts documents and tokens per domain per
//! shard exactly (a packed sequence's tokens are attributed to the documents they came from).

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};

use super::format::{ShardFormat, ShardSetWriter};
use super::manifest::{ShardEntry, SplitSummary};
use super::megatron::TokenDtype;
use crate::Result;

#[derive(Debug)]
struct OpenShard {
    name: String,
    writer: ShardSetWriter,
    documents: u64,
    documents_per_domain: BTreeMap<String, u64>,
    tokens_per_domain: BTreeMap<String, u64>,
}

/// Tokens waiting to be packed, with the domain of each and where documents start.
#[derive(Debug, Default)]
struct PackBuffer {
    tokens: VecDeque<u32>,
    domains: VecDeque<u32>,
    starts: VecDeque<(usize, u32)>,
    consumed: usize,
}

#[derive(Debug)]
pub struct SplitWriter {
    dir: PathBuf,
    split: String,
    formats: Vec<ShardFormat>,
    dtype: TokenDtype,
    max_tokens_per_shard: u64,
    sequence_length: Option<usize>,
    domain_names: Vec<String>,
    current: Option<OpenShard>,
    pack: PackBuffer,
    shards: Vec<ShardEntry>,
    summary: SplitSummary,
}

impl SplitWriter {
    pub fn new(
        dir: &Path,
        split: &str,
        formats: &[ShardFormat],
        dtype: TokenDtype,
        max_tokens_per_shard: u64,
        sequence_length: Option<u64>,
    ) -> Self {
        Self {
            dir: dir.to_path_buf(),
            split: split.to_string(),
            formats: formats.to_vec(),
            dtype,
            max_tokens_per_shard: max_tokens_per_shard.max(1),
            sequence_length: sequence_length.map(|l| l.max(1) as usize),
            domain_names: Vec::new(),
            current: None,
            pack: PackBuffer::default(),
            shards: Vec::new(),
            summary: SplitSummary::default(),
        }
    }

    fn domain_index(&mut self, domain: &str) -> u32 {
        match self.domain_names.iter().position(|d| d == domain) {
            Some(index) => index as u32,
            None => {
                self.domain_names.push(domain.to_string());
                (self.domain_names.len() - 1) as u32
            }
        }
    }

    fn shard(&mut self) -> Result<&mut OpenShard> {
        if self
            .current
            .as_ref()
            .is_some_and(|s| s.writer.tokens() >= self.max_tokens_per_shard)
        {
            self.close_shard()?;
        }
        if self.current.is_none() {
            let name = format!("{}_{:05}", self.split, self.shards.len());
            let writer = ShardSetWriter::create(
                &self.dir,
                &name,
                &self.formats,
                self.dtype,
                self.sequence_length.is_none(),
            )?;
            self.current = Some(OpenShard {
                name,
                writer,
                documents: 0,
                documents_per_domain: BTreeMap::new(),
                tokens_per_domain: BTreeMap::new(),
            });
        }
        Ok(self.current.as_mut().expect("shard is open"))
    }

    fn close_shard(&mut self) -> Result<()> {
        if let Some(shard) = self.current.take() {
            let sequences = shard.writer.sequences();
            let tokens = shard.writer.tokens();
            let files = shard.writer.finish()?;
            self.shards.push(ShardEntry {
                name: shard.name,
                split: self.split.clone(),
                sequences,
                documents: shard.documents,
                tokens,
                documents_per_domain: shard.documents_per_domain,
                tokens_per_domain: shard.tokens_per_domain,
                files,
            });
        }
        Ok(())
    }

    /// Adds one document (EOS already appended) of `domain`.
    pub fn add_document(&mut self, tokens: &[u32], id: &str, domain: &str) -> Result<()> {
        self.summary.documents += 1;
        let Some(length) = self.sequence_length else {
            let shard = self.shard()?;
            shard.writer.add_sequence(tokens, id, domain)?;
            shard.documents += 1;
            *shard
                .documents_per_domain
                .entry(domain.to_string())
                .or_default() += 1;
            *shard
                .tokens_per_domain
                .entry(domain.to_string())
                .or_default() += tokens.len() as u64;
            *self
                .summary
                .tokens_per_domain
                .entry(domain.to_string())
                .or_default() += tokens.len() as u64;
            self.summary.tokens += tokens.len() as u64;
            return Ok(());
        };
        let domain_index = self.domain_index(domain);
        let position = self.pack.consumed + self.pack.tokens.len();
        self.pack.starts.push_back((position, domain_index));
        self.pack.tokens.extend(tokens.iter().copied());
        self.pack
            .domains
            .extend(std::iter::repeat_n(domain_index, tokens.len()));
        while self.pack.tokens.len() >= length {
            self.emit_packed(length)?;
        }
        Ok(())
    }

    fn emit_packed(&mut self, length: usize) -> Result<()> {
        let sequence: Vec<u32> = self.pack.tokens.drain(..length).collect();
        let mut tokens_by_domain = vec![0u64; self.domain_names.len()];
        for domain in self.pack.domains.drain(..length) {
            tokens_by_domain[domain as usize] += 1;
        }
        let end = self.pack.consumed + length;
        let mut started = Vec::new();
        while self
            .pack
            .starts
            .front()
            .is_some_and(|(position, _)| *position < end)
        {
            started.push(self.pack.starts.pop_front().expect("checked").1);
        }
        self.pack.consumed = end;
        self.shard()?;
        let shard = self.current.as_mut().expect("shard is open");
        let names = &self.domain_names;
        shard.writer.add_sequence(&sequence, "", "")?;
        for domain in started {
            shard.documents += 1;
            *shard
                .documents_per_domain
                .entry(names[domain as usize].clone())
                .or_default() += 1;
        }
        for (domain, tokens) in tokens_by_domain
            .into_iter()
            .enumerate()
            .filter(|(_, t)| *t > 0)
        {
            *shard
                .tokens_per_domain
                .entry(names[domain].clone())
                .or_default() += tokens;
            *self
                .summary
                .tokens_per_domain
                .entry(names[domain].clone())
                .or_default() += tokens;
        }
        self.summary.tokens += length as u64;
        Ok(())
    }

    /// Closes the last shard. Packed tokens after the last full sequence are dropped and
    /// counted in `dropped_tail_tokens`; documents that start only in the tail are counted
    /// in the split but in no shard.
    pub fn finish(mut self) -> Result<(Vec<ShardEntry>, SplitSummary)> {
        self.summary.dropped_tail_tokens = self.pack.tokens.len() as u64;
        self.close_shard()?;
        Ok((self.shards, self.summary))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shards::format::read_shard;

    #[test]
    fn rolls_shards_and_counts_per_domain() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = SplitWriter::new(
            dir.path(),
            "train",
            &[ShardFormat::Megatron],
            TokenDtype::Uint16,
            10,
            None,
        );
        for i in 0..5u32 {
            writer
                .add_document(
                    &[i, i, i, i, 0],
                    &format!("d{i}"),
                    if i % 2 == 0 { "a" } else { "b" },
                )
                .unwrap();
        }
        let (shards, summary) = writer.finish().unwrap();
        assert_eq!(shards.len(), 3);
        assert_eq!(
            shards.iter().map(|s| s.tokens).collect::<Vec<_>>(),
            vec![10, 10, 5]
        );
        assert_eq!(summary.tokens, 25);
        assert_eq!(summary.tokens_per_domain["a"], 15);
        assert_eq!(shards[0].documents_per_domain["b"], 1);
        assert_eq!(
            read_shard(dir.path(), "train_00002", ShardFormat::Megatron).unwrap(),
            vec![vec![4, 4, 4, 4, 0]]
        );
    }

    #[test]
    fn packing_cuts_fixed_sequences_and_attributes_tokens() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = SplitWriter::new(
            dir.path(),
            "train",
            &[ShardFormat::Megatron, ShardFormat::Parquet],
            TokenDtype::Uint16,
            1000,
            Some(4),
        );
        writer.add_document(&[1, 1, 1, 0], "x", "a").unwrap();
        writer.add_document(&[2, 2, 0], "y", "b").unwrap();
        writer.add_document(&[3, 3, 3, 3, 0], "z", "a").unwrap();
        let (shards, summary) = writer.finish().unwrap();
        let sequences = read_shard(dir.path(), "train_00000", ShardFormat::Megatron).unwrap();
        assert_eq!(
            sequences,
            vec![vec![1, 1, 1, 0], vec![2, 2, 0, 3], vec![3, 3, 3, 0]]
        );
        assert_eq!(
            read_shard(dir.path(), "train_00000", ShardFormat::Parquet).unwrap(),
            sequences
        );
        assert_eq!(summary.dropped_tail_tokens, 0);
        assert_eq!(shards[0].tokens_per_domain["a"], 9);
        assert_eq!(shards[0].tokens_per_domain["b"], 3);
        assert_eq!(shards[0].documents, 3);
        let mut tail = SplitWriter::new(
            dir.path(),
            "valid",
            &[ShardFormat::Megatron],
            TokenDtype::Uint16,
            1000,
            Some(4),
        );
        tail.add_document(&[5, 5, 5, 5, 5, 0], "t", "a").unwrap();
        let (_, tail_summary) = tail.finish().unwrap();
        assert_eq!(
            (tail_summary.tokens, tail_summary.dropped_tail_tokens),
            (4, 2)
        );
    }
}
