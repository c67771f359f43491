#!/usr/bin/env bash
# Set up a virtual environment (once) and run the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[test]'
# one test process per core (each test pins torch and XLA to one thread: tests/conftest.py), up to 4
.venv/bin/python -m pytest -q --numprocesses=auto --maxprocesses=4 "$@"
