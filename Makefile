# terrabit — the two commands a newcomer needs: `make demo` and `make test`.
# Both set everything up from a fresh machine with Python >= 3.11.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
WEB_STAMP := web/node_modules/.installed-stamp
SYS_STAMP := $(VENV)/.system-stamp
DEMO   ?= demo-out
# Debian packages the tests need: Chromium (driven by Playwright) for the browser tests,
# nginx for real static-host Range reads in the storage tests.
SYSTEM_PACKAGES := chromium nginx-light
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test lint format install clean web

install: $(STAMP) $(WEB_STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "terrabit needs Python >= 3.11; set PYTHON=python3.11"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,segment]'
	touch $(STAMP)

# The browser app's toolchain (TypeScript, vite, vitest, eslint), pinned by the lock file.
$(WEB_STAMP): web/package.json web/package-lock.json
	@command -v npm >/dev/null || { echo "npm (Node.js >= 20) is needed for the browser app: apt-get install nodejs npm"; exit 1; }
	cd web && npm ci --no-audit --no-fund --loglevel=error
	touch $(WEB_STAMP)

# System packages: installed where we can, a clear failure where we cannot.
$(SYS_STAMP): | $(STAMP)
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  { $(SUDO) apt-get install -y --no-install-recommends $$missing >/dev/null 2>&1 || \
	    { $(SUDO) apt-get update >/dev/null && $(SUDO) apt-get install -y --no-install-recommends $$missing >/dev/null; }; } || \
	  { echo "could not install$$missing; the browser tests need them (apt-get install$$missing as root)"; exit 1; }; \
	fi
	touch $(SYS_STAMP)

# Rebuild the packaged app (src/terrabit/web/static) from web/src; commit the result.
web: $(WEB_STAMP)
	cd web && npm run --silent build

# The main job: a synthetic world -> a published corpus -> a search -> the browser app.
# The exemplar is a 2024 solar farm in India (seed 0); the ten patches most like it in the
# region are printed, then `terrabit serve` opens the same corpus in the browser app (with
# that query in the URL) until Ctrl-C. Without a terminal, it prints the command instead.
DEMO_QUERY := \#bbox=68,6,98,36&ids=54970781-2024&year=2024&view=topk&k=10
# precision@10 of the demo search, checked against the world's own labels
define DEMO_PRECISION
import sys, pyarrow.compute as pc, pyarrow.parquet as pq
out = sys.argv[1]
found = pq.read_table(out + "/solar-farms.parquet")
ids = found.filter(pc.equal(found["role"], "result"))["id"].to_pylist()
world = pq.read_table(out + "/world/patches", columns=["id", "label"], filters=[("id", "in", ids)])
hits = world["label"].to_pylist().count("solar_farm")
print(f"precision@10: {hits}/{len(ids)} of the results are solar farms by the world's labels")
endef
export DEMO_PRECISION
demo: $(STAMP)
	$(BIN)/terrabit world $(DEMO)/world --overwrite
	$(BIN)/terrabit publish $(DEMO)/world/patches -o $(DEMO)/corpus --codec binary \
	    --keep label,year --overwrite
	$(BIN)/terrabit info $(DEMO)/corpus
	$(BIN)/terrabit search $(DEMO)/corpus --bbox 68,6,98,36 --positive 54970781-2024 \
	    --year 2024 -k 10 -o $(DEMO)/solar-farms.parquet --overwrite
	@$(BIN)/python -c "$$DEMO_PRECISION" $(DEMO)
	@# the world's AEF tiles (Saint John, NB; two UTM zones, two years) as a second, pixel
	@# corpus: 8x8-pixel (80 m) patches, and the blocks that changed most from 2023 to 2024
	$(BIN)/terrabit publish --tiles $(DEMO)/world/aef/index.parquet -o $(DEMO)/pixels \
	    --patch-px 8 --overwrite
	$(BIN)/terrabit search $(DEMO)/pixels --bbox -66.1,45.232,-65.985,45.317 --view change \
	    -k 5 -o $(DEMO)/pixels-change.parquet --overwrite
	@echo "Browse the pixel corpus: $(BIN)/terrabit serve $(DEMO)/pixels, then open http://127.0.0.1:8000/#bbox=-66.1,45.232,-65.985,45.317&year=2024&k=20 (a year: its blocks are drawn to click)"
	@if [ -t 0 ] && [ -t 1 ]; then \
	  echo "Browse it: http://127.0.0.1:8000/$(DEMO_QUERY)  (Ctrl-C stops the server)"; \
	  $(BIN)/terrabit serve $(DEMO)/corpus --port 8000; \
	else \
	  echo "Browse it: $(BIN)/terrabit serve $(DEMO)/corpus, then open http://127.0.0.1:8000/$(DEMO_QUERY)"; \
	fi

lint: $(STAMP) $(WEB_STAMP)
	$(BIN)/ruff check src tests benchmarks spec web/scripts
	$(BIN)/ruff format --check src tests benchmarks spec web/scripts
	$(BIN)/mypy
	cd web && npx --no-install eslint src tests scripts && npx --no-install tsc --noEmit

format: $(STAMP)
	$(BIN)/ruff check --fix src tests benchmarks
	$(BIN)/ruff format src tests benchmarks

test: $(STAMP) $(WEB_STAMP) $(SYS_STAMP) lint
	cd web && npx --no-install vitest run
	$(BIN)/pytest -n 2 --doctest-modules src tests

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache .mypy_cache .ruff_cache web/node_modules
