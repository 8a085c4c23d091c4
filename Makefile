# vidgate — the two quickstart commands are `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install demo test lint typecheck unit bench clean docs browser benchtools

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,bench,server,postgres,google]'
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/vidgate generate "A lighthouse on a cliff at dawn, waves crashing below, slow aerial orbit" \
		--model sora-2 --duration 10 --aspect-ratio 16:9 --emulator --out demo-output/lighthouse.mp4

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports --no-cache

typecheck: $(STAMP)
	$(BIN)/mypy src

unit: $(STAMP)
	$(BIN)/python -m pytest -q

# The console's real-browser test needs Debian's Chromium at /usr/bin/chromium (Playwright cannot download
# browsers here). Installed when missing and running as root; otherwise stop with what to do.
CHROMIUM ?= /usr/bin/chromium
browser:
	@if [ -x "$(CHROMIUM)" ]; then :; \
	elif [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
		echo "Installing Debian's chromium for the web console test (apt-get)..."; \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >/dev/null \
			|| { echo "error: apt-get could not install chromium; install it by hand: apt-get update && apt-get install -y chromium" >&2; exit 1; }; \
	else \
		echo "error: the web console test needs Chromium at $(CHROMIUM), and this is not root with apt-get to install it." >&2; \
		echo "       Run as root: apt-get update && apt-get install -y chromium  (or set CHROMIUM=/path/to/chromium)" >&2; \
		exit 1; \
	fi

# The benchmarks (and their smoke test in `make test`) compare with curl and load the gateway with wrk:
# Debian's packages, installed when missing and running as root.
benchtools:
	@if command -v curl >/dev/null 2>&1 && command -v wrk >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
		echo "Installing Debian's curl and wrk for the benchmarks (apt-get)..."; \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl wrk; } >/dev/null \
			|| { echo "error: apt-get could not install curl and wrk; install them by hand" >&2; exit 1; }; \
	else \
		echo "error: the benchmarks need curl and wrk; as root: apt-get update && apt-get install -y curl wrk" >&2; \
		exit 1; \
	fi

# `make bench` writes docs/benchmarks.md and docs/benchmarks.json (one entry per floor): several minutes; run it
# on an otherwise idle machine.
bench: $(STAMP) benchtools
	$(BIN)/python -m bench --out docs/benchmarks.md --floors docs/benchmarks.json --json bench-results.json

test: browser benchtools lint typecheck unit

docs: $(STAMP)
	$(BIN)/vidgate docs --write

clean:
	rm -rf $(VENV) demo-output .pytest_cache .mypy_cache .ruff_cache
