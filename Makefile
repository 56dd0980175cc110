# One way to run things: `make run` starts the platform, `make test` checks everything.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
SERVICES := $(PY) -m fintech.devservices run --

.DEFAULT_GOAL := help

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}'

$(VENV)/.installed: requirements.txt
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

venv: $(VENV)/.installed ## Create .venv and install the pinned requirements

run: venv ## Run web, worker and beat with demo data (embedded PostgreSQL/Redis unless DATABASE_URL/REDIS_URL are set)
	$(SERVICES) $(PY) manage.py platform_run

manage: venv ## Run a management command, e.g. make manage ARGS="api_client_create --profile 1 --name ERP" (uses the servers of a running `make run`)
	$(SERVICES) $(PY) manage.py $(ARGS)

test: venv ## Lint, type check, import contracts and the whole test suite
	FINTECH_REDIS_PERSIST=0 $(SERVICES) $(MAKE) --no-print-directory check

check: lint typecheck contracts pytest ## (inside `make test`) every check, services already up

lint:
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck:
	$(VENV)/bin/mypy fintech ledger integrations

contracts:
	$(VENV)/bin/lint-imports --no-cache

pytest:
	$(VENV)/bin/pytest $(PYTEST_ARGS)

format: venv ## Apply ruff's formatting and safe fixes
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: venv ## Run the benchmarks (bounded; each prints its figure beside its baseline)
	$(SERVICES) $(PY) -m bench

verify-ledger: venv ## Prove every entry balances and every balance equals its postings
	$(SERVICES) $(PY) manage.py ledger_verify

clean: ## Remove the virtualenv and the embedded servers' data
	rm -rf $(VENV) .data

.PHONY: help venv run manage test check lint typecheck contracts pytest format bench verify-ledger clean
