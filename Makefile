# Every target is one line; `make test` is what CI runs.
# Dependencies come from requirements.lock.txt (hashed, every transitive package, no index host):
# a fresh clone installs exactly the versions the project was tested with. `make lock` moves them.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCK := requirements.lock.txt
UV_VERSION := 0.13.9
UV := $(BIN)/uv
# pytest-xdist workers for `make unit`/`make check`; WORKERS=0 runs everything in one process.
# --dist loadscope sends each test file to one worker (many files start their servers once, in a
# module-scoped fixture). Three on two CPUs: much of the suite waits on the servers and editors it
# starts, so a third worker fills the waits (whole suite 7.3-7.8 min against 15.8 in one process).
WORKERS ?= 3
# The newest releases the pyproject ranges allow, in a venv of their own (make test-latest).
LATEST_VENV := .venv-latest

.PHONY: run test check lint fmt type unit vscode vsix vscode-e2e inspector conformance acp-client bench mcp lsp acp lock test-latest clean

# uv installs from the lock in seconds and checks every hash; pip only bootstraps uv itself.
$(STAMP): pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check uv==$(UV_VERSION)
	$(UV) pip sync -q --python $(BIN)/python $(LOCK)
	$(UV) pip install -q --python $(BIN)/python --no-deps -e .
	# Bytecode now, once: uv installs none, and where PYTHONDONTWRITEBYTECODE is set (CI runners,
	# containers) every server process the tests start would compile its imports again
	# (an agent import: 3.8 s uncompiled, 1.6 s compiled).
	$(BIN)/python -m compileall -q -j 0 $(VENV)/lib luminamind servers > /dev/null || echo "some files did not compile; they compile on import"
	touch $(STAMP)

run: $(STAMP)
	LUMINAMIND_BANNER=1 $(BIN)/luminamind mcp --http

# The npm installs (independent folders; npm's cache is safe to share) run beside lint and mypy,
# then the tests: most of a fresh clone's time otherwise goes to waiting on one install at a time.
test: $(STAMP)
	$(MAKE) -j 6 --output-sync=target lint type vscode vsix vscode-e2e inspector conformance acp-client && $(MAKE) unit

# The developer's inner loop: no npm, no slow tests.
check: $(STAMP) lint type
	$(BIN)/pytest -q -p no:cacheprovider -n $(WORKERS) --dist loadscope -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/lint-imports --no-cache

fmt: $(STAMP)
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

type: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -q -p no:cacheprovider -n $(WORKERS) --dist loadscope --cov --cov-report=

vscode:
	cd editor-configs/vscode && npm ci --no-audit --no-fund && npm run compile

# The extension's .vsix (what users install, and what the VS Code end-to-end test installs).
vsix: vscode
	cd editor-configs/vscode && npm run package </dev/null

# A real VS Code for tests/e2e/test_vscode.py: Node 24, code-server and puppeteer-core, pinned
# by tests/vscode_e2e's lock files; kept once installed. Never fails the build: what cannot be
# installed is written to tests/vscode_e2e/.unavailable and the test skips with that reason.
vscode-e2e:
	bash tests/vscode_e2e/install.sh

inspector:
	cd tests/mcp_inspector && npm ci --no-audit --no-fund

# The official MCP conformance suite and the Node 22 it needs (an npm package: no other download).
conformance:
	cd tests/mcp_conformance && npm ci --no-audit --no-fund

# A small client on the official ACP TypeScript SDK (pinned, lock file) for the end-to-end test.
acp-client:
	cd tests/acp_client && npm ci --no-audit --no-fund

# Move the lock on purpose: newest versions the pyproject ranges allow, for every supported
# Python and platform, with hashes. Run `make test` (and commit the lock) after.
lock: $(STAMP)
	$(UV) pip compile -q pyproject.toml --extra test --generate-hashes --universal \
	  --python-version 3.11 -o $(LOCK)

# Drift is caught before users meet it: the newest releases, the fast tests.
test-latest:
	test -x $(LATEST_VENV)/bin/python || $(PY) -m venv $(LATEST_VENV)
	$(LATEST_VENV)/bin/python -m pip install -q --disable-pip-version-check uv==$(UV_VERSION)
	$(LATEST_VENV)/bin/uv pip install -q --python $(LATEST_VENV)/bin/python --upgrade --refresh -e '.[test]'
	$(LATEST_VENV)/bin/mypy && $(LATEST_VENV)/bin/pytest -q -p no:cacheprovider -m "not slow"

bench: $(STAMP)
	$(BIN)/python -m bench

mcp: $(STAMP)
	$(BIN)/luminamind mcp

lsp: $(STAMP)
	$(BIN)/luminamind lsp

acp: $(STAMP)
	$(BIN)/luminamind acp

clean:
	rm -rf $(VENV) $(LATEST_VENV) .mypy_cache .ruff_cache .pytest_cache
