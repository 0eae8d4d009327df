//! The streaming generator. Documents come out in id order; every copy (exact or near)
//! comes after the original it copies, so "keep the first" keeps the original. No two
//! non-copy documents share a dedup key, so the planted duplicates are the only ones.

use std::collections::{HashSet, VecDeque};

use blend_kernels::{SeededRng, dedup_key_hash};

use super::domains::{self, DOMAIN_WEIGHTS, DOMAINS, Vocabulary};
use super::edits::edit_tokens;
use super::junk::{self, JUNK_KINDS};
use super::language::{LANGUAGE_WEIGHTS, LANGUAGES};
use super::truth::{DocKind, GroundTruth};

/// How many documents, which seed, and what share of each planted kind.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticConfig {
    pub docs: u64,
    pub seed: u64,
    pub exact_duplicate_share: f64,
    /// Share of near duplicates, split evenly over `near_duplicate_edit_rates`.
    pub near_duplicate_share: f64,
    pub near_duplicate_edit_rates: Vec<f64>,
    pub junk_share: f64,
}

impl SyntheticConfig {
    pub fn new(docs: u64, seed: u64) -> Self {
        Self {
            docs,
            seed,
            exact_duplicate_share: 0.05,
            near_duplicate_share: 0.09,
            near_duplicate_edit_rates: vec![0.05, 0.15, 0.30],
            junk_share: 0.06,
        }
    }
}

/// One generated document with its ground truth.
#[derive(Debug, Clone)]
pub struct SyntheticDoc {
    pub id: String,
    pub text: String,
    pub source: String,
    pub truth: GroundTruth,
}

#[derive(Debug, Clone)]
struct Original {
    id: String,
    text: String,
    language: usize,
    domain: usize,
}

/// Originals a copy may be drawn from: the most recent ones, so memory stays bounded.
const COPY_POOL: usize = 4096;

/// Iterator over the documents of a synthetic corpus.
#[derive(Debug)]
pub struct SyntheticCorpus {
    config: SyntheticConfig,
    vocabularies: Vec<Vec<Vocabulary>>,
    rng: SeededRng,
    next_index: u64,
    originals: VecDeque<Original>,
    seen_keys: HashSet<u128>,
}

impl SyntheticCorpus {
    pub fn new(config: SyntheticConfig) -> Self {
        let vocabularies = LANGUAGES
            .iter()
            .map(|language| {
                DOMAINS
                    .iter()
                    .map(|domain| Vocabulary::new(language, config.seed, domain))
                    .collect()
            })
            .collect();
        let rng = SeededRng::for_stream(config.seed, "synthetic/documents");
        Self {
            config,
            vocabularies,
            rng,
            next_index: 0,
            originals: VecDeque::new(),
            seen_keys: HashSet::new(),
        }
    }

    fn truth(&self, id: &str, kind: DocKind, language: usize, domain: usize) -> GroundTruth {
        GroundTruth {
            id: id.to_string(),
            kind,
            domain: DOMAINS[domain].to_string(),
            language: LANGUAGES[language].name.to_string(),
            copy_of: None,
            edit_rate: None,
            edits: None,
            junk: None,
        }
    }

    /// Keeps calling `make` until it yields text whose dedup key is new.
    fn unique_text(
        &mut self,
        mut make: impl FnMut(&mut SeededRng) -> (String, u32),
    ) -> (String, u32) {
        loop {
            let (text, extra) = make(&mut self.rng);
            if self.seen_keys.insert(dedup_key_hash(&text)) {
                return (text, extra);
            }
        }
    }

    fn original(&mut self, id: String) -> SyntheticDoc {
        let language = self.rng.weighted_index(&LANGUAGE_WEIGHTS);
        let domain = self.rng.weighted_index(&DOMAIN_WEIGHTS);
        let vocab = self.vocabularies[language][domain].clone();
        let (text, _) =
            self.unique_text(|rng| (domains::generate(DOMAINS[domain], &vocab, rng), 0));
        if self.originals.len() == COPY_POOL {
            self.originals.pop_front();
        }
        self.originals.push_back(Original {
            id: id.clone(),
            text: text.clone(),
            language,
            domain,
        });
        SyntheticDoc {
            truth: self.truth(&id, DocKind::Original, language, domain),
            source: DOMAINS[domain].to_string(),
            id,
            text,
        }
    }

    fn pick_original(&mut self) -> Original {
        let index = self.rng.below(self.originals.len() as u64) as usize;
        self.originals[index].clone()
    }

    fn exact_duplicate(&mut self, id: String) -> SyntheticDoc {
        let original = self.pick_original();
        let mut truth = self.truth(
            &id,
            DocKind::ExactDuplicate,
            original.language,
            original.domain,
        );
        truth.copy_of = Some(original.id);
        SyntheticDoc {
            id,
            text: original.text,
            source: DOMAINS[original.domain].to_string(),
            truth,
        }
    }

