//! Bad input: each case gives an error naming the file (and line/row/column where there is
//! one) or, with `on_error = "quarantine"`, a run that lists the rejected record. None
//! panics, and none leaves output that a re-run would trust.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use blend_datasets::read::OnError;
use blend_pipeline::engine::work_lock::LOCK_FILE;
use blend_pipeline::{NoProgress, PipelineConfig, RunOutcome, run_pipeline_blocking};
use blend_tests::{demo_config, read_parquet_dir, strings};

fn run(
    root: &Path,
    input: &Path,
    on_error: OnError,
) -> (Result<RunOutcome, String>, PipelineConfig) {
    let (mut config, path) = demo_config(root, input, 1);
    config.pipeline.on_error = on_error;
    config.tokenizer.vocab_size = 300;
    let result = run_pipeline_blocking(&config, &path, &NoProgress).map_err(|e| e.to_string());
    (result, config)
}

/// After a failed run nothing in out/ claims to be complete and no temporary folder is left.
fn assert_nothing_trusted(config: &PipelineConfig) {
    let out = &config.pipeline.out_dir;
    assert!(!out.join("shards").join("manifest.json").exists());
    assert!(!out.join("run_summary.json").exists());
    assert!(!out.join("report.html").exists());
    if let Ok(entries) = std::fs::read_dir(&config.pipeline.work_dir) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name == LOCK_FILE {
                continue;
            }
            assert!(!name.starts_with(".tmp-"), "left a temporary folder {name}");
            assert!(
                entry.path().join("manifest.json").exists(),
                "{name} has no manifest"
            );
        }
    }
}

fn words(n: usize, salt: usize) -> String {
    (0..n)
        .map(|i| format!("word{} text{}", (i * 7 + salt) % 97, i % 13))
        .collect::<Vec<_>>()
        .join(" ")
}

fn write_jsonl(path: &Path, lines: &[Vec<u8>]) {
    let mut file = std::fs::File::create(path).unwrap();
    for line in lines {
        file.write_all(line).unwrap();
        file.write_all(b"\n").unwrap();
    }
}

fn good_line(i: usize) -> Vec<u8> {
    serde_json::json!({"id": format!("d{i}"), "text": words(80, i), "source": "web"})
        .to_string()
        .into_bytes()
}

#[test]
fn missing_file_is_named() {
    let root = tempfile::tempdir().unwrap();
    let missing = root.path().join("nope.jsonl");
    let (result, config) = run(root.path(), &missing, OnError::Fail);
    let error = result.unwrap_err();
    assert!(
        error.contains("input not found") && error.contains("nope.jsonl"),
        "{error}"
    );
    assert_nothing_trusted(&config);
}

#[test]
fn folder_without_inputs_is_named() {
    let root = tempfile::tempdir().unwrap();
    let empty = root.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    std::fs::write(empty.join("notes.md"), "not a corpus").unwrap();
    let (result, config) = run(root.path(), &empty, OnError::Fail);
    let error = result.unwrap_err();
    assert!(
        error.contains("no input files") && error.contains("empty"),
        "{error}"
    );
    assert_nothing_trusted(&config);
}

fn write_parquet(path: &Path, columns: &[(&str, Vec<&str>)]) {
    let schema = Arc::new(Schema::new(
        columns
            .iter()
            .map(|(name, _)| Field::new(*name, DataType::Utf8, false))
            .collect::<Vec<_>>(),
    ));
    let arrays = columns
        .iter()
        .map(|(_, values)| Arc::new(StringArray::from(values.clone())) as _)
        .collect();
    let batch = RecordBatch::try_new(schema.clone(), arrays).unwrap();
    let mut writer =
        parquet::arrow::ArrowWriter::try_new(std::fs::File::create(path).unwrap(), schema, None)
            .unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
}

#[test]
fn parquet_without_text_column_names_file_and_columns() {
    let root = tempfile::tempdir().unwrap();
    let path = root.path().join("docs.parquet");
    write_parquet(&path, &[("id", vec!["a"]), ("body", vec!["hello"])]);
    let (result, config) = run(root.path(), &path, OnError::Fail);
    let error = result.unwrap_err();
    assert!(
        error.contains("docs.parquet") && error.contains("`text`"),
        "{error}"
    );
    assert!(
        error.contains("id (Utf8)") && error.contains("body (Utf8)"),
        "{error}"
    );
    assert_nothing_trusted(&config);
}

#[test]
fn truncated_parquet_is_named() {
    let root = tempfile::tempdir().unwrap();
    let path = root.path().join("cut.parquet");
    let text = words(100, 1);
    write_parquet(&path, &[("id", vec!["a"]), ("text", vec![text.as_str()])]);
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let (result, config) = run(root.path(), &path, OnError::Fail);
    let error = result.unwrap_err();
    assert!(
        error.contains("cut.parquet") && error.contains("not a readable Parquet file"),
        "{error}"
    );
    assert_nothing_trusted(&config);
}

