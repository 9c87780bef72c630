# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?= -n 2
# the oldest release of every direct dependency that pyproject.toml allows (make test-compat)
OLDEST := .venv-oldest
# what `make lock` resolves for: this machine's Python and platform
LOCK_TARGET := --python-version 3.11 --python-platform x86_64-unknown-linux-gnu
UV_VERSION  := 0.13.9
# the total line coverage `make test` must reach (measured in-process; see README)
COVERAGE_FLOOR := 89

.PHONY: install run test test-servers test-sdk-setup test-compat check-format lint typecheck schemas lock bench bench-sdk bench-fluent \
	bench-formats bench-scale clean

# Everything comes from the committed lock (exact versions and hashes), the
# project itself last, so what a fresh clone installs is what passed in CI.
# pip is brought to its locked release on its own first: a pip that replaces
# itself in the middle of a larger install can fail on its own lazy imports.
PIP_ONLY = awk '/^pip==/{p=1;print;next} p&&/^ /{print;next} {p=0}'
PIP_INSTALL = -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP_ONLY) requirements.lock > $(VENV)/pip.lock
	$(BIN)/python $(PIP_INSTALL) -r $(VENV)/pip.lock
	$(BIN)/python $(PIP_INSTALL) -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/python -m pip check
	touch $(STAMP)

install: $(STAMP)

# Runs the quickstart connector end to end. Its state lives in a throwaway
# directory, so every `make run` shows a full run; `engine run` itself keeps
# its ledger and skips files it has already processed.
run: $(STAMP)
	rm -rf .engine/quickstart-demo
	ENGINE_STATE_DIR=.engine/quickstart-demo $(BIN)/engine run connectors/quickstart/quickstart.yaml

# One gate, in this order: format, lint, types, the whole suite with its
# coverage floor, then the parser tests on the oldest allowed releases.
test: check-format lint typecheck test-servers test-sdk-setup
	$(BIN)/python -m pytest $(PYTEST_ARGS) --cov=engine --cov-report=term:skip-covered \
		--cov-fail-under=$(COVERAGE_FLOOR)
	$(MAKE) --no-print-directory test-compat

check-format: $(STAMP)
	$(BIN)/ruff format --check engine tests benchmarks

lint: $(STAMP)
	$(BIN)/ruff check engine tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

# Installs what the real-server tests need (OpenSSH sshd, a test user).
test-servers:
	@bash tests/servers/setup.sh

# Installs the public Fluent SDK (exact version and hashes from its committed
# package-lock.json) for the emulator's SDK tests, when it is missing.
SDK_DIR := tests/emulator/sdk
test-sdk-setup: $(SDK_DIR)/node_modules/.package-lock.json

$(SDK_DIR)/node_modules/.package-lock.json: $(SDK_DIR)/package.json $(SDK_DIR)/package-lock.json
	cd $(SDK_DIR) && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error

# The parsers', writers', mapping and spec tests with every direct
# dependency at the oldest release pyproject.toml allows (hostile XML, JSON
# nesting and Parquet limits must not depend on which release is installed).
$(OLDEST)/.installed: pyproject.toml requirements-oldest.lock
	test -x $(OLDEST)/bin/python || $(PYTHON) -m venv $(OLDEST)
	$(PIP_ONLY) requirements-oldest.lock > $(OLDEST)/pip.lock
	$(OLDEST)/bin/python $(PIP_INSTALL) -r $(OLDEST)/pip.lock
	$(OLDEST)/bin/python $(PIP_INSTALL) -r requirements-oldest.lock
	$(OLDEST)/bin/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

test-compat: $(OLDEST)/.installed
	$(OLDEST)/bin/python -m pytest -n 2 -q -p no:cacheprovider tests/parsers tests/writers tests/mapping tests/spec

# Refreshes the locks from pyproject.toml. Pins already in the lock are kept
# unless they no longer satisfy it; `make lock LOCK_ARGS=--upgrade` takes the
# newest releases, `LOCK_ARGS="--upgrade-package lxml"` just one. The image
# lock (what the Dockerfile installs: the runtime extras, no test tools) takes
# its versions from requirements.lock.
lock: $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --target $(VENV)/lock-tool uv==$(UV_VERSION)
	$(VENV)/lock-tool/bin/uv pip compile pyproject.toml --extra dev --group pyproject.toml:bootstrap \
		$(LOCK_TARGET) --generate-hashes --custom-compile-command "make lock" -q -o requirements.lock $(LOCK_ARGS)
	grep -E '^(pip|setuptools|pytest|pytest-xdist|pytest-timeout|hypothesis)==' requirements.lock \
		| sed 's/ \\$$//' > $(VENV)/lock-tools.in
	$(VENV)/lock-tool/bin/uv pip compile pyproject.toml $(VENV)/lock-tools.in --extra all \
		--resolution lowest-direct $(LOCK_TARGET) --generate-hashes --custom-compile-command "make lock" \
		-q -o requirements-oldest.lock
	$(VENV)/lock-tool/bin/uv pip compile pyproject.toml --extra all --extra otel --group pyproject.toml:bootstrap \
		$(LOCK_TARGET) --generate-hashes --custom-compile-command "make lock" -c requirements.lock \
		-q -o requirements-image.lock

schemas: $(STAMP)
	$(BIN)/engine schema --export schemas

# parse + map (CSV → null target) at 100k and 1M rows, then the same CSV through fluent.batch to an emulator process,
# to Parquet through the file target, and the same rows as JSON Lines
bench: $(STAMP)
	$(BIN)/python benchmarks/bench.py
	$(BIN)/python benchmarks/bench.py --mode fluent
	$(BIN)/python benchmarks/bench.py --mode parquet
	$(BIN)/python benchmarks/bench.py --mode jsonl

# the same csv run plus the public Fluent SDK parsing and mapping the 1M-row file, with the ratio
bench-sdk: $(STAMP) test-sdk-setup
	$(BIN)/python benchmarks/bench.py --compare-sdk

bench-fluent: $(STAMP)
	$(BIN)/python benchmarks/bench.py --mode fluent

bench-formats: $(STAMP)
	$(BIN)/python benchmarks/bench_formats.py

# items/s and rows/s with 1, 2 and 4 workers (many small files; one large file read in parts)
bench-scale: $(STAMP)
	$(BIN)/python benchmarks/bench_scale.py

clean:
	rm -rf $(VENV) $(OLDEST) .engine .bench build *.egg-info
