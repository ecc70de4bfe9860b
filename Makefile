# Horde: `make run` serves image mode on SQLite; `make test` runs the whole suite.
# Every install takes its versions from requirements/constraints.txt (`make lock` renews it).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SDK_VENV := .venv-sdk
HORDE_SDK_VERSION := 0.33.3
# horde-sdk needs Python >= 3.12: the first of pyenv's 3.12 builds or python3.12 on the PATH
# that actually runs (a pyenv shim for a version that is not selected does not).
PYTHON312 ?= $(shell for p in $$(ls -d $$(pyenv root 2>/dev/null)/versions/3.12*/bin/python 2>/dev/null | sort -V -r) $$(command -v python3.12 2>/dev/null); do $$p -c 'import sys; sys.exit(sys.version_info[:2] < (3, 12))' 2>/dev/null && echo $$p && break; done)
PYTEST_ARGS ?=

CONSTRAINTS := requirements/constraints.txt

.PHONY: run test install sdk-env bench mutation lock clean

$(BIN)/.installed: pyproject.toml $(CONSTRAINTS)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --constraint $(CONSTRAINTS) -e '.[test]'
	touch $@

install: $(BIN)/.installed

# The `horde` command is .venv/bin/horde (or `source .venv/bin/activate`, then `horde`).
run: install
	$(BIN)/horde db upgrade
	@echo "the horde command: $(CURDIR)/$(BIN)/horde (or: source $(BIN)/activate)"
	$(BIN)/horde serve

$(SDK_VENV)/.installed:
	@test -n "$(PYTHON312)" || { echo "horde-sdk needs Python 3.12 (python3.12 or pyenv)"; exit 1; }
	$(PYTHON312) -m venv $(SDK_VENV)
	$(SDK_VENV)/bin/pip install --quiet horde-sdk==$(HORDE_SDK_VERSION)
	touch $@

sdk-env: $(SDK_VENV)/.installed

test: install sdk-env
	$(BIN)/python -m pytest -n 2 --dist loadfile $(PYTEST_ARGS)

# The benchmark needs aiohttp (installed here) and wrk (a Debian package) for `check`.
bench: install
	$(BIN)/pip install --quiet --constraint $(CONSTRAINTS) -e '.[bench]'
	@command -v wrk >/dev/null || { echo "make bench needs wrk: apt-get install wrk (Debian/Ubuntu), brew install wrk (macOS)"; exit 1; }
	$(BIN)/python -m bench $(BENCH_ARGS)

# Mutation testing of the money (not part of `make test`; see [tool.mutmut] in pyproject.toml).
mutation: install
	$(BIN)/pip install --quiet --constraint $(CONSTRAINTS) -e '.[mutation]'
	rm -rf mutants
	$(BIN)/mutmut run --max-children 2
	$(BIN)/mutmut results --all true > mutation-results.txt
	@echo "mutants by outcome (mutation-results.txt lists each; \`mutmut show NAME\` shows one):"
	@awk -F': ' 'NF == 2 {print $$2}' mutation-results.txt | sort | uniq -c

# Renew requirements/constraints.txt: the newest versions pyproject.toml allows, for every
# extra (pip-tools in a virtual environment of its own). Then `make install` and run the tests.
lock:
	test -x .venv-tools/bin/pip-compile || { $(PYTHON) -m venv .venv-tools && .venv-tools/bin/pip install --quiet pip-tools; }
	.venv-tools/bin/pip-compile --quiet --upgrade --extra test --extra bench --extra mutation --strip-extras \
	  --no-emit-index-url --no-emit-find-links --output-file $(CONSTRAINTS) pyproject.toml

clean:
	rm -rf $(VENV) $(SDK_VENV) var .pytest_cache mutants mutation-results.txt
