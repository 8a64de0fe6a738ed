# Two commands on a fresh machine: `make demo` and `make test`. Each sets up what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8765
EMULATOR_KEY := demo-key
# Test processes: most tests wait on servers and kernels, so three keep two cores busy.
# A notebook's cells stay in order in one process (--dist loadfile).
TEST_PROCESSES ?= 3
LINTED := weshop_nb tests benchmarks $(wildcard docs/*.py)
# JupyterLab refuses to start as root unless told; containers and CI machines run as root.
LAB := $(BIN)/jupyter lab --ip=127.0.0.1 --notebook-dir=notebooks $(if $(filter 0,$(shell id -u)),--allow-root)

.PHONY: demo test lint unit browser postgres cli notebooks refresh-notebooks bench emulator clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Stamp files: reinstall only when pyproject.toml changes.
$(VENV)/.test-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,postgres]'
	touch $@

$(VENV)/.demo-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[demo]'
	touch $@

lint: $(VENV)/.test-installed
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)
	$(BIN)/lint-imports

# The browser test needs Debian's Chromium; as root (CI, containers) it is installed here.
# Elsewhere the test says it is skipped and why.
browser:
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ]; then \
		echo "Installing Debian's chromium for the browser test"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	fi

# The history tests run on SQLite and on a real PostgreSQL server, which they start themselves
# (initdb into a temporary folder) with Debian's binaries; as root they are installed here.
# Elsewhere those tests say they are skipped and why.
postgres:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		echo "Installing Debian's postgresql for the shared-history tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	fi

# WeShop's official CLI (npm weshop-cli, version pinned in tests/official_cli.py) into the
# git-ignored .cache/weshop-cli; its test runs it against the emulator. Without node/npm
# this says so and the test is skipped with that reason.
cli: $(VENV)/.test-installed
	$(BIN)/python -m tests.official_cli

unit: $(VENV)/.test-installed browser postgres cli
	$(BIN)/python -m pytest -q -n $(TEST_PROCESSES) tests

notebooks: $(VENV)/.test-installed
	env -u WESHOP_API_KEY -u WESHOP_BASE_URL -u WESHOP_API WESHOP_NB_HOME=$$(mktemp -d) $(BIN)/python -m pytest -q -p no:cacheprovider -n $(TEST_PROCESSES) --dist loadfile \
		--nbval notebooks --nbval-sanitize-with notebooks/sanitize.cfg

test: lint unit notebooks

# JupyterLab on the tutorials. Without WESHOP_API_KEY, an emulator runs beside it on
# 127.0.0.1:$(PORT) and the notebooks talk to it; with a key, they talk to the service.
demo: $(VENV)/.demo-installed
	@if [ -n "$$WESHOP_API_KEY" ]; then \
		echo "Using the WeShop service with your WESHOP_API_KEY."; \
		exec $(LAB); \
	else \
		$(BIN)/python -m weshop_nb.emulator --port $(PORT) --api-key $(EMULATOR_KEY) & emu=$$!; \
		trap 'kill $$emu 2>/dev/null' EXIT INT TERM; \
		echo "No WESHOP_API_KEY: the notebooks use the offline emulator at http://127.0.0.1:$(PORT)."; \
		WESHOP_API_KEY=$(EMULATOR_KEY) WESHOP_BASE_URL=http://127.0.0.1:$(PORT) \
			$(LAB); \
	fi

# Re-run the tutorials against the emulator and save their outputs in place.
# Each in a home of its own: a tutorial's saved comparison shows its own runs, not the others'
# (whose pictures went with their kernels' emulators).
refresh-notebooks: $(VENV)/.demo-installed
	cd notebooks && for notebook in *.ipynb; do \
		env -u WESHOP_API_KEY -u WESHOP_BASE_URL -u WESHOP_API WESHOP_NB_HOME=$$(mktemp -d) ../$(BIN)/jupyter nbconvert \
			--to notebook --execute --inplace $$notebook || exit 1; \
	done

# Measurements, not tests: each script prints JSON lines (see benchmarks/RESULTS.md).
BENCHMARKS := load_ext_time sweep_speed catalogue_scale kernel_latency client_overhead notebook_weight picture_quality thumbnails emulator_memory emulator_pictures
bench: $(VENV)/.test-installed
	@cd benchmarks && for script in $(BENCHMARKS); do \
		env -u WESHOP_API_KEY -u WESHOP_BASE_URL -u WESHOP_API WESHOP_NB_HOME=$$(mktemp -d) ../$(BIN)/python $$script.py || exit 1; \
	done; \
	env WESHOP_NB_HOME=$$(mktemp -d) ../$(BIN)/python history_scale.py 10000 100000; \
	env WESHOP_NB_HOME=$$(mktemp -d) ../$(BIN)/python history_scale.py --postgres 10000 100000 \
		|| echo "history_scale.py on PostgreSQL not run (make postgres installs Debian's server as root)"

emulator: $(VENV)/.test-installed
	$(BIN)/python -m weshop_nb.emulator --port $(PORT) --api-key $(EMULATOR_KEY)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .cache
