//! A small deterministic mutator for the input fuzzer: a splitmix64 generator and the classic
//! byte-level mutations (bit flips, interesting bytes, truncation, chunk duplication and
//! deletion, splicing from another seed) plus two text-aware ones (numbers replaced by edge
//! values, JSON/TOML/CSV punctuation inserted), stacked one to four at a time.

/// splitmix64: one u64 of state, every output a bijection of it; enough for fuzzing and
/// reproducible from `(seed, format, iteration)`.
#[derive(Debug, Clone)]
pub struct SplitMix(u64);

impl SplitMix {
    /// The generator of one input: `seed`, the format's name and the iteration, mixed.
    pub fn for_input(seed: u64, format: &str, iteration: u64) -> Self {
        let mut state = seed ^ 0x9e37_79b9_7f4a_7c15;
        for byte in format.bytes() {
            state = (state ^ u64::from(byte)).wrapping_mul(0x100_0000_01b3);
        }
        let mut rng = Self(state ^ iteration.wrapping_mul(0xd1b5_4a32_d192_ed03));
        rng.next_u64();
        rng
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const INTERESTING_BYTES: &[u8] = &[
    0, 0xff, 0x7f, 0x80, 1, b'"', b'{', b'}', b'[', b']', b',', b':', b'=', b'\n', b'\r', b'\\',
    b'0', b'1', b'9', b'-', b'.', b'e', 0xc3, 0xe2,
];

const INTERESTING_NUMBERS: &[&str] = &[
    "0",
    "-1",
    "1",
    "255",
    "65535",
    "65536",
    "2147483647",
    "-2147483648",
    "4294967295",
    "4294967296",
    "9223372036854775807",
    "-9223372036854775808",
    "18446744073709551615",
    "18446744073709551616",
    "1e308",
    "-1e308",
    "1e999",
    "NaN",
    "inf",
    "0.5",
    "-0.0",
];

const INTERESTING_TOKENS: &[&str] = &[
    "\"", "{", "}", "[", "]", ",", ":", "=", "\n", "null", "true", "[]", "{}", "\"\"", "\\u0000",
    "\\ud800", "\u{fffd}", "#", "'''", "[[", "]]",
];

/// The seed bytes with one to four stacked mutations; `others` are the format's other seeds,
/// for splicing.
pub fn mutate(seed: &[u8], others: &[&[u8]], rng: &mut SplitMix) -> Vec<u8> {
    let mut bytes = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        mutate_once(&mut bytes, others, rng);
    }
    bytes
}

fn mutate_once(bytes: &mut Vec<u8>, others: &[&[u8]], rng: &mut SplitMix) {
    if bytes.is_empty() {
        bytes.push(*rng.pick(INTERESTING_BYTES));
        return;
    }
    match rng.below(9) {
        0 => {
            let at = rng.below(bytes.len());
            bytes[at] ^= 1 << rng.below(8);
        }
        1 => {
            let at = rng.below(bytes.len());
            bytes[at] = *rng.pick(INTERESTING_BYTES);
        }
        2 => bytes.truncate(rng.below(bytes.len())),
        3 => duplicate_chunk(bytes, rng),
        4 => {
            let (start, end) = chunk(bytes.len(), rng);
            bytes.drain(start..end);
        }
        5 => splice(bytes, others, rng),
        6 | 7 => replace_number(bytes, rng),
        _ => {
            let at = rng.below(bytes.len() + 1);
            let token = rng.pick(INTERESTING_TOKENS).as_bytes();
            bytes.splice(at..at, token.iter().copied());
        }
    }
}

/// A random `start..end` inside `len` bytes, at most 64 long and usually short.
fn chunk(len: usize, rng: &mut SplitMix) -> (usize, usize) {
    let start = rng.below(len);
    let longest = (len - start).min(if rng.below(4) == 0 { 4096 } else { 64 });
    (start, start + 1 + rng.below(longest))
}

fn duplicate_chunk(bytes: &mut Vec<u8>, rng: &mut SplitMix) {
    let (start, end) = chunk(bytes.len(), rng);
    let copy = bytes[start..end].to_vec();
    let at = rng.below(bytes.len() + 1);
    bytes.splice(at..at, copy);
}

/// Overwrites a chunk of `bytes` with a chunk of another seed (or of itself).
fn splice(bytes: &mut Vec<u8>, others: &[&[u8]], rng: &mut SplitMix) {
    let donor: Vec<u8> = match others.iter().filter(|o| !o.is_empty()).count() {
        0 => bytes.clone(),
        _ => loop {
            let other = rng.pick(others);
            if !other.is_empty() {
                break other.to_vec();
            }
        },
    };
    let (from, to) = chunk(donor.len(), rng);
    let (start, end) = chunk(bytes.len(), rng);
    bytes.splice(start..end, donor[from..to].iter().copied());
}

/// Replaces a run of ASCII digits (with its sign) by an edge value; inserts one when the
/// input has no digits.
fn replace_number(bytes: &mut Vec<u8>, rng: &mut SplitMix) {
    let number = rng.pick(INTERESTING_NUMBERS).as_bytes();
    let starts: Vec<usize> = (0..bytes.len())
        .filter(|&i| bytes[i].is_ascii_digit() && (i == 0 || !bytes[i - 1].is_ascii_digit()))
        .collect();
    if starts.is_empty() {
        let at = rng.below(bytes.len() + 1);
        bytes.splice(at..at, number.iter().copied());
        return;
    }
    let mut start = *rng.pick(&starts);
    let mut end = start;
    while end < bytes.len() && (bytes[end].is_ascii_digit() || bytes[end] == b'.') {
        end += 1;
    }
    if start > 0 && bytes[start - 1] == b'-' {
        start -= 1;
    }
    bytes.splice(start..end, number.iter().copied());
}

#[test]
fn the_same_seed_and_iteration_give_the_same_input() {
    let seed = b"{\"id\": \"d1\", \"text\": \"hello world 42\"}\n".repeat(4);
    let others: [&[u8]; 1] = [b"other seed 7"];
    let first: Vec<Vec<u8>> = (0..50)
        .map(|i| mutate(&seed, &others, &mut SplitMix::for_input(7, "jsonl", i)))
        .collect();
    let again: Vec<Vec<u8>> = (0..50)
        .map(|i| mutate(&seed, &others, &mut SplitMix::for_input(7, "jsonl", i)))
        .collect();
    assert_eq!(first, again);
    assert!(first.iter().filter(|m| **m != seed).count() >= 45);
    let other_format = mutate(&seed, &others, &mut SplitMix::for_input(7, "toml", 0));
    assert_ne!(other_format, first[0]);
}
