# The two commands: `make run` serves the app, `make test` runs every test.
# Both bootstrap a fresh machine themselves (see scripts/bootstrap.sh).
.PHONY: run test lint typecheck bench clean

run:
	@scripts/run.sh

test:
	@scripts/test.sh

lint:
	@. scripts/env.sh && ruff check .

typecheck:
	@. scripts/env.sh && mypy

clean:
	rm -rf .web .states .pytest_cache .mypy_cache .ruff_cache
