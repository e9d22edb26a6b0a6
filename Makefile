# bioSNN: two commands on a fresh machine
#   make run   -> create .venv, install bioSNN, run the whole pipeline at demonstration size
#                 (every protocol, the figure catalogue, the validation report; minutes)
#   make test  -> create .venv if needed, run the test suite (default tier)
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.bioSNN-installed
OUT    ?= results
FIGURES ?= figures
PYTEST_ARGS ?=
BENCH_ARGS ?=
RSTDP_BENCH_ARGS ?=
SWEEP_BENCH_ARGS ?=
NEST_BENCH_ARGS ?=
# pytest-xdist workers for make test/test-all: one per core, at most 4 (each worker holds
# its own Brian2/torch, ~1-2 GB); TEST_WORKERS=0 runs in one process. Whole files go to
# one worker (--dist loadfile), so a module's fixtures are built once.
TEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 1); [ $$n -gt 4 ] && n=4; echo $$n)

.PHONY: venv run paper figures test test-slow test-all bench bench-embedder bench-rstdp bench-sweep bench-nest clean help

help:
	@echo "make run        install into $(VENV); run every protocol (full size where that takes"
	@echo "                at most a minute, quick otherwise), draw every figure into $(FIGURES)/,"
	@echo "                write the validation report; results in $(OUT)/ (biosnn pipeline)"
	@echo "make paper      the publication set: every protocol at full size, figures, report"
	@echo "                (biosnn pipeline --size full; prints its plan first; resumable)"
	@echo "make figures    the full-size figure catalogue only (biosnn figures)"
	@echo "make test       install into $(VENV) if needed and run the default test tier"
	@echo "make test-slow  run only the slow tier;  make test-all: every test"
	@echo "make bench      embedder speed/memory: seed-style snnTorch step loop vs bioSNN"
	@echo "                and R-STDP speed (make bench-rstdp alone; RSTDP_BENCH_ARGS=...)"
	@echo "make bench-sweep  biosnn sweep speed-up: 8 points on 2 Dask workers vs 1 (SWEEP_BENCH_ARGS=...)"
	@echo "make bench-nest   Brunel AI and CUBA networks, NEST 3.10 vs bioSNN (cpp_standalone, cython),"
	@echo "                 N 1000-20000, 1 and 2 threads -> bench-results/nest.json (NEST_BENCH_ARGS=--quick)"

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@echo "bioSNN installed into $(VENV)"
	@touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/biosnn pipeline --size demo --results $(OUT) --figures $(FIGURES)

paper: $(STAMP)
	$(BIN)/biosnn pipeline --size full --results $(OUT) --figures $(FIGURES)

figures: $(STAMP)
	$(BIN)/biosnn figures --out $(FIGURES) --results $(OUT)

test: $(STAMP)
	$(BIN)/python -m pytest -m "not slow" -n $(TEST_WORKERS) --dist loadfile --timeout=1200 --durations=25 $(PYTEST_ARGS)

test-slow: $(STAMP)
	$(BIN)/python -m pytest -m slow --timeout=3600 $(PYTEST_ARGS)

test-all: $(STAMP)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --timeout=3600 $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_embedder.py $(BENCH_ARGS)
	$(BIN)/python benchmarks/rstdp_speed.py $(RSTDP_BENCH_ARGS)

# One meta-training task (5-way 5-shot 15-query, 50 steps): seed-style snnTorch step loop vs
# bioSNN's CSNN, s/task and peak memory, each in its own process (~2 min; BENCH_ARGS=...).
bench-embedder: $(STAMP)
	$(BIN)/python benchmarks/bench_embedder.py $(BENCH_ARGS)

# Speed of rstdp-poisson-10class (100 trials) on Brian2 vs the NumPy reference, plus an
# input-rate sweep (benchmarks/rstdp_speed.py; ~10-20 min, compiles cpp_standalone builds).
bench-rstdp: $(STAMP)
	$(BIN)/python benchmarks/rstdp_speed.py $(RSTDP_BENCH_ARGS)

# Speed-up of `biosnn sweep` (Dask LocalCluster) with 2 worker processes over 1: the same
# 8-point lif-fi-curve sweep twice, wall times, speed-up and efficiency (~2 min here).
bench-sweep: $(STAMP)
	$(BIN)/python benchmarks/sweep_speedup.py $(SWEEP_BENCH_ARGS)

# NEST 3.10 vs bioSNN on the Brunel AI and CUBA networks (benchmarks/bench_nest.py; long:
# cold cpp_standalone builds per size, the largest networks take GBs).
bench-nest: $(STAMP)
	$(BIN)/python benchmarks/bench_nest.py $(NEST_BENCH_ARGS)

clean:
	rm -rf $(OUT) .pytest_cache build *.egg-info
