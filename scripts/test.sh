#!/usr/bin/env bash
# The test command: from a fresh clone, set up a venv, install the project with its dev extras,
# start PostgreSQL/Redis if needed, then lint and run the whole suite twice:
# SQLite + django-q2 ORM broker, and PostgreSQL + Redis broker.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[dev,bench,docs,wagtail,filer]"
bash scripts/services.sh

.venv/bin/ruff check .
.venv/bin/ruff format --check .
DJANGO_SETTINGS_MODULE=tests.settings .venv/bin/django-admin makemigrations --check --dry-run \
  imagex_dedup testapp --pythonpath .
DJANGO_SETTINGS_MODULE=tests.settings_wagtail .venv/bin/django-admin makemigrations --check --dry-run \
  mediaapp --pythonpath .
DJANGO_SETTINGS_MODULE=demo_project.settings_wagtail .venv/bin/django-admin makemigrations --check \
  --dry-run wagtailsite --pythonpath .
NO_MKDOCS_2_WARNING=1 .venv/bin/mkdocs build --strict --quiet  # the docs site into site/: any warning, a broken link too, fails

echo "== leg 1: SQLite + ORM broker"
DJANGO_SETTINGS_MODULE=tests.settings .venv/bin/pytest -p no:cacheprovider "$@"
DJANGO_SETTINGS_MODULE=tests.settings_wagtail .venv/bin/pytest -p no:cacheprovider tests/contrib
echo "== leg 2: PostgreSQL + Redis broker"
DJANGO_SETTINGS_MODULE=tests.settings_pg .venv/bin/pytest -p no:cacheprovider "$@"
DJANGO_SETTINGS_MODULE=tests.settings_wagtail_pg .venv/bin/pytest -p no:cacheprovider tests/contrib
