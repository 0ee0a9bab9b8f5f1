"""Settings of a qcluster child in the fault tests: the test settings (or ``settings_pg`` when
``IMAGEX_DEDUP_BASE_SETTINGS`` says so) with a short broker ``retry``, so a message whose
worker was killed is delivered again within seconds instead of the usual 90."""

from __future__ import annotations

import importlib
import json
import os

_base = importlib.import_module(os.environ.get("IMAGEX_DEDUP_BASE_SETTINGS", "tests.settings"))
globals().update({name: getattr(_base, name) for name in dir(_base) if name.isupper()})

APPLICATION_NAME = "imagex_dedup_faults"

# retry must exceed the longest task run (here seconds), or a slow task would run twice.
Q_CLUSTER = {**_base.Q_CLUSTER, "timeout": 10, "retry": 12, "max_attempts": 3}

_database = dict(_base.DATABASES["default"])
if _database["ENGINE"].endswith("postgresql"):
    # Our sessions carry a name, so a fault test terminates them and never anyone else's.
    _database["OPTIONS"] = {**_database.get("OPTIONS", {}), "application_name": APPLICATION_NAME}
    # A test database of its own when other runs share the server (IMAGEX_DEDUP_PG_TEST_NAME).
    _database["TEST"] = {
        **_database.get("TEST", {}),
        "NAME": os.environ.get("IMAGEX_DEDUP_PG_TEST_NAME", _database["TEST"]["NAME"]),
    }
# Persistent connections with health checks (what a host should pair CONN_MAX_AGE with).
if os.environ.get("IMAGEX_DEDUP_CONN_MAX_AGE"):
    _database["CONN_MAX_AGE"] = int(os.environ["IMAGEX_DEDUP_CONN_MAX_AGE"])
    _database["CONN_HEALTH_CHECKS"] = True
DATABASES = {"default": _database}

# Options a fault test gives its children (JSON), over the base settings' IMAGEX_DEDUP.
IMAGEX_DEDUP = {
    **_base.IMAGEX_DEDUP,
    **json.loads(os.environ.get("IMAGEX_DEDUP_OPTIONS", "{}")),
}
