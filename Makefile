# The two commands a newcomer needs: `make run` and `make test`. Both build .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint bench drill clean

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[test]'
	@touch $(STAMP)

run: $(STAMP)
	APP_ENV=development $(BIN)/flask --app app db upgrade
	$(BIN)/python -m sandbox.demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy app

# The official JS SDK for tests/jssdk (pinned by its package-lock.json); needs Node 20 and npm.
JSSDK := tests/jssdk/node_modules/.package-lock.json
$(JSSDK): tests/jssdk/package.json tests/jssdk/package-lock.json
	npm ci --prefix tests/jssdk --no-audit --no-fund --silent

test: lint $(JSSDK)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

# Production drill (bench/drill.py): PostgreSQL, gunicorn, two workers, the sandbox; faults under load.
# DRILL_SECONDS: load time (default 240); DRILL_REPORT: report path without suffix (default bench/drill-report);
# DRILL_DATABASE_URL: use that server instead of a throwaway cluster (then the database is not restarted).
drill: $(STAMP)
	$(BIN)/python -m bench.drill $(if $(DRILL_SECONDS),--seconds $(DRILL_SECONDS)) \
		$(if $(DRILL_REPORT),--report $(DRILL_REPORT))

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
