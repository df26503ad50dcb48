#!/usr/bin/env bash
# `make run`: bootstrap, migrate, serve the production build on one port (default 3000).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
"$ROOT/scripts/bootstrap.sh" requirements.txt
mkdir -p data
echo "==> applying migrations"
alembic upgrade head
PORT="${PORT:-3000}"
echo "==> serving http://localhost:$PORT"
exec reflex run --env prod --frontend-port "$PORT" --backend-port "$PORT" --loglevel warning
