//! A corpus written to attack the report: document text, domain names and a quarantined
//! record carry `<script>`, `"onload=` and `</style>`. The report shows them escaped and
//! inert: no script element, one style sheet closed once, no attribute injected, and
//! nothing fetched from the network.

use std::io::Write;

use blend_datasets::read::OnError;
use blend_pipeline::{NoProgress, run_pipeline_blocking};
use blend_tests::{demo_config, read_parquet_dir, strings, synthetic_corpus};

const SCRIPT: &str = "<script>alert('blend')</script>";
const ATTRIBUTE: &str = "<img src=x \"onload=alert(1)\">";
const STYLE_END: &str = "</style><h1>owned</h1>";

/// The synthetic corpus as JSONL, with hostile text in every tenth document, a hostile
/// domain name on every third, and one unreadable line carrying a script.
fn hostile_corpus(root: &std::path::Path) -> std::path::PathBuf {
    let synthetic = synthetic_corpus(&root.join("synthetic"), 800, 3);
    let batches = read_parquet_dir(&synthetic.corpus_dir);
    let (ids, texts) = (strings(&batches, "id"), strings(&batches, "text"));
    let path = root.join("hostile.jsonl");
    let mut file = std::fs::File::create(&path).unwrap();
    let hostile_domain = format!("forum{SCRIPT}{STYLE_END}");
    for (i, (id, text)) in ids.iter().zip(&texts).enumerate() {
        let source = match i % 3 {
            0 => "web",
            1 => "code",
            _ => hostile_domain.as_str(),
        };
        let mut text = text.clone().unwrap_or_default();
        if i % 10 == 0 {
            text.push_str(&format!(" {SCRIPT} {ATTRIBUTE} {STYLE_END}"));
        }
        let line = serde_json::json!({"id": id, "text": text, "source": source});
        writeln!(file, "{line}").unwrap();
    }
    writeln!(file, "{{\"id\": \"bad\", \"text\": \"{SCRIPT}").unwrap();
    path
}

#[test]
fn hostile_text_in_documents_and_domains_is_escaped_in_the_report() {
    let root = tempfile::tempdir().unwrap();
    let corpus = hostile_corpus(root.path());
    let (mut config, path) = demo_config(root.path(), &corpus, 3);
    config.pipeline.on_error = OnError::Quarantine;
    config.tokenizer.vocab_size = 300;
    let outcome = run_pipeline_blocking(&config, &path, &NoProgress).unwrap();
    let html = std::fs::read_to_string(&outcome.report_path).unwrap();
    let lower = html.to_lowercase();
    // Kept for `scripts/check_report_browser.sh`, which `make test` runs after the tests.
    let kept = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("hostile_report.html");
    std::fs::write(kept, &html).unwrap();

    assert!(!lower.contains("<script"), "a script element in the report");
    assert_eq!(
        lower.matches("</style>").count(),
        1,
        "the style sheet is closed once"
    );
    assert!(!lower.contains("<img"), "an element from a document");
    assert!(!html.contains("\"onload="), "an attribute from a document");
    assert!(!lower.contains("<h1>owned"), "markup from a document");
    assert!(
        html.contains("forum&lt;script&gt;alert(&#39;blend&#39;)&lt;/script&gt;"),
        "the hostile domain is shown, escaped"
    );
    let external: Vec<&str> = html
        .match_indices("http")
        .map(|(at, _)| &html[at..(at + 40).min(html.len())])
        .filter(|url| !url.starts_with("http://www.w3.org/2000/svg"))
        .collect();
    assert!(external.is_empty(), "the report refers to {external:?}");
    for tag in tags(&lower) {
        for attribute in [" src=", " href=", "url(", " onload=", " onerror="] {
            assert!(!tag.contains(attribute), "`{attribute}` in <{tag}>");
        }
    }
}

/// The inside of every tag of `html`: what a browser reads attributes from.
fn tags(html: &str) -> Vec<&str> {
    html.split('<')
        .skip(1)
        .map(|rest| rest.split('>').next().unwrap_or(rest))
        .collect()
}
