# Set-up is two commands: `make demo` and `make test`. Both install what they need
# into .venv from the pinned, hashed lock files (requirements.lock, and the installer's own,
# requirements-installer.lock) and nothing else.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
LOCKS  := requirements.lock requirements-installer.lock pyproject.toml
STAMP  := $(VENV)/.installed-$(shell cat $(LOCKS) | cksum | cut -d' ' -f1)
UV     := $(BIN)/uv pip install --python $(BIN)/python --quiet --compile-bytecode

.PHONY: install bytecode browser softhsm demo test lint typecheck pytest pytest-suite pytest-api bench lock clean

install: $(STAMP) bytecode

# hanoinet's own modules compiled too (the editable install leaves them as source): with
# PYTHONDONTWRITEBYTECODE set, every command and every server a test starts would compile
# what it imports again, a tenth of a second for `hanoinet check`. Run on every make, as
# sources change; files already compiled are skipped.
bytecode: $(STAMP)
	@$(BIN)/python -m compileall -q -j0 src

# uv installs the lock: it downloads in parallel and compiles the bytecode on both cores,
# 30-36 s on a fresh machine where pip took 90. Compiled ahead, because these machines set
# PYTHONDONTWRITEBYTECODE: every process would compile what it imports again. uv checks every
# hash as pip did, and builds the package with the lock's hatchling, not a download of its own.
$(STAMP): $(LOCKS)
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "hanoinet needs Python 3.11 or newer; found " + sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-installer.lock
	$(UV) --require-hashes -r requirements.lock
	$(UV) --no-deps --no-build-isolation -e .
	rm -f $(VENV)/.installed-*
	touch $@

# `make demo KEEP=1` keeps the demo's folder (keys, logs, databases) after it ends.
demo: install
	@scripts/ensure-fonts
	@$(BIN)/python -m hanoinet.demo $(if $(KEEP),--keep)

# The checks run side by side: the suite's two workers leave a core idle a third of the
# time, waiting on browsers, sockets and fsync, and ruff, mypy and the API fuzzing fill it.
# Their output is not held back (the suite's progress shows as it goes); ruff and mypy say
# their few lines within the first half minute, the API fuzzing within two. make fails if
# any of them fails.
test: install browser softhsm
	@$(MAKE) --no-print-directory --jobs=4 lint typecheck pytest-suite pytest-api

browser:
	@scripts/ensure-chromium

# SoftHSM2, the PKCS#11 module the tests of keys in a hardware security module use.
softhsm:
	@scripts/ensure-softhsm

lint: install
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

typecheck: install
	$(BIN)/mypy

# In CI PostgreSQL must be there: its tests fail instead of skipping (tests/conftest.py).
# Two workers (pytest-xdist), one test file each at a time: the machines have two cores, and
# much of the suite waits on subprocesses, sockets and fsync rather than computing. The
# schemathesis tests run in a process of their own (beside the suite under `make test`):
# under xdist its one test per API operation collapses into a single item. --durations=25
# keeps the slowest tests in sight (issue 22).
OPENAPI_TESTS = tests/web/test_openapi.py
PYTEST = HANOINET_REQUIRE_POSTGRES=$(if $(CI),1,0) $(BIN)/pytest
pytest: pytest-suite pytest-api

pytest-suite: install
	$(PYTEST) -q -n 2 --dist loadfile --durations=25 --ignore $(OPENAPI_TESTS)

pytest-api: install
	$(PYTEST) -q -p no:cacheprovider $(OPENAPI_TESTS)

bench: install
	$(BIN)/hanoinet bench treaty
	$(BIN)/hanoinet bench check
	$(BIN)/hanoinet bench check-files
	$(BIN)/hanoinet bench cases
	$(BIN)/hanoinet bench exchange
	$(BIN)/hanoinet bench web
	$(BIN)/hanoinet bench evidence
	$(BIN)/hanoinet bench documents
	$(BIN)/hanoinet bench stats
	$(BIN)/hanoinet bench startup
	$(BIN)/hanoinet bench door

# Regenerate the locks after changing dependencies in pyproject.toml (with the uv of .venv).
lock: install
	$(BIN)/uv pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.11 --no-header -o requirements.lock
	echo "uv==$$($(BIN)/uv --version | cut -d' ' -f2)" | $(BIN)/uv pip compile - --generate-hashes --python-version 3.11 --no-header --universal -q -o requirements-installer.lock

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis
