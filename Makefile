# The two commands: `make run` serves the app, `make test` runs every test.
# Both bootstrap a fresh machine themselves (see scripts/bootstrap.sh).
.PHONY: run test worker bench lint typecheck clean

run:
	@scripts/run.sh

test:
	@scripts/test.sh

# A run worker on the Redis job queue (set REDIS_URL); start one per core, on any machine.
worker:
	@scripts/worker.sh

lint:
	@. scripts/env.sh && ruff check .

typecheck:
	@. scripts/env.sh && mypy

# Benchmarks (not part of the tests): engine overhead, queue dispatch latency, worker throughput.
bench:

	@. scripts/env.sh && scripts/bootstrap.sh requirements-dev.txt && python bench/engine.py && python bench/ai.py && python bench/cache.py && python bench/analytics.py && python bench/notifications.py && python bench/documents.py && python bench/ui.py

clean:
	rm -rf .web .states .pytest_cache .mypy_cache .ruff_cache
