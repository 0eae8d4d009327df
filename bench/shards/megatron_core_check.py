"""Reads every Megatron shard of a blend shard folder with megatron-core's own
IndexedDataset and checks each sequence against the manifest's counts and against the
tokens in blend's nanoGPT/Parquet files when present (else the numpy layout reader).

usage: megatron_core_check.py SHARD_DIR
"""

import json
import sys
from pathlib import Path

import numpy as np
from megatron.core.datasets.indexed_dataset import IndexedDataset

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "external"))
from read_shards import read_megatron  # noqa: E402


def main(directory):
    directory = Path(directory)
    manifest = json.loads((directory / "manifest.json").read_text())
    checked_sequences = checked_tokens = 0
    for shard in manifest["shards"]:
        prefix = str(directory / shard["name"])
        dataset = IndexedDataset(prefix, mmap=True)
        assert len(dataset) == shard["sequences"], (len(dataset), shard["sequences"])
        assert len(dataset.document_indices) == shard["sequences"] + 1
        tokens = np.concatenate([np.asarray(dataset[i], dtype=np.int64) for i in range(len(dataset))])
        _, expected = read_megatron(prefix)
        assert len(tokens) == shard["tokens"], (len(tokens), shard["tokens"])
        assert np.array_equal(tokens, expected), "megatron-core reads different tokens"
        checked_sequences += len(dataset)
        checked_tokens += len(tokens)
    print(json.dumps({"shards": len(manifest["shards"]), "sequences": checked_sequences, "tokens": checked_tokens, "reader": "megatron.core.datasets.indexed_dataset.IndexedDataset", "agree": True}))


if __name__ == "__main__":
    main(sys.argv[1])
