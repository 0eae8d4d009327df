//! The job every reliability test runs, its folders, and what "the same result" means: the
//! kept Parquet parts, `mixture.json`, and every file of the shard folder but its measured
//! cost, byte for byte.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime};

pub const PROXIES: usize = 8;

/// Every stage kind that writes Parquet (dedup, MinHash, rules, language, embeddings,
/// clustering, filter), then a searched mixture over 8 proxies and shards in two formats.
const PIPELINE: &str = r#"
[pipeline]
name = "reliability"
seed = 11
work_dir = "work"
out_dir = "output"
rows_per_part = 1000

[[inputs]]
path = "../corpus"

[[stages]]
name = "normalize"
operator = "text.normalize"

[[stages]]
name = "dedup"
operator = "dedup.exact"

[[stages]]
name = "fuzzy_dedup"
operator = "dedup.minhash"
params = { ngram = 3, threshold = 0.3, verify = true }

[[stages]]
name = "gopher_words"
operator = "quality.gopher_word_count"

[[stages]]
name = "language"
operator = "quality.language"

[[stages]]
name = "embed"
operator = "domain.embed"

[[stages]]
name = "cluster"
operator = "domain.cluster"
params = { domains = 4, domain_column = "cluster_domain" }

[[stages]]
name = "domain"
operator = "domain.from_column"
params = { column = "source" }

[[stages]]
name = "filter"
operator = "filter"

[[stages.params.rules]]
name = "exact_dedup"
keep = "NOT exact_dup"

[[stages.params.rules]]
name = "fuzzy_dedup"
keep = "NOT is_dup"

[[stages.params.rules]]
name = "gopher_word_count"
keep = "gopher_word_count_pass"

[tokenizer]
vocab_size = 1024

[mixture]
method = "search"
proxies = 8
steps = 40
sequence_length = 32
batch_size = 4
vocab_size = 512
candidates = 5000
top_k = 20
validate = { steps = 40, seeds = 1 }

[shards]
tokens = 400000
formats = ["megatron", "parquet"]
shard_tokens = 100000
"#;

/// The folder all tests share: the corpus once, then one job folder per test.
pub fn root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("reliability");
        if root.exists() {
            std::fs::remove_dir_all(&root).unwrap();
        }
        std::fs::create_dir_all(&root).unwrap();
        let output = Command::new(env!("CARGO_BIN_EXE_blend"))
            .args(["-q", "gen-corpus", "--docs", "5000", "--seed", "3", "--out"])
            .arg(&root)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", stderr(&output));
        root
    })
}

/// A fresh job folder `name` beside the corpus, holding `pipeline.toml`.
pub fn new_job(name: &str) -> PathBuf {
    let dir = root().join(name);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).unwrap();
    }
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("pipeline.toml"), PIPELINE).unwrap();
    dir
}

/// `blend run pipeline.toml` started in `dir` with `threads` rayon threads; stderr goes to
/// `dir/stderr.txt`.
pub fn spawn_run(dir: &Path, threads: usize, verbose: bool) -> Child {
    let log = std::fs::File::create(dir.join("stderr.txt")).unwrap();
    Command::new(env!("CARGO_BIN_EXE_blend"))
        .current_dir(dir)
        .env("RAYON_NUM_THREADS", threads.to_string())
        .env_remove("BLEND_LOG")
        .args(if verbose { vec![] } else { vec!["-q"] })
        .args(["run", "pipeline.toml"])
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap()
}

/// Runs the job in `dir` to its end; returns its exit status and stderr.
pub fn run_job(dir: &Path, threads: usize, verbose: bool) -> (ExitStatus, String) {
    let status = spawn_run(dir, threads, verbose).wait().unwrap();
    let log = std::fs::read_to_string(dir.join("stderr.txt")).unwrap();
    (status, log)
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The uninterrupted run on 2 threads every other run is compared with, and how long it took.
pub fn clean_run() -> &'static (PathBuf, Duration) {
    static CLEAN: OnceLock<(PathBuf, Duration)> = OnceLock::new();
    CLEAN.get_or_init(|| {
        let dir = new_job("clean");
        let started = Instant::now();
        let (status, log) = run_job(&dir, 2, false);
        assert!(status.success(), "{log}");
        (dir, started.elapsed())
    })
}

