//! Replays a BPE tokenizer's ordered merge list over one category's words and records, for
//! every merge, how often each adjacent pair of symbols occurs: the counts that data mixture
//! inference (Hayase et al.) compares across categories.
//!
//! Words are pre-tokens as symbol ids with their number of occurrences. Applying a merge only
//! touches the words that hold its pair (an index from pair to words keeps them), so a
//! replay costs about what training the tokenizer did, not merges × corpus. The log keeps the
//! counts before the first merge and, per merge, only the pairs whose count it changed.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A symbol that no merge involves: characters outside the tokenizer's vocabulary (byte
/// fallback) stay in words as this id, which matches no merge and so blocks merges across it.
pub const UNKNOWN_SYMBOL: u32 = u32::MAX;

/// A merge of the symbol pair `(left, right)` into the symbol `merged`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Merge {
    pub left: u32,
    pub right: u32,
    pub merged: u32,
}

/// The key of an ordered symbol pair.
pub fn pair_key(left: u32, right: u32) -> u64 {
    (u64::from(left) << 32) | u64::from(right)
}

/// Multiply-shift hashing for `u64` pair keys (which are already well spread in both halves).
#[derive(Debug, Default, Clone, Copy)]
pub struct PairKeyHasher(u64);

impl Hasher for PairKeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.write_u64(u64::from(byte));
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = (self.0.rotate_left(5) ^ value).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

/// A map keyed by [`pair_key`].
pub type PairMap<V> = HashMap<u64, V, BuildHasherDefault<PairKeyHasher>>;

/// The words of one category while merges are applied to them.
#[derive(Debug, Clone)]
pub struct PairCounter {
    words: Vec<Vec<u32>>,
    word_counts: Vec<u64>,
    /// Dense id of every pair seen so far (ids are never reused, so logs stay valid).
    pair_ids: PairMap<u32>,
    pair_keys: Vec<u64>,
    counts: Vec<u64>,
    /// Words that held the pair when it was last counted (may hold stale entries).
    holders: Vec<Vec<u32>>,
    touched: PairMap<i64>,
}

/// What one merge changed: the pair ids whose count it changed, with their new counts, in
/// increasing id order.
pub type PairChanges = Vec<(u32, u64)>;

impl PairCounter {
    /// Counts the adjacent pairs of `words`, each occurring `word_counts[i]` times.
    ///
    /// # Panics
    /// When `words` and `word_counts` differ in length.
    pub fn new(words: Vec<Vec<u32>>, word_counts: Vec<u64>) -> Self {
        assert_eq!(words.len(), word_counts.len(), "one count per word");
        let mut counter = Self {
            words,
            word_counts,
            pair_ids: PairMap::default(),
            pair_keys: Vec::new(),
            counts: Vec::new(),
            holders: Vec::new(),
            touched: PairMap::default(),
        };
        for index in 0..counter.words.len() {
            let count = counter.word_counts[index];
            let word = std::mem::take(&mut counter.words[index]);
            for window in word.windows(2) {
                if window.contains(&UNKNOWN_SYMBOL) {
                    continue;
                }
                let id = counter.intern(pair_key(window[0], window[1]));
                counter.counts[id as usize] += count;
                counter.holders[id as usize].push(index as u32);
            }
            counter.words[index] = word;
        }
        counter
    }

    fn intern(&mut self, key: u64) -> u32 {
        let next = self.pair_keys.len() as u32;
        let id = *self.pair_ids.entry(key).or_insert(next);
        if id == next {
            self.pair_keys.push(key);
            self.counts.push(0);
            self.holders.push(Vec::new());
        }
        id
    }

    /// Number of distinct pairs seen so far (ids are `0..pair_count()`).
    pub fn pair_count(&self) -> usize {
        self.pair_keys.len()
    }

    /// The [`pair_key`] of pair id `id`.
    pub fn pair_key_of(&self, id: u32) -> u64 {
        self.pair_keys[id as usize]
    }

    /// The id of a pair, if it ever occurred.
    pub fn pair_id(&self, left: u32, right: u32) -> Option<u32> {
        self.pair_ids.get(&pair_key(left, right)).copied()
    }

    /// How often the pair occurs now.
    pub fn count(&self, left: u32, right: u32) -> u64 {
        self.pair_id(left, right)
            .map_or(0, |id| self.counts[id as usize])
    }

    /// Current count of every pair id.
    pub fn counts(&self) -> &[u64] {
        &self.counts
    }

    /// The words as they are now.
    pub fn words(&self) -> &[Vec<u32>] {
        &self.words
    }

