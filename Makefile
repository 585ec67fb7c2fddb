# Every target creates/reuses .venv and installs what it needs, so a fresh machine needs nothing else.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
export RUNLIFE_PG_URL    ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
export RUNLIFE_MYSQL_URL ?= mysql+pymysql://root@127.0.0.1:3306/test

.PHONY: demo test lint unit bench diagrams dot clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[postgres,mysql,dev]'
	@touch $(STAMP)

# Debian's graphviz gives the `dot` binary that renders SVG/PNG.
dot:
	@command -v dot >/dev/null 2>&1 || { \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    echo "installing graphviz (dot) with apt-get"; \
	    (apt-get install -y -qq graphviz >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq graphviz >/dev/null; }); \
	  else \
	    echo "graphviz's 'dot' is missing: install it (Debian: apt-get install graphviz); DOT and mermaid output still work"; \
	  fi; }

demo: $(STAMP)
	$(BIN)/python examples/demo.py

lint: $(STAMP)
	$(BIN)/mypy
	$(BIN)/ruff check .

unit: $(STAMP) dot
	$(BIN)/pytest -q

test: lint unit

bench: $(STAMP) dot
	$(BIN)/python -m runlife.conformance.bench --out docs/benchmarks.md --with-make-test

diagrams: $(STAMP) dot
	$(BIN)/python -m runlife.conformance.diagrams_build docs/diagrams

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
