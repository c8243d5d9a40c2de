# Claimflow front door. `make run` starts everything and streams the demo; `make test` is what CI runs.
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
PY := .venv/bin/python
UV := python3 -m uv

.PHONY: run up down status test test-unit test-faults bench lint typecheck schemas venv clean-venv

venv: .venv/.synced

.venv/.synced: pyproject.toml uv.lock
	@python3 -m uv --version >/dev/null 2>&1 || { echo "installing uv (Python package manager)"; python3 -m pip install --quiet uv; }
	@$(UV) sync --frozen --quiet
	@touch $@

run: venv ## Set up and start the whole stack, stream the demo, print KPIs, leave services running
	@$(PY) deploy/stack.py up
	@$(PY) -m deploy.demo

up: venv ## Start Kafka, PostgreSQL, the five services and the sandbox clearinghouse
	@$(PY) deploy/stack.py up

down: venv ## Stop everything the stack started (by pid)
	@$(PY) deploy/stack.py down

status: venv
	@$(PY) deploy/stack.py status

test: venv ## Unit, integration and end-to-end tests on the real broker and database
	@$(PY) deploy/stack.py up --quiet
	@CLAIMFLOW_STACK_READY=1 $(PY) -m pytest -q -m "not faults_full" --durations=25 $(PYTEST_ARGS)

test-unit: venv
	@$(PY) -m pytest -q -m "not stack" $(PYTEST_ARGS)

test-faults: venv ## The full fault matrix (not part of CI)
	@$(PY) deploy/stack.py up --quiet
	@CLAIMFLOW_STACK_READY=1 $(PY) -m pytest -q -m "faults or faults_full" $(PYTEST_ARGS)

bench: venv ## Benchmarks (never part of make test)
	@$(PY) deploy/stack.py up --quiet
	@$(PY) -m deploy.bench

lint: venv
	@.venv/bin/ruff check .
	@.venv/bin/ruff format --check .

typecheck: venv
	@.venv/bin/mypy

schemas: venv ## Regenerate the checked-in JSON Schemas and AsyncAPI document from the event models
	@$(PY) -m shared.schemas write
