# terrabit — the two commands a newcomer needs: `make demo` and `make test`.
# Both set everything up from a fresh machine with Python >= 3.11.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
DEMO   ?= demo-out

.PHONY: demo test lint format install clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "terrabit needs Python >= 3.11; set PYTHON=python3.11"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,segment]'
	touch $(STAMP)

# The main job: a synthetic world -> a published corpus -> a search. The exemplar is a
# 2024 solar farm in India (seed 0); the ten patches most like it in the region are shown.
demo: $(STAMP)
	$(BIN)/terrabit world $(DEMO)/world --overwrite
	$(BIN)/terrabit publish $(DEMO)/world/patches -o $(DEMO)/corpus --codec binary \
	    --keep label,year --overwrite
	$(BIN)/terrabit info $(DEMO)/corpus
	$(BIN)/terrabit search $(DEMO)/corpus --bbox 68,6,98,36 --positive 54970781-2024 \
	    --year 2024 -k 10 -o $(DEMO)/solar-farms.parquet --overwrite

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff check --fix src tests benchmarks
	$(BIN)/ruff format src tests benchmarks

test: $(STAMP) lint
	$(BIN)/pytest -n 2 --doctest-modules src tests

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache .mypy_cache .ruff_cache