    /// Applies `merge` to every word that holds its pair (non-overlapping, left to right, as
    /// BPE does) and returns the pairs whose count changed.
    pub fn apply(&mut self, merge: Merge) -> PairChanges {
        let Some(id) = self.pair_id(merge.left, merge.right) else {
            return Vec::new();
        };
        let mut holders = std::mem::take(&mut self.holders[id as usize]);
        holders.sort_unstable();
        holders.dedup();
        let mut touched = std::mem::take(&mut self.touched);
        touched.clear();
        let mut rebuilt = Vec::new();
        for &index in &holders {
            let word = &self.words[index as usize];
            if !word
                .windows(2)
                .any(|w| w[0] == merge.left && w[1] == merge.right)
            {
                continue;
            }
            let count = self.word_counts[index as usize] as i64;
            rebuilt.clear();
            let mut at = 0;
            while at < word.len() {
                if at + 1 < word.len() && word[at] == merge.left && word[at + 1] == merge.right {
                    rebuilt.push(merge.merged);
                    at += 2;
                } else {
                    rebuilt.push(word[at]);
                    at += 1;
                }
            }
            for window in word.windows(2) {
                if !window.contains(&UNKNOWN_SYMBOL) {
                    *touched.entry(pair_key(window[0], window[1])).or_insert(0) -= count;
                }
            }
            for window in rebuilt.windows(2) {
                if !window.contains(&UNKNOWN_SYMBOL) {
                    *touched.entry(pair_key(window[0], window[1])).or_insert(0) += count;
                }
            }
            let word = &mut self.words[index as usize];
            word.clear();
            word.extend_from_slice(&rebuilt);
            for window in rebuilt.windows(2) {
                if !window.contains(&UNKNOWN_SYMBOL)
                    && (window[0] == merge.merged || window[1] == merge.merged)
                {
                    let key = pair_key(window[0], window[1]);
                    let pair = self.intern(key);
                    self.holders[pair as usize].push(index);
                }
            }
        }
        let mut changes: PairChanges = Vec::with_capacity(touched.len());
        for (&key, &delta) in &touched {
            if delta == 0 {
                continue;
            }
            let pair = self.intern(key);
            let count = &mut self.counts[pair as usize];
            *count = count
                .checked_add_signed(delta)
                .expect("a pair count never goes below zero");
            changes.push((pair, *count));
        }
        changes.sort_unstable_by_key(|&(pair, _)| pair);
        self.touched = touched;
        holders.clear();
        if self.counts[id as usize] > 0 {
            // Cannot happen (every occurrence was merged), but keep the index honest if it did.
            holders.extend(0..self.words.len() as u32);
        }
        self.holders[id as usize] = holders;
        changes
    }
}

/// Pair counts of one category through a whole merge list.
#[derive(Debug, Clone, Default)]
pub struct ReplayLog {
    /// [`pair_key`] of each pair id.
    pub pair_keys: Vec<u64>,
    /// `(pair id, count)` before the first merge, in id order, zero counts left out.
    pub initial: Vec<(u32, u64)>,
    /// `changes[change_offsets[t]..change_offsets[t + 1]]` are the pairs merge `t` changed,
    /// with their counts after it.
    pub change_offsets: Vec<usize>,
    pub changes: Vec<(u32, u64)>,
}

impl ReplayLog {
    /// Number of merges replayed.
    pub fn merges(&self) -> usize {
        self.change_offsets.len().saturating_sub(1)
    }

    /// The pairs merge `t` changed, with their counts after it.
    pub fn changes_of(&self, t: usize) -> &[(u32, u64)] {
        &self.changes[self.change_offsets[t]..self.change_offsets[t + 1]]
    }
}

