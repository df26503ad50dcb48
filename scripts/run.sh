#!/usr/bin/env bash
# `make run`: bootstrap, migrate, serve the production build on one port (default 3000).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
"$ROOT/scripts/bootstrap.sh" requirements.txt
mkdir -p data
echo "==> applying migrations"
alembic upgrade head
if [ -n "${PROMETHEUS_MULTIPROC_DIR:-}" ]; then
  # Multi-process metrics: each start begins from an empty folder (prometheus-client's rule).
  rm -rf "$PROMETHEUS_MULTIPROC_DIR" && mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
fi
PORT="${PORT:-3000}"
echo "==> serving http://localhost:$PORT"
exec reflex run --env prod --frontend-port "$PORT" --backend-port "$PORT" --loglevel warning
