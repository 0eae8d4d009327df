# Reads every tool's result under RESULTS/<input>/ (wall time, peak RSS, flagged rows) and blend's
# output Parquet, and prints one markdown table (also saved as RESULTS/table.md). Usage: compare.py RESULTS
import json
import sys
from pathlib import Path

import common as c

TOOLS = {  # name -> label in the table
    "blend": "blend dedup",
    "rensa": "rensa RMinHash + RMinHashLSH",
    "datasketch": "datasketch MinHash.bulk + MinHashLSH",
    "datatrove": "datatrove 4 MinHash stages (spaCy words; keeps its union-by-size root)",
    "text-dedup": "text-dedup minhash (\\W split; keeps its union-find root)",
}


def read_json(path):
    try:
        value = json.loads(path.read_text().strip().splitlines()[-1])
    except (OSError, ValueError, IndexError):
        return {}
    return value if isinstance(value, dict) else {}


def blend_rows(out_dir, n, position):
    """blend's flagged rows and the rows in a cluster of 2+, by input position."""
    import pyarrow.parquet as pq

    parts = sorted(p for p in out_dir.glob("*.parquet") if not p.name.startswith(("_", ".")))
    if not parts:
        return None
    ids, is_dup, size = [], [], []
    for part in parts:
        t = pq.read_table(part, columns=["id", "is_dup", "dup_cluster_size"])
        ids += t.column("id").to_pylist()
        is_dup += t.column("is_dup").to_pylist()
        size += t.column("dup_cluster_size").to_pylist()
    if len(ids) != n:
        raise SystemExit(f"{out_dir}: blend wrote {len(ids)} rows, the input has {n}")
    rows = [position[i] for i in ids] if position else range(n)  # row order when ids repeat
    return ({r for r, d in zip(rows, is_dup) if d}, {r for r, s in zip(rows, size) if s > 1})


def peer_flagged(tool_dir, ids, position):
    if (tool_dir / "flagged.txt").exists():
        return {int(x) for x in (tool_dir / "flagged.txt").read_text().split()}
    if position is None:
        raise SystemExit(f"{tool_dir}: ids repeat in the input, so flagged ids cannot be placed")
    if (tool_dir / "flagged_ids.txt").exists():
        return {position[i] for i in (tool_dir / "flagged_ids.txt").read_text().splitlines()}
    if (tool_dir / "kept_ids.txt").exists():
        kept = {position[i] for i in (tool_dir / "kept_ids.txt").read_text().splitlines()}
        return set(range(len(ids))) - kept
    return None


def fmt(x, spec):
    return "–" if x is None else format(x, spec)


def table(results):
    lines = ["| input | tool | docs | docs/s | MB/s | sign MB/s | peak RSS MB | flagged | agree | in blend | blend x |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    notes = []
    for inp in sorted(p for p in results.iterdir() if (p / "inputs.txt").exists()):
        inputs = (inp / "inputs.txt").read_text().split()
        ids, text_bytes = [], 0
        for doc_id, text in c.read_docs(inputs):
            ids.append(doc_id)
            text_bytes += len((text or "").encode("utf-8"))
        position = {d: i for i, d in enumerate(ids)}
        if len(position) != len(ids):
            notes.append(f"{inp.name}: ids repeat across the input, rows are compared by position")
            position = None
        mb = text_bytes / 1e6
        notes.append(f"{inp.name}: {len(inputs)} files, {len(ids)} docs, {mb:.1f} MB of text")
        blend = blend_rows(inp / "blend", len(ids), position) if (inp / "blend").is_dir() else None
        blend_wall = None
        if blend is None:
            notes.append(f"{inp.name}: no blend result, so agree / in blend / blend x are empty")
        for tool, label in TOOLS.items():
            status = inp / f"{tool}.status"
            if status.exists():
                lines.append(f"| {inp.name} | {label} | {status.read_text().strip()} |" + " |" * 8)
                continue
            if not (inp / f"{tool}.time").exists():
                continue
            wall, rss_kb = (float(x) for x in (inp / f"{tool}.time").read_text().split()[-2:])
            summary = read_json(inp / f"{tool}.json")
            sign = read_json(inp / f"{tool}.sign.json").get("sign_seconds")
            if tool == "blend":
                if blend is None:
                    continue
                flagged, blend_wall = blend[0], wall
                if summary.get("duplicates") not in (None, len(flagged)):
                    notes.append(f"{inp.name}: blend --json says {summary['duplicates']} duplicates, "
                                 f"its Parquet flags {len(flagged)}")
            else:
                flagged = peer_flagged(inp / tool, ids, position)
                if flagged is None:
                    lines.append(f"| {inp.name} | {label} | no flagged rows written |" + " |" * 8)
                    continue
            agree = inside = ratio = None
            if blend is not None:
                union = flagged | blend[0]
                agree = len(flagged & blend[0]) / len(union) if union else 1.0
                inside = len(flagged & blend[1]) / len(flagged) if flagged else None
                ratio = wall / blend_wall if blend_wall else None
            docs = summary.get("documents", len(ids))
            lines.append(f"| {inp.name} | {label} | {docs} | {docs / wall:,.0f} | {mb / wall:.2f} | "
                         f"{fmt(mb / sign if sign else None, '.2f')} | {rss_kb / 1024:.0f} | {len(flagged)} | "
                         f"{fmt(agree, '.3f')} | {fmt(inside, '.3f')} | {fmt(ratio, '.2f')} |")
    return lines, notes


results = Path(sys.argv[1])
lines, notes = table(results)
legend = ("wall = whole process (read + dedup + write); MB/s = UTF-8 text bytes / wall; sign MB/s = text "
          "bytes / time to compute signatures from ready shingle lists; agree = Jaccard of flagged row "
          "sets with blend's; in blend = share of the tool's flagged rows in a blend cluster of 2+; "
          "blend x = tool wall / blend wall.")
text = "\n".join(notes + ["", *lines, "", legend]) + "\n"
(results / "table.md").write_text(text)
print(text, end="")
