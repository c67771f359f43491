#!/usr/bin/env bash
# Set up a virtual environment (once), compile a zoo model for both backends and train it.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[torch,jax,data]'
mkdir -p build
for backend in torch jax; do
  .venv/bin/sciml compile specs/ode/classifier.sciml --backend "$backend" -o "build/classifier_$backend.py"
  .venv/bin/python "build/classifier_$backend.py" --seed 0 --json
done
