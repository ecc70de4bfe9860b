# Horde: `make run` serves image mode on SQLite; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SDK_VENV := .venv-sdk
HORDE_SDK_VERSION := 0.33.3
# horde-sdk needs Python >= 3.12: the first of pyenv's 3.12 builds or python3.12 on the PATH
# that actually runs (a pyenv shim for a version that is not selected does not).
PYTHON312 ?= $(shell for p in $$(ls -d $$(pyenv root 2>/dev/null)/versions/3.12*/bin/python 2>/dev/null | sort -V -r) $$(command -v python3.12 2>/dev/null); do $$p -c 'import sys; sys.exit(sys.version_info[:2] < (3, 12))' 2>/dev/null && echo $$p && break; done)
PYTEST_ARGS ?=

.PHONY: run test install sdk-env bench mutation clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(BIN)/.installed

run: install
	$(BIN)/horde db upgrade
	$(BIN)/horde serve

$(SDK_VENV)/.installed:
	@test -n "$(PYTHON312)" || { echo "horde-sdk needs Python 3.12 (python3.12 or pyenv)"; exit 1; }
	$(PYTHON312) -m venv $(SDK_VENV)
	$(SDK_VENV)/bin/pip install --quiet horde-sdk==$(HORDE_SDK_VERSION)
	touch $@

sdk-env: $(SDK_VENV)/.installed

test: install sdk-env
	$(BIN)/python -m pytest -n 2 --dist loadfile $(PYTEST_ARGS)

bench: install
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python -m bench $(BENCH_ARGS)

# Mutation testing of the money (not part of `make test`; see [tool.mutmut] in pyproject.toml).
mutation: install
	$(BIN)/pip install --quiet -e '.[mutation]'
	rm -rf mutants
	$(BIN)/mutmut run --max-children 2
	$(BIN)/mutmut results --all true > mutation-results.txt
	@echo "mutants by outcome (mutation-results.txt lists each; \`mutmut show NAME\` shows one):"
	@awk -F': ' 'NF == 2 {print $$2}' mutation-results.txt | sort | uniq -c

clean:
	rm -rf $(VENV) $(SDK_VENV) var .pytest_cache mutants mutation-results.txt
