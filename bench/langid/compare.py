"""Language id: blend's `quality.language` (whatlang) against lingua on the same documents.

Reads the predictions the `langid` bench wrote (file, id, gold, predicted, score), runs lingua
(PyPI `lingua-language-detector`, all languages, high-accuracy mode) on the same texts (the
same first MAX_CHARS characters), and prints docs/s of lingua (one thread) and accuracy per
language and overall. Codes are compared after folding individual languages into the code
both libraries use (e.g. Standard Latvian lvs -> lav, Iranian Persian pes -> fas, Mandarin
cmn -> zho). A language counts for a library when the library knows it; the headline compares
both on the languages both know.

Usage (in a venv with lingua-language-detector; never inside the repo):
    python compare.py PREDICTIONS.jsonl CORPORA_DIR [--max-chars 4000]
"""
import argparse
import collections
import json
import os
import time

from lingua import Language, LanguageDetectorBuilder

# Individual language -> the code both libraries answer with.
FOLD = {"lvs": "lav", "pes": "fas", "prs": "fas", "cmn": "zho", "zsm": "msa", "swh": "swa",
        "arb": "ara", "ekk": "est", "azj": "aze", "uzn": "uzb", "khk": "mon", "nob": "nob",
        "ydd": "yid", "plt": "mlg", "als": "sqi", "gaz": "orm", "npi": "nep", "kmr": "kur"}
WHATLANG = set("""epo eng rus cmn spa por ita ben fra deu ukr kat ara hin jpn heb yid pol amh jav kor
nob dan swe fin tur nld hun ces ell bul bel mar kan ron slv hrv srp mkd lit lav est tam vie urd tha
guj uzb pan aze ind tel pes mal ori mya nep sin khm tuk aka zul sna afr lat slk cat tgl hye""".split())


def fold(code):
    return FOLD.get(code, code)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("predictions")
    parser.add_argument("corpora")
    parser.add_argument("--max-chars", type=int, default=4000)
    args = parser.parse_args()
    rows = [json.loads(l) for l in open(args.predictions)]
    texts = {}
    for name in sorted({r["file"] for r in rows}):
        for line in open(os.path.join(args.corpora, name), encoding="utf-8"):
            record = json.loads(line)
            texts[(name, record["id"])] = record["text"][: args.max_chars] if args.max_chars else record["text"]
    lingua_known = {fold(l.iso_code_639_3.name.lower()) for l in Language.all()}
    whatlang_known = {fold(c) for c in WHATLANG}
    detector = LanguageDetectorBuilder.from_all_languages().build()
    started = time.perf_counter()
    for r in rows:
        language = detector.detect_language_of(texts[(r["file"], r["id"])])
        r["lingua"] = fold(language.iso_code_639_3.name.lower()) if language else "und"
    lingua_seconds = time.perf_counter() - started
    megabytes = sum(len(t.encode()) for t in texts.values()) / 1e6
    print(f"lingua {len(rows)} docs, 1 thread: {len(rows) / lingua_seconds:.0f} docs/s ({megabytes / lingua_seconds:.2f} MB/s)")

    per_language = collections.defaultdict(lambda: [0, 0, 0])  # docs, whatlang right, lingua right
    for r in rows:
        gold = fold(r["gold"])
        stats = per_language[(r["file"], gold)]
        stats[0] += 1
        stats[1] += fold(r["predicted"]) == gold
        stats[2] += r["lingua"] == gold

    def accuracy(keep, column):
        docs = sum(s[0] for k, s in per_language.items() if keep(k))
        right = sum(s[column] for k, s in per_language.items() if keep(k))
        return right / docs if docs else float("nan"), docs

    print()
    print("| documents | languages | docs | whatlang accuracy | lingua accuracy |")
    print("|---|---|---:|---:|---:|")
    for name in sorted({f for f, _ in per_language}):
        both = lambda k: k[0] == name and k[1] in whatlang_known and k[1] in lingua_known
        (w, docs), (l, _) = accuracy(both, 1), accuracy(both, 2)
        langs = len({k[1] for k in per_language if both(k)})
        print(f"| {name} | {langs} known to both | {docs} | {w:.3f} | {l:.3f} |")
        own_w = accuracy(lambda k: k[0] == name and k[1] in whatlang_known, 1)
        own_l = accuracy(lambda k: k[0] == name and k[1] in lingua_known, 2)
        print(f"| {name} | each its own ({len({k[1] for k in per_language if k[0] == name and k[1] in whatlang_known})} / "
              f"{len({k[1] for k in per_language if k[0] == name and k[1] in lingua_known})}) | {own_w[1]} / {own_l[1]} | {own_w[0]:.3f} | {own_l[0]:.3f} |")
    print()
    print("Per language (Tatoeba, known to both; 50-sentence documents):")
    print("| lang | docs | whatlang | lingua |")
    print("|---|---:|---:|---:|")
    for (name, gold), (docs, w, l) in sorted(per_language.items()):
        if name.endswith("tatoeba.jsonl") and gold in whatlang_known and gold in lingua_known:
            print(f"| {gold} | {docs} | {w / docs:.2f} | {l / docs:.2f} |")


if __name__ == "__main__":
    main()
