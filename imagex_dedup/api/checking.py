"""Synchronous checks of uploaded files or URLs for the REST API (``POST <mount>/api/check/``).

Each image is loaded with the site's limits and fingerprinted; the batch goes through the
engine's one batch check (``engine.batch``), and this module only shapes the answer. URLs go
through the engine's SSRF guard with the site-wide fetch policy. Reviewers also get each image's
matches in the site's fingerprint index.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from imagex_dedup.conf import dedup_settings
from imagex_dedup.engine import (
    EngineError,
    FetchError,
    Fingerprint,
    fetch_many,
    fingerprint_image,
    load_image,
)
from imagex_dedup.engine.batch import check_batch
from imagex_dedup.engine.similarity import display_score
from imagex_dedup.index.lookup import find_similar
from imagex_dedup.review.perms import can_view_host


def fetch_urls(urls: Sequence[str]) -> list[bytes | FetchError]:
    return fetch_many(urls, dedup_settings.fetch_policy(), deadline=dedup_settings.sync_time_budget)


def _library_matches(fp: Fingerprint, similarity: float, user: Any) -> list[dict[str, Any]]:
    return [
        {
            "content_type": f"{rec.content_type.app_label}.{rec.content_type.model}",
            "object_id": rec.object_id,
            "field_name": rec.field_name,
            "score": display_score(score),
        }
        for rec, score in find_similar(fp, similarity)
        if can_view_host(user, rec.content_type.model_class())
    ]


def _image_info(index: int, source: str, body: bytes | EngineError) -> tuple[dict, Any]:
    """One image's entry of the answer, and its fingerprint or the error that stopped it."""
    info: dict[str, Any] = {"index": index, "source": source, "width": None, "height": None,
                            "format": "", "byte_size": None, "content_hash": "",
                            "error": None, "matches": []}  # fmt: skip
    try:
        if isinstance(body, EngineError):
            raise body
        loaded = load_image(body, limits=dedup_settings.load_limits())
        fingerprint = fingerprint_image(loaded.image)
    except EngineError as error:
        info["error"] = {"code": error.code, "message": str(error)}
        return info, error
    info |= {
        "width": loaded.width,
        "height": loaded.height,
        "format": loaded.format,
        "byte_size": loaded.byte_size,
        "content_hash": loaded.content_hash,
    }
    return info, fingerprint


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
    images, outcomes = [], []
    for index, (source, body) in enumerate(zip(sources, bodies, strict=True)):
        info, outcome = _image_info(index, source, body)
        if library_user is not None and isinstance(outcome, Fingerprint):
            info["matches"] = _library_matches(outcome, similarity, library_user)
        images.append(info)
        outcomes.append(outcome)
    checked = check_batch(outcomes, similarity)
    result: dict[str, Any] = {}
    if checked.score is not None:
        result["score"] = display_score(checked.score)
    result["groups"] = checked.groups
    result["images"] = images
    return result
