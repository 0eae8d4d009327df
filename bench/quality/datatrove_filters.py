"""datatrove reference verdicts for blend's quality filters (parity harness).

Runs datatrove's GopherQualityFilter, GopherRepetitionFilter, C4QualityFilter and
FineWebQualityFilter, all with their default parameters (language english, i.e. datatrove's
"eng" -> spaCy blank "en" tokenizer + sentencizer), on every document of one or more JSONL
files (one object per line with `id` and `text`), and writes one JSON line per document:

    {"file": basename, "id": ..., "gopher_quality": bool, "gopher_quality_reason": str|null,
     "gopher_repetition": ..., "gopher_repetition_reason": ..., "c4": ..., "c4_reason": ...,
     "c4_text_len": int|null, "fineweb": ..., "fineweb_reason": ...}

`c4_text_len` is len(doc.text) in characters (code points) after C4QualityFilter rewrote the text
(kept lines joined by "\\n", stripped) when the doc passes, null when it is dropped.

Each filter's `filter(doc)` is called directly, each on its own fresh Document (C4 rewrites
doc.text). Each filter runs as its own timed pass over all documents (datatrove's word-split
cache is cleared between passes, so no filter profits from another's tokenization); docs/s and
MB/s (UTF-8 bytes of the input text) per filter go to stderr at the end.

Usage (in a venv with `datatrove[processing]` and `spacy`, never inside the repo):

    python datatrove_filters.py OUT.jsonl IN1.jsonl [IN2.jsonl ...] [--limit N]

--limit N keeps the first N documents of each file. A file whose records lack `text` is skipped
with a note on stderr; so is a single record without `text`.
"""
import argparse
import json
import os
import sys
import time

from datatrove.data import Document
from datatrove.pipeline.filters import (C4QualityFilter, FineWebQualityFilter, GopherQualityFilter,
                                        GopherRepetitionFilter)
from datatrove.utils.text import split_into_parts, split_into_words
from datatrove.utils.typeshelper import Languages

FILTERS = [
    ("gopher_quality", GopherQualityFilter),
    ("gopher_repetition", GopherRepetitionFilter),
    ("c4", C4QualityFilter),
    ("fineweb", FineWebQualityFilter),
]


def normalize(res):
    """A filter returns True/False or (False, reason): give (bool, reason or None)."""
    if isinstance(res, tuple):
        ok, reason = res
        return bool(ok), reason
    return bool(res), None


def load(paths, limit):
    docs = []  # (file basename, id, text)
    for path in paths:
        name = os.path.basename(path)
        taken = skipped = 0
        with open(path, encoding="utf-8") as f:
            for line in f:
                if limit is not None and taken >= limit:
                    break
                line = line.strip()
                if not line:
                    continue
                rec = json.loads(line)
                text = rec.get("text")
                if not isinstance(text, str):
                    skipped += 1
                    continue
                docs.append((name, rec.get("id"), text))
                taken += 1
        if taken == 0:
            print(f"skip {name}: no record with a `text` string", file=sys.stderr)
        elif skipped:
            print(f"{name}: skipped {skipped} records without `text`", file=sys.stderr)
    return docs


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("inputs", nargs="+")
    ap.add_argument("--limit", type=int, default=None)
    a = ap.parse_args()

    docs = load(a.inputs, a.limit)
    total_mb = sum(len(t.encode("utf-8")) for _, _, t in docs) / 1e6
    split_into_words("warm up the spaCy tokenizer. Load it before timing!", Languages.english)

    results = [{"file": f, "id": i} for f, i, _ in docs]
    timings = []
    for key, cls in FILTERS:
        filt = cls()  # defaults, language english
        split_into_parts.cache_clear()
        errors = 0
        start = time.perf_counter()
        for row, (_, doc_id, text) in zip(results, docs):
            doc = Document(text=text, id=str(doc_id))
            try:
                ok, reason = normalize(filt.filter(doc))
            except Exception as e:  # record and go on; a parity harness must see every doc
                errors += 1
                ok, reason = False, f"error: {type(e).__name__}: {e}"
                print(f"{key} {row['file']} {doc_id}: {reason}", file=sys.stderr)
            row[key] = ok
            row[f"{key}_reason"] = reason
            if key == "c4":
                row["c4_text_len"] = len(doc.text) if ok else None
        secs = time.perf_counter() - start
        timings.append((key, secs, errors))

    with open(a.out, "w", encoding="utf-8") as f:
        for row in results:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")

    n = len(docs)
    print(f"{n} docs, {total_mb:.2f} MB -> {a.out}", file=sys.stderr)
    for key, secs, errors in timings:
        print(f"{key:18s} {secs:8.3f} s  {n / secs:10.1f} docs/s  {total_mb / secs:8.3f} MB/s"
              + (f"  {errors} errors" if errors else ""), file=sys.stderr)


if __name__ == "__main__":
    main()
