"""GPT-2 encoding with tiktoken (from the local gpt2 vocab.bpe + encoder.json, no network),
batched over `num_threads`, EOS appended, Megatron .bin/.idx written with numpy, for
comparison with blend.

usage: tiktoken_preprocess.py VOCAB_BPE ENCODER_JSON OUT_PREFIX THREADS FILE.jsonl...
"""

import json
import struct
import sys

import numpy as np
import tiktoken
from tiktoken.load import data_gym_to_mergeable_bpe_ranks

GPT2_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
BATCH = 1024


def main(vocab_bpe, encoder_json, prefix, threads, files):
    ranks = data_gym_to_mergeable_bpe_ranks(vocab_bpe_file=vocab_bpe, encoder_json_file=encoder_json)
    encoding = tiktoken.Encoding("gpt2-local", pat_str=GPT2_PATTERN, mergeable_ranks=ranks, special_tokens={"<|endoftext|>": 50256})
    eos = 50256
    lengths = []
    with open(prefix + ".bin", "wb") as out:
        batch = []

        def flush():
            for ids in encoding.encode_ordinary_batch(batch, num_threads=int(threads)):
                ids.append(eos)
                out.write(np.asarray(ids, dtype=np.uint16).tobytes())
                lengths.append(len(ids))
            batch.clear()

        for path in files:
            with open(path, encoding="utf-8") as handle:
                for line in handle:
                    if line.strip():
                        batch.append(json.loads(line)["text"])
                        if len(batch) == BATCH:
                            flush()
        flush()
    lengths = np.asarray(lengths, dtype=np.int32)
    pointers = np.zeros(len(lengths), dtype=np.int64)
    if len(lengths) > 1:
        pointers[1:] = np.cumsum(lengths[:-1].astype(np.int64)) * 2
    with open(prefix + ".idx", "wb") as idx:
        idx.write(b"MMIDIDX\x00\x00" + struct.pack("<QBQQ", 1, 8, len(lengths), len(lengths) + 1))
        idx.write(lengths.tobytes() + pointers.tobytes() + np.arange(len(lengths) + 1, dtype=np.int64).tobytes())
    print(json.dumps({"documents": int(len(lengths)), "tokens": int(lengths.sum())}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:])