/// Applies `merges` in order to `words` (each occurring `word_counts[i]` times) and logs the
/// pair counts; `progress` is called with the number of merges done every 1024 merges and
/// once at the end (never twice with the same number).
pub fn replay_merges(
    words: Vec<Vec<u32>>,
    word_counts: Vec<u64>,
    merges: &[Merge],
    progress: &(dyn Fn(usize) + Sync),
) -> ReplayLog {
    let mut counter = PairCounter::new(words, word_counts);
    let initial = counter
        .counts()
        .iter()
        .enumerate()
        .filter(|&(_, &count)| count > 0)
        .map(|(id, &count)| (id as u32, count))
        .collect();
    let mut change_offsets = Vec::with_capacity(merges.len() + 1);
    change_offsets.push(0);
    let mut changes = Vec::new();
    for (t, &merge) in merges.iter().enumerate() {
        changes.extend(counter.apply(merge));
        change_offsets.push(changes.len());
        if (t + 1) % 1024 == 0 {
            progress(t + 1);
        }
    }
    if !merges.len().is_multiple_of(1024) {
        progress(merges.len());
    }
    ReplayLog {
        pair_keys: counter.pair_keys,
        initial,
        change_offsets,
        changes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SeededRng;

    fn recount(words: &[Vec<u32>], counts: &[u64]) -> PairMap<u64> {
        let mut map = PairMap::default();
        for (word, &count) in words.iter().zip(counts) {
            for w in word.windows(2) {
                if !w.contains(&UNKNOWN_SYMBOL) {
                    *map.entry(pair_key(w[0], w[1])).or_insert(0) += count;
                }
            }
        }
        map
    }

    fn naive_merge(word: &[u32], merge: Merge) -> Vec<u32> {
        let mut out = Vec::new();
        let mut at = 0;
        while at < word.len() {
            if at + 1 < word.len() && word[at] == merge.left && word[at + 1] == merge.right {
                out.push(merge.merged);
                at += 2;
            } else {
                out.push(word[at]);
                at += 1;
            }
        }
        out
    }

    #[test]
    fn merging_a_run_of_equal_symbols_is_left_to_right() {
        let mut counter = PairCounter::new(vec![vec![1, 1, 1, 1, 1]], vec![3]);
        assert_eq!(counter.count(1, 1), 12);
        let changes = counter.apply(Merge {
            left: 1,
            right: 1,
            merged: 7,
        });
        assert_eq!(counter.words()[0], vec![7, 7, 1]);
        assert_eq!(counter.count(1, 1), 0);
        assert_eq!(counter.count(7, 7), 3);
        assert_eq!(counter.count(7, 1), 3);
        let keys: Vec<u64> = changes
            .iter()
            .map(|&(id, _)| counter.pair_key_of(id))
            .collect();
        assert!(keys.contains(&pair_key(1, 1)));
        assert!(keys.contains(&pair_key(7, 7)));
    }

    #[test]
    fn unknown_symbols_block_pairs() {
        let counter = PairCounter::new(vec![vec![1, UNKNOWN_SYMBOL, 2, 3]], vec![1]);
        assert_eq!(counter.count(1, UNKNOWN_SYMBOL), 0);
        assert_eq!(counter.count(2, 3), 1);
        assert_eq!(counter.pair_count(), 1);
    }

    /// Property: after every merge of a greedy BPE over random words, the incrementally kept
    /// counts equal a recount from scratch, and the log's changes are exactly the differences.
    #[test]
    fn incremental_counts_match_recounting_after_every_merge() {
        for seed in 0..20 {
            let mut rng = SeededRng::new(seed);
            let alphabet = 2 + rng.below(6) as u32;
            let words: Vec<Vec<u32>> = (0..200)
                .map(|_| {
                    let len = 1 + rng.below(9) as usize;
                    (0..len)
                        .map(|_| {
                            if rng.below(40) == 0 {
                                UNKNOWN_SYMBOL
                            } else {
                                rng.below(u64::from(alphabet)) as u32
                            }
                        })
                        .collect()
                })
                .collect();
            let counts: Vec<u64> = (0..words.len()).map(|_| 1 + rng.below(5)).collect();
            let mut counter = PairCounter::new(words.clone(), counts.clone());
            let mut naive = words;
            for next_symbol in 100..140 {
                let before = recount(&naive, &counts);
                // Greedy: the most frequent pair, smallest key on ties.
                let Some((&key, _)) = before
                    .iter()
                    .max_by_key(|&(&key, &count)| (count, std::cmp::Reverse(key)))
                else {
                    break;
                };
                let merge = Merge {
                    left: (key >> 32) as u32,
                    right: key as u32,
                    merged: next_symbol,
                };
                let changes = counter.apply(merge);
                naive = naive.iter().map(|w| naive_merge(w, merge)).collect();
                let after = recount(&naive, &counts);
                assert_eq!(counter.words(), naive.as_slice(), "seed {seed}");
                for (id, &count) in counter.counts().iter().enumerate() {
                    let key = counter.pair_key_of(id as u32);
                    assert_eq!(count, after.get(&key).copied().unwrap_or(0), "seed {seed}");
                }
                for (&key, &count) in &after {
                    let changed = changes
                        .iter()
                        .find(|&&(id, _)| counter.pair_key_of(id) == key);
                    let old = before.get(&key).copied().unwrap_or(0);
                    match changed {
                        Some(&(_, logged)) => assert_eq!(logged, count),
                        None => assert_eq!(old, count, "unlogged change, seed {seed}"),
                    }
                }
            }
        }
    }

    #[test]
    fn replay_log_rebuilds_counts_at_every_step() {
        let words = vec![vec![1, 2, 3, 1, 2], vec![2, 3, 2, 3], vec![1, 2]];
        let counts = vec![2, 3, 5];
        let merges = [
            Merge {
                left: 1,
                right: 2,
                merged: 10,
            },
            Merge {
                left: 2,
                right: 3,
                merged: 11,
            },
            Merge {
                left: 10,
                right: 11,
                merged: 12,
            },
            Merge {
                left: 8,
                right: 9,
                merged: 13,
            },
        ];
        let reports = std::sync::Mutex::new(Vec::new());
        let log = replay_merges(words.clone(), counts.clone(), &merges, &|done| {
            reports.lock().unwrap().push(done);
        });
        assert_eq!(reports.into_inner().unwrap(), vec![4]);
        assert_eq!(log.merges(), 4);
        let mut state: PairMap<u64> = log
            .initial
            .iter()
            .map(|&(id, count)| (log.pair_keys[id as usize], count))
            .collect();
        let mut naive = words;
        assert_eq!(state, recount(&naive, &counts));
        for (t, &merge) in merges.iter().enumerate() {
            for &(id, count) in log.changes_of(t) {
                state.insert(log.pair_keys[id as usize], count);
            }
            state.retain(|_, count| *count > 0);
            naive = naive.iter().map(|w| naive_merge(w, merge)).collect();
            assert_eq!(state, recount(&naive, &counts), "after merge {t}");
        }
        assert!(
            log.changes_of(3).is_empty(),
            "a pair that never occurs changes nothing"
        );
    }
}
