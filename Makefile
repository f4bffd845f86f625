# Sleuth: `make demo` and `make test` are the contract (see README).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-scale test-wheel lint typecheck unit eval eval-real results-table bench clean install

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev,export,scale]'
	HF_HUB_OFFLINE=1 $(BIN)/python -m knowledge.embeddings
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python -m agent.demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy agent mcp_server knowledge evals

unit: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/pytest

test: lint typecheck unit

# Celery over the machine's Redis (127.0.0.1:6379), jobs and checkpoints in its PostgreSQL (:5432); the tests skip,
# saying why, when either is absent. test_scale.py is issue 21's run: 2 intakes, 3 workers, 1,000 alarms, a SIGKILL (minutes).
test-scale: $(STAMP)
	SLEUTH_SCALE_TEST=1 HF_HUB_OFFLINE=1 $(BIN)/pytest tests/agent/service/test_dispatch.py tests/agent/test_checkpoints_postgres.py \
		tests/agent/service/test_job_store_contract.py tests/agent/service/test_pgstore.py tests/agent/service/test_scale.py \
		-p no:cacheprovider -rA -q

# The wheel as a user installs it: built, installed into a fresh venv without the export extra,
# then driven from there (knowledge search, every MCP tool, 20 early closes, the MCP Inspector CLI).
# Takes a few minutes (the fresh install), so it is apart from `make test`; .ci/run runs both.
WHEEL_VENV := build/wheel-venv
test-wheel: $(STAMP)
	rm -rf build/wheel $(WHEEL_VENV)
	$(BIN)/python -m pip wheel --quiet --disable-pip-version-check --no-deps --wheel-dir build/wheel .
	$(PYTHON) -m venv $(WHEEL_VENV)
	$(WHEEL_VENV)/bin/python -m pip install --quiet --disable-pip-version-check build/wheel/sleuth-*.whl
	SLEUTH_WHEEL_VENV=$(WHEEL_VENV) HF_HUB_OFFLINE=1 $(BIN)/pytest tests/packaging -p no:cacheprovider -rA -q

eval: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/sleuth eval --suite builtin --json build/eval/results.json --html build/eval/report.html --markdown build/eval/results.md

# The real dev set (56 NEZHA OnlineBoutique incidents, see ../shared/datasets/README.md): unpacked
# once into build/datasets, scored by sleuth only, then gated against evals/real_floor.json.
REAL_TAR ?= ../shared/datasets/nezha-ob.tar.xz
REAL_DIR := build/datasets/nezha-ob
$(REAL_DIR)/labels.json: $(REAL_TAR)
	mkdir -p build/datasets
	tar -xJf $(REAL_TAR) -C build/datasets
	@touch $@

eval-real: $(STAMP) $(REAL_DIR)/labels.json
	mkdir -p build/eval
	HF_HUB_OFFLINE=1 $(BIN)/sleuth eval --suite $(REAL_DIR) --no-baselines --json build/eval/real.json --html build/eval/real.html --markdown build/eval/real.md
	$(BIN)/python -m evals.real_gate build/eval/real.json --markdown build/eval/real-breakdown.md

# README results table from the saved runs (make eval, make eval-real first).
results-table: $(STAMP)
	$(BIN)/python -m evals.results_table

bench: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python -m evals.bench.import_throughput
	HF_HUB_OFFLINE=1 $(BIN)/python -m evals.knowledge.benchmark
	HF_HUB_OFFLINE=1 $(BIN)/python -m evals.bench.alarm_load
	HF_HUB_OFFLINE=1 $(BIN)/python -m evals.bench.intake_latency
	HF_HUB_OFFLINE=1 $(BIN)/python -m evals.bench.planted_secrets
	HF_HUB_OFFLINE=1 $(BIN)/python -m evals.bench.worker_throughput

clean:
	rm -rf build .data .mypy_cache .ruff_cache .pytest_cache
