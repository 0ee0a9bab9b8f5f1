"""Hand an upload's analysis from the check (web request) to the save hook (a django-q2 worker,
possibly on another machine), so the saved image is not decoded a second time.

The check puts the analysis in the cache named by ``UPLOAD_CHECK_CACHE``, keyed by the SHA-256 of
the uploaded bytes and the fingerprint version. The worker reads the stored file (it must read it
anyway), hashes it and takes the analysis from the cache when one is there: the key is the
content, so a file changed since the check can never get the old fingerprint. Only successful
analyses are kept; a miss, an unreachable cache or a per-process cache just means one more decode.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import asdict

from django.core.cache import caches
from django.db.models.fields.files import FieldFile

from imagex_dedup.conf import dedup_settings
from imagex_dedup.engine import FINGERPRINT_VERSION
from imagex_dedup.index.analysis import Analysis, analyse

logger = logging.getLogger(__name__)

KEEP_SECONDS = 3600


def cache_key(content_hash: str) -> str:
    return f"imagex_dedup:upload:v{FINGERPRINT_VERSION}:{content_hash}"


def remember(analysis: Analysis) -> None:
    """Keep a successful analysis for the worker that will store the saved file."""
    if analysis.error or not analysis.content_hash:
        return
    try:
        caches[dedup_settings.upload_check_cache].set(
            cache_key(analysis.content_hash), asdict(analysis), KEEP_SECONDS
        )
    except Exception:  # a cache that is down costs the worker one decode, never the upload
        logger.warning("imagex_dedup: could not hand the upload's fingerprint on", exc_info=True)


def recall(content_hash: str) -> Analysis | None:
    """The analysis the upload check kept for these bytes, if any."""
    try:
        kept = caches[dedup_settings.upload_check_cache].get(cache_key(content_hash))
    except Exception:
        logger.warning("imagex_dedup: could not read a handed-on fingerprint", exc_info=True)
        return None
    return Analysis(**kept) if isinstance(kept, dict) else None


def analyse_stored(field_file: FieldFile) -> Analysis:
    """The analysis of a saved host image: the upload check's when it kept one for exactly these
    bytes, else a fresh one. Reads the file once, at most one byte over the size limit."""
    try:
        with field_file.storage.open(field_file.name, "rb") as stream:
            data = stream.read(dedup_settings.max_image_bytes + 1)
    except OSError as error:
        return Analysis(error=f"not_found: {error}")
    if len(data) <= dedup_settings.max_image_bytes:
        kept = recall(hashlib.sha256(data).hexdigest())
        if kept is not None:
            logger.debug("imagex_dedup: %s: fingerprint taken from the upload check", field_file)
            return kept
    return analyse(data, dedup_settings.load_limits())
