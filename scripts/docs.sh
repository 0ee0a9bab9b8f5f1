#!/usr/bin/env bash
# The documentation site: set up the venv with the docs extra, build the site once with warnings
# as errors (broken links fail), then serve it with live reload at http://127.0.0.1:8001/.
# Ctrl-C stops it. PORT=... picks another port.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
PORT=${PORT:-8001}
export NO_MKDOCS_2_WARNING=1  # the theme's notice about MkDocs 2 is not a warning of ours
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q -e ".[docs]"
.venv/bin/mkdocs build --strict
exec .venv/bin/mkdocs serve -a "127.0.0.1:$PORT"
