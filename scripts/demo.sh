#!/usr/bin/env bash
# The demo command: from a fresh clone, set up a venv, install the project, create the demo
# database with sample photos and their near-duplicates, then run a django-q2 worker and the
# development server on 127.0.0.1. Ctrl-C stops both. Safe to run again (the data is kept,
# the admin password is renewed).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
PORT=${PORT:-8000}
BASE="http://127.0.0.1:$PORT"
export DJANGO_SETTINGS_MODULE=demo_project.settings

"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || { echo "demo: Python 3.11 or newer is needed (set PYTHON=...)" >&2; exit 1; }
if "$PYTHON" -c "import socket; socket.create_connection(('127.0.0.1', $PORT), 1)" 2>/dev/null; then
  echo "demo: port $PORT is taken; stop what runs there or set PORT=..." >&2
  exit 1
fi

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
PY=.venv/bin/python
echo "demo: installing imagex-dedup into .venv"
"$PY" -m pip install -qq --upgrade pip
"$PY" -m pip install -qq -e .

"$PY" manage.py migrate --noinput -v 0
echo "demo: loading the sample gallery and checking it for duplicates"
"$PY" manage.py load_demo --sync

PASSWORD=$("$PY" -c 'import secrets; print(secrets.token_urlsafe(12))')
# The password goes through the environment, not the command line (visible in `ps`).
DEMO_ADMIN_PASSWORD=$PASSWORD "$PY" manage.py shell --no-imports -c '
import os
from django.contrib.auth import get_user_model
user, _ = get_user_model().objects.get_or_create(username="admin")
user.is_staff = user.is_superuser = True
user.set_password(os.environ["DEMO_ADMIN_PASSWORD"])
user.save()
'

# The service's access key and two photos, for the banner's ready-to-paste commands.
read -r ACCESS_KEY SECRET_KEY PHOTO_A PHOTO_B < <("$PY" manage.py shell --no-imports -c '
from demo_project.gallery.models import Photo
from imagex_dedup.models import AccessKey
key = AccessKey.objects.filter(service__service_id="demo", is_active=True).first()
photos = Photo.objects.filter(title__in=["Frangipani", "Frangipani (mirrored)"])
print(key.access_key_id, key.secret_access_key, *(photo.image.url for photo in photos))
')

PIDS=()
stop() {
  trap - INT TERM EXIT
  echo
  echo "demo: stopping"
  kill "${PIDS[@]}" 2>/dev/null || true
  wait "${PIDS[@]}" 2>/dev/null || true
}
trap stop INT TERM EXIT

# Job control gives each child its own process group, so Ctrl-C reaches only this script, which
# then stops each child once (qcluster hangs when a second signal hits it while it shuts down).
set -m
"$PY" manage.py qcluster &
PIDS+=($!)
"$PY" manage.py runserver "127.0.0.1:$PORT" --noreload &
PIDS+=($!)

for _ in $(seq 1 60); do
  "$PY" -c "import urllib.request; urllib.request.urlopen('$BASE/', timeout=2)" 2>/dev/null && break
  sleep 0.5
done

cat <<EOF

================================================================================
 imagex_dedup demo is running (Ctrl-C stops the server and the worker)

 Gallery          $BASE/
 Admin            $BASE/admin/            user: admin   password: $PASSWORD
 Duplicate groups $BASE/admin/imagex_dedup/duplicategroup/
 API docs         $BASE/imagex/api/docs/   (ReDoc: $BASE/imagex/api/redoc/)
 REST API         $BASE/imagex/api/
 Service          $BASE/imagex/   ServiceId demo   (how to call it: $BASE/demo/service/)
                  AccessKeyId     $ACCESS_KEY
                  SecretAccessKey $SECRET_KEY
                  from another terminal:
                  .venv/bin/python manage.py try_service --port $PORT [--async]
                  or with the volcengine SDK (.venv/bin/pip install volcengine):
                  VOLC_ACCESSKEY=$ACCESS_KEY VOLC_SECRETKEY=$SECRET_KEY \\
                    IMAGEX_DEDUP_HOST=127.0.0.1:$PORT .venv/bin/python docs/examples/sdk_client.py \\
                    $BASE$PHOTO_A $BASE$PHOTO_B

 Upload a photo in the admin (Gallery > Photos): the worker checks it within seconds.
 Upload check: add a photo with ${IMAGEX_DEMO_MEDIA_ROOT:-demo_media}/try_upload/heather-resized.jpg (a resized
 copy of "Heather"): the form warns before anything is saved.
================================================================================

EOF

# Stop everything as soon as either process ends.
wait -n "${PIDS[@]}"
