"""Settings for imagex_dedup, read lazily from ``settings.IMAGEX_DEDUP``.

Every option is declared once, below, with its default, its type and its description; the
settings reference in the docs is generated from these declarations. Code reads typed values
(``dedup_settings.similarity``, ``dedup_settings.load_limits()``); values are read on first
access and cached, and the cache is cleared in place when Django's ``setting_changed`` fires, so
``override_settings(IMAGEX_DEDUP=...)`` works in tests and nothing holds a stale copy (modules
import the object, not its values). Values are validated by system checks
(``imagex_dedup.checks``, one per setting that can be wrong), not at import time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from imagex_dedup.engine.fetch import FetchPolicy
    from imagex_dedup.engine.loading import LoadLimits
    from imagex_dedup.models import DetectionService

SETTINGS_NAME = "IMAGEX_DEDUP"

T = TypeVar("T")


@dataclass(frozen=True)
class Spec:
    """One documented option: its key, default, accepted types and meaning.

    ``types`` is what a system check accepts (``None`` in it: the option may be ``None``);
    ``default_text`` is how the docs write the default when ``repr`` would not be helpful.
    """

    key: str
    default: Any
    types: tuple[type | None, ...]
    doc: str
    section: str
    default_text: str = ""
    validate: Callable[[Any], str | None] | None = field(default=None, compare=False)

    @property
    def shown_default(self) -> str:
        return self.default_text or repr(self.default)


class Setting(Generic[T]):
    """A typed, documented option of :class:`DedupSettings` (a descriptor)."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec

    @overload
    def __get__(self, instance: None, owner: type) -> Setting[T]: ...
    @overload
    def __get__(self, instance: DedupSettings, owner: type) -> T: ...

    def __get__(self, instance: DedupSettings | None, owner: type) -> Setting[T] | T:
        if instance is None:
            return self
        return instance.value(self.spec.key)


def _positive(value: Any) -> str | None:
    return None if value > 0 else "must be greater than 0"


def _not_negative(value: Any) -> str | None:
    return None if value >= 0 else "must be 0 or more"


def _similarity(value: Any) -> str | None:
    from imagex_dedup.engine.similarity import InvalidSimilarity, parse_similarity

    try:
        parse_similarity(value)
    except InvalidSimilarity as error:
        return str(error)
    return None


UPLOAD_CHECK_MODES = ("warn", "block", "off")


def _upload_check_mode(value: Any) -> str | None:
    modes = ", ".join(UPLOAD_CHECK_MODES)
    return None if value in UPLOAD_CHECK_MODES else f"must be one of {modes}"


def _importable(value: Any) -> str | None:
    try:
        imported = import_string(value)
    except ImportError as error:
        return f"cannot be imported: {error}"
    return None if callable(imported) else "must name a callable"


def _backend(value: Any) -> str | None:
    return None if value else "must name a backend"


def _spec(
    key: str,
    default: Any,
    doc: str,
    section: str,
    *,
    types: tuple[type | None, ...] | None = None,
    shown: str = "",
    validate: Callable[[Any], str | None] | None = None,
) -> Any:
    kinds = types or ((int, float) if type(default) is float else (type(default),))
    return Setting(Spec(key, default, kinds, doc, section, shown, validate))


HOOK, INPUT, CALLBACKS, SERVICE, REVIEW = "hook", "input", "callbacks", "service", "review"
SCAN = "scan"
UPLOAD = "upload"
MB = 1024 * 1024


