# vidgate — the two quickstart commands are `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install demo test lint typecheck unit bench clean docs

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/vidgate generate "A lighthouse on a cliff at dawn, waves crashing below, slow aerial orbit" \
		--model sora-2 --duration 10 --aspect-ratio 16:9 --emulator --out demo-output/lighthouse.mp4

lint: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

typecheck: $(STAMP)
	$(BIN)/mypy src

unit: $(STAMP)
	$(BIN)/python -m pytest -q

test: lint typecheck unit

docs: $(STAMP)
	$(BIN)/vidgate docs --write

clean:
	rm -rf $(VENV) demo-output .pytest_cache .mypy_cache .ruff_cache
