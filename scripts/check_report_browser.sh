#!/usr/bin/env bash
# Renders blend reports in headless Chromium and fails on any console message or any
# network request the page makes (reports are self-contained: inline CSS and SVG, no
# scripts). A canary page with a script error and a remote image is rendered first, to
# prove this check sees both. Skips, saying so, when no Chromium is installed
# (scripts/prereqs.sh installs Debian's `chromium`).
#
#   bash scripts/check_report_browser.sh REPORT.html [REPORT.html ...]
set -euo pipefail

browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$browser" ]; then
  echo "report browser check: skipped (no chromium on PATH)"
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Prints "<console messages> <page network requests>" for one page.
render() {
  local page dir
  page=$(realpath "$1")
  dir=$(mktemp -d -p "$work")
  timeout 120 "$browser" --headless --no-sandbox --disable-gpu --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$dir/profile" --enable-logging=stderr --v=0 \
    --log-net-log="$dir/net.json" --host-resolver-rules="MAP * ~NOTFOUND" \
    --dump-dom "file://$page" >"$dir/dom.html" 2>"$dir/stderr.txt" || true
  if [ ! -s "$dir/dom.html" ]; then
    echo "report browser check: $browser rendered nothing for $page" >&2
    cat "$dir/stderr.txt" >&2
    exit 1
  fi
  grep ':CONSOLE' "$dir/stderr.txt" >&2 || true
  local console
  console=$(grep -c ':CONSOLE' "$dir/stderr.txt" || true)
  # Requests the page made (its network isolation key is the file:// origin), other than
  # file: and data: URLs; the browser's own background requests have other keys.
  local network
  network=$(python3 - "$dir/net.json" <<'PY'
import json, sys
log = json.load(open(sys.argv[1]))
names = {v: k for k, v in log["constants"]["logEventTypes"].items()}
urls = set()
for event in log["events"]:
    params = event.get("params", {})
    if names.get(event["type"]) != "URL_REQUEST_START_JOB":
        continue
    url = params.get("url", "")
    if "file://" in params.get("network_isolation_key", "") and not url.startswith(("file:", "data:")):
        urls.add(url)
for url in sorted(urls):
    print("request:", url, file=sys.stderr)
print(len(urls))
PY
)
  echo "$console $network"
}

canary="$work/canary.html"
cat >"$canary" <<'HTML'
<!doctype html><html><body><img src="http://example.invalid/x.png">
<script>console.error("canary")</script></body></html>
HTML
read -r console network < <(render "$canary" 2>/dev/null)
if [ "$console" -lt 1 ] || [ "$network" -lt 1 ]; then
  echo "report browser check: the canary page's error and request were not seen ($console console, $network requests); the check is blind" >&2
  exit 1
fi

status=0
for report in "$@"; do
  read -r console network < <(render "$report")
  echo "report browser check: $report: $console console messages, $network network requests"
  if [ "$console" -ne 0 ] || [ "$network" -ne 0 ]; then
    status=1
  fi
done
exit $status
