#!/usr/bin/env bash
# `make worker`: a run worker on the Redis job queue (needs REDIS_URL; start as many as you like).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
"$ROOT/scripts/bootstrap.sh" requirements.txt
exec python -m services.workflows.worker
