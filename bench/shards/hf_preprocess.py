"""The Megatron-LM preprocess_data.py approach, for comparison with blend: JSONL in, a
multiprocessing pool of workers each holding an HF `tokenizers` Tokenizer, one document per
task (chunks of 25, as Megatron's default), EOS appended, Megatron MMIDIDX .bin/.idx out
(written with numpy in the documented layout).

usage: hf_preprocess.py TOKENIZER_JSON OUT_PREFIX WORKERS FILE.jsonl...
"""

import json
import multiprocessing
import struct
import sys

import numpy as np
from tokenizers import Tokenizer

TOKENIZER = None
EOS = None


def init(path):
    global TOKENIZER, EOS
    TOKENIZER = Tokenizer.from_file(path)
    EOS = TOKENIZER.token_to_id("<|endoftext|>")


def encode(line):
    text = json.loads(line)["text"]
    ids = TOKENIZER.encode(text, add_special_tokens=False).ids
    ids.append(EOS)
    return ids


def lines(files):
    for path in files:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    yield line


def main(tokenizer_path, prefix, workers, files):
    vocab = Tokenizer.from_file(tokenizer_path).get_vocab_size()
    dtype, code = (np.uint16, 8) if vocab < 65500 else (np.int32, 4)
    lengths = []
    with open(prefix + ".bin", "wb") as out, multiprocessing.Pool(int(workers), initializer=init, initargs=(tokenizer_path,)) as pool:
        for ids in pool.imap(encode, lines(files), 25):
            out.write(np.asarray(ids, dtype=dtype).tobytes(order="C"))
            lengths.append(len(ids))
    lengths = np.asarray(lengths, dtype=np.int32)
    pointers = np.zeros(len(lengths), dtype=np.int64)
    if len(lengths) > 1:
        pointers[1:] = np.cumsum(lengths[:-1].astype(np.int64)) * np.dtype(dtype).itemsize
    with open(prefix + ".idx", "wb") as idx:
        idx.write(b"MMIDIDX\x00\x00")
        idx.write(struct.pack("<Q", 1))
        idx.write(struct.pack("<B", code))
        idx.write(struct.pack("<Q", len(lengths)))
        idx.write(struct.pack("<Q", len(lengths) + 1))
        idx.write(lengths.tobytes(order="C"))
        idx.write(pointers.tobytes(order="C"))
        idx.write(np.arange(len(lengths) + 1, dtype=np.int64).tobytes(order="C"))
    print(json.dumps({"documents": int(len(lengths)), "tokens": int(lengths.sum())}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:])
