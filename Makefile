# Everyday commands. `make demo` and `make test` work on a fresh machine with Python 3.11.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.bench-installed
export DO_NOT_TRACK := 1
export GX_ANALYTICS_ENABLED := false
export DAGSTER_DISABLE_TELEMETRY := 1
export DBT_SEND_ANONYMOUS_USAGE_STATS := false

.PHONY: install demo test lint format dev bench bench-install bench-scale lock lock-bench clean

install: $(STAMP)

# Exact pins from the lock file, then the project itself without resolving anything again.
$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	@# dbt's manifest, parsed for the sample organisation's warehouse (a parse is tied to the profile it saw, so
	@# the demo's first build then re-uses this parse instead of redoing it), with the data tests' SQL compiled:
	@# the daily run runs it after the build (orchestration/dbt/data_tests.py).
	OPMETRICS_WAREHOUSE=$(CURDIR)/data/sample/warehouse.duckdb \
	  $(BIN)/dagster-dbt project prepare-and-package --file orchestration/dbt/project.py
	touch $(STAMP)

demo: install ## serve the sample organisation, run the daily job on it, print Table 1
	$(BIN)/opmetrics demo

# Two workers, each taking whole modules (their fixtures build a warehouse once per module). One core each.
TEST_WORKERS ?= 2
test: install ## the whole test suite (unit, connectors, dbt unit tests, end to end)
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/sqlfluff lint dbt_project

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .
	$(BIN)/sqlfluff fix dbt_project

dev: install ## dagster dev on the sample organisation
	$(BIN)/opmetrics dev

bench: install ## sync speed (loopback, and with 50 ms answers: about 22 s), memory as history grows, what the checks cost, GitHub requests per record (about 12 minutes)
	$(BIN)/python -m benchmarks.incremental
	$(BIN)/python -m benchmarks.incremental --every-source --latency-ms 50
	$(BIN)/python -m benchmarks.memory
	$(BIN)/python -m benchmarks.checks_cost
	$(BIN)/python -m benchmarks.check_overhead
	$(BIN)/python -m benchmarks.github_requests

# The benchmark extra (dlt, psutil) on top of the runtime closure, exact pins from its own lock. The runtime lock
# is a constraint: an extra that wanted to move a runtime pin fails here instead of changing what `make test` runs.
$(BENCH_STAMP): $(STAMP) requirements-bench.lock
	$(BIN)/pip install --quiet --disable-pip-version-check -c requirements.lock -r requirements-bench.lock
	touch $(BENCH_STAMP)

bench-install: $(BENCH_STAMP)

# The 1,000-service preset: 1,000 services, 730 and 182 days (the peak-RSS growth over 4x the history), dlt on the
# same endpoints, the incremental runs. About an hour here (docs/performance.md); a smaller size, e.g.:
#   make bench-scale SCALE_ARGS="--services 100 --days 730"
#   make bench-scale SCALE_ARGS="--services 30 --days 365 --history-multiples 1 4"
SCALE_ARGS ?= --preset 1000
bench-scale: $(BENCH_STAMP) ## the scale benchmark (docs/performance.md); SCALE_ARGS="--services N --days D" for another size
	$(BIN)/python -m benchmarks.scale $(SCALE_ARGS)

lock: ## re-resolve the pins in pyproject.toml and rewrite requirements.lock
	rm -rf .lockenv && $(PYTHON) -m venv .lockenv
	.lockenv/bin/pip install --quiet -e '.[dev]'
	(echo "# Full, exact dependency closure of opmetrics (runtime + dev), for reproducible installs."; \
	 echo "# Regenerate with: make lock   (after changing pyproject.toml)"; \
	 .lockenv/bin/pip freeze --exclude-editable | grep -v '^opmetrics') > requirements.lock
	rm -rf .lockenv

lock-bench: ## re-resolve the bench extra on top of requirements.lock and rewrite requirements-bench.lock
	rm -rf .lockenv-bench && $(PYTHON) -m venv .lockenv-bench
	.lockenv-bench/bin/pip install --quiet -r requirements.lock
	.lockenv-bench/bin/pip install --quiet -c requirements.lock -e '.[bench]'
	(echo "# Exact pins of the bench extra (dlt) beyond requirements.lock, installed with it as constraint (psutil, also in"; \
	 echo "# the dev extra, is pinned there)."; \
	 echo "# Regenerate with: make lock-bench   (after changing the bench extra or requirements.lock)"; \
	 .lockenv-bench/bin/pip freeze --all --exclude-editable | grep -v -e '^opmetrics' -e '^pip==' \
	   | grep -vxFf requirements.lock) > requirements-bench.lock
	rm -rf .lockenv-bench

clean:
	rm -rf $(VENV) data .dagster_home dbt_project/target
