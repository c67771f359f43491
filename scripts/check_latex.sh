#!/usr/bin/env bash
# Compile `sciml latex --standalone` of every zoo spec that generates code with pdflatex and
# report errors and overfull lines.  Needs pdflatex:
#   apt-get install -y --no-install-recommends texlive-latex-base texlive-latex-recommended
# Usage: bash scripts/check_latex.sh [OUTPUT_DIR]     (results: docs/results.md, "LaTeX")
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
python="${PYTHON:-$root/.venv/bin/python}"
out="${1:-$(mktemp -d)}"
mkdir -p "$out"
status=0
for spec in "$root"/specs/*/*.sciml; do
    name="$(basename "$spec" .sciml)"
    if ! "$python" -m sciml latex "$spec" --standalone > "$out/$name.tex" 2> "$out/$name.err"; then
        echo "$name: no LaTeX ($(head -1 "$out/$name.err" | cut -c1-80))"
        continue
    fi
    if (cd "$out" && pdflatex -interaction=nonstopmode -halt-on-error "$name.tex" > "$name.pdflatex.log" 2>&1); then
        echo "$name: ok, $(grep -c '^Overfull' "$out/$name.log" || true) overfull line(s)"
    else
        echo "$name: pdflatex FAILED, see $out/$name.log"
        status=1
    fi
done
exit $status
