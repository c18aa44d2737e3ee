# customerhub: `make run` serves everything on http://127.0.0.1:8000, `make test` runs every test.
# Both install what they need first (uv, the Python dependencies; the tests also a PostgreSQL).
SHELL := /bin/bash
UV := $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
export UV_LINK_MODE ?= copy

.PHONY: bootstrap run token test lint unit bench cluster-postgres cluster cluster-stop stop

bootstrap:
	@command -v uv >/dev/null 2>&1 || test -x $(UV) || python3 -m pip install --quiet --user uv
	@$(UV) sync --frozen --quiet

# The console at / offers its development sign-in (name + role) here only.
run: bootstrap
	CUSTOMERHUB_CONSOLE_DEV_SIGN_IN=$${CUSTOMERHUB_CONSOLE_DEV_SIGN_IN:-true} $(UV) run customerhub run

# A development token on stdout, signed with the secret `make run` uses (same
# CUSTOMERHUB_DATA_DIR / CUSTOMERHUB_JWT_SECRET): `TOKEN=$$(make token ROLES=user SUB=bob)`.
SUB ?= alice
ROLES ?= admin
token: bootstrap
	@$(UV) run customerhub token --sub "$(SUB)" --roles "$(ROLES)"

# Servers the tests had to start (PostgreSQL, Kafka, FerretDB under .local/) are stopped at the
# end; servers that were already running stay up.
test: bootstrap lint
	CUSTOMERHUB_TEST_STOP_SERVERS=1 $(UV) run pytest

lint: bootstrap
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run mypy --strict shared/src services/*/src embedded/src

unit: bootstrap
	$(UV) run pytest tests/unit -q

bench: bootstrap
	$(UV) run python bench/command_throughput.py
	$(UV) run python bench/append_throughput.py

# The local cluster mode: PostgreSQL, Kafka, FerretDB and each service as its own process
# (command :8101, query :8102, equipment :8103, notifications :8104, console :8105, relay,
# projector); state and logs in .local/cluster/
cluster: bootstrap
	bash scripts/cluster.sh start

cluster-stop:
	bash scripts/cluster.sh stop

# Everything this checkout runs: the cluster's services, then PostgreSQL, Kafka, FerretDB, SeaweedFS
# under .local/, whoever started them (a `uv run pytest` run leaves the servers it started up).
stop:
	bash scripts/cluster.sh stop
	bash scripts/kafka.sh stop
	bash scripts/ferretdb.sh stop
	bash scripts/seaweedfs.sh stop
	bash scripts/postgres.sh stop
