#!/usr/bin/env bash
# Make this checkout runnable: .venv with pinned Python packages, bun in .tools/.
# Usage: scripts/bootstrap.sh [requirements.txt|requirements-dev.txt]
# Re-running is cheap: each part is skipped while its inputs are unchanged.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
REQUIREMENTS="${1:-requirements.txt}"
BUN_VERSION="1.4.4"

pick_python() {
  for candidate in python3.11 python3.12 python3.13 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then
      echo "$candidate"; return 0
    fi
  done
  echo "Python 3.11 or newer is required (apt-get install python3 python3-venv)" >&2
  return 1
}

if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  "$(pick_python)" -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip
fi

stamp=".venv/.installed-$(basename "$REQUIREMENTS" .txt)"
wanted="$(cat requirements*.txt | sha256sum | cut -c1-16)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  echo "==> installing Python packages from $REQUIREMENTS"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$REQUIREMENTS"
  echo "$wanted" > "$stamp"
fi

if [ ! -x .tools/node_modules/.bin/bun ] || [ "$(.tools/node_modules/.bin/bun --version 2>/dev/null)" != "$BUN_VERSION" ]; then
  echo "==> installing bun $BUN_VERSION into .tools/"
  command -v npm >/dev/null || { echo "npm is required (apt-get install nodejs npm)" >&2; exit 1; }
  npm install --silent --no-audit --no-fund --prefix .tools "bun@$BUN_VERSION"
fi
