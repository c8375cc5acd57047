# The two commands a newcomer needs: `make run` and `make test`. Both build .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run reset screenshots test lint bench drill clean messages

# `make run`'s ports (each must be free; a taken one stops the start naming its variable) and the sandbox's
# state file (the portal, its activities and the installation survive a restart; `make reset` starts clean).
APP_PORT ?= 5000
PORTAL_PORT ?= 8701
OAUTH_PORT ?= 8700
SANDBOX_STATE ?= instance/sandbox-state.pickle
DEMO := $(BIN)/python -m sandbox.demo --app-port $(APP_PORT) --portal-port $(PORTAL_PORT) \
	--oauth-port $(OAUTH_PORT) --state $(SANDBOX_STATE)

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[test]'
	@touch $(STAMP)

# The Procfile's release, web and worker next to the sandbox portal (sandbox/demo.py); Ctrl-C stops all.
run: $(STAMP)
	@$(DEMO)

# Forget the sandbox's portal and the demo's database (not the generated secrets), then run.
reset: $(STAMP)
	@rm -f $(SANDBOX_STATE) instance/timeline_bridge.sqlite3 instance/timeline_bridge.sqlite3-wal \
		instance/timeline_bridge.sqlite3-shm instance/timeline_bridge.sqlite3.inbox-lock
	@echo "make reset: removed $(SANDBOX_STATE) and instance/timeline_bridge.sqlite3; starting with a new portal"
	@$(DEMO) --fresh

# Refresh the README's screenshots (docs/screenshots/) from the browser tests that walk the demo and every page
# (docs/screenshots/pages/: en and ru, administrator and ordinary user), each checked as a moderator would.
screenshots: $(STAMP) $(AXE)
	SCREENSHOTS=docs/screenshots $(BIN)/python -m pytest tests/test_demo_browser.py tests/test_pages_browser.py \
		-q -p no:randomly

# Extract the msgids (babel.cfg) into app/i18n/messages.pot, update every catalog, compile the .mo files
# (committed, so `make run` needs no build step). New msgids arrive untranslated: tests/test_i18n.py fails
# until each catalog has them.
I18N := app/i18n/locales
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k N_ -k NP_:1,2 -k C_:1c,2 --no-location --sort-output \
		--omit-header -o app/i18n/messages.pot .
	$(BIN)/pybabel update -i app/i18n/messages.pot -d $(I18N) --no-fuzzy-matching --ignore-obsolete --ignore-pot-creation-date
	$(BIN)/pybabel compile -d $(I18N) --statistics

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy app

# The official JS SDK for tests/jssdk (pinned by its package-lock.json); needs Node 20 and npm.
JSSDK := tests/jssdk/node_modules/.package-lock.json
$(JSSDK): tests/jssdk/package.json tests/jssdk/package-lock.json
	npm ci --prefix tests/jssdk --no-audit --no-fund --silent

# axe-core for the browser tests' moderator checks (tests/browser.py), pinned by tests/axe/package-lock.json.
AXE := tests/axe/node_modules/.package-lock.json
$(AXE): tests/axe/package.json tests/axe/package-lock.json
	npm ci --prefix tests/axe --no-audit --no-fund --silent

test: lint $(JSSDK) $(AXE)
	$(BIN)/python -m pytest

# bench/run_all.py: client, /events (needs wrk: apt-get install -y wrk) and page benches, one after another.
bench: $(STAMP)
	$(BIN)/python -m bench.run_all

# Production drill (bench/drill.py): PostgreSQL, gunicorn, two workers, the sandbox; faults under load.
# DRILL_SECONDS: load time (default 240); DRILL_REPORT: report path without suffix (default bench/drill-report);
# DRILL_DATABASE_URL: use that server instead of a throwaway cluster (then the database is not restarted).
drill: $(STAMP)
	$(BIN)/python -m bench.drill $(if $(DRILL_SECONDS),--seconds $(DRILL_SECONDS)) \
		$(if $(DRILL_REPORT),--report $(DRILL_REPORT))

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
