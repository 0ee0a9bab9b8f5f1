"""Synchronous checks of uploaded files or URLs for the REST API (``POST <mount>/api/check/``).

Each image is loaded with the engine's limits, fingerprinted, and the batch is grouped; with
exactly two usable images the pair's score is given too. URLs go through the engine's SSRF guard
with the site-wide fetch policy (``FETCH_TIMEOUT``, ``MAX_IMAGE_BYTES``, ``FETCH_ALLOW_PRIVATE``).
Reviewers also get each image's matches in the site's fingerprint index.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from imagex_dedup.conf import dedup_settings
from imagex_dedup.engine import (
    EngineError,
    FetchError,
    FetchPolicy,
    Fingerprint,
    LoadLimits,
    compare,
    fetch_many,
    fingerprint_image,
    load_image,
)
from imagex_dedup.engine.grouping import group
from imagex_dedup.perms import can_view_host


def fetch_policy() -> FetchPolicy:
    return FetchPolicy(
        timeout=float(dedup_settings.FETCH_TIMEOUT),
        max_bytes=int(dedup_settings.MAX_IMAGE_BYTES),
        allow_private=bool(dedup_settings.FETCH_ALLOW_PRIVATE),
    )


def load_limits() -> LoadLimits:
    return LoadLimits(
        max_bytes=int(dedup_settings.MAX_IMAGE_BYTES),
        max_pixels=int(dedup_settings.MAX_IMAGE_PIXELS),
    )


def fetch_urls(urls: Sequence[str]) -> list[bytes | FetchError]:
    return fetch_many(urls, fetch_policy(), deadline=float(dedup_settings.SYNC_TIME_BUDGET))


def _library_matches(fp: Fingerprint, similarity: float, user: Any) -> list[dict[str, Any]]:
    from imagex_dedup.index import find_similar

    return [
        {
            "content_type": f"{rec.content_type.app_label}.{rec.content_type.model}",
            "object_id": rec.object_id,
            "field_name": rec.field_name,
            "score": round(score, 4),
        }
        for rec, score in find_similar(fp, similarity)
        if can_view_host(user, rec.content_type.model_class())
    ]


def check_images(
    sources: Sequence[str],
    bodies: Sequence[bytes | EngineError],
    similarity: float,
    *,
    library_user: Any = None,
) -> dict[str, Any]:
    """``{"score"?, "groups": [[index, ...]], "images": [...]}`` for the given image bodies.

    ``sources`` name the images (file names or URLs); a body may be an engine error from fetching.
    With ``library_user``, each image also lists its matches in the site's fingerprint index,
    limited to host models that user may view.
    """
    limits = load_limits()
    images: list[dict[str, Any]] = []
    usable: list[int] = []
    fingerprints: list[Fingerprint] = []
    for index, (source, body) in enumerate(zip(sources, bodies, strict=True)):
        info: dict[str, Any] = {"index": index, "source": source, "width": None, "height": None,
                                "format": "", "byte_size": None, "content_hash": "",
                                "error": None, "matches": []}  # fmt: skip
        try:
            if isinstance(body, EngineError):
                raise body
            loaded = load_image(body, limits=limits)
            fp = fingerprint_image(loaded.image)
        except EngineError as error:
            info["error"] = {"code": error.code, "message": str(error)}
        else:
            info |= {
                "width": loaded.width,
                "height": loaded.height,
                "format": loaded.format,
                "byte_size": loaded.byte_size,
                "content_hash": loaded.content_hash,
            }
            if library_user is not None:
                info["matches"] = _library_matches(fp, similarity, library_user)
            usable.append(index)
            fingerprints.append(fp)
        images.append(info)
    result: dict[str, Any] = {}
    if len(sources) == 2 and len(fingerprints) == 2:
        result["score"] = round(float(compare(fingerprints[0], fingerprints[1])), 4)
    groups = group(fingerprints, similarity) if len(fingerprints) > 1 else []
    result["groups"] = [[usable[i] for i in members] for members in groups]
    result["images"] = images
    return result
