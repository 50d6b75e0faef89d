VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_WORKERS ?= 2

.PHONY: install run lint test test-sqlite test-postgresql bench fuzz

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml clients/python/pyproject.toml clients/cli/pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]' -e clients/python -e clients/cli
	touch $@

run: install
	$(BIN)/forge init
	$(BIN)/forge serve

lint: install
	$(BIN)/ruff check src tests bench tools clients
	$(BIN)/ruff format --check src tests bench tools clients
	$(BIN)/python tools/api_reference.py --check
	$(BIN)/python tools/config_reference.py --check
	$(BIN)/mypy

test-sqlite: install
	FORGE_TEST_DATABASE=sqlite $(BIN)/pytest -n $(PYTEST_WORKERS)

test-postgresql: install
	FORGE_TEST_DATABASE=postgresql $(BIN)/pytest -n $(PYTEST_WORKERS)

test: lint test-sqlite test-postgresql

# The longer schemathesis campaigns (make test runs 15 examples per operation, and 8 stateful
# scenarios of 8 steps): 300 per operation, 200 scenarios of up to 20 steps. docs/reliability.md.
FUZZ_LONG := FORGE_FUZZ_EXAMPLES=300 FORGE_FUZZ_SCENARIOS=200 FORGE_FUZZ_STEPS=20
fuzz: install
	$(FUZZ_LONG) FORGE_TEST_DATABASE=sqlite $(BIN)/pytest -n 2 tests/fuzz
	$(FUZZ_LONG) FORGE_TEST_DATABASE=postgresql $(BIN)/pytest -n 2 tests/fuzz

bench: install
	$(BIN)/python bench/api_throughput.py
	$(BIN)/python bench/ratelimit_overhead.py
	$(BIN)/python bench/ratelimit_throughput.py
	$(BIN)/python bench/ratelimit_clients.py
	$(BIN)/python bench/key_usage.py
	$(BIN)/python bench/secret_lists.py
	$(BIN)/python bench/secret_writes.py
	$(BIN)/python bench/pg_latency.py
	$(BIN)/python bench/pg_floor.py
	$(BIN)/python bench/purge_job.py
	$(BIN)/python bench/cli_startup.py
	$(BIN)/python bench/load.py
