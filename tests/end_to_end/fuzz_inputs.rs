//! Fuzzed inputs: a seeded mutation loop over good seed files of every format blend reads
//! (JSONL plain/.gz/.zst, Parquet documents, .txt folders, tokenizer.json, pipeline TOML,
//! mixture.json, experiment tables, token shards and `shards verify`, proxy data, model
//! files). Each mutated input is written to a file and read under `catch_unwind`: a panic, or
//! an error that names no file (or mentions a line/row without its number), is a finding,
//! reported with its format, seed and iteration and saved under the cargo target's tmp folder.
//! Inputs that once crashed a reader are kept under `tests/fixtures/fuzz/<format>/` and
//! replayed on every run.
//!
//! When `../shared/data` is present its real files (trimmed, kept in memory) are seeds too.
//!
//! `BLEND_FUZZ_SECONDS` bounds the whole run (default 12 s, shared by all formats; the seeds
//! take a few seconds more to build); `BLEND_FUZZ_SEED` picks the mutations (default 1);
//! `BLEND_FUZZ_ONLY=parquet,megatron` fuzzes only those formats.
//! `scripts/fuzz.sh` runs it for longer.

mod config_files;
mod documents;
mod mixer_files;
mod mutator;
mod shard_files;
mod shared_seeds;
mod target;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mutator::{SplitMix, mutate};
use target::{Target, Verdict};

const DEFAULT_SECONDS: f64 = 12.0;
/// Inputs each format gets even when its share of the time is spent.
const MIN_INPUTS: u64 = 16;
/// An input that takes longer is saved (and reported) for a look, not failed: machines vary.
const SLOW_SECONDS: f64 = 2.0;
/// Findings kept per format for the failure message (all are counted and saved).
const REPORTED_FINDINGS: usize = 5;

fn env_number(name: &str, default: f64) -> f64 {
    match std::env::var(name) {
        Ok(text) => text
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={text} is not a number")),
        Err(_) => default,
    }
}

fn all_targets() -> Vec<Target> {
    let mut targets = documents::targets();
    targets.extend(config_files::targets());
    targets.extend(mixer_files::targets());
    targets.extend(shard_files::targets());
    if let Some(shared) = blend_tests::shared_data() {
        add_shared_seeds(&mut targets, &shared);
    }
    targets
}

/// Real files as further seeds of the formats they are in, and RegMix's tables as a target.
fn add_shared_seeds(targets: &mut Vec<Target>, shared: &Path) {
    let mut add = |format: &str, seeds: Vec<(String, Vec<u8>)>| {
        let target = targets
            .iter_mut()
            .find(|t| t.format == format)
            .expect("a fuzz target of that format");
        target
            .mutable
            .extend(seeds.iter().map(|(name, _)| name.clone()));
        target.files.extend(seeds);
    };
    add("jsonl", shared_seeds::jsonl_seeds(shared));
    add("tokenizer.json", shared_seeds::tokenizer_seeds(shared));
    add("merge-list", shared_seeds::tokenizer_seeds(shared));
    targets.push(shared_seeds::regmix_target(shared));
}

/// Counts of one format's run.
#[derive(Debug, Default)]
struct FormatRun {
    inputs: u64,
    read: u64,
    errors: u64,
    findings: u64,
    reported: Vec<String>,
    /// The slowest input: (seconds, iteration).
    slowest: (f64, u64),
}

/// A folder under the cargo target's tmp folder: left behind if a reader aborts the process,
/// so the input it was reading can be found.
fn work_folder(prefix: &str) -> tempfile::TempDir {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz-work");
    std::fs::create_dir_all(&root).expect("fuzz work folder");
    tempfile::Builder::new()
        .prefix(&format!("{}-", prefix.replace(['/', '.'], "_")))
        .tempdir_in(root)
        .expect("case folder")
}

fn findings_folder(format: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("fuzz-findings")
        .join(format)
}

/// Mutates `target`'s files for `budget` (at least `MIN_INPUTS` inputs).
fn fuzz(target: &Target, seed: u64, budget: Duration) -> FormatRun {
    let case = work_folder(target.format);
    target.write_case(case.path());
    let all_files: Vec<&[u8]> = target.files.iter().map(|(_, b)| b.as_slice()).collect();
    let mut run = FormatRun::default();
    let started = Instant::now();
    while run.inputs < MIN_INPUTS || started.elapsed() < budget {
        let iteration = run.inputs;
        let mut rng = SplitMix::for_input(seed, target.format, iteration);
        let name = rng.pick(&target.mutable).clone();
        let original = target.original(&name);
        let input = mutate(original, &all_files, &mut rng);
        let path = case.path().join(&name);
        std::fs::write(&path, &input).expect("input is written");
        run.inputs += 1;
        let input_started = Instant::now();
        let verdict = target.judge(case.path(), &name);
        let seconds = input_started.elapsed().as_secs_f64();
        if seconds > run.slowest.0 {
            run.slowest = (seconds, iteration);
        }
        if seconds > SLOW_SECONDS {
            let saved = save_finding(
                target.format,
                seed,
                iteration,
                &format!("slow-{name}"),
                &input,
            );
            eprintln!(
                "fuzz {}: input took {seconds:.1} s, saved as {}",
                target.format,
                saved.display()
            );
        }
        match verdict {
            Verdict::Read => run.read += 1,
            Verdict::Error => run.errors += 1,
            Verdict::Finding(what) => {
                run.findings += 1;
                let saved = save_finding(target.format, seed, iteration, &name, &input);
                if run.reported.len() < REPORTED_FINDINGS {
                    run.reported.push(format!(
                        "{} seed {seed} iteration {iteration} ({name}, saved as {}): {what}",
                        target.format,
                        saved.display()
                    ));
                }
            }
        }
        std::fs::write(&path, original).expect("original is restored");
    }
    run
}