    fn near_duplicate(&mut self, id: String, rate: f64) -> SyntheticDoc {
        let original = self.pick_original();
        let vocab = self.vocabularies[original.language][original.domain].clone();
        let (text, edits) = self.unique_text(|rng| edit_tokens(&original.text, rate, &vocab, rng));
        let mut truth = self.truth(
            &id,
            DocKind::NearDuplicate,
            original.language,
            original.domain,
        );
        truth.copy_of = Some(original.id);
        truth.edit_rate = Some(rate);
        truth.edits = Some(edits);
        SyntheticDoc {
            id,
            text,
            source: DOMAINS[original.domain].to_string(),
            truth,
        }
    }

    fn junk(&mut self, id: String) -> SyntheticDoc {
        let kind = *self.rng.pick(&JUNK_KINDS);
        let language = self.rng.weighted_index(&LANGUAGE_WEIGHTS);
        let domain = if kind == super::JunkKind::Boilerplate {
            1
        } else {
            self.rng.weighted_index(&DOMAIN_WEIGHTS)
        };
        let vocab = self.vocabularies[language][domain].clone();
        let (text, _) = self.unique_text(|rng| (junk::generate(kind, &vocab, rng), 0));
        let mut truth = self.truth(&id, DocKind::Junk, language, domain);
        truth.junk = Some(kind);
        SyntheticDoc {
            id,
            text,
            source: DOMAINS[domain].to_string(),
            truth,
        }
    }
}

impl Iterator for SyntheticCorpus {
    type Item = SyntheticDoc;

    fn next(&mut self) -> Option<SyntheticDoc> {
        if self.next_index >= self.config.docs {
            return None;
        }
        let id = format!("syn-{:08}", self.next_index);
        self.next_index += 1;
        let config = &self.config;
        let rates = config.near_duplicate_edit_rates.clone();
        let mut weights = vec![config.exact_duplicate_share, config.junk_share];
        weights.extend(
            rates
                .iter()
                .map(|_| config.near_duplicate_share / rates.len() as f64),
        );
        let planted: f64 = weights.iter().sum();
        weights.push((1.0 - planted).max(0.0));
        let choice = self.rng.weighted_index(&weights);
        let doc = if self.originals.is_empty() || choice == weights.len() - 1 {
            self.original(id)
        } else if choice == 0 {
            self.exact_duplicate(id)
        } else if choice == 1 {
            self.junk(id)
        } else {
            self.near_duplicate(id, rates[choice - 2])
        };
        Some(doc)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn same_seed_same_corpus_and_planted_kinds_present() {
        let first: Vec<SyntheticDoc> =
            SyntheticCorpus::new(SyntheticConfig::new(600, 11)).collect();
        let again: Vec<SyntheticDoc> =
            SyntheticCorpus::new(SyntheticConfig::new(600, 11)).collect();
        assert_eq!(first.len(), 600);
        assert!(
            first
                .iter()
                .zip(&again)
                .all(|(a, b)| a.text == b.text && a.truth == b.truth)
        );
        let mut kinds: HashMap<DocKind, usize> = HashMap::new();
        for doc in &first {
            *kinds.entry(doc.truth.kind).or_default() += 1;
        }
        assert!(kinds[&DocKind::ExactDuplicate] > 10, "{kinds:?}");
        assert!(kinds[&DocKind::NearDuplicate] > 20, "{kinds:?}");
        assert!(kinds[&DocKind::Junk] > 10, "{kinds:?}");
        let other: Vec<SyntheticDoc> = SyntheticCorpus::new(SyntheticConfig::new(50, 12)).collect();
        assert_ne!(other[0].text, first[0].text);
    }

    #[test]
    fn copies_follow_their_originals_and_only_copies_share_keys() {
        let docs: Vec<SyntheticDoc> = SyntheticCorpus::new(SyntheticConfig::new(1000, 5)).collect();
        let mut first_by_key: HashMap<u128, &str> = HashMap::new();
        let position: HashMap<&str, usize> = docs
            .iter()
            .enumerate()
            .map(|(i, d)| (d.id.as_str(), i))
            .collect();
        for (index, doc) in docs.iter().enumerate() {
            let key = dedup_key_hash(&doc.text);
            match doc.truth.kind {
                DocKind::ExactDuplicate => {
                    let original = doc.truth.copy_of.as_deref().unwrap();
                    assert!(position[original] < index);
                    assert_eq!(first_by_key[&key], original);
                }
                _ => {
                    assert!(first_by_key.insert(key, &doc.id).is_none(), "{}", doc.id);
                    if let Some(original) = doc.truth.copy_of.as_deref() {
                        assert!(position[original] < index);
                    }
                }
            }
        }
    }
}
