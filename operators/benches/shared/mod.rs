//! What the quality benches share: the texts of the JSONL files of a folder (e.g.
//! `../shared/data/corpora`), keyed by (file name, id) as the Python reference scripts
//! write them.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// `text` of every record of every `*.jsonl` file in `dir`, by (file name, `id` as a string).
#[allow(dead_code)] // the langid bench reads its own fields
pub fn jsonl_texts(dir: &Path) -> HashMap<(String, String), String> {
    let mut texts = HashMap::new();
    for entry in std::fs::read_dir(dir).expect("corpora folder") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "jsonl") {
            continue;
        }
        let name = path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .to_string();
        for line in std::fs::read_to_string(&path).expect("corpus file").lines() {
            let record: serde_json::Value = serde_json::from_str(line).expect("JSON line");
            let id = match &record["id"] {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            texts.insert(
                (name.clone(), id),
                record["text"].as_str().unwrap_or("").to_string(),
            );
        }
    }
    texts
}

/// The `key=value` arguments when run as a benchmark (`--bench`); `None` (after saying how to
/// run it) otherwise, so `cargo test` does not run benchmarks.
pub fn bench_args(usage: &str) -> Option<BTreeMap<String, String>> {
    if !std::env::args().any(|a| a == "--bench") {
        println!("{usage}");
        return None;
    }
    Some(
        std::env::args()
            .filter_map(|a| {
                a.split_once('=')
                    .map(|(k, v)| (k.to_string(), v.to_string()))
            })
            .collect(),
    )
}
