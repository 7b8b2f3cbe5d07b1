# The two commands of the README: `make demo` (compile + review + apply on the simulator) and `make test`.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
WALLET ?= 0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266
EXAMPLE ?= plans/examples/moonwell-to-aave.yaml

.PHONY: install demo test typecheck bench bench-perf clean

install: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

demo: $(VENV)/.installed
	@mkdir -p build
	@rm -f build/demo-run.json
	$(BIN)/mammon plan $(EXAMPLE) --chain base --wallet $(WALLET) -o build/demo-plan.yaml
	$(BIN)/mammon apply build/demo-plan.yaml --runner sim --state-dir build/state -o build/demo-run.json

test: install
	$(BIN)/pytest

$(VENV)/.typecheck: $(VENV)/.installed
	$(BIN)/pip install -q -e '.[test,typecheck]'
	touch $@

typecheck: $(VENV)/.typecheck
	$(BIN)/mypy mammon

bench: install
	$(BIN)/python bench/gas.py

bench-perf: install
	$(BIN)/python bench/perf.py

clean:
	rm -rf build .mammon .pytest_cache
