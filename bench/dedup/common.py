# Shared by the dedup peers: read inputs in order, shingle the way blend does, keep-first
# union-find, and write a peer's flagged row positions plus its one-line JSON summary.
import json
import re
import sys
import time
from pathlib import Path

NUM_PERM, BANDS, ROWS, NGRAM, SEED = 112, 14, 8, 5, 42
WORD = re.compile(r"[^\W_]+")  # maximal runs of Unicode alphanumerics; "_" splits words


def read_docs(paths):
    """(id, text) for every row: files in the order given, rows in file order."""
    for path in paths:
        if path.endswith(".parquet"):
            import pyarrow.parquet as pq

            table = pq.read_table(path, columns=["id", "text"])
            yield from zip(table.column("id").to_pylist(), table.column("text").to_pylist())
        else:
            with open(path, encoding="utf-8") as f:
                for line in f:
                    if line.strip():
                        row = json.loads(line)
                        yield row["id"], row["text"]


def shingles(text, n=NGRAM):
    """Word n-grams of the lowercased text; one shingle of all words if fewer than n."""
    words = WORD.findall((text or "").lower())
    if len(words) < n:
        return [" ".join(words)] if words else []
    return [" ".join(words[i : i + n]) for i in range(len(words) - n + 1)]


class KeepFirst:
    """Union-find whose root is always the smallest row, so flagged = every non-root."""

    def __init__(self, n):
        self.parent = list(range(n))

    def find(self, x):
        parent = self.parent
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(self, a, b):
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def flagged(self):
        return [i for i in range(len(self.parent)) if self.find(i) != i]


def args():
    """`run OUT INPUT...` (the timed dedup) or `sign INPUT...` (signature time only)."""
    mode = sys.argv[1]
    if mode == "run":
        return mode, Path(sys.argv[2]), sys.argv[3:]
    return mode, None, sys.argv[2:]


def load_shingled(inputs):
    """Rows, their shingle lists and the UTF-8 text bytes, for the `sign` measurement."""
    docs = [text for _, text in read_docs(inputs)]
    return [shingles(t) for t in docs], sum(len(t.encode("utf-8")) for t in docs)


def report_sign(seconds, text_bytes, **extra):
    print(json.dumps({"sign_seconds": seconds, "text_bytes": text_bytes, **extra}))


def write_flagged(out, documents, flagged, **extra):
    out.mkdir(parents=True, exist_ok=True)
    (out / "flagged.txt").write_text("".join(f"{i}\n" for i in flagged))
    print(json.dumps({"documents": documents, "flagged": len(flagged), **extra}))


clock = time.perf_counter


def run_peer(signatures, candidate_pairs):
    """The driver of the signature-based peers. `sign INPUT...`: time `signatures(lists)` alone.
    `run OUT INPUT...`: sign the docs with words, union every `(key, other)` pair that
    `candidate_pairs(sigs)` yields (keys index the signed docs), write the flagged rows."""
    mode, out, inputs = args()
    if mode == "sign":
        lists, text_bytes = load_shingled(inputs)
        _, seconds = signatures([sh for sh in lists if sh])
        report_sign(seconds, text_bytes)
        return
    lists = [shingles(text) for _, text in read_docs(inputs)]
    rows = [i for i, sh in enumerate(lists) if sh]  # docs with no words are never duplicates
    sigs, _ = signatures([lists[i] for i in rows])
    uf = KeepFirst(len(lists))
    for key, other in candidate_pairs(sigs):
        uf.union(rows[key], rows[other])
    write_flagged(out, len(lists), uf.flagged())