fn save_finding(format: &str, seed: u64, iteration: u64, name: &str, input: &[u8]) -> PathBuf {
    let dir = findings_folder(format);
    std::fs::create_dir_all(&dir).expect("findings folder");
    let base = name.rsplit('/').next().unwrap_or(name);
    let path = dir.join(format!("seed{seed}-iter{iteration}--{base}"));
    std::fs::write(&path, input).expect("finding is saved");
    path
}

/// The unmutated seeds must read: otherwise every mutation would only test an error path.
fn assert_seeds_read(target: &Target) {
    let case = work_folder(target.format);
    target.write_case(case.path());
    for name in &target.mutable {
        match target.judge(case.path(), name) {
            Verdict::Read => {}
            other => panic!("{}: seed {name} does not read: {other:?}", target.format),
        }
    }
}

#[test]
fn fuzzed_inputs_never_panic_and_errors_name_the_file() {
    let seconds = env_number("BLEND_FUZZ_SECONDS", DEFAULT_SECONDS);
    let seed = env_number("BLEND_FUZZ_SEED", 1.0) as u64;
    let mut targets = all_targets();
    if let Ok(only) = std::env::var("BLEND_FUZZ_ONLY") {
        targets.retain(|t| only.split(',').any(|format| format == t.format));
        assert!(
            !targets.is_empty(),
            "BLEND_FUZZ_ONLY={only} names no fuzz target"
        );
    }
    let budget = Duration::from_secs_f64(seconds / targets.len() as f64);
    let started = Instant::now();
    let mut reported = Vec::new();
    let mut total_findings = 0;
    for target in &targets {
        assert_seeds_read(target);
        let format_started = Instant::now();
        let run = fuzz(target, seed, budget);
        eprintln!(
            "fuzz {:<20} inputs {:>8}  read {:>7}  errors {:>8}  panics/bad errors {:>3}  \
             ({:.1} s, slowest input {:.3} s at iteration {})",
            target.format,
            run.inputs,
            run.read,
            run.errors,
            run.findings,
            format_started.elapsed().as_secs_f64(),
            run.slowest.0,
            run.slowest.1,
        );
        assert!(
            run.errors > 0,
            "{}: no mutation was rejected",
            target.format
        );
        total_findings += run.findings;
        reported.extend(run.reported);
    }
    eprintln!(
        "fuzz total: {} formats, seed {seed}, {:.1} s, {total_findings} panics/bad errors",
        targets.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        total_findings == 0,
        "{total_findings} inputs panicked or gave an error without the file:\n{}",
        reported.join("\n")
    );
}

/// Where the crashing inputs are kept: `<format>/<case>--<file name in the case folder>`.
fn fixtures_folder() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/fuzz")
}

#[test]
fn kept_crashing_inputs_are_errors_naming_the_file() {
    let targets = all_targets();
    let mut replayed = 0;
    for format_dir in std::fs::read_dir(fixtures_folder()).expect("tests/fixtures/fuzz") {
        let format_dir = format_dir.expect("entry").path();
        let format = format_dir
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let target = targets
            .iter()
            .find(|t| t.format == format)
            .unwrap_or_else(|| panic!("tests/fixtures/fuzz/{format}: no such fuzz target"));
        let case = work_folder(&format);
        target.write_case(case.path());
        let mut fixtures: Vec<PathBuf> = std::fs::read_dir(&format_dir)
            .expect("format folder")
            .map(|e| e.expect("entry").path())
            .collect();
        fixtures.sort();
        for fixture in fixtures {
            let fixture_name = fixture.file_name().unwrap().to_string_lossy().into_owned();
            let (_, name) = fixture_name
                .split_once("--")
                .unwrap_or_else(|| panic!("{fixture_name}: expected <case>--<file name>"));
            let name = target
                .mutable
                .iter()
                .find(|m| m.rsplit('/').next() == Some(name))
                .unwrap_or_else(|| {
                    panic!("{format}/{fixture_name}: {name} is not a file of the target")
                });
            std::fs::write(case.path().join(name), std::fs::read(&fixture).unwrap()).unwrap();
            match target.judge(case.path(), name) {
                Verdict::Error => {}
                other => panic!("{format}/{fixture_name}: {other:?}, expected an error"),
            }
            std::fs::write(case.path().join(name), target.original(name)).unwrap();
            replayed += 1;
        }
    }
    eprintln!("replayed {replayed} kept crashing inputs");
    assert!(replayed > 0, "no kept inputs under tests/fixtures/fuzz");
}
