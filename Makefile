# Quickstart: `make demo` and `make test`. Both build .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck bench soak fuzz clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m lambdaops.demo $(ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check lambdaops tests benchmarks examples
	$(BIN)/ruff format --check lambdaops tests benchmarks examples

typecheck: $(STAMP)
	$(BIN)/mypy lambdaops

$(VENV)/.bench: $(STAMP)
	$(BIN)/python -m pip install -q -e '.[bench]'
	@touch $(VENV)/.bench

bench: $(VENV)/.bench
	$(BIN)/python benchmarks/run.py $(if $(QUICK),--quick,)

soak: $(STAMP)
	$(BIN)/python benchmarks/soak.py --invocations 1000000 --json docs/soak.json

fuzz: $(STAMP)
	LAMBDAOPS_FUZZ_EXAMPLES=100000 $(BIN)/python -m pytest tests/test_fuzz.py -q -p no:randomly

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
