# The two commands of a fresh machine (README.md):  make demo   and   make test
VENV   ?= .venv
PYTHON ?= python3
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test lint bench

# One-time install into .venv.  llama-cpp-python compiles from source (about 7 minutes on 2 cores).
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) $(BIN)/python -m pip install -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The main job on the embedded defaults: three ORCH sub-agents of the local model propose improvements.
demo: $(STAMP)
	$(BIN)/phoenix propose "a command-line todo app written in Python" -n 3

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

bench: $(STAMP)
	$(BIN)/python bench/propose.py
