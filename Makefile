# Two commands for a newcomer: `make run` and `make test`. Everything else is a chore.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test console lint bench i18n-extract i18n-update i18n-compile clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

run: $(STAMP) i18n-compile   ## install and start the bot (the console when BOT_TOKEN is unset)
	$(BIN)/python -m bot

test: $(STAMP) i18n-compile  ## install and run lint, the content check and the whole test suite
	$(BIN)/ruff check .
	$(BIN)/python -m bot content check
	$(BIN)/python -m pytest

console: $(STAMP) i18n-compile
	$(BIN)/python -m bot console

bench: $(STAMP) i18n-compile
	$(BIN)/python -m bench

i18n-extract: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k N_ -o locales/messages.pot --no-location --sort-output --project tro-ly-so .

i18n-update: i18n-extract
	$(BIN)/pybabel update -i locales/messages.pot -d locales --no-fuzzy-matching --ignore-obsolete --no-wrap

i18n-compile: $(STAMP)
	$(BIN)/pybabel compile -d locales --statistics

clean:
	rm -rf $(VENV) data
