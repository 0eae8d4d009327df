//! A pipeline on a two-executor cluster gives the local run's stages and shards, and both
//! executors worked (each wrote shuffle files).

use std::path::{Path, PathBuf};

use crate::processes::{
    Cluster, PIPELINE, assert_same_as_local, corpus_root, files_under, new_job, run,
};

#[test]
fn two_executors_give_the_local_result() {
    let root = corpus_root("equality");
    let local = new_job(&root, "local");
    let (status, log) = run(&local, None);
    assert!(status.success(), "local run: {log}");

    let cluster = Cluster::start(&root.join("cluster-processes"), 2);
    let remote = new_job(&root, "remote");
    let (status, log) = run(&remote, Some(&cluster.url));
    assert!(status.success(), "cluster run: {log}");
    assert!(
        log.contains("on the cluster"),
        "the stages ran on the cluster: {log}"
    );
    assert_same_as_local(&remote, &local);

    for executor in &cluster.executors {
        let shuffle_files = files_under(&executor.work_dir);
        assert!(
            !shuffle_files.is_empty(),
            "executor {} wrote no shuffle file",
            executor.work_dir.display()
        );
    }
}

/// `../shared/data/corpora` beside the repository, when it exists.
fn shared_corpora() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/corpora");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipping: {} is absent", dir.display());
        None
    }
}

/// Real text: the first 150 documents of each shared corpus (web pages of two crawls,
/// Wikipedia, books, code, math, chat, QA, UDHR translations), through the same stages.
#[test]
fn shared_corpora_give_the_local_result() {
    let Some(corpora) = shared_corpora() else {
        return;
    };
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cluster/shared");
    if root.exists() {
        std::fs::remove_dir_all(&root).unwrap();
    }
    let data = root.join("corpus");
    std::fs::create_dir_all(&data).unwrap();
    for corpus in [
        "web_dclm_quality",
        "web_dolma_cc",
        "wiki_wt103",
        "books_gutenberg",
        "code_python_ruff",
        "math_gsm8k",
        "chat_alpaca_eval",
        "qa_llm_foundry",
        "multilingual_udhr",
    ] {
        let text = std::fs::read_to_string(corpora.join(format!("{corpus}.jsonl"))).unwrap();
        let head: Vec<&str> = text.lines().take(150).collect();
        std::fs::write(data.join(format!("{corpus}.jsonl")), head.join("\n")).unwrap();
    }
    let job = |name: &str| {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("pipeline.toml"), PIPELINE).unwrap();
        dir
    };
    let local = job("local");
    let (status, log) = run(&local, None);
    assert!(status.success(), "local run: {log}");
    let cluster = Cluster::start(&root.join("cluster-processes"), 2);
    let remote = job("remote");
    let (status, log) = run(&remote, Some(&cluster.url));
    assert!(status.success(), "cluster run: {log}");
    assert_same_as_local(&remote, &local);
}
