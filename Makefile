# Three commands, each setting up .venv first (idempotent):
#   make demo   run the backtest report notebook on bundled data (reports/)
#   make test   lint, type-check, the test suite and every notebook in smoke mode
#   make lab    JupyterLab on notebooks/ with the `quantlab` kernel, on 127.0.0.1 only
#               (LAB_PORT=8888 by default; LAB_ARGS="--no-browser" for a remote shell)
# Set-up also warms numba's on-disk cache (python -m quantlab._warm), so first calls are fast.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.quantlab-installed
LAB_PORT ?= 8888
LAB_ARGS ?=

.PHONY: setup demo test lint notebooks bench browser postgres prometheus lab warm clean clean-cache

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/pip || { rm -rf $(VENV); $(PYTHON) -m venv $(VENV); }  # a half-built venv (no pip) is rebuilt
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m ipykernel install --sys-prefix --name quantlab --display-name "Python (quantlab)" >/dev/null
	$(BIN)/python -m quantlab._warm --quiet
	@touch $(STAMP)

# compile the main numba kernels into the on-disk cache again (after editing kernels)
warm: setup
	$(BIN)/python -m quantlab._warm

demo: setup
	$(BIN)/quantlab demo

# interactive research: the notebooks open with the `quantlab` kernel (their metadata names
# it; new notebooks default to it); the server listens on the loopback interface only
lab: setup
	$(BIN)/jupyter lab --ServerApp.ip=127.0.0.1 --ServerApp.port=$(LAB_PORT) \
		--ServerApp.root_dir=notebooks --MappingKernelManager.default_kernel_name=quantlab \
		$(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

lint: setup
	$(BIN)/ruff check quantlab tests benchmarks scripts
	$(BIN)/mypy quantlab

test: lint
	$(BIN)/python -m pytest
	QUANTLAB_SMOKE=1 $(BIN)/python -m pytest --nbval-lax --nbval-kernel-name quantlab -p no:cacheprovider notebooks/

# execute every notebook in smoke mode (also part of `make test`)
notebooks: setup
	QUANTLAB_SMOKE=1 $(BIN)/python -m pytest --nbval-lax --nbval-kernel-name quantlab -p no:cacheprovider notebooks/

bench: setup
	$(BIN)/python benchmarks/indicators.py
	$(BIN)/python benchmarks/backtest.py
	$(BIN)/python benchmarks/sweep_kernel.py
	$(BIN)/python benchmarks/simulator.py
	$(BIN)/python benchmarks/account_step.py
	$(BIN)/python benchmarks/report.py

# Debian's PostgreSQL for the shared-Optuna-study test (a fixture starts it on 127.0.0.1)
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq postgresql >/dev/null; } || echo "postgresql not installed: the PostgreSQL test will be skipped"

# Debian's prometheus for the live metrics scrape test (needs root; skipped otherwise, saying so)
prometheus:
	@command -v prometheus >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq --no-install-recommends prometheus >/dev/null; } || echo "prometheus not installed: the Prometheus scrape test will be skipped"

# Debian's chromium for the browser-marked tests (needs root; skipped tests say so otherwise).
browser:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; } || echo "chromium not installed: browser tests will be skipped"

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
	find quantlab -name "*.nbi" -delete -o -name "*.nbc" -delete

# numba's cache does not notice edits in a *called* kernel's module: clear it after such edits
clean-cache:
	find quantlab -name '*.nbi' -delete -o -name '*.nbc' -delete
