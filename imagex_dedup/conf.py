"""Settings for imagex_dedup, read lazily from ``settings.IMAGEX_DEDUP``.

Every option has a default here, in one place. Values are read on first access and cached;
the cache is cleared in place when Django's ``setting_changed`` fires, so
``override_settings(IMAGEX_DEDUP=...)`` works in tests and nothing holds a stale copy
(modules import the object, not its values).
Values are validated by system checks (``imagex_dedup.checks``), not at import time.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

SETTINGS_NAME = "IMAGEX_DEDUP"

DEFAULTS: dict[str, Any] = {
    # --- the hook -------------------------------------------------------------------------
    # Kill switch for the model hook (saving images schedules nothing when False).
    "ENABLED": True,
    # Host models to watch: {"app_label.Model": "field"} or {"app_label.Model": ["f1", "f2"]}.
    "MODELS": {},
    # Default similarity threshold in [0, 1] (two decimals at most, as in the cloud API).
    "SIMILARITY": 0.84,
    # Where detection runs: "local" (engine in the django-q2 worker) or "imagex" (veImageX or
    # another deployment of this app), or a dotted path to a backend class.
    "BACKEND": "local",
    # django-q2 task group and extra q_options for every task we enqueue.
    "TASK_GROUP": "imagex_dedup",
    "TASK_TIMEOUT": 120,
    # --- safe input ---------------------------------------------------------------------
    "MAX_IMAGE_BYTES": 50 * 1024 * 1024,
    "MAX_IMAGE_PIXELS": 50_000_000,
    "FETCH_TIMEOUT": 10.0,
    # Let the fetcher reach private/loopback addresses (never in production).
    "FETCH_ALLOW_PRIVATE": False,
    # --- callbacks ----------------------------------------------------------------------
    # Outbound (service -> client) deliveries: attempts and exponential backoff base (seconds).
    "CALLBACK_MAX_ATTEMPTS": 5,
    "CALLBACK_BACKOFF": 2.0,
    "CALLBACK_TIMEOUT": 10.0,
    # Inbound callback tokens (per task) stay valid this long (seconds).
    "CALLBACK_TOKEN_MAX_AGE": 7 * 24 * 3600,
    # Inbound callback bodies larger than this are refused with 413 (bytes).
    "CALLBACK_MAX_BODY_BYTES": 5 * 1024 * 1024,
    # Absolute base URL of this site, used to build callback URLs handed to remote services.
    "PUBLIC_BASE_URL": "",
    # --- service API --------------------------------------------------------------------
    "SERVICE_RATE": "10/s",
    "STATUS_RATE": "5/s",
    "SIGNATURE_MAX_SKEW": 900,
    # Refuse a signed POST whose exact signature was already honoured (within the skew window;
    # the nonces live in the cache alias below, shared by all server processes).
    "SIGNATURE_REJECT_REPLAYS": True,
    "SIGNATURE_REPLAY_CACHE": "default",
    # Service request bodies larger than this are refused with 413 before they are read (bytes).
    "SERVICE_MAX_BODY_BYTES": 2 * 1024 * 1024,
    "SYNC_TIME_BUDGET": 30.0,
    "MAX_URLS_PER_REQUEST": 1000,
    # Fingerprints kept per process, keyed by the SHA-256 of the image bytes (LRU; ~0.5 KB
    # each): bytes seen recently are not decoded again. 0 turns the cache off.
    "FINGERPRINT_CACHE_SIZE": 10_000,
    # --- review and merge ---------------------------------------------------------------
    # Delete merged duplicates (True) or keep them, flagged in the merge log (False).
    "MERGE_DELETE_DUPLICATES": True,
    # Delete the duplicates' files from storage after a merge (never by default).
    "MERGE_DELETE_FILES": False,
    "MERGE_HANDLER": "imagex_dedup.merge.merge_group",
    "THUMBNAIL_SIZE": 240,
    # Bounding box (pixels) of the large previews on a group's review page.
    "PREVIEW_SIZE": 720,
    # Most images one synchronous REST check (<mount>/api/check/) accepts.
    "API_CHECK_MAX_IMAGES": 20,
    # --- veImageX backend ---------------------------------------------------------------
    "IMAGEX": {
        "ACCESS_KEY_ID": "",
        "SECRET_ACCESS_KEY": "",
        "REGION": "cn-north-1",
        "ENDPOINT": "",
        "SERVICE_ID": "",
        "TOP_K": 20,
        # Local score a stored image needs to be sent as a candidate (the lower of this and
        # SIMILARITY): below the threshold, since the service scores differently.
        "CANDIDATE_SIMILARITY": 0.75,
        "BATCH_SIZE": 50,
        "RATE_LIMIT": 10,
        # Cache alias the per-second request counters live in (shared by all workers).
        "RATE_LIMIT_CACHE": "default",
        "ASYNC_THRESHOLD": 50,
        "TIMEOUT": 30.0,
    },
}

# Options that hold dotted paths; ``dedup_settings.load("NAME")`` imports them.
IMPORT_STRINGS = frozenset({"MERGE_HANDLER"})


class DedupSettings:
    """Attribute access to ``settings.IMAGEX_DEDUP`` merged over :data:`DEFAULTS`."""

    def __init__(self) -> None:
        self._cache: dict[str, Any] = {}

    @property
    def user_settings(self) -> dict[str, Any]:
        return getattr(settings, SETTINGS_NAME, None) or {}

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name not in DEFAULTS:
            raise AttributeError(f"Invalid imagex_dedup setting: {name!r}")
        if name not in self._cache:
            value = self.user_settings.get(name, DEFAULTS[name])
            if isinstance(DEFAULTS[name], dict):
                value = {**DEFAULTS[name], **value}
            self._cache[name] = value
        return self._cache[name]

    def load(self, name: str) -> Any:
        """Import the object named by a dotted-path option."""
        if name not in IMPORT_STRINGS:
            raise AttributeError(f"{name!r} is not a dotted-path setting")
        return import_string(getattr(self, name))

    def reload(self) -> None:
        """Forget cached values (in place, so every importer sees fresh ones)."""
        self._cache.clear()


dedup_settings = DedupSettings()


@receiver(setting_changed)
def _reload_on_change(*, setting: str, **kwargs: Any) -> None:
    if setting == SETTINGS_NAME:
        dedup_settings.reload()