fn corpus_with_bad_line(root: &Path, bad: Vec<u8>) -> PathBuf {
    let path = root.join("docs.jsonl");
    let mut lines: Vec<Vec<u8>> = (0..6).map(good_line).collect();
    lines.insert(2, bad);
    write_jsonl(&path, &lines);
    path
}

#[test]
fn malformed_jsonl_line_fails_with_file_and_line_or_is_quarantined() {
    let root = tempfile::tempdir().unwrap();
    let path = corpus_with_bad_line(root.path(), b"{\"id\": \"x\", \"text\": unquoted}".to_vec());
    let (result, config) = run(root.path(), &path, OnError::Fail);
    let error = result.unwrap_err();
    assert!(
        error.contains("docs.jsonl:3") && error.contains("malformed JSON"),
        "{error}"
    );
    assert_nothing_trusted(&config);

    let quarantine_root = tempfile::tempdir().unwrap();
    let (result, _) = run(quarantine_root.path(), &path, OnError::Quarantine);
    let outcome = result.unwrap();
    assert_eq!(
        outcome
            .summary
            .read
            .rejected_by_reason
            .get("malformed_json"),
        Some(&1)
    );
    assert_eq!(outcome.summary.read.rejected_samples[0].position, 3);
    assert_eq!(outcome.summary.stages[0].rows_out, 6);
    assert_eq!(outcome.summary.shards.total_documents, 6);
    assert!(
        outcome
            .summary
            .warnings
            .iter()
            .any(|w| w.contains("quarantined"))
    );
    let rejected =
        std::fs::read_to_string(outcome.summary.stages[0].dir.join("rejected.jsonl")).unwrap();
    assert!(rejected.contains("malformed_json"));
}

#[test]
fn invalid_utf8_fails_with_file_and_line_or_is_quarantined() {
    let root = tempfile::tempdir().unwrap();
    let mut bad = b"{\"id\": \"x\", \"text\": \"caf".to_vec();
    bad.extend_from_slice(&[0xC3, 0x28]);
    bad.extend_from_slice(b"\"}");
    let path = corpus_with_bad_line(root.path(), bad);
    let (result, config) = run(root.path(), &path, OnError::Fail);
    let error = result.unwrap_err();
    assert!(
        error.contains("docs.jsonl:3") && error.contains("invalid UTF-8"),
        "{error}"
    );
    assert_nothing_trusted(&config);
    let quarantine_root = tempfile::tempdir().unwrap();
    let (result, _) = run(quarantine_root.path(), &path, OnError::Quarantine);
    assert_eq!(
        result
            .unwrap()
            .summary
            .read
            .rejected_by_reason
            .get("invalid_utf8"),
        Some(&1)
    );

    let texts = root.path().join("texts");
    std::fs::create_dir(&texts).unwrap();
    std::fs::write(texts.join("a.txt"), words(80, 3)).unwrap();
    std::fs::write(texts.join("b.txt"), [0x66, 0x6f, 0xff, 0x6f]).unwrap();
    let text_root = tempfile::tempdir().unwrap();
    let (result, _) = run(text_root.path(), &texts, OnError::Fail);
    let error = result.unwrap_err();
    assert!(
        error.contains("b.txt") && error.contains("invalid UTF-8 at byte 2"),
        "{error}"
    );
}

#[test]
fn fifty_megabyte_document_is_rejected_as_oversize_not_dropped_silently() {
    let root = tempfile::tempdir().unwrap();
    let path = root.path().join("docs.jsonl");
    let huge = "lorem ipsum dolor ".repeat(50 * 1024 * 1024 / 18 + 1);
    let mut lines: Vec<Vec<u8>> = (0..4).map(good_line).collect();
    lines.push(
        serde_json::json!({"id": "huge", "text": huge})
            .to_string()
            .into_bytes(),
    );
    write_jsonl(&path, &lines);
    let (result, _) = run(root.path(), &path, OnError::Fail);
    let outcome = result.unwrap();
    let filter = outcome
        .summary
        .stages
        .iter()
        .find(|s| s.name == "filter")
        .unwrap();
    let stats = filter.filter.as_ref().unwrap();
    let normalize_rule = stats.rules.iter().find(|r| r.name == "normalize").unwrap();
    assert_eq!(normalize_rule.removed_docs, 1);
    assert_eq!(normalize_rule.sample_ids, vec!["huge"]);
    assert!(normalize_rule.removed_bytes > 50_000_000);
    let removed = read_parquet_dir(&filter.dir.join("removed"));
    assert_eq!(
        strings(&removed, "normalize_reject"),
        vec![Some("oversize".to_string())]
    );
    assert_eq!(outcome.summary.shards.total_documents, 4);
}

#[test]
fn empty_corpus_is_an_error_not_empty_shards() {
    let root = tempfile::tempdir().unwrap();
    let path = root.path().join("empty.jsonl");
    std::fs::write(&path, "\n\n").unwrap();
    let (result, config) = run(root.path(), &path, OnError::Fail);
    let error = result.unwrap_err();
    assert!(
        error.contains("no documents") && error.contains("empty.jsonl"),
        "{error}"
    );
    assert_nothing_trusted(&config);
}
