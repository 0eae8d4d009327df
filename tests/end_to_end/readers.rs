//! Readers: Parquet (configurable text column, extra columns pass through, integer ids),
//! JSONL plain/.gz/.zst (extra fields kept as `metadata`), and folders of .txt, all read
//! into one schema in sorted path order.

use std::io::Write;
use std::sync::Arc;

use arrow::array::{Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use blend_datasets::read::{CorpusReader, InputSpec, ReadOptions};
use blend_tests::strings;

fn read_all(specs: &[InputSpec]) -> (Vec<RecordBatch>, arrow::datatypes::SchemaRef) {
    let reader = CorpusReader::open(specs, ReadOptions::default()).unwrap();
    let mut batches = Vec::new();
    reader
        .read(&mut |b| {
            batches.push(b);
            Ok(())
        })
        .unwrap();
    (batches, reader.schema())
}

#[test]
fn parquet_with_custom_text_column_and_extra_columns() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.parquet");
    let schema = Arc::new(Schema::new(vec![
        Field::new("doc_id", DataType::Int64, false),
        Field::new("content", DataType::Utf8, false),
        Field::new("url", DataType::Utf8, true),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(Int64Array::from(vec![10, 11])),
            Arc::new(StringArray::from(vec!["first", "second"])),
            Arc::new(StringArray::from(vec![Some("http://a"), None])),
        ],
    )
    .unwrap();
    let mut writer =
        parquet::arrow::ArrowWriter::try_new(std::fs::File::create(&path).unwrap(), schema, None)
            .unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    let mut spec = InputSpec::new(&path);
    spec.text_column = "content".into();
    spec.id_column = "doc_id".into();
    let (batches, schema) = read_all(&[spec]);
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(names, ["id", "text", "source", "url"]);
    assert_eq!(
        strings(&batches, "id"),
        vec![Some("10".into()), Some("11".into())]
    );
    assert_eq!(
        strings(&batches, "text"),
        vec![Some("first".into()), Some("second".into())]
    );
    assert_eq!(
        strings(&batches, "source"),
        vec![Some("a".into()), Some("a".into())],
        "file stem"
    );
    assert_eq!(
        strings(&batches, "url"),
        vec![Some("http://a".into()), None]
    );
}

#[test]
fn jsonl_plain_gzip_zstd_and_text_folders() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("corpus");
    std::fs::create_dir_all(corpus.join("notes")).unwrap();
    let line = |id: &str, text: &str| {
        format!("{{\"id\":\"{id}\",\"text\":\"{text}\",\"lang\":\"en\",\"score\":0.5}}\n")
    };
    std::fs::write(
        corpus.join("a.jsonl"),
        line("a1", "plain") + &line("a2", "second"),
    )
    .unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(line("b1", "gzipped").as_bytes()).unwrap();
    std::fs::write(corpus.join("b.jsonl.gz"), gz.finish().unwrap()).unwrap();
    std::fs::write(
        corpus.join("c.jsonl.zst"),
        zstd::encode_all(line("c1", "zstd").as_bytes(), 3).unwrap(),
    )
    .unwrap();
    std::fs::write(
        corpus.join("notes").join("n1.txt"),
        "a note\nwith two lines",
    )
    .unwrap();
    std::fs::write(corpus.join(".hidden.jsonl"), "not json").unwrap();
    let (batches, _) = read_all(&[InputSpec::new(&corpus)]);
    let ids: Vec<String> = strings(&batches, "id").into_iter().flatten().collect();
    assert_eq!(ids, ["a1", "a2", "b1", "c1", "notes/n1.txt"]);
    let texts: Vec<String> = strings(&batches, "text").into_iter().flatten().collect();
    assert_eq!(
        texts,
        [
            "plain",
            "second",
            "gzipped",
            "zstd",
            "a note\nwith two lines"
        ]
    );
    let metadata = strings(&batches, "metadata");
    assert_eq!(
        metadata[0].as_deref(),
        Some("{\"lang\":\"en\",\"score\":0.5}")
    );
    assert_eq!(metadata[4], None);
    let sources: Vec<String> = strings(&batches, "source").into_iter().flatten().collect();
    assert_eq!(sources, ["a", "a", "b", "c", "corpus"]);
}

#[test]
fn mixed_column_types_are_an_error_naming_both_files() {
    let dir = tempfile::tempdir().unwrap();
    for (name, data_type) in [
        ("a.parquet", DataType::Utf8),
        ("b.parquet", DataType::Int64),
    ] {
        let schema = Arc::new(Schema::new(vec![
            Field::new("text", DataType::Utf8, false),
            Field::new("score", data_type.clone(), false),
        ]));
        let score: arrow::array::ArrayRef = match data_type {
            DataType::Utf8 => Arc::new(StringArray::from(vec!["x"])),
            _ => Arc::new(Int64Array::from(vec![1])),
        };
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![Arc::new(StringArray::from(vec!["t"])), score],
        )
        .unwrap();
        let mut writer = parquet::arrow::ArrowWriter::try_new(
            std::fs::File::create(dir.path().join(name)).unwrap(),
            schema,
            None,
        )
        .unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
    }
    let error = CorpusReader::open(&[InputSpec::new(dir.path())], ReadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("mixed schemas")
            && error.contains("a.parquet")
            && error.contains("b.parquet"),
        "{error}"
    );
}
