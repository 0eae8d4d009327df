"""Reads a blend shard folder with numpy only, from the documented layouts, and prints one
JSON object: per shard and format, the number of sequences (Megatron: from the .idx), the
number of tokens, and the sha256 of the tokens as little-endian uint32.

Megatron MMIDIDX .idx: b"MMIDIDX\\x00\\x00", <Q version=1, <B dtype code (8 uint16, 4 int32),
<Q sequence count, <Q document count, int32 lengths, int64 byte pointers, int64 document
indices; .bin holds the tokens. nanoGPT: raw uint16. llm.c: 256 int32 header (magic
20240520, version 1, token count), then uint16.

usage: read_shards.py SHARD_DIR
"""

import hashlib
import json
import struct
import sys
from pathlib import Path

import numpy as np

DTYPES = {8: np.uint16, 4: np.int32}


def digest(tokens):
    return hashlib.sha256(np.asarray(tokens, dtype="<u4").tobytes()).hexdigest()


def read_megatron(prefix):
    index = Path(str(prefix) + ".idx").read_bytes()
    assert index[:9] == b"MMIDIDX\x00\x00", "bad magic"
    version, = struct.unpack_from("<Q", index, 9)
    assert version == 1, version
    code, = struct.unpack_from("<B", index, 17)
    sequences, documents = struct.unpack_from("<QQ", index, 18)
    offset = 34
    lengths = np.frombuffer(index, dtype="<i4", count=sequences, offset=offset)
    offset += 4 * sequences
    pointers = np.frombuffer(index, dtype="<i8", count=sequences, offset=offset)
    offset += 8 * sequences
    doc_index = np.frombuffer(index, dtype="<i8", count=documents, offset=offset)
    assert offset + 8 * documents == len(index), "trailing bytes"
    dtype = np.dtype(DTYPES[code]).newbyteorder("<")
    data = np.memmap(str(prefix) + ".bin", dtype=dtype, mode="r")
    tokens = []
    for length, pointer in zip(lengths, pointers):
        start = int(pointer) // dtype.itemsize
        tokens.append(np.asarray(data[start:start + int(length)], dtype=np.int64))
    flat = np.concatenate(tokens) if tokens else np.zeros(0, dtype=np.int64)
    assert doc_index[0] == 0 and doc_index[-1] == sequences
    return int(sequences), flat


def read_nanogpt(path):
    return np.asarray(np.memmap(path, dtype="<u2", mode="r"), dtype=np.int64)


def read_llmc(path):
    header = np.fromfile(path, dtype="<i4", count=256)
    assert header[0] == 20240520 and header[1] == 1, header[:3]
    tokens = np.fromfile(path, dtype="<u2", offset=256 * 4)
    assert len(tokens) == header[2], (len(tokens), header[2])
    return tokens.astype(np.int64)


def main(directory):
    directory = Path(directory)
    manifest = json.loads((directory / "manifest.json").read_text())
    report = {}
    for shard in manifest["shards"]:
        name = shard["name"]
        entry = {}
        for fmt in manifest["formats"]:
            if fmt == "megatron":
                sequences, tokens = read_megatron(directory / name)
                entry[fmt] = {"sequences": sequences, "tokens": int(len(tokens)), "sha256": digest(tokens)}
            elif fmt == "nanogpt":
                tokens = read_nanogpt(directory / f"{name}.nanogpt.bin")
                entry[fmt] = {"tokens": int(len(tokens)), "sha256": digest(tokens)}
            elif fmt == "llmc":
                tokens = read_llmc(directory / f"{name}.llmc.bin")
                entry[fmt] = {"tokens": int(len(tokens)), "sha256": digest(tokens)}
        report[name] = entry
    print(json.dumps(report, sort_keys=True))


if __name__ == "__main__":
    main(sys.argv[1])
