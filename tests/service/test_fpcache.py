"""The in-process fingerprint cache (``FINGERPRINT_CACHE_SIZE``) and the shared download
session of the service: cached results equal fresh ones, the LRU bound holds, failures are
never cached, and reused connections keep the SSRF guard."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.conf import settings
from django.test import override_settings

from imagex_dedup.engine.errors import ImageLoadError
from imagex_dedup.engine.fetch import FetchPolicy
from imagex_dedup.engine.loading import LoadLimits
from imagex_dedup.models import AccessKey, DetectionService
from imagex_dedup.service import detection
from imagex_dedup.service.detection import shared_session
from imagex_dedup.service.fpcache import FingerprintCache, fingerprint_cache
from tests.conftest import image_bytes, photo_path
from tests.service.conftest import ServiceClient

LIMITS = LoadLimits()
FINGERPRINT = detection._fingerprint  # the real one, before any test patches it


@pytest.fixture(scope="module")
def pictures() -> dict[str, bytes]:
    from PIL import Image

    out = {}
    for name in ("flower.jpg", "test-card.png", "iss634.webp"):
        with Image.open(photo_path(name)) as image:
            out[name] = image_bytes(image.convert("RGB"), "JPEG")
    return out


class Counting:
    """``detection._fingerprint`` that counts its calls."""

    def __init__(self) -> None:
        self.calls: list[bytes] = []

    def __call__(self, data: bytes, limits: LoadLimits):
        self.calls.append(data)
        return FINGERPRINT(data, limits)


def test_a_hit_returns_the_fingerprint_computed_the_first_time(pictures) -> None:
    cache, compute = FingerprintCache(8), Counting()
    data = pictures["flower.jpg"]
    first = cache.get_or_compute(data, LIMITS, compute)
    again = cache.get_or_compute(bytes(data), LIMITS, compute)  # equal bytes, another object
    assert again == first == FINGERPRINT(data, LIMITS)
    assert len(compute.calls) == 1
    assert (cache.stats().hits, cache.stats().misses, len(cache)) == (1, 1, 1)


def test_least_recently_used_entry_is_evicted_at_the_bound(pictures) -> None:
    cache, compute = FingerprintCache(2), Counting()
    a, b, c = pictures.values()
    cache.get_or_compute(a, LIMITS, compute)
    cache.get_or_compute(b, LIMITS, compute)
    cache.get_or_compute(a, LIMITS, compute)  # a is now the most recently used
    cache.get_or_compute(c, LIMITS, compute)  # evicts b
    assert len(cache) == 2
    assert compute.calls == [a, b, c]
    cache.get_or_compute(a, LIMITS, compute)
    assert compute.calls == [a, b, c]  # a was kept
    cache.get_or_compute(b, LIMITS, compute)
    assert compute.calls == [a, b, c, b]  # b had been evicted
    cache.resize(1)
    assert len(cache) == 1
    cache.get_or_compute(b, LIMITS, compute)
    assert compute.calls == [a, b, c, b]  # the most recent entry survives shrinking


def test_size_zero_disables_the_cache(pictures) -> None:
    cache, compute = FingerprintCache(0), Counting()
    data = pictures["flower.jpg"]
    results = [cache.get_or_compute(data, LIMITS, compute) for _ in range(3)]
    assert results == [FINGERPRINT(data, LIMITS)] * 3
    assert len(compute.calls) == 3 and len(cache) == 0


def test_corrupt_bytes_are_not_cached_and_keep_their_error(pictures) -> None:
    cache, compute = FingerprintCache(8), Counting()
    broken = pictures["flower.jpg"][:300]
    for _ in range(2):
        with pytest.raises(ImageLoadError) as raised:
            cache.get_or_compute(broken, LIMITS, compute)
        assert raised.value.code == "corrupt"
    assert len(compute.calls) == 2 and len(cache) == 0


def test_the_load_limits_are_part_of_the_key(pictures) -> None:
    cache, compute = FingerprintCache(8), Counting()
    data = pictures["flower.jpg"]
    cache.get_or_compute(data, LIMITS, compute)
    with pytest.raises(ImageLoadError) as raised:  # a cached success does not hide the limit
        cache.get_or_compute(data, LoadLimits(max_pixels=100), compute)
    assert raised.value.code == "too_many_pixels"
    assert len(compute.calls) == 2


def test_the_setting_sizes_the_process_cache() -> None:
    with override_settings(IMAGEX_DEDUP={**settings.IMAGEX_DEDUP, "FINGERPRINT_CACHE_SIZE": 3}):
        assert fingerprint_cache().max_size == 3
    with override_settings(IMAGEX_DEDUP={**settings.IMAGEX_DEDUP, "FINGERPRINT_CACHE_SIZE": 0}):
        assert fingerprint_cache().max_size == 0
    assert fingerprint_cache().max_size == 10_000  # the default


# --- through the service ----------------------------------------------------------------------


def test_a_repeated_request_is_answered_from_the_cache(api, photo_base, monkeypatch) -> None:
    compute = Counting()
    monkeypatch.setattr(detection, "_fingerprint", compute)
    urls = [f"{photo_base}/flower.jpg", f"{photo_base}/flower_small.jpg"]
    first = api.detect({"Urls": urls}).json()["Result"]
    assert len(compute.calls) == 2
    second = api.detect({"Urls": urls}).json()["Result"]
    assert second == first and float(first["Score"]) >= 0.84
    assert first["Groups"] == {"group0": urls}
    assert len(compute.calls) == 2  # nothing decoded the second time
    assert fingerprint_cache().stats().hits == 2


def test_the_service_without_cache_decodes_every_time(api, photo_base, monkeypatch) -> None:
    compute = Counting()
    monkeypatch.setattr(detection, "_fingerprint", compute)
    urls = [f"{photo_base}/flower.jpg", f"{photo_base}/card.png"]
    with override_settings(IMAGEX_DEDUP={**settings.IMAGEX_DEDUP, "FINGERPRINT_CACHE_SIZE": 0}):
        results = [api.detect({"Urls": urls}).json()["Result"] for _ in range(2)]
    assert results[0] == results[1]
    assert len(compute.calls) == 4 and len(fingerprint_cache()) == 0


def test_a_corrupt_image_fails_the_same_way_every_time(api, photo_base) -> None:
    urls = [f"{photo_base}/broken.jpg", f"{photo_base}/flower.jpg"]
    for _ in range(2):
        failed = api.detect({"Urls": urls}).json()["Result"]["FailedUrls"]
        assert [(f["Url"], f["Code"]) for f in failed] == [(urls[0], "Corrupt")]
    assert len(fingerprint_cache()) == 1  # flower.jpg only


# --- the shared download session ----------------------------------------------------------------


class KeepAliveImages(BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive; sets a cookie; records (client port, Cookie header)."""

    protocol_version = "HTTP/1.1"
    image = b""
    seen: list[tuple[int, str]] = []

    def do_GET(self) -> None:
        type(self).seen.append((self.client_address[1], self.headers.get("Cookie", "")))
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(len(self.image)))
        self.send_header("Set-Cookie", "tenant=first; Path=/")
        self.end_headers()
        self.wfile.write(self.image)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def keepalive(pictures) -> Iterator[tuple[str, list[tuple[int, str]]]]:
    seen: list[tuple[int, str]] = []
    handler = type("Handler", (KeepAliveImages,), {"image": pictures["flower.jpg"], "seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"rebind.test:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()


@pytest.fixture
def rebind_dns(monkeypatch) -> None:
    """``rebind.test`` resolves to loopback: a public-looking name with a private address."""
    real = socket.getaddrinfo

    def fake(host, port, *args, **kwargs):
        return real("127.0.0.1" if host == "rebind.test" else host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)


def test_requests_reuse_connections_without_sharing_cookies(api, keepalive, rebind_dns) -> None:
    host, seen = keepalive
    for path in ("a.jpg", "b.jpg"):
        result = api.detect({"Urls": [f"http://{host}/{path}", f"http://{host}/{path}"]})
        assert result.json()["Result"]["FailedUrls"] == []
    assert len(seen) == 2
    (port_a, cookie_a), (port_b, cookie_b) = seen
    assert port_a == port_b  # the second request reused the first one's connection
    assert cookie_a == cookie_b == ""  # the Set-Cookie of the first answer was not kept


def test_a_pooled_private_connection_never_serves_a_service_without_private_access(
    api, client, keepalive, rebind_dns
) -> None:
    host, seen = keepalive
    url = f"http://{host}/img.jpg"
    assert api.detect({"Urls": [url, url]}).json()["Result"]["FailedUrls"] == []
    strict = DetectionService.objects.create(service_id="strict", allow_private_urls=False)
    AccessKey.objects.create(service=strict, access_key_id="AKstrict", secret_access_key="sk")
    caller = ServiceClient(client, ak="AKstrict", sk="sk")
    failed = caller.detect({"Urls": [url, url]}, service_id="strict").json()["Result"]["FailedUrls"]
    assert [f["Code"] for f in failed] == ["UnsafeUrl", "UnsafeUrl"]
    assert "resolves to 127.0.0.1" in failed[0]["Message"]
    assert len(seen) == 1  # the strict service's request never reached the server
    assert shared_session(FetchPolicy(allow_private=False)) is not shared_session(
        FetchPolicy(allow_private=True)
    )
