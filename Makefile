# Two commands a new user needs: `make demo` and `make test`. Both create .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DATE ?= 2025-12-03

.PHONY: demo test test-postgres lint bench chaos screenshot preview clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/digest subscribers import subscribers/sample.csv
	$(BIN)/digest build --date $(DEMO_DATE)
	$(BIN)/digest send --date $(DEMO_DATE)
	@echo
	@echo "HTML preview: $(CURDIR)/build/issue.html (plain text: build/issue.txt)"
	@echo ".eml files:   $(CURDIR)/outbox/"
	@echo "Run 'make demo' again: the send resumes and mails nobody twice."

test: $(STAMP)
	$(BIN)/ruff check digest tests bench
	$(BIN)/ruff format --check digest tests bench
	$(BIN)/mypy
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The whole suite again with every project's store on PostgreSQL (a throwaway cluster;
# tests about the SQLite file itself are skipped). CI runs it after `make test`.
# A subset: make test-postgres PYTEST_ARGS="tests/test_store.py -k sanitized"
test-postgres: $(STAMP)
	DIGEST_TEST_STORE=postgresql $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check digest tests bench
	$(BIN)/ruff format --check digest tests bench
	$(BIN)/mypy

# Every benchmark in one go (~6-9 min on 2 cores, PostgreSQL included): writes
# docs/performance.md and its PNGs. `python -m bench senders` alone runs 100,000 subscribers.
bench: $(STAMP)
	$(BIN)/python -m bench

# kill -9 a send to 2,000 subscribers 20 times against a faulty local SMTP server (~1 min);
# fails unless nobody is missed. Its output goes onto docs/performance.md.
chaos: $(STAMP)
	$(BIN)/python -m bench.chaos --record docs/performance/chaos.txt
	test ! -f docs/performance/results.json || $(BIN)/python -m bench.report --render-only

# docs/digest.png and docs/desk.png, the README's pictures of the sample issue and of the
# editor's desk (needs /usr/bin/chromium).
screenshot: $(STAMP)
	$(BIN)/python scripts/screenshot.py
	$(BIN)/python scripts/desk_screenshot.py

# The editor's live preview of the sample week on http://127.0.0.1:8026/preview/
preview: $(STAMP)
	$(BIN)/digest preview --date $(DEMO_DATE)

clean:
	rm -rf build outbox .pytest_cache .mypy_cache .ruff_cache
