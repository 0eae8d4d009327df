"""Prints the rows of a proxy benchmark's results.jsonl (one JSON line per configuration,
from the train_step bench binary or torch_step.py) as a table. With PEAK_TFLOPS set (the
device's dense peak for the rows' dtype), adds each row's model FLOPs utilisation."""
import json
import os
import sys

rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
peak = float(os.environ.get("PEAK_TFLOPS", "0"))
header = f"{'impl':<18}{'device':<7}{'preset':<11}{'proxies':>8}{'par':>4}{'tokens/s':>12}{'ms/step':>9}{'GFLOP/s':>9}{'peak RSS MiB':>13}"
print(header + (f"{'MFU':>7}" if peak else ""))
for r in rows:
    line = (f"{r['impl']:<18}{r.get('device', 'cpu'):<7}{r['preset']:<11}{r.get('proxies', 1):>8}"
            f"{r.get('parallel', 1):>4}{r['tokens_per_second']:>12.0f}{r['ms_per_step']:>9.1f}"
            f"{r['gflops']:>9.2f}{r['peak_rss_mib']:>13.0f}")
    if peak:
        line += f"{100 * r['gflops'] / (1000 * peak):>6.1f}%"
    print(line)
