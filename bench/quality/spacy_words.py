"""The words datatrove's English filters see (datatrove's split_into_words(text, "eng"):
spaCy's blank English tokenizer, tokens stripped, empty ones dropped), for checking blend's
English word splitter token by token. Writes one JSON line per document:
{"file", "id", "words": [...]}.

    python spacy_words.py OUT.jsonl IN1.jsonl [IN2.jsonl ...] [--limit N]
"""
import json
import os
import sys

from datatrove.utils.word_tokenizers import load_word_tokenizer

args = [a for a in sys.argv[1:] if not a.startswith("--limit")]
limit = None
if "--limit" in sys.argv:
    limit = int(sys.argv[sys.argv.index("--limit") + 1])
    args.remove(str(limit))
out, inputs = args[0], args[1:]
tokenizer = load_word_tokenizer("eng")
with open(out, "w", encoding="utf-8") as sink:
    for path in inputs:
        with open(path, encoding="utf-8") as source:
            for n, line in enumerate(source):
                if limit is not None and n >= limit:
                    break
                record = json.loads(line)
                words = tokenizer.word_tokenize(record["text"])
                sink.write(json.dumps({"file": os.path.basename(path), "id": str(record["id"]),
                                       "words": words}, ensure_ascii=False) + "\n")
