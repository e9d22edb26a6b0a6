# bioSNN: two commands on a fresh machine
#   make run   -> create .venv, install bioSNN, run the default protocol set (figures in each run folder)
#   make test  -> create .venv if needed, run the test suite (default tier, ~15 min at most here)
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.bioSNN-installed
OUT    ?= results
# The default protocol set run by `make run` (full size).
RUN_PROTOCOLS ?= lif-fi-curve izhikevich-patterns
PYTEST_ARGS ?=

.PHONY: venv run test test-slow test-all clean help

help:
	@echo "make run        install into $(VENV) and run: $(RUN_PROTOCOLS) (results in $(OUT)/)"
	@echo "make test       install into $(VENV) if needed and run the default test tier"
	@echo "make test-slow  run only the slow tier;  make test-all: every test"

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	@set -e; for p in $(RUN_PROTOCOLS); do \
		echo "== biosnn run $$p --out $(OUT)"; \
		$(BIN)/biosnn run $$p --out $(OUT); \
	done

test: $(STAMP)
	$(BIN)/python -m pytest -m "not slow" --timeout=1200 $(PYTEST_ARGS)

test-slow: $(STAMP)
	$(BIN)/python -m pytest -m slow --timeout=3600 $(PYTEST_ARGS)

test-all: $(STAMP)
	$(BIN)/python -m pytest --timeout=3600 $(PYTEST_ARGS)

clean:
	rm -rf $(OUT) .pytest_cache build *.egg-info
