//! BPE mixture inference end to end: a tokenizer trained (by the `tokenizers` crate) on a
//! known mixture must give that mixture back from held-out text; on the shared corpora the
//! evaluation harness must beat the random guess by orders of magnitude, and real
//! tokenizers (byte-level GPT-2 and SentencePiece-style Llama) must be readable.

use std::path::{Path, PathBuf};

use blend_kernels::SeededRng;
use blend_mixers::bpe_inference::{InferenceOptions, MergeList};
use blend_pipeline::NoProgress;
use blend_pipeline::engine::config::TokenizerConfig;
use blend_pipeline::engine::tokenizer::train_bpe_json;
use blend_pipeline::workflows::bpe::eval::{
    CategoryPool, EvalRequest, evaluate_inference, log10_mse,
};
use blend_pipeline::workflows::bpe::infer::{CategoryText, infer_from_texts, infer_mixture};

use blend_tests::shared_data;

/// Text of an invented language: a lexicon of words built from the language's own
/// syllables, drawn with Zipf frequencies.
fn invented_language(language: u64, seed: u64, bytes: usize) -> Vec<String> {
    let mut rng = SeededRng::for_stream(language, "bpe-test/lexicon");
    let consonants: Vec<char> = "bcdfghjklmnpqrstvwxz".chars().collect();
    let vowels: Vec<char> = "aeiouyåäöé".chars().collect();
    let syllables: Vec<String> = (0..24)
        .map(|_| format!("{}{}", rng.pick(&consonants), rng.pick(&vowels)))
        .collect();
    let lexicon: Vec<String> = (0..400)
        .map(|_| {
            (0..1 + rng.below(4))
                .map(|_| rng.pick(&syllables).as_str())
                .collect()
        })
        .collect();
    let mut rng = SeededRng::for_stream(seed, &format!("bpe-test/text/{language}"));
    let mut texts = Vec::new();
    let mut size = 0;
    while size < bytes {
        let sentence: Vec<&str> = (0..8 + rng.below(10))
            .map(|_| lexicon[rng.zipf(lexicon.len(), 1.1)].as_str())
            .collect();
        let text = format!("{}.\n", sentence.join(" "));
        size += text.len();
        texts.push(text);
    }
    texts
}

#[test]
fn a_tokenizer_trained_on_a_known_mixture_gives_it_back() {
    let truth = [0.41, 0.07, 0.26, 0.15, 0.11];
    let budget = 600_000.0;
    let mut training = Vec::new();
    for (language, weight) in truth.iter().enumerate() {
        training.extend(invented_language(
            language as u64,
            1,
            (budget * weight) as usize,
        ));
    }
    let config = TokenizerConfig {
        path: None,
        vocab_size: 256 + 800 + 1,
        min_frequency: 2,
        train_sample_bytes: budget as u64,
        eos_token: "<|endoftext|>".into(),
    };
    let json = train_bpe_json(&training, &config).expect("the tokenizer trains");
    let merge_list = MergeList::from_json(&json, Path::new("<test tokenizer>")).unwrap();
    assert!(merge_list.merges.len() > 700, "{}", merge_list.merges.len());
    // Held-out text: another draw (seed 2) from each language.
    let categories: Vec<CategoryText> = (0..truth.len())
        .map(|language| CategoryText {
            name: format!("language{language}"),
            texts: invented_language(language as u64, 2, 150_000),
        })
        .collect();
    let outcome = infer_from_texts(
        &merge_list,
        &categories,
        None,
        &InferenceOptions::default(),
        &NoProgress,
    )
    .unwrap();
    let estimate = &outcome.estimate;
    let error = log10_mse(&estimate.weights, &truth);
    eprintln!(
        "inferred {:?} (log10 MSE {error:.2}, {} constraints, {} rounds)",
        estimate.weights, estimate.constraints, estimate.rounds
    );
    assert!((estimate.weights.iter().sum::<f64>() - 1.0).abs() < 1e-9);
    // A uniform guess scores about -1.7 here; a random one about -1.3.
    assert!(error < -3.5, "log10 MSE {error}: {:?}", estimate.weights);
    assert_eq!(outcome.categories.len(), 5);
    assert!(outcome.categories.iter().all(|c| c.bytes >= 150_000));
}

#[test]
fn the_harness_on_shared_english_domains_beats_the_random_guess() {
    let Some(data) = shared_data() else { return };
    let mut request = EvalRequest::new(data.join("corpora"), CategoryPool::Domains, 5);
    request.trials = 2;
    request.merges = 1500;
    request.train_bytes = 2 << 20;
    request.sample_bytes = 512 << 10;
    let report = evaluate_inference(&request, &NoProgress).unwrap();
    eprintln!(
        "domains n=5: mean log10 MSE {:.2}, random {:.2}",
        report.mean_log10_mse, report.mean_random_log10_mse
    );
    assert_eq!(report.trials.len(), 2);
    assert_eq!(report.pool_categories.len(), 7);
    for trial in &report.trials {
        assert_eq!(trial.categories.len(), 5);
        assert!(trial.merges >= 1200, "{} merges", trial.merges);
        assert!(
            trial.log10_mse < trial.random_log10_mse - 1.0,
            "{trial:?} is not clearly better than the random guess"
        );
    }
    // The paper reports -3.4 for five English domains.
    assert!(report.mean_log10_mse < -3.0, "{}", report.mean_log10_mse);
}

fn link_category(root: &Path, name: &str, files: &[PathBuf]) {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    for file in files {
        std::os::unix::fs::symlink(file, dir.join(file.file_name().unwrap())).unwrap();
    }
}

#[test]
fn real_tokenizers_gpt2_reads_as_english_and_llama_is_readable() {
    let Some(data) = shared_data() else { return };
    let corpora = data.join("corpora");
    let root = tempfile::tempdir().unwrap();
    link_category(
        root.path(),
        "english",
        &[
            corpora.join("wiki_wt103.jsonl"),
            corpora.join("books_gutenberg.jsonl"),
            corpora.join("web_dclm_quality.jsonl"),
        ],
    );
    link_category(
        root.path(),
        "code",
        &[
            corpora.join("code_python_ruff.jsonl"),
            corpora.join("code_c_cuda_llmc.jsonl"),
        ],
    );
    link_category(
        root.path(),
        "multilingual",
        &[corpora.join("multilingual_udhr.jsonl")],
    );
    let options = InferenceOptions::default();
    let gpt2 = infer_mixture(
        &data.join("tokenizers/gpt_2_tokenizer.json"),
        root.path(),
        Some(1000),
        Some(512 << 10),
        &options,
        &NoProgress,
    )
    .unwrap();
    let weights = &gpt2.estimate.weights;
    eprintln!("gpt-2: {:?} {weights:?}", gpt2.estimate.categories);
    assert_eq!(
        gpt2.estimate.categories,
        ["code", "english", "multilingual"]
    );
    assert_eq!(gpt2.tokenizer_merges, 50_000);
    // GPT-2 was trained on WebText, English web pages.
    assert!(weights[1] > 0.5 && weights[1] > weights[0] && weights[1] > weights[2]);

    let llama = infer_mixture(
        &data.join("tokenizers/llama_tokenizer.json"),
        root.path(),
        Some(1000),
        Some(512 << 10),
        &options,
        &NoProgress,
    )
    .unwrap();
    eprintln!("llama: {:?}", llama.estimate.weights);
    assert!((llama.estimate.weights.iter().sum::<f64>() - 1.0).abs() < 1e-9);
    assert!(
        llama.estimate.merges_missing < 1000,
        "most merges occur in the samples: {} missing",
        llama.estimate.merges_missing
    );
}
