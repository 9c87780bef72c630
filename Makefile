# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?= -n 2

.PHONY: install run test test-servers lint schemas bench bench-fluent bench-formats clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Runs the quickstart connector end to end. Its state lives in a throwaway
# directory, so every `make run` shows a full run; `engine run` itself keeps
# its ledger and skips files it has already processed.
run: $(STAMP)
	rm -rf .engine/quickstart-demo
	ENGINE_STATE_DIR=.engine/quickstart-demo $(BIN)/engine run connectors/quickstart/quickstart.yaml

# Installs what the real-server tests need (OpenSSH sshd, a test user), then runs everything.
test: $(STAMP) test-servers
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-servers:
	@bash tests/servers/setup.sh

lint: $(STAMP)
	$(BIN)/ruff check engine tests benchmarks
	$(BIN)/mypy

schemas: $(STAMP)
	$(BIN)/engine schema --export schemas

# parse + map (CSV → null target) at 100k and 1M rows, then the same CSV through fluent.batch to an emulator process
bench: $(STAMP)
	$(BIN)/python benchmarks/bench.py
	$(BIN)/python benchmarks/bench.py --mode fluent

bench-fluent: $(STAMP)
	$(BIN)/python benchmarks/bench.py --mode fluent

bench-formats: $(STAMP)
	$(BIN)/python benchmarks/bench_formats.py

clean:
	rm -rf $(VENV) .engine .bench build *.egg-info
