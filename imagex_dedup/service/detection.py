"""One detection run: fetch, fingerprint, group; the ``Result`` object of the wire protocol.

Images that cannot be fetched or decoded do not fail the request (the cloud API is silent about
them); they are left out of the grouping and listed in the extension key ``FailedUrls`` as
``{"Url", "Code", "Message"}`` where ``Code`` is the engine's error code in CamelCase
(``unsafe_url`` -> ``UnsafeUrl``). Only running out of the time budget fails the whole run.
"""

from __future__ import annotations

import http.cookiejar
import os
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from imagex_dedup.conf import dedup_settings
from imagex_dedup.engine.batch import check_batch
from imagex_dedup.engine.errors import EngineError, FetchError
from imagex_dedup.engine.fetch import FetchPolicy, create_session, iter_fetch
from imagex_dedup.engine.fingerprint import Fingerprint, fingerprint_image
from imagex_dedup.engine.loading import LoadLimits, load_image
from imagex_dedup.engine.similarity import wire_score
from imagex_dedup.service.errors import ServiceError
from imagex_dedup.service.fpcache import fingerprint_cache

if TYPE_CHECKING:
    import requests


# Kept-alive connections per host, shared by the requests of one process; more concurrent
# downloads to one host than this open extra connections that are not kept.
_POOL_SIZE = 32
_sessions: dict[tuple[int, bool], requests.Session] = {}
_sessions_lock = threading.Lock()


def shared_session(policy: FetchPolicy) -> requests.Session:
    """The process's guarded download session for ``policy.allow_private``.

    Requests reuse its kept-alive connections (no new TCP and TLS handshake, no new DNS lookup
    for a host fetched recently). Reuse keeps the SSRF guarantees: each connection was opened by
    the guarded transport to an address it checked, under the same ``allow_private`` (the two
    values never share a pool); a pool serves one scheme, host and port, and every URL and
    redirect hop still passes ``check_url_safe`` with its own service's policy (allowed hosts)
    before it is requested. Cookies are never kept, so nothing set by a host for one request is
    sent with another.
    """
    key = (os.getpid(), policy.allow_private)  # a forked child opens its own connections
    session = _sessions.get(key)
    if session is None:
        with _sessions_lock:
            session = _sessions.get(key)
            if session is None:
                session = create_session(policy, pool_size=_POOL_SIZE)
                session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
                _sessions[key] = session
    return session


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
    # Bodies are fingerprinted as they arrive and dropped: a request holds a few at a time.
    distinct = list(dict.fromkeys(urls))
    limits = dedup_settings.load_limits()
    cache = fingerprint_cache()
    outcomes: dict[str, Fingerprint | EngineError] = {}
    downloads = iter_fetch(distinct, policy, deadline=budget, session=shared_session(policy))
    for index, body in downloads:
        url = distinct[index]
        try:
            if isinstance(body, FetchError):
                raise body
            # Bytes seen recently (a re-checked URL, one picture under several URLs) are not
            # decoded again; failures are not cached.
            outcomes[url] = cache.get_or_compute(body, limits, _fingerprint)
        except EngineError as error:
            outcomes[url] = error
        del body
        check_budget()
    checked = check_batch([outcomes[url] for url in urls], similarity)
    result: dict[str, Any] = {}
    if checked.score is not None:
        result["Score"] = wire_score(checked.score)
    result["Groups"] = {
        f"group{n}": [urls[i] for i in members] for n, members in enumerate(checked.groups)
    }
    result["FailedUrls"] = [
        {"Url": urls[i], "Code": failure_code(error), "Message": str(error)}
        for i, error in checked.failures
    ]
    return result
