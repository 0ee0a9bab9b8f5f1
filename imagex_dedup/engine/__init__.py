from .errors import EngineError, FetchError, ImageLoadError, UnsafeURLError
from .fetch import (
    FetchPolicy,
    check_url_safe,
    create_session,
    fetch_many,
    fetch_url,
    iter_fetch,
)
from .fingerprint import (
    FINGERPRINT_VERSION,
    Fingerprint,
    fingerprint,
    fingerprint_image,
    fingerprint_many,
)
from .grouping import assign, group
from .keys import index_keys, index_keys_many, query_keys
from .loading import LoadedImage, LoadLimits, load_image
from .scoring import DEFAULT_SIMILARITY, compare, compare_many

__all__ = [
    "DEFAULT_SIMILARITY",
    "FINGERPRINT_VERSION",
    "EngineError",
    "FetchError",
    "FetchPolicy",
    "Fingerprint",
    "ImageLoadError",
    "LoadLimits",
    "LoadedImage",
    "UnsafeURLError",
    "assign",
    "check_url_safe",
    "compare",
    "compare_many",
    "create_session",
    "fetch_many",
    "fetch_url",
    "fingerprint",
    "fingerprint_image",
    "fingerprint_many",
    "group",
    "index_keys",
    "index_keys_many",
    "iter_fetch",
    "load_image",
    "query_keys",
]
