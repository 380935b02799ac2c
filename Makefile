# Two commands do everything on a fresh clone:
#   make run    the bot (with no BOT_TOKEN: against the built-in local emulator)
#   make test   lint, type-check and the whole test suite (starts its own PostgreSQL)
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: run test lint i18n clean

$(STAMP): pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/python -m bot

test: $(STAMP)
	bash tools/run-tests

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy .

i18n: $(STAMP)
	$(VENV)/bin/python tools/i18n.py update

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
