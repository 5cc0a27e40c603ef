# Two commands for a fresh machine: `make run` and `make test`. Everything they need is here.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := wsgi.py
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/civic_test

# test-production: deploy/nginx.conf in front of two gunicorn nodes (scripts/production_smoke.py).
.PHONY: test-production test-restore pg-client-deps nginx-deps run test lint translations messages css vendor-plotly vendor-altcha test-sqlite test-postgres run-sqlite run-postgres browser-deps pdf-deps axe-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	@$(MAKE) --no-print-directory pdf-deps
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.runtime $@

# Compiled catalogues are build output (.gitignore); the .po files are the source.
translations: $(VENV)/.runtime
	$(BIN)/pybabel compile --statistics -d app/translations 2>&1 | grep -v '^$$' || true

run: $(VENV)/.runtime translations
	$(BIN)/flask db upgrade
	$(BIN)/flask units load
	$(BIN)/flask demo
	$(BIN)/flask demo content
	$(BIN)/flask demo responses --survey hai-long-chinh-quyen-2026 --count 3000
	$(BIN)/flask demo responses --survey kenh-thong-tin-chinh-sach-2026 --count 800
	@echo "Serving on http://127.0.0.1:5000 (Ctrl+C to stop)"
	$(BIN)/flask run --host 127.0.0.1 --port 5000

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

browser-deps:
	@if [ -x /usr/bin/chromium ]; then echo "browser tests: using /usr/bin/chromium"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "browser tests: installing Debian's chromium with apt-get"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1) \
	    || echo "browser tests: SKIPPED, could not install chromium with apt-get"; \
	else echo "browser tests: SKIPPED, /usr/bin/chromium is missing and apt-get cannot run here"; fi

# nginx for the production smoke test, from Debian's packages (with the brotli filter the
# shipped deploy/nginx.conf uses). Installed with apt-get as root when missing.
NGINX_PACKAGES := nginx-light libnginx-mod-http-brotli-filter
nginx-deps:
	@if [ -x /usr/sbin/nginx ] && [ -f /usr/lib/nginx/modules/ngx_http_brotli_filter_module.so ]; then echo "production smoke test: nginx found"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "production smoke test: installing $(NGINX_PACKAGES) with apt-get"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(NGINX_PACKAGES) >/dev/null 2>&1) \
	    || echo "production smoke test: could not install $(NGINX_PACKAGES) with apt-get"; \
	else echo "production smoke test: nginx missing and apt-get cannot run here"; fi

# Exit 2 from the script: a part this machine lacks (nginx, PostgreSQL, Redis): SKIPPED, said so.
test-production: $(VENV)/.dev translations nginx-deps
	@$(BIN)/python scripts/production_smoke.py; status=$$?; \
	if [ $$status -eq 2 ]; then echo "== production smoke test: SKIPPED (see above) =="; exit 0; fi; \
	exit $$status

# pg_dump and pg_restore for `flask backup` and the restore drill, of the server's major
# version (PostgreSQL 15 here). Installed with apt-get as root when missing.
PG_CLIENT_PACKAGES := postgresql-client-15
pg-client-deps:
	@if command -v pg_dump >/dev/null && command -v pg_restore >/dev/null; then echo "restore drill: $$(pg_dump --version) found"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "restore drill: installing $(PG_CLIENT_PACKAGES) with apt-get"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(PG_CLIENT_PACKAGES) >/dev/null 2>&1) \
	    || echo "restore drill: could not install $(PG_CLIENT_PACKAGES) with apt-get"; \
	else echo "restore drill: pg_dump missing and apt-get cannot run here"; fi

# The restore drill (scripts/restore_drill.sh): a demo database backed up with `flask backup`,
# restored with pg_restore into a fresh one, checked (migrations, every table, every round's
# recheck and ranking). Its own databases (civic_restore_source, civic_restore_copy, dropped
# after). Exit 2 from the script: no PostgreSQL or pg_dump here: SKIPPED, said so.
test-restore: $(VENV)/.dev translations pg-client-deps
	@scripts/restore_drill.sh; status=$$?; \
	if [ $$status -eq 2 ]; then echo "== restore drill: SKIPPED (see above) =="; exit 0; fi; \
	exit $$status

# axe-core, the WCAG 2.1 AA rules the browser tests run on every page they visit: fetched from
# the npm registry at a pinned version and checked against its SHA-256 (.cache/axe/).
axe-deps: $(BIN)/python
	$(BIN)/python scripts/fetch_axe.py

# The commune briefs (PDF): WeasyPrint lays text out with Debian's Pango, in DejaVu fonts that
# have every Vietnamese letter. Installed with apt-get as root when missing.
PDF_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core
pdf-deps:
	@if ldconfig -p | grep -q libpangoft2-1.0.so.0 && ldconfig -p | grep -q libharfbuzz-subset.so.0 \
	  && [ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]; then echo "PDF briefs: Pango and DejaVu fonts found"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "PDF briefs: installing $(PDF_PACKAGES) with apt-get"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(PDF_PACKAGES) >/dev/null 2>&1) \
	    || echo "PDF briefs: could not install $(PDF_PACKAGES) with apt-get: briefs will fail"; \
	else echo "PDF briefs: $(PDF_PACKAGES) missing and apt-get cannot run here: install them"; fi

