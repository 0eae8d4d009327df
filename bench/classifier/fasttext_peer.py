"""fastText (PyPI `fasttext`) on the same splits as `blend quality train`, for the parity table.

For every seed S it reads OUT/blend_S.json (`blend quality train --json`) and
OUT/predictions_S.jsonl (`--predictions`: id, label, split = fold number or train/test,
blend's held-out score), trains fastText's supervised model on each fold's training documents
with the same settings (dim, epoch, lr, wordNgrams, bucket; softmax loss), scores the held-out
documents, and prints one row per seed with ROC-AUC (scikit-learn) and training seconds of both,
then the means. Texts come from the corpus files by `id` (ids must be unique across them).

fastText reads one example per line, so newlines inside a text become spaces; its tokens are
split on the same whitespace as blend's, and both add an end-of-line token.

Usage (in a venv with fasttext, numpy<2, scikit-learn; never inside the repo):
    python fasttext_peer.py OUT --seeds 1 2 3 --corpus FILE.jsonl [FILE.jsonl ...] [--threads 2]
"""
import argparse
import json
import os
import statistics
import sys
import tempfile
import time

import fasttext
from sklearn.metrics import roc_auc_score


def load_texts(paths):
    texts = {}
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for line in f:
                record = json.loads(line)
                if "text" not in record:
                    continue
                key = str(record["id"])
                if key in texts:
                    sys.exit(f"id {key} appears twice across {paths}; the peer needs unique ids")
                texts[key] = record["text"]
    return texts


def one_line(text):
    return " ".join(text.split())


def run_seed(out, seed, texts, threads):
    blend = json.load(open(os.path.join(out, f"blend_{seed}.json")))
    rows = [json.loads(l) for l in open(os.path.join(out, f"predictions_{seed}.jsonl"))]
    config = blend["config"]
    positive = blend["positive_label"]
    folds = sorted({r["split"] for r in rows if r["score"] is not None}, key=str)
    ft_scores, blend_scores, truth, ft_seconds = [], [], [], []
    for fold in folds:
        train = [r for r in rows if r["split"] != fold]
        test = [r for r in rows if r["split"] == fold]
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as f:
            for r in train:
                f.write(f"__label__{r['label']} {one_line(texts[r['id']])}\n")
            train_path = f.name
        started = time.perf_counter()
        model = fasttext.train_supervised(
            train_path, dim=config["dim"], epoch=config["epochs"], lr=config["learning_rate"],
            wordNgrams=config["word_ngrams"], bucket=config["buckets"], minCount=1,
            loss="softmax", thread=threads, seed=seed, verbose=0)
        ft_seconds.append(time.perf_counter() - started)
        os.unlink(train_path)
        for r in test:
            labels, probs = model.predict(one_line(texts[r["id"]]), k=-1)
            ft_scores.append(dict(zip(labels, probs)).get(f"__label__{positive}", 0.0))
            blend_scores.append(r["score"])
            truth.append(r["label"] == positive)
    blend_seconds = [e["train_seconds"] for e in blend["evaluations"]]
    return {
        "seed": seed,
        "folds": len(folds),
        "test_docs": len(truth),
        "blend_auc": roc_auc_score(truth, blend_scores),
        "fasttext_auc": roc_auc_score(truth, ft_scores),
        "blend_train_s": statistics.mean(blend_seconds),
        "fasttext_train_s": statistics.mean(ft_seconds),
        "train_docs": blend["evaluations"][0]["train_documents"],
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--seeds", nargs="+", type=int, required=True)
    parser.add_argument("--corpus", nargs="+", required=True)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    texts = load_texts(args.corpus)
    results = [run_seed(args.out, seed, texts, args.threads) for seed in args.seeds]
    print("| seed | folds | held-out docs | blend ROC-AUC | fastText ROC-AUC | Δ | blend train s / model | fastText train s / model | speed-up |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['seed']} | {r['folds']} | {r['test_docs']} | {r['blend_auc']:.4f} | {r['fasttext_auc']:.4f} | "
              f"{r['blend_auc'] - r['fasttext_auc']:+.4f} | {r['blend_train_s']:.3f} | {r['fasttext_train_s']:.3f} | "
              f"{r['fasttext_train_s'] / r['blend_train_s']:.1f}× |")
    mean = lambda key: statistics.mean(r[key] for r in results)
    print(f"| **mean** | | | **{mean('blend_auc'):.4f}** | **{mean('fasttext_auc'):.4f}** | "
          f"**{mean('blend_auc') - mean('fasttext_auc'):+.4f}** | {mean('blend_train_s'):.3f} | "
          f"{mean('fasttext_train_s'):.3f} | {mean('fasttext_train_s') / mean('blend_train_s'):.1f}× |")
    json.dump(results, open(os.path.join(args.out, "peer_results.json"), "w"), indent=1)


if __name__ == "__main__":
    main()