/// Waits for `child` up to `limit`; `None` if it is still running.
pub fn wait_up_to(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The job's results by relative path: the output stage's kept Parquet parts,
/// `mixture.json`, and the shard folder (manifest, checksum list, every shard file).
pub fn final_outputs(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut add = |path: PathBuf| {
        let name = path
            .strip_prefix(dir)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        files.insert(name, std::fs::read(&path).unwrap());
    };
    add(dir.join("output/mixture.json"));
    for entry in sorted_entries(&dir.join("output/shards")) {
        if entry.file_name().is_some_and(|n| n != ".cost.json") {
            add(entry);
        }
    }
    let kept = first_named(&dir.join("work"), "filter-");
    for part in sorted_entries(&kept) {
        if name_of(&part).starts_with("part-") {
            add(part);
        }
    }
    files
}

/// Asserts `dir`'s results equal the clean run's, naming the files that differ.
pub fn assert_same_results(dir: &Path, clean: &Path) {
    let (got, want) = (final_outputs(dir), final_outputs(clean));
    let names = |m: &BTreeMap<String, Vec<u8>>| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(
        names(&got),
        names(&want),
        "{} holds other files",
        dir.display()
    );
    let differing: Vec<&String> = want.keys().filter(|k| got[*k] != want[*k]).collect();
    assert!(
        differing.is_empty(),
        "{}: differs from the clean run in {differing:?}",
        dir.display()
    );
    assert!(
        want.len() > 10,
        "shards, parts and the mixture: {:?}",
        names(&want)
    );
}

/// Every committed unit of the job and when it was committed: each step folder (its
/// checksum list), each recorded proxy run, the proxy data.
pub fn committed(dir: &Path) -> BTreeMap<PathBuf, SystemTime> {
    let mut units = BTreeMap::new();
    for folder in [
        dir.join("work"),
        dir.join("work/search"),
        dir.join("output"),
    ] {
        for entry in sorted_entries(&folder) {
            let list = entry.join("checksums.json");
            if let Ok(meta) = std::fs::metadata(&list) {
                units.insert(list, meta.modified().unwrap());
            }
            if name_of(&entry).starts_with("runs-") {
                for run in sorted_entries(&entry) {
                    if name_of(&run).ends_with(".sha256") {
                        units.insert(run.clone(), modified(&run));
                    }
                }
            }
        }
    }
    units
}

/// Asserts every unit committed `before` a run is still there, untouched.
pub fn assert_not_recomputed(before: &BTreeMap<PathBuf, SystemTime>, dir: &Path, when: &str) {
    let after = committed(dir);
    for (unit, time) in before {
        assert_eq!(
            after.get(unit),
            Some(time),
            "{when}: {} was committed before the run and was rewritten or removed",
            unit.display()
        );
    }
}

/// Temporary files or folders anywhere in the job folder.
pub fn leftovers(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(folder) = stack.pop() {
        for entry in sorted_entries(&folder) {
            let name = name_of(&entry);
            if name.starts_with(".tmp-") || name.contains("tmp-write") || name.ends_with(".partial")
            {
                found.push(entry.display().to_string());
            }
            if entry.is_dir() {
                stack.push(entry);
            }
        }
    }
    found
}

pub fn sorted_entries(dir: &Path) -> Vec<PathBuf> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|r| r.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    entries.sort();
    entries
}

/// The first entry of `folder` whose name starts with `prefix` (a step's folder).
pub fn first_named(folder: &Path, prefix: &str) -> PathBuf {
    sorted_entries(folder)
        .into_iter()
        .find(|p| name_of(p).starts_with(prefix))
        .unwrap_or_else(|| panic!("no {prefix}* in {}", folder.display()))
}

pub fn name_of(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

fn modified(path: &Path) -> SystemTime {
    std::fs::metadata(path).unwrap().modified().unwrap()
}

/// splitmix64: the kill moments are seeded.
#[derive(Debug)]
pub struct Seeded(pub u64);

impl Seeded {
    pub fn unit(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) as f64 / u64::MAX as f64
    }
}
