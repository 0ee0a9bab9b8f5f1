"""Settings of the qcluster child in the hand-off test: the run's settings (``tests.settings``,
or the module ``IMAGEX_DEDUP_BASE_SETTINGS`` names) with the hand-off's debug log on, so the test
can see which images the worker took from the upload check instead of decoding them."""

from __future__ import annotations

import importlib
import os

_base = importlib.import_module(os.environ.get("IMAGEX_DEDUP_BASE_SETTINGS", "tests.settings"))
globals().update({name: getattr(_base, name) for name in dir(_base) if name.isupper()})

LOGGING = {
    **_base.LOGGING,
    "loggers": {
        **_base.LOGGING["loggers"],
        "imagex_dedup.index.handoff": {"handlers": ["console"], "level": "DEBUG"},
    },
}
