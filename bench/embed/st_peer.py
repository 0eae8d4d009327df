"""sentence-transformers' encode of the documents `cargo bench --bench domains` wrote (JSONL
with a `text` field), on CPU with `threads` torch threads, batch 32, normalized: prints one JSON
line with documents per second (the model is loaded before the clock starts).

    python st_peer.py MODEL_DIR DOCS.jsonl threads
"""
import json
import sys
import time

import torch
from sentence_transformers import SentenceTransformer

model_dir, path, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
torch.set_num_threads(threads)
texts = [json.loads(line)["text"] for line in open(path, encoding="utf-8") if line.strip()]
model = SentenceTransformer(model_dir, device="cpu")
model.encode(texts[:32], batch_size=32)  # warm-up
started = time.perf_counter()
model.encode(texts, batch_size=32, normalize_embeddings=True)
seconds = time.perf_counter() - started
print(json.dumps({"impl": "sentence-transformers", "version": __import__("sentence_transformers").__version__,
                  "torch": torch.__version__, "file": path.rsplit("/", 1)[-1], "docs": len(texts),
                  "threads": threads, "max_seq_length": model.max_seq_length,
                  "seconds": seconds, "docs_per_second": len(texts) / seconds}))
