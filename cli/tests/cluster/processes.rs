//! The cluster's processes and the jobs the tests run on it.

use std::collections::BTreeMap;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use arrow::array::RecordBatch;
use arrow::compute::concat_batches;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

/// Stages of every kind: row-local operators, exact dedup as a `GROUP BY` shuffle and
/// MinHash as a band-key shuffle on the cluster; TF-IDF embeddings, k-means and the filter
/// at the client.
pub const PIPELINE: &str = r#"
[pipeline]
name = "cluster"
seed = 7
work_dir = "work"
out_dir = "output"
rows_per_part = 150
batch_rows = 64

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
params = { ngram = 3, threshold = 0.5 }

[[stages]]
name = "gopher_words"
operator = "quality.gopher_word_count"

[[stages]]
name = "c4"
operator = "quality.c4"

[[stages]]
name = "language"
operator = "quality.language"

[[stages]]
name = "domain"
operator = "domain.from_column"
params = { column = "source" }

[[stages]]
name = "embed"
operator = "domain.embed"

[[stages]]
name = "cluster"
operator = "domain.cluster"
params = { domains = 3, domain_column = "cluster_domain" }

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
vocab_size = 512

[shards]
tokens = 60000
formats = ["megatron", "nanogpt"]
shard_tokens = 20000
"#;

/// The stages whose rows are compared between a local and a cluster run.
pub const STAGES: [&str; 10] = [
    "normalize",
    "dedup",
    "fuzzy_dedup",
    "gopher_words",
    "c4",
    "language",
    "domain",
    "embed",
    "cluster",
    "filter",
];

fn blend() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_blend"));
    command.env_remove("BLEND_LOG");
    command
}

/// A port nothing listens on now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for_port(port: u16, what: &str, log: &Path) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{what} does not listen on {port}: {}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One executor process and its folders.
pub struct Executor {
    pub child: Child,
    pub work_dir: PathBuf,
}

/// A scheduler and executors; every process is killed on drop.
pub struct Cluster {
    scheduler: Child,
    scheduler_port: u16,
    dir: PathBuf,
    pub url: String,
    pub executors: Vec<Executor>,
}

impl Cluster {
    /// A scheduler and `executors` executors of one vcore each, logs in `dir`.
    pub fn start(dir: &Path, executors: usize) -> Cluster {
        std::fs::create_dir_all(dir).unwrap();
        let port = free_port();
        let log = dir.join("scheduler.log");
        let scheduler = blend()
            .args(["cluster", "scheduler", "--executor-timeout", "5", "--bind"])
            .arg(format!("127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let mut cluster = Cluster {
            scheduler,
            scheduler_port: port,
            dir: dir.to_path_buf(),
            url: format!("df://127.0.0.1:{port}"),
            executors: Vec::new(),
        };
        wait_for_port(port, "the scheduler", &log);
        for _ in 0..executors {
            cluster.add_executor();
        }
        cluster
    }

    /// Starts one more executor (one vcore, 1 s heartbeats) and waits for it to register.
    pub fn add_executor(&mut self) {
        let index = self.executors.len();
        let work_dir = self.dir.join(format!("executor-{index}"));
        std::fs::create_dir_all(&work_dir).unwrap();
        let (flight, grpc) = (free_port(), free_port());
        let log = self.dir.join(format!("executor-{index}.log"));
        let child = blend()
            .args(["cluster", "executor", "--vcores", "1", "--heartbeat", "1"])
            .arg("--scheduler")
            .arg(format!("127.0.0.1:{}", self.scheduler_port))
            .arg("--work-dir")
            .arg(&work_dir)
            .arg("--bind")
            .arg(format!("127.0.0.1:{flight}"))
            .arg("--grpc-port")
            .arg(grpc.to_string())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        self.executors.push(Executor { child, work_dir });
        wait_for_port(flight, "an executor", &log);
        // It registers on its first heartbeat.
        std::thread::sleep(Duration::from_millis(1500));
    }

    /// Kills executor `index` (SIGKILL: no goodbye to the scheduler).
    pub fn kill_executor(&mut self, index: usize) {
        let executor = &mut self.executors[index];
        executor.child.kill().unwrap();
        executor.child.wait().unwrap();
    }

    pub fn scheduler_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("scheduler.log")).unwrap_or_default()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for executor in &mut self.executors {
            let _ = executor.child.kill();
            let _ = executor.child.wait();
        }
        let _ = self.scheduler.kill();
        let _ = self.scheduler.wait();
    }
}

/// The synthetic corpus every test reads, written once per test binary.
pub fn corpus_root(name: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("cluster")
        .join(name);
    if root.exists() {
        std::fs::remove_dir_all(&root).unwrap();
    }
    std::fs::create_dir_all(&root).unwrap();
    let output = blend()
        .args(["-q", "gen-corpus", "--docs", "900", "--seed", "5", "--out"])
        .arg(&root)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    root
}

