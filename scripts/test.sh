#!/usr/bin/env bash
# `make test`: bootstrap, lint, then every test (unit, API, browser). Extra args go to pytest.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
"$ROOT/scripts/bootstrap.sh" requirements-dev.txt
echo "==> ruff check"
ruff check .
echo "==> mypy"
mypy
echo "==> pytest"
exec pytest "$@"
