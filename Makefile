# Two commands on a fresh machine: `make run` (the whole platform) and `make test`.
PYTHON3 ?= python3
VENV := .venv
PYTHON := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: .venv run test lint bench

# `make .venv`: (re)install when requirements.txt is newer than the stamp.
.venv: $(STAMP)

$(STAMP): requirements.txt
	@$(PYTHON3) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "Attune needs Python 3.11+; run: make PYTHON3=python3.11 ..." >&2; exit 1; }
	test -x $(VENV)/bin/pip || $(PYTHON3) -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

run: $(STAMP)
	$(PYTHON) manage.py run_platform

# DATABASE_URL and REDIS_URL are passed through from the environment when set.
# The system packages (podman, Node.js, Chromium) are installed when missing.
test: $(STAMP)
	scripts/install-system-packages
	$(PYTHON) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: $(STAMP)
	$(PYTHON) bench/run_all.py
