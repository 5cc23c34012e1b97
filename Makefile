# Two commands do all set-up: `make demo` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench clean

$(BIN)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "ledgerlink needs Python 3.11 or newer; set PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

demo: $(BIN)/.installed
	$(BIN)/ledgerlink demo

lint: $(BIN)/.installed
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy src
	$(BIN)/lint-imports

test: lint
	$(BIN)/pytest -n auto

bench: $(BIN)/.installed
	$(BIN)/python bench/engine.py
	$(BIN)/python bench/qbo.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache ledgerlink-demo