# Each engine's run has its own temporary directory; the PostgreSQL run its own databases
# (PG_URL and PG_URL_<name> for the tests that build one), Redis keys carry a per-test prefix.
PYTEST := $(BIN)/python -m pytest -q -p no:cacheprovider
TEST_TMP ?= $(CURDIR)/.pytest-tmp
LOGS := $(TEST_TMP)/logs

test-sqlite: $(VENV)/.dev translations axe-deps
	@$(MAKE) --no-print-directory run-sqlite

test-postgres: $(VENV)/.dev translations axe-deps
	@$(MAKE) --no-print-directory run-postgres

# The runs alone, for `test` to start side by side once the venv and catalogues are ready.
run-sqlite:
	@echo "== test suite on SQLite =="
	$(PYTEST) --basetemp="$(TEST_TMP)/sqlite"

run-postgres:
	@if $(BIN)/python scripts/pg_ready.py "$(PG_URL)"; then \
	  echo "== test suite on PostgreSQL ($(PG_URL)) =="; \
	  TEST_DATABASE_URL="$(PG_URL)" $(PYTEST) --basetemp="$(TEST_TMP)/postgres"; \
	else echo "== PostgreSQL at 127.0.0.1:5432 does not answer: SKIPPED the PostgreSQL run =="; fi

# The two engines at once (two cores: about the time of the longer run, not of both). The
# SQLite run is the shorter, so the production smoke test and the restore drill follow it on
# the core it frees while PostgreSQL's run goes on. Each step's output goes to its own log,
# printed whole at the end; `make test` fails when any step fails, and says which. The browser
# tests run on both engines; their pages are audited by axe-core in the SQLite run only (the
# same HTML and CSS whichever database served them; tests/accessibility.py).
test: $(VENV)/.dev lint browser-deps pdf-deps axe-deps nginx-deps pg-client-deps translations
	@mkdir -p "$(LOGS)"; rm -f "$(LOGS)"/*.status; start=$$(date +%s); \
	( $(MAKE) --no-print-directory run-sqlite > "$(LOGS)/sqlite.log" 2>&1; echo $$? > "$(LOGS)/sqlite.status"; \
	  $(MAKE) --no-print-directory test-production > "$(LOGS)/production.log" 2>&1; echo $$? > "$(LOGS)/production.status"; \
	  $(MAKE) --no-print-directory test-restore > "$(LOGS)/restore.log" 2>&1; echo $$? > "$(LOGS)/restore.status" ) & first=$$!; \
	( AXE_AUDIT=off $(MAKE) --no-print-directory run-postgres > "$(LOGS)/postgres.log" 2>&1; echo $$? > "$(LOGS)/postgres.status" ) & second=$$!; \
	wait $$first; wait $$second; \
	for step in sqlite postgres production restore; do cat "$(LOGS)/$$step.log"; done; \
	s() { cat "$(LOGS)/$$1.status" 2>/dev/null || echo 1; }; \
	echo "== SQLite: exit $$(s sqlite); PostgreSQL: exit $$(s postgres); production smoke: exit $$(s production); restore drill: exit $$(s restore); $$(( $$(date +%s) - start )) s in all =="; \
	[ "$$(s sqlite)$$(s postgres)$$(s production)$$(s restore)" = "0000" ]

# Bootstrap with only the rules the templates use (PurgeCSS, pinned in scripts/css/): after a
# template starts using a new Bootstrap class (tests/test_assets.py says which), then commit
# app/static/css/bootstrap.purged.css.
scripts/css/node_modules/.package-lock.json: scripts/css/package-lock.json
	cd scripts/css && npm ci --no-audit --no-fund --silent

css: $(VENV)/.runtime scripts/css/node_modules/.package-lock.json
	$(BIN)/python scripts/build_css.py

# plotly.js's cartesian bundle from the npm registry, its version and SHA-256 pinned in the
# script; commit app/static/vendor/ afterwards.
vendor-plotly: $(VENV)/.runtime
	$(BIN)/python scripts/vendor_plotly.py

vendor-altcha: $(VENV)/.runtime
	$(BIN)/python scripts/vendor_altcha.py

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache .pytest-tmp .cache

# After changing user-facing text: refresh the catalogue, then translate the new entries.
messages: $(VENV)/.runtime
	$(BIN)/pybabel extract -F babel.cfg -k _l --no-location --sort-output -w 100 -o app/translations/messages.pot app
	$(BIN)/pybabel update --no-fuzzy-matching -w 100 -i app/translations/messages.pot -d app/translations
	rm app/translations/messages.pot
