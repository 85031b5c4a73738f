# The two commands of the README: `make run` and `make test`. Each bootstraps .venv itself.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint bench soak clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

run: $(VENV)/.installed
	$(BIN)/pitterm

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy pitterm db
	$(BIN)/lint-imports

test: lint
	$(BIN)/python -m pytest -n 2 --dist loadgroup -m "not slow"

bench: $(VENV)/.installed-test
	$(BIN)/python -m bench.run

# 16 simulated terminals on Postgres for 5 minutes, then every invariant (tests/test_soak.py).
PITTERM_SOAK_SECONDS ?= 300
soak: $(VENV)/.installed-test
	PITTERM_SOAK_SECONDS=$(PITTERM_SOAK_SECONDS) $(BIN)/python -m pytest -s -m slow \
		-p no:cacheprovider tests/test_soak.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
