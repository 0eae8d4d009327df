# datatrove peer: its four MinHash stages (signature, buckets, cluster, filter) on one local
# worker, 5-grams of its own spaCy words, 14 buckets x 8 hashes; writes the ids the filter drops.
import os
import shutil

from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.dedup.minhash import (MinhashConfig, MinhashDedupBuckets, MinhashDedupCluster,
                                              MinhashDedupFilter, MinhashDedupSignature)
from datatrove.pipeline.readers import JsonlReader, ParquetReader
from datatrove.pipeline.writers import JsonlWriter
from datatrove.utils.hashing import HashConfig

import common as c


def hash_config():
    """datatrove's default xxhash64 hashes str; xxhash >= 4 refuses str, so fall back to sha1."""
    try:
        import xxhash

        xxhash.xxh64_intdigest("x")
        return HashConfig(hash_fc="xxhash", precision=64)
    except (ImportError, TypeError):
        return HashConfig(hash_fc="sha1", precision=64)


config = MinhashConfig(n_grams=c.NGRAM, num_buckets=c.BANDS, hashes_per_bucket=c.ROWS, seed=c.SEED,
                       hash_config=hash_config())
mode, out, inputs = c.args()

if mode == "sign":  # datatrove's hash of each shingle string, then its numpy MinHash
    import numpy as np

    lists, text_bytes = c.load_shingled(inputs)
    step = MinhashDedupSignature(output_folder="/tmp", config=config)
    start = c.clock()
    for sh in lists:
        if sh:
            step.get_signature(np.fromiter((step._hash_func(s) for s in sh), dtype=np.uint64).reshape(-1, 1))
    c.report_sign(c.clock() - start, text_bytes, hash=config.hash_config.hash_fc)
    raise SystemExit

work = out / "datatrove-work"
shutil.rmtree(work, ignore_errors=True)
root = os.path.commonpath([os.path.dirname(os.path.abspath(p)) for p in inputs])
paths_file = out / "datatrove-paths.txt"
paths_file.parent.mkdir(parents=True, exist_ok=True)
paths_file.write_text("".join(os.path.relpath(os.path.abspath(p), root) + "\n" for p in inputs))
kinds = {p.endswith(".parquet") for p in inputs}
assert len(kinds) == 1, "datatrove peer: inputs must be all Parquet or all JSONL"
Reader = ParquetReader if kinds.pop() else JsonlReader


def reader():
    return Reader(root, paths_file=str(paths_file), id_key="id", text_key="text")


def stage(name, pipeline, tasks=1):
    LocalPipelineExecutor(pipeline=pipeline, tasks=tasks, workers=1, skip_completed=False,
                          logging_dir=str(work / "logs" / name)).run()


stage("signature", [reader(), MinhashDedupSignature(output_folder=str(work / "sigs"), config=config)])
# the buckets stage insists on one task per bucket; they run one after another on one worker
stage("buckets", [MinhashDedupBuckets(input_folder=str(work / "sigs"), output_folder=str(work / "buckets"),
                                      config=config)], tasks=c.BANDS)
stage("cluster", [MinhashDedupCluster(input_folder=str(work / "buckets"), output_folder=str(work / "remove"),
                                      config=config)])
removed = JsonlWriter(str(work / "removed"), output_filename="removed.jsonl", compression=None)
stage("filter", [reader(), MinhashDedupFilter(input_folder=str(work / "remove"), exclusion_writer=removed),
                 JsonlWriter(str(work / "kept"), output_filename="kept.jsonl", compression=None)])

import orjson  # noqa: E402  (datatrove's own JSON dependency)

removed_file = work / "removed" / "removed.jsonl"  # absent when nothing was removed
removed_ids = [orjson.loads(line)["id"] for line in open(removed_file, "rb")] if removed_file.exists() else []
kept = sum(1 for _ in open(work / "kept" / "kept.jsonl", "rb"))
(out / "flagged_ids.txt").write_text("".join(f"{i}\n" for i in removed_ids))
print(orjson.dumps({"documents": kept + len(removed_ids), "flagged": len(removed_ids),
                    "hash": config.hash_config.hash_fc}).decode())
