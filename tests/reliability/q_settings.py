"""Settings of a qcluster child in the fault tests: the test settings (or ``settings_pg`` when
``IMAGEX_DEDUP_BASE_SETTINGS`` says so) with a short broker ``retry``, so a message whose
worker was killed is delivered again within seconds instead of the usual 90."""

from __future__ import annotations

import importlib
import os

_base = importlib.import_module(os.environ.get("IMAGEX_DEDUP_BASE_SETTINGS", "tests.settings"))
globals().update({name: getattr(_base, name) for name in dir(_base) if name.isupper()})

# retry must exceed the longest task run (here seconds), or a slow task would run twice.
Q_CLUSTER = {**_base.Q_CLUSTER, "timeout": 10, "retry": 12, "max_attempts": 3}
