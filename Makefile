# customerhub: `make run` serves everything on http://127.0.0.1:8000, `make test` runs every test.
# Both install what they need first (uv, the Python dependencies; the tests also a PostgreSQL).
SHELL := /bin/bash
UV := $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
export UV_LINK_MODE ?= copy

.PHONY: bootstrap run test lint unit bench cluster-postgres

bootstrap:
	@command -v uv >/dev/null 2>&1 || test -x $(UV) || python3 -m pip install --quiet --user uv
	@$(UV) sync --frozen --quiet

run: bootstrap
	$(UV) run customerhub run

test: bootstrap lint
	$(UV) run pytest

lint: bootstrap
	$(UV) run ruff check .
	$(UV) run mypy --strict shared/src

unit: bootstrap
	$(UV) run pytest tests/unit -q

bench: bootstrap
	$(UV) run python bench/command_throughput.py
	$(UV) run python bench/append_throughput.py
