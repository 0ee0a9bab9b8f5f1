"""One detection run: fetch, fingerprint, group; the ``Result`` object of the wire protocol.

Images that cannot be fetched or decoded do not fail the request (the cloud API is silent about
them); they are left out of the grouping and listed in the extension key ``FailedUrls`` as
``{"Url", "Code", "Message"}`` where ``Code`` is the engine's error code in CamelCase
(``unsafe_url`` -> ``UnsafeUrl``). Only running out of the time budget fails the whole run.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from imagex_dedup.conf import dedup_settings
from imagex_dedup.engine.cli import format_score
from imagex_dedup.engine.errors import EngineError, FetchError
from imagex_dedup.engine.fetch import FetchPolicy, fetch_many
from imagex_dedup.engine.fingerprint import Fingerprint, fingerprint_image
from imagex_dedup.engine.grouping import group
from imagex_dedup.engine.loading import LoadLimits, load_image
from imagex_dedup.engine.scoring import compare
from imagex_dedup.service.errors import ServiceError

if TYPE_CHECKING:
    from imagex_dedup.models import DetectionService


def fetch_policy(service: DetectionService) -> FetchPolicy:
    """The SSRF guard for one service: its host allow-list and its private-address switch."""
    hosts = [h for h in service.allowed_url_hosts or [] if isinstance(h, str) and h.strip()]
    return FetchPolicy(
        timeout=float(dedup_settings.FETCH_TIMEOUT),
        max_bytes=int(dedup_settings.MAX_IMAGE_BYTES),
        allow_private=service.allow_private_urls,
        allowed_hosts=frozenset(hosts) or None,
    )


def failure_code(error: EngineError) -> str:
    """``too_many_pixels`` -> ``TooManyPixels``: Volcengine-style names for engine codes."""
    return "".join(part.capitalize() for part in error.code.split("_"))


def _fingerprint(data: bytes, limits: LoadLimits) -> Fingerprint:
    return fingerprint_image(load_image(data, limits=limits).image)


def detect(
    urls: Sequence[str], similarity: float, *, policy: FetchPolicy, budget: float
) -> dict[str, Any]:
    """The ``Result`` for ``urls``: ``Score`` (exactly two URLs, both usable), ``Groups``,
    ``FailedUrls``. Raises ServiceError("RequestTimeout") when ``budget`` seconds pass first."""
    started = time.monotonic()

    def check_budget() -> None:
        if time.monotonic() - started >= budget:
            raise ServiceError("RequestTimeout", f"Detection did not finish within {budget:g} s.")

    # Each distinct URL is fetched and fingerprinted once; every input position gets its outcome.
    distinct = list(dict.fromkeys(urls))
    bodies = fetch_many(distinct, policy, deadline=budget)
    check_budget()
    limits = LoadLimits(
        max_bytes=int(dedup_settings.MAX_IMAGE_BYTES),
        max_pixels=int(dedup_settings.MAX_IMAGE_PIXELS),
    )
    outcomes: dict[str, Fingerprint | EngineError] = {}
    for url, body in zip(distinct, bodies, strict=True):
        try:
            if isinstance(body, FetchError):
                raise body
            outcomes[url] = _fingerprint(body, limits)
        except EngineError as error:
            outcomes[url] = error
        check_budget()
    usable: list[int] = []
    fingerprints: list[Fingerprint] = []
    failed: list[dict[str, str]] = []
    for index, url in enumerate(urls):
        outcome = outcomes[url]
        if isinstance(outcome, EngineError):
            failed.append({"Url": url, "Code": failure_code(outcome), "Message": str(outcome)})
        else:
            usable.append(index)
            fingerprints.append(outcome)
    result: dict[str, Any] = {}
    if len(urls) == 2 and len(fingerprints) == 2:
        result["Score"] = format_score(compare(fingerprints[0], fingerprints[1]))
    result["Groups"] = {
        f"group{n}": [urls[usable[i]] for i in members]
        for n, members in enumerate(group(fingerprints, similarity))
    }
    result["FailedUrls"] = failed
    return result
