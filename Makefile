# Every target is one line; `make test` is what CI runs.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint fmt type unit vscode inspector bench mcp lsp clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV) && $(BIN)/pip install -q --upgrade pip && $(BIN)/pip install -q -e '.[test]' && touch $(STAMP)

run: $(STAMP)
	$(BIN)/luminamind mcp --http

test: $(STAMP) lint type vscode inspector unit

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

fmt: $(STAMP)
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

type: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -q -p no:cacheprovider

vscode:
	cd editor-configs/vscode && npm ci --no-audit --no-fund && npm run compile

inspector:
	cd tests/mcp_inspector && npm ci --no-audit --no-fund

bench: $(STAMP)
	$(BIN)/python -m bench

mcp: $(STAMP)
	$(BIN)/luminamind mcp

lsp: $(STAMP)
	$(BIN)/luminamind lsp

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
