# text-dedup peer, untimed steps around its timed CLI: `prep OUT INPUT...` writes one (id, text)
# Parquet in input order for it to load; `collect OUT` turns the rows it kept into kept_ids.txt.
import sys
from pathlib import Path

import common as c

mode, out = sys.argv[1], Path(sys.argv[2])
if mode == "prep":  # the shared corpora mix schemas, which datasets' JSON loader refuses to concat
    import pyarrow as pa
    import pyarrow.parquet as pq

    ids, texts = zip(*c.read_docs(sys.argv[3:]))
    out.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"id": list(ids), "text": list(texts)}), out / "textdedup-input.parquet")
elif mode == "collect":
    from datasets import load_from_disk

    kept = load_from_disk(str(out / "textdedup-kept"))["id"]
    (out / "kept_ids.txt").write_text("".join(f"{i}\n" for i in kept))
    print(len(kept))
