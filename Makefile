# Quickstart: `make demo` and `make test`. Both build .venv on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test browser test-pythons lint typecheck bench soak fuzz mutate clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m lambdaops.demo $(ARGS)

test: $(STAMP) browser
	$(BIN)/python -m pytest

# Debian's chromium, for the browser test of `lambdaops report --html` (tests/test_report_html.py):
# installed with apt-get once (about a minute), then a PATH lookup. Without root (or sudo -n) and
# apt-get, or when the install fails, the run goes on and that test skips, saying why.
CHROMIUM ?= chromium
browser:
	@command -v $(CHROMIUM) >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then sudo=; else sudo="sudo -n"; fi; \
	  if command -v apt-get >/dev/null 2>&1 && { [ -z "$$sudo" ] || sudo -n true 2>/dev/null; }; then \
	    echo "installing $(CHROMIUM) with apt-get for tests/test_report_html.py"; \
	    { $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	      $$sudo apt-get install -y -qq $(CHROMIUM) >/dev/null; } || \
	      echo "make: could not install $(CHROMIUM): the HTML report's browser test will skip" >&2; \
	  else \
	    echo "make: no $(CHROMIUM), and no apt-get as root to install it: the browser test will skip" >&2; \
	  fi; }

# Every Lambda Python runtime: `make test-3.13` runs the suite in .venv-3.13, built from
# pyenv's 3.13 (else python3.13 on PATH); a missing interpreter fails and says so.
LAMBDA_PYTHONS := 3.10 3.11 3.12 3.13
PYENV_ROOT ?= $(HOME)/.pyenv
python_for = $(or $(lastword $(sort $(wildcard $(PYENV_ROOT)/versions/$(1).*/bin/python$(1)))),$\
	$(shell command -v python$(1) 2>/dev/null))

test-pythons: $(addprefix test-,$(LAMBDA_PYTHONS))

test-%:
	@test -n "$(call python_for,$*)" || \
		{ echo "make test-$*: no Python $* (pyenv install $*, or put python$* on PATH)" >&2; exit 1; }
	@$(call python_for,$*) --version
	$(MAKE) test PYTHON=$(call python_for,$*) VENV=.venv-$*

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

# Mutation testing of the core (hours; not in CI). mutmut runs in a throwaway worktree of
# HEAD, so the checkout is never rewritten; survivors are explained in docs/mutation.md.
MUTATE_DIR ?= /tmp/lambdaops-mutate
mutate:
	rm -rf $(MUTATE_DIR) && git worktree prune
	git worktree add --detach $(MUTATE_DIR) HEAD
	cd $(MUTATE_DIR) && $(PYTHON) -m venv .venv && .venv/bin/python -m pip install -q -e '.[mutate]'
	cd $(MUTATE_DIR) && .venv/bin/mutmut run $(ARGS); .venv/bin/mutmut results > mutants.txt
	@echo "surviving mutants: $(MUTATE_DIR)/mutants.txt (mutmut show NAME there)"

clean:
	rm -rf $(VENV) .venv-3.* build *.egg-info .pytest_cache .mypy_cache .ruff_cache