/// A job folder `name` under `root`, holding `pipeline.toml`.
pub fn new_job(root: &Path, name: &str) -> PathBuf {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("pipeline.toml"), PIPELINE).unwrap();
    dir
}

/// `blend run pipeline.toml` in `dir`, on `cluster` if given; stderr to `dir/stderr.txt`.
pub fn spawn_run(dir: &Path, cluster: Option<&str>) -> Child {
    let log = std::fs::File::create(dir.join("stderr.txt")).unwrap();
    let mut command = blend();
    command.current_dir(dir).args(["run", "pipeline.toml"]);
    if let Some(url) = cluster {
        command.args(["--cluster", url]);
    }
    command.stdout(Stdio::null()).stderr(log).spawn().unwrap()
}

pub fn run(dir: &Path, cluster: Option<&str>) -> (ExitStatus, String) {
    let status = spawn_run(dir, cluster).wait().unwrap();
    (
        status,
        std::fs::read_to_string(dir.join("stderr.txt")).unwrap(),
    )
}

fn sorted_entries(dir: &Path) -> Vec<PathBuf> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    entries
}

/// The folder of stage `name` in `work` (`<name>-<hash>`).
fn stage_dir(work: &Path, name: &str) -> PathBuf {
    sorted_entries(work)
        .into_iter()
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('-'))
        })
        .unwrap_or_else(|| panic!("no stage `{name}` in {}", work.display()))
}

/// A stage's rows, all parts in one batch.
pub fn stage_rows(job: &Path, name: &str) -> RecordBatch {
    let dir = stage_dir(&job.join("work"), name);
    let mut batches = Vec::new();
    let mut schema = None;
    for part in sorted_entries(&dir) {
        let file_name = part.file_name().unwrap().to_string_lossy().into_owned();
        if !(file_name.starts_with("part-") && file_name.ends_with(".parquet")) {
            continue;
        }
        let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&part).unwrap())
            .unwrap()
            .build()
            .unwrap();
        for batch in reader {
            let batch = batch.unwrap();
            schema = Some(batch.schema());
            batches.push(batch);
        }
    }
    concat_batches(&schema.expect("the stage has parts"), &batches).unwrap()
}

/// The `part-*` entries (path, bytes, sha256) of a stage folder's `checksums.json`.
fn part_checksums(stage: &Path) -> Vec<serde_json::Value> {
    let list: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(stage.join("checksums.json")).unwrap()).unwrap();
    let parts: Vec<serde_json::Value> = list
        .into_iter()
        .filter(|entry| {
            entry["path"]
                .as_str()
                .is_some_and(|p| p.starts_with("part-"))
        })
        .collect();
    assert!(!parts.is_empty(), "{} lists no part", stage.display());
    parts
}

/// Every file of the shard folder but its measured cost, by name.
pub fn shard_files(job: &Path) -> BTreeMap<String, Vec<u8>> {
    sorted_entries(&job.join("output/shards"))
        .into_iter()
        .filter(|p| p.file_name().unwrap() != ".cost.json")
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect()
}

/// Asserts the cluster job's stages and shards equal the local job's.
pub fn assert_same_as_local(cluster_job: &Path, local_job: &Path) {
    for stage in STAGES {
        let (got, want) = (
            stage_dir(&cluster_job.join("work"), stage),
            stage_dir(&local_job.join("work"), stage),
        );
        assert_eq!(
            got.file_name(),
            want.file_name(),
            "stage `{stage}`: the same cache key, so either run resumes the other's folder"
        );
        assert_eq!(
            part_checksums(&got),
            part_checksums(&want),
            "stage `{stage}`: byte-identical parts"
        );
    }
    for stage in STAGES {
        let (got, want) = (stage_rows(cluster_job, stage), stage_rows(local_job, stage));
        assert_eq!(got.schema(), want.schema(), "stage `{stage}`: schema");
        assert_eq!(got.num_rows(), want.num_rows(), "stage `{stage}`: rows");
        for (index, field) in want.schema().fields().iter().enumerate() {
            assert_eq!(
                got.column(index).as_ref(),
                want.column(index).as_ref(),
                "stage `{stage}`: column `{}`",
                field.name()
            );
        }
    }
    let (got, want) = (shard_files(cluster_job), shard_files(local_job));
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>()
    );
    for (name, bytes) in &want {
        assert!(got[name] == *bytes, "shard file {name} differs");
    }
    assert!(want.len() >= 3, "shards: {:?}", want.keys());
}

/// Files under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files
}
