#!/usr/bin/env bash
# Install everything and run the whole test suite:  bash scripts/test.sh [pytest args]
# Needs only Python 3.11+. As root on Debian it also installs the real servers the tests
# start on loopback (Unbound, Knot DNS, PostgreSQL, Chromium); elsewhere those tests skip
# with a printed reason.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[dev]'
bash scripts/system-deps.sh
echo "== ruff"; .venv/bin/ruff check src tests benchmarks
echo "== mypy"; .venv/bin/mypy
echo "== pytest"
set +e
.venv/bin/python -m pytest "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then echo "pytest collected no tests: that is a failure" >&2; exit 1; fi
exit "$rc"