class DedupSettings:
    """Typed access to ``settings.IMAGEX_DEDUP`` merged over the declared defaults.

    Upper-case names (``dedup_settings.SIMILARITY``) still give the raw merged value, for host
    code written against the dict.
    """

    # --- the hook ------------------------------------------------------------------------------
    enabled: Setting[bool] = _spec(
        "ENABLED",
        True,
        "Kill switch for the model hook: when `False`, saving images schedules nothing.",
        HOOK,
    )
    models: Setting[dict[str, Any]] = _spec(
        "MODELS",
        {},
        'Host models to watch: `{"app_label.Model": "field"}`, '
        '`{"app_label.Model": ["f1", "f2"]}`, or with options '
        '`{"app_label.Model": {"field": "image", "upload_check": "block"}}`.',
        HOOK,
        types=(object,),  # its shapes have their own checks, E003-E007
    )
    similarity: Setting[float] = _spec(
        "SIMILARITY",
        0.84,
        "Default similarity threshold: greater than 0, at most 1, two decimals at most "
        "(the cloud API's rule).",
        HOOK,
        validate=_similarity,
    )
    backend: Setting[str] = _spec(
        "BACKEND",
        "local",
        'Where detection runs: `"local"` (the engine in the django-q2 worker), `"imagex"` '
        "(veImageX or another deployment of this app), or a dotted path to a backend class.",
        HOOK,
        validate=_backend,
    )
    task_group: Setting[str] = _spec(
        "TASK_GROUP", "imagex_dedup", "django-q2 task group of every task we enqueue.", HOOK
    )
    task_timeout: Setting[int] = _spec(
        "TASK_TIMEOUT",
        120,
        "django-q2 `timeout` (seconds) of every task we enqueue.",
        HOOK,
        validate=_positive,
    )
    # --- library scans and self-healing ---------------------------------------------------------
    scan_batch_size: Setting[int] = _spec(
        "SCAN_BATCH_SIZE",
        200,
        "Images per batch of a cluster scan (`dedup_scan --enqueue`, the admin's \"Scan "
        'library"); one batch must fit in `TASK_TIMEOUT`.',
        SCAN,
        validate=_positive,
    )
    scan_concurrency: Setting[int] = _spec(
        "SCAN_CONCURRENCY",
        4,
        "Fingerprint tasks of one scan run in flight at once: about the number of worker "
        "processes the scan may keep busy.",
        SCAN,
        validate=_positive,
    )
    catchup_enabled: Setting[bool] = _spec(
        "CATCHUP_ENABLED",
        True,
        "Install the periodic catch-up (a django-q2 schedule): it enqueues again the checks of "
        "saved images that never finished and resumes scan runs whose workers were lost. "
        "`False` removes the schedule at the next `migrate`.",
        SCAN,
    )
    catchup_interval: Setting[int] = _spec(
        "CATCHUP_INTERVAL",
        5,
        "Minutes between two runs of the catch-up.",
        SCAN,
        validate=_positive,
    )
    # --- the check on upload ------------------------------------------------------------------
    upload_check: Setting[str] = _spec(
        "UPLOAD_CHECK",
        "warn",
        'What an upload that looks like images already in the library does: `"warn"` (the '
        'form is shown again with the matches; the editor may save anyway), `"block"` (it '
        'cannot be saved), `"off"` (no check). A registration may override it '
        '(`register(..., upload_check="block")`).',
        UPLOAD,
        validate=_upload_check_mode,
    )
    upload_check_cache: Setting[str] = _spec(
        "UPLOAD_CHECK_CACHE",
        "default",
        "Cache alias that hands an upload's fingerprint from the check to the save hook's "
        "worker (keyed by the file's SHA-256, kept an hour). A cache shared by every machine "
        "(Redis, Memcached, the database) saves the worker a second decode; with a per-process "
        "cache it decodes again.",
        UPLOAD,
    )
    # --- safe input ----------------------------------------------------------------------------
    max_image_bytes: Setting[int] = _spec(
        "MAX_IMAGE_BYTES",
        50 * MB,
        "Largest image file read or downloaded (bytes).",
        INPUT,
        shown="50 * 1024 * 1024",
        validate=_positive,
    )
    max_image_pixels: Setting[int] = _spec(
        "MAX_IMAGE_PIXELS",
        50_000_000,
        "Largest image decoded (width x height), a guard against decompression bombs.",
        INPUT,
        shown="50_000_000",
        validate=_positive,
    )
    fetch_timeout: Setting[float] = _spec(
        "FETCH_TIMEOUT",
        10.0,
        "Timeout (seconds) of one image download.",
        INPUT,
        validate=_positive,
    )
    fetch_allow_private: Setting[bool] = _spec(
        "FETCH_ALLOW_PRIVATE",
        False,
        "Let the downloads this site makes for its own users reach private and loopback "
        "addresses: the URLs sent to the REST `check/` endpoint and to `manage.py dedup_check`. "
        "It does not apply to the detection service: each service has its own switch, "
        "`allow_private_urls` (admin: Detection services), for its image downloads and its "
        "callbacks. For local demos and tests, never in production.",
        INPUT,
    )
    # --- callbacks -----------------------------------------------------------------------------
    callback_max_attempts: Setting[int] = _spec(
        "CALLBACK_MAX_ATTEMPTS",
        5,
        "Outbound callbacks (service → client): delivery attempts.",
        CALLBACKS,
        validate=_positive,
    )
    callback_backoff: Setting[float] = _spec(
        "CALLBACK_BACKOFF",
        2.0,
        "Outbound callbacks: base (seconds) of the exponential backoff between attempts.",
        CALLBACKS,
        validate=_not_negative,
    )
    callback_timeout: Setting[float] = _spec(
        "CALLBACK_TIMEOUT",
        10.0,
        "Outbound callbacks: HTTP timeout (seconds) of one attempt.",
        CALLBACKS,
        validate=_positive,
    )
    callback_token_max_age: Setting[int] = _spec(
        "CALLBACK_TOKEN_MAX_AGE",
        7 * 24 * 3600,
        "Inbound callbacks: how long (seconds) the per-task token in a callback URL stays valid.",
        CALLBACKS,
        shown="7 * 24 * 3600",
        validate=_positive,
    )
    callback_max_body_bytes: Setting[int] = _spec(
        "CALLBACK_MAX_BODY_BYTES",
        5 * MB,
        "Inbound callbacks: larger bodies are refused with HTTP 413.",
        CALLBACKS,
        shown="5 * 1024 * 1024",
        validate=_positive,
    )
    public_base_url: Setting[str] = _spec(
        "PUBLIC_BASE_URL",
        "",
        "Absolute base URL of this site (`https://example.com`), used to build callback URLs "
        "handed to remote services.",
        CALLBACKS,
    )
    # --- service API ---------------------------------------------------------------------------
    service_rate: Setting[str | None] = _spec(
        "SERVICE_RATE",
        "10/s",
        "Rate limit of `GetImageDuplicateDetection` per caller, a token bucket: that many at "
        "once, refilled at that rate (HTTP 429 `FlowLimitExceeded` beyond); `None`: no limit.",
        SERVICE,
        types=(str, None),  # its format: check E009
    )
    status_rate: Setting[str | None] = _spec(
        "STATUS_RATE",
        "5/s",
        "Rate limit of `GetDedupTaskStatus` and `GetDedupUsage` per caller, the same way.",
        SERVICE,
        types=(str, None),  # its format: check E009
    )
    signature_max_skew: Setting[int] = _spec(
        "SIGNATURE_MAX_SKEW",
        900,
        "Largest difference (seconds) between a signed request's `X-Date` and the server clock.",
        SERVICE,
        validate=_positive,
    )
    signature_reject_replays: Setting[bool] = _spec(
        "SIGNATURE_REJECT_REPLAYS",
        False,
        "Refuse a signed POST whose exact signature was already honoured (401 "
        "`SignatureReplayed`). Off by default: `X-Date` has one-second resolution, so the same "
        "call sent twice within a second (an SDK retry, a client re-sending after a dropped "
        "connection) carries the same signature and would be refused. The cloud has no such "
        "rule; its guard is the `X-Date` skew (`SIGNATURE_MAX_SKEW`).",
        SERVICE,
    )
    signature_replay_cache: Setting[str] = _spec(
        "SIGNATURE_REPLAY_CACHE",
        "default",
        "Cache alias holding the signatures already used (shared by every server process).",
        SERVICE,
    )
    service_max_body_bytes: Setting[int] = _spec(
        "SERVICE_MAX_BODY_BYTES",
        2 * MB,
        "Service requests with a larger body are refused with HTTP 413 "
        "`RequestEntityTooLarge` before it is read.",
        SERVICE,
        shown="2 * 1024 * 1024",
        validate=_positive,
    )
    sync_time_budget: Setting[float] = _spec(
        "SYNC_TIME_BUDGET",
        30.0,
        "Time budget (seconds) of one synchronous detection request.",
        SERVICE,
        validate=_positive,
    )
    max_urls_per_request: Setting[int] = _spec(
        "MAX_URLS_PER_REQUEST",
        1000,
        "Most URLs one detection request may send.",
        SERVICE,
        validate=_positive,
    )
    fingerprint_cache_size: Setting[int] = _spec(
        "FINGERPRINT_CACHE_SIZE",
        10_000,
        "Fingerprints each server process keeps, keyed by the SHA-256 of the downloaded bytes "
        "(least recently used evicted; about 0.5 KB each): an image whose bytes were seen "
        "recently is not decoded again. Failures are not cached. `0` turns the cache off.",
        SERVICE,
        shown="10_000",
        validate=_not_negative,
    )
    # --- review and merge ----------------------------------------------------------------------
    merge_delete_duplicates: Setting[bool] = _spec(
        "MERGE_DELETE_DUPLICATES",
        True,
        "Delete merged duplicates (`True`) or keep them, flagged in the merge log (`False`).",
        REVIEW,
    )
    merge_delete_files: Setting[bool] = _spec(
        "MERGE_DELETE_FILES",
        False,
        "Also delete the duplicates' files from storage after a merge.",
        REVIEW,
    )
    merge_handler: Setting[str] = _spec(
        "MERGE_HANDLER",
        "imagex_dedup.review.merge.merge_group",
        "Dotted path of the function that merges a group.",
        REVIEW,
    )
    keeper_rule: Setting[str] = _spec(
        "KEEPER_RULE",
        "imagex_dedup.review.keeper.default_keeper_rule",
        "Dotted path of the callable that picks the member a merge keeps when nobody picked "
        "one: `rule(members) -> member`, given the members whose object still exists. The "
        "default prefers the higher resolution, then the orientation the group shares, then "
        "EXIF capture data, then the least recompressed file, then the oldest object.",
        REVIEW,
        validate=_importable,
    )
    thumbnail_size: Setting[int] = _spec(
        "THUMBNAIL_SIZE",
        240,
        "Bounding box (pixels) of the thumbnails in the admin and the API.",
        REVIEW,
        validate=_positive,
    )
    preview_size: Setting[int] = _spec(
        "PREVIEW_SIZE",
        720,
        "Bounding box (pixels) of the large previews on a group's review page.",
        REVIEW,
        validate=_positive,
    )
    api_check_max_images: Setting[int] = _spec(
        "API_CHECK_MAX_IMAGES",
        20,
        "Most images one synchronous REST check (`<mount>/api/check/`) accepts.",
        REVIEW,
        validate=_positive,
    )
    # --- veImageX backend ----------------------------------------------------------------------
    imagex: Setting[dict[str, Any]] = _spec(
        "IMAGEX",
        {},  # filled from IMAGEX_SPECS below
        "The `imagex` backend (a dict; keys you leave out keep their defaults).",
        "imagex",
        shown="see below",
    )

    def __init__(self) -> None:
        self._cache: dict[str, Any] = {}

    @property
    def user_settings(self) -> dict[str, Any]:
        return getattr(settings, SETTINGS_NAME, None) or {}

    def value(self, key: str) -> Any:
        """The merged value of option ``key`` (``dict`` options merged key by key)."""
        if key not in self._cache:
            default = DEFAULTS[key]
            value = self.user_settings.get(key, default)
            if isinstance(default, dict) and isinstance(value, dict):
                value = {**default, **value}
            if type(default) is float and type(value) is int:
                value = float(value)
            self._cache[key] = value
        return self._cache[key]

    def __getattr__(self, name: str) -> Any:
        if name.isupper() and name in DEFAULTS:
            return self.value(name)
        raise AttributeError(f"Invalid imagex_dedup setting: {name!r}")

    def load(self, name: str) -> Any:
        """Import the object named by a dotted-path option."""
        if name not in IMPORT_STRINGS:
            raise AttributeError(f"{name!r} is not a dotted-path setting")
        return import_string(self.value(name))

    def load_limits(self) -> LoadLimits:
        """The engine's limits for reading and decoding one image."""
        from imagex_dedup.engine.loading import LoadLimits

        return LoadLimits(max_bytes=self.max_image_bytes, max_pixels=self.max_image_pixels)

    def fetch_policy(self, service: DetectionService | None = None) -> FetchPolicy:
        """The SSRF guard for downloads: the site's own (``FETCH_ALLOW_PRIVATE``), or one
        detection service's (its host allow-list and its ``allow_private_urls``; the site's
        setting plays no part there, so a site cannot open every service by accident)."""
        from imagex_dedup.engine.fetch import FetchPolicy

        if service is None:
            return FetchPolicy(
                timeout=self.fetch_timeout,
                max_bytes=self.max_image_bytes,
                allow_private=self.fetch_allow_private,
            )
        hosts = [h for h in service.allowed_url_hosts or [] if isinstance(h, str) and h.strip()]
        return FetchPolicy(
            timeout=self.fetch_timeout,
            max_bytes=self.max_image_bytes,
            allow_private=service.allow_private_urls,
            allowed_hosts=frozenset(hosts) or None,
        )

    def reload(self) -> None:
        """Forget cached values (in place, so every importer sees fresh ones)."""
        self._cache.clear()


