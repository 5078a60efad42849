#!/usr/bin/env bash
# Prove the README's first command from a fresh clone: clone this repository's HEAD into a
# temporary folder, run the command exactly as the README gives it, and check that the demo
# printed its findings and (when it serves the web UI) that the UI answers.
# Usage: bash scripts/check-readme.sh   (CI runs it after the tests)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
git clone --quiet "$here" "$work/bluelamp"
cd "$work/bluelamp"
# the first ```sh block of the README is the demo command
cmd=$(awk '/^```sh/{f=1;next} /^```/{if(f){exit}} f' README.md)
[ -n "$cmd" ] || { echo "check-readme: no command found in README.md" >&2; exit 1; }
echo "check-readme: running in a fresh clone: $cmd"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export BLUELAMP_WEB__PORT=$port
( eval "$cmd" ) >"$work/demo.log" 2>&1 &
pid=$!
ok=""
for _ in $(seq 1 900); do
  if ! kill -0 "$pid" 2>/dev/null; then
    wait "$pid" && ok=exited || { echo "check-readme: demo failed:" >&2; tail -40 "$work/demo.log" >&2; exit 1; }
    break
  fi
  if grep -q "Serving on http" "$work/demo.log" 2>/dev/null; then
    python3 - "$port" <<'PY' && ok=served
import sys, time, urllib.request
for _ in range(50):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/", timeout=5) as r:
            assert r.status == 200
            sys.exit(0)
    except Exception:
        time.sleep(0.2)
sys.exit(1)
PY
    kill "$pid" 2>/dev/null || true
    break
  fi
  sleep 1
done
[ -n "$ok" ] || { echo "check-readme: the demo neither finished nor served in time" >&2; tail -40 "$work/demo.log" >&2; exit 1; }
grep -qi "finding" "$work/demo.log" || { echo "check-readme: the demo printed no findings" >&2; tail -40 "$work/demo.log" >&2; exit 1; }
echo "check-readme: OK ($ok)"
tail -25 "$work/demo.log"
