# Sleuth: `make demo` and `make test` are the contract (see README).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck unit eval bench clean install

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev,export]'
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

eval: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/sleuth eval --suite builtin --json build/eval/results.json --html build/eval/report.html --markdown build/eval/results.md

bench: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python -m evals.bench.import_throughput
	HF_HUB_OFFLINE=1 $(BIN)/python -m evals.knowledge.benchmark
	HF_HUB_OFFLINE=1 $(BIN)/python -m evals.bench.alarm_load

clean:
	rm -rf build .data .mypy_cache .ruff_cache .pytest_cache