def _imagex(key: str, default: Any, doc: str, **options: Any) -> Spec:
    return _spec(key, default, doc, "imagex", **options).spec


IMAGEX_SPECS: tuple[Spec, ...] = (
    _imagex("ACCESS_KEY_ID", "", "Volcengine access key id."),
    _imagex("SECRET_ACCESS_KEY", "", "Its secret."),
    _imagex("REGION", "cn-north-1", "Region; picks the endpoint (`cn-north-1`, `ap-southeast-1`)."),
    _imagex(
        "ENDPOINT",
        "",
        "Explicit endpoint, e.g. another deployment of this app: `https://dedup.example.com/imagex/`.",
    ),
    _imagex("SERVICE_ID", "", "The veImageX ServiceId to call."),
    _imagex(
        "TOP_K", 20, "Most stored candidates sent along with a new image in one detection call."
    ),
    _imagex(
        "CANDIDATE_SIMILARITY",
        0.75,
        "Local score a stored image needs to be sent along as a candidate (the lower of this and "
        "`SIMILARITY`): below the threshold, because the remote service scores differently.",
    ),
    _imagex("BATCH_SIZE", 50, "Most URLs in one call."),
    _imagex(
        "RATE_LIMIT",
        10,
        "Client-side limit, requests per second per access key (older docs say 10, current "
        "docs 5).",
    ),
    _imagex(
        "RATE_LIMIT_CACHE",
        "default",
        "Cache alias holding the per-second request counters, shared by all workers.",
    ),
    _imagex(
        "ASYNC_THRESHOLD",
        50,
        "Calls with more URLs than this use `Async` + `Callback` instead of waiting.",
    ),
    _imagex("TIMEOUT", 30.0, "HTTP timeout (seconds) of one call."),
)

SPECS: tuple[Spec, ...] = tuple(
    attribute.spec for attribute in vars(DedupSettings).values() if isinstance(attribute, Setting)
)
DEFAULTS: dict[str, Any] = {spec.key: spec.default for spec in SPECS}
DEFAULTS["IMAGEX"] = {spec.key: spec.default for spec in IMAGEX_SPECS}

# Options that hold dotted paths; ``dedup_settings.load("NAME")`` imports them.
IMPORT_STRINGS = frozenset({"MERGE_HANDLER", "KEEPER_RULE"})

dedup_settings = DedupSettings()


@receiver(setting_changed)
def _reload_on_change(*, setting: str, **kwargs: Any) -> None:
    if setting == SETTINGS_NAME:
        dedup_settings.reload()
