"""URL fetching against a real loopback HTTP server, and the SSRF guard's refusal matrix."""

from __future__ import annotations

import ipaddress
import os
import pickle
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import requests
from urllib3.util import connection

from imagex_dedup.engine.errors import FetchError, UnsafeURLError
from imagex_dedup.engine.fetch import (
    FetchPolicy,
    check_url_safe,
    create_session,
    fetch_many,
    fetch_url,
    is_public_address,
    iter_fetch,
)

LOOPBACK = FetchPolicy(allow_private=True, timeout=5.0, max_bytes=1024 * 1024)


def fetch_error(url: str, policy: FetchPolicy = LOOPBACK) -> FetchError:
    with pytest.raises(FetchError) as caught:
        fetch_url(url, policy)
    return caught.value


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test on any DNS lookup or connection attempt."""

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setattr(socket, "getaddrinfo", forbidden)
    monkeypatch.setattr(connection, "create_connection", forbidden)


# --- happy paths -------------------------------------------------------------------------------


def test_fetches_an_image(http_server, jpeg_bytes) -> None:
    assert fetch_url(http_server.url("/image"), LOOPBACK) == jpeg_bytes
    assert http_server.paths == ["/image"]


@pytest.mark.parametrize("content_type", ["", "application/octet-stream", "image/webp"])
def test_accepts_binary_content_types(http_server, jpeg_bytes, content_type) -> None:
    assert fetch_url(http_server.url(f"/image?type={content_type}"), LOOPBACK) == jpeg_bytes


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_follows_redirects(http_server, jpeg_bytes, status) -> None:
    target = http_server.url("/image")
    assert fetch_url(http_server.url(f"/redirect?status={status}&to={target}"), LOOPBACK)
    assert fetch_url(http_server.url("/redirect?to=/image"), LOOPBACK) == jpeg_bytes


def test_sends_the_policy_user_agent(http_server, monkeypatch) -> None:
    seen: list[str | None] = []
    original = requests.Session.send

    def spy(self, request, **kwargs):
        seen.append(request.headers.get("User-Agent"))
        return original(self, request, **kwargs)

    monkeypatch.setattr(requests.Session, "send", spy)
    fetch_url(http_server.url("/image"), LOOPBACK)
    assert seen == [FetchPolicy().user_agent]
    assert seen[0].startswith("imagex-dedup/")


# --- refusals and failures ---------------------------------------------------------------------


def test_redirect_hops_are_checked_again(http_server) -> None:
    policy = FetchPolicy(allow_private=True, allowed_hosts=frozenset({"localhost"}))
    start = http_server.url("/redirect?to=" + http_server.url("/image"), host="localhost")
    error = fetch_error(start, policy)
    assert isinstance(error, UnsafeURLError)
    assert "127.0.0.1" in str(error)
    assert http_server.paths == ["/redirect?to=" + http_server.url("/image")]


def test_too_many_redirects(http_server) -> None:
    policy = FetchPolicy(allow_private=True, max_redirects=3)
    assert fetch_error(http_server.url("/loop/0"), policy).code == "too_many_redirects"
    assert http_server.paths == ["/loop/0", "/loop/1", "/loop/2", "/loop/3"]


def test_refuses_a_large_content_length_before_reading(http_server) -> None:
    error = fetch_error(http_server.url("/huge?size=5000000"))
    assert error.code == "too_large"
    assert "5000000" in str(error)


def test_counts_bytes_when_no_length_is_announced(http_server) -> None:
    assert fetch_error(http_server.url("/huge?size=3000000&length=none")).code == "too_large"


def test_a_small_content_length_caps_what_is_read(http_server) -> None:
    body = fetch_url(http_server.url("/lying?claim=100&send=3000000"), LOOPBACK)
    assert len(body) == 100


def test_a_body_shorter_than_its_content_length_fails(http_server) -> None:
    error = fetch_error(http_server.url("/lying?claim=5000&send=10"))
    assert (error.code, error.message) == (
        "connection_error",
        "the body ended before its announced length",
    )


@pytest.mark.parametrize("path", ["/slow-body", "/slow-headers"])
def test_a_trickling_server_cannot_outlast_the_deadline(http_server, path) -> None:
    policy = FetchPolicy(allow_private=True, timeout=1.0)
    started = time.monotonic()
    error = fetch_error(http_server.url(path), policy)
    assert (error.code, error.message) == ("timeout", "timed out after 1 s")
    assert time.monotonic() - started < 4.0  # without the deadline: 8 s or more


@pytest.fixture
def trickling_tls_port() -> Iterator[int]:
    """A loopback TCP server that answers a TLS client hello with a record trickled byte by byte."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            try:
                conn.sendall(b"\x16\x03\x03\x40\x00")  # a 16 KiB handshake record follows...
                while not stop.wait(0.1):
                    conn.sendall(b"\x00")  # ...one byte at a time
            except OSError:
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    listener.close()
    thread.join(5)


def test_a_trickled_tls_handshake_cannot_outlast_the_deadline(trickling_tls_port) -> None:
    policy = FetchPolicy(allow_private=True, timeout=1.0)
    started = time.monotonic()
    error = fetch_error(f"https://127.0.0.1:{trickling_tls_port}/image", policy)
    assert error.code == "timeout"
    assert time.monotonic() - started < 4.0  # without the deadline: 8 s or more


@pytest.mark.parametrize("path", ["/html", "/svg", "/image?type=text/plain"])
def test_refuses_non_image_content_types(http_server, path) -> None:
    assert fetch_error(http_server.url(path)).code == "bad_content_type"


@pytest.mark.parametrize("status", [404, 500])
def test_http_errors(http_server, status) -> None:
    error = fetch_error(http_server.url(f"/status/{status}"))
    assert error.code == "http_error"
    assert str(status) in str(error)


def test_connection_refused() -> None:
    with socket.socket() as probe:  # a loopback port that nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    error = fetch_error(f"http://127.0.0.1:{port}/image")
    # In plain words: the exception's own text names urllib3's internal pool classes.
    assert (error.code, error.message) == ("connection_error", "connection refused")


def test_dns_failure_in_plain_words() -> None:
    error = fetch_error("http://no-such-host.invalid/image.jpg")
    assert (error.code, error.message) == ("connection_error", "DNS lookup failed")


# --- the SSRF guard ----------------------------------------------------------------------------

UNSAFE_URLS = [
    "http://127.0.0.1/",
    "http://localhost/",
    "http://LOCALHOST./",
    "http://api.localhost/",
    "http://[::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]/",
    "http://2130706433/",
    "http://0x7f.1/",
    "http://017700000001/",
    "http://127.1/",
    "http://0/",
    "http://10.0.0.1/",
    "http://172.16.0.1/",
    "http://169.254.169.254/latest/meta-data/",
    "http://192.168.1.1/",
    "http://100.64.0.1/",
    "http://224.0.0.1/",
    "http://[fd00::1]/",
    "http://[fe80::1%25eth0]/",
    "http://[2002:7f00:1::]/",
    "http://0.0.0.0/",
    "http://[::]/",
    "ftp://example.com/a.jpg",
    "file:///etc/passwd",
    "gopher://example.com/",
    "http://user:secret@example.com/a.jpg",
    "http://example.com:80@127.0.0.1/",
]


@pytest.mark.parametrize("url", UNSAFE_URLS)
def test_unsafe_urls_are_refused_without_any_connection(no_network, url) -> None:
    with pytest.raises(UnsafeURLError) as caught:
        fetch_url(url)
    assert caught.value.code == "unsafe_url"
    with pytest.raises(UnsafeURLError):
        check_url_safe(url, FetchPolicy())


@pytest.mark.parametrize(
    "url",
    [
        "",
        "example.com/a.jpg",
        "http://",
        "http:example.com",
        "http://1.2.3.999/",
        "http://a b/",
        "http://example.com\\@127.0.0.1/",
        "http://example.com:99999/",
        "http://1.2.3.4.5/",
    ],
)
def test_malformed_urls_are_invalid(no_network, url) -> None:
    assert fetch_error(url, FetchPolicy()).code == "invalid_url"


def test_public_urls_pass_the_lexical_check(no_network) -> None:
    for url in ["https://example.com/a.jpg", "http://8.8.8.8/", "http://bücher.de/x"]:
        check_url_safe(url, FetchPolicy())


def test_allowed_hosts_patterns(no_network) -> None:
    policy = FetchPolicy(allowed_hosts=frozenset({"cdn.example.com", "*.images.example.org"}))
    for url in [
        "https://cdn.example.com/a",
        "https://a.images.example.org/",
        "http://x.y.images.example.org/",
    ]:
        check_url_safe(url, policy)
    for url in [
        "https://example.com/",
        "https://images.example.org/",
        "https://evilimages.example.org/",
    ]:
        with pytest.raises(UnsafeURLError):
            check_url_safe(url, policy)


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("2606:4700::1111", True),
        ("::ffff:8.8.8.8", True),
        ("100.64.0.1", False),
        ("239.1.1.1", False),
        ("fec0::1", False),
        ("ff02::1", False),
        ("64:ff9b::7f00:1", False),
        ("2001:db8::1", False),
        ("255.255.255.255", False),
    ],
)
def test_is_public_address(address, public) -> None:
    assert is_public_address(ipaddress.ip_address(address)) is public


@pytest.fixture
def rebind_dns(monkeypatch, http_server) -> list[str]:
    """Make the name ``rebind.test`` resolve to the loopback server; record every lookup."""
    lookups: list[str] = []
    real = socket.getaddrinfo

    def fake(host, port, *args, **kwargs):
        lookups.append(host)
        return real("127.0.0.1" if host == "rebind.test" else host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return lookups


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_a_name_resolving_to_a_private_address_is_refused_before_connecting(
    http_server, rebind_dns, scheme
) -> None:
    url = http_server.url("/image", host="rebind.test").replace("http", scheme, 1)
    check_url_safe(url, FetchPolicy())  # the name alone looks harmless
    with pytest.raises(UnsafeURLError, match=r"resolves to 127\.0\.0\.1"):
        fetch_url(url)
    assert http_server.requests == []


def test_a_name_is_resolved_once_and_the_checked_address_is_used(
    http_server, rebind_dns, jpeg_bytes
) -> None:
    assert fetch_url(http_server.url("/image", host="rebind.test"), LOOPBACK) == jpeg_bytes
    assert rebind_dns.count("rebind.test") == 1
    assert set(rebind_dns) == {"rebind.test", "127.0.0.1"}  # then only the numeric address


def test_a_plain_session_is_refused(http_server) -> None:
    with requests.Session() as session, pytest.raises(ValueError, match="create_session"):
        fetch_url(http_server.url("/image"), LOOPBACK, session=session)
    with create_session(LOOPBACK) as permissive, pytest.raises(ValueError):
        fetch_url(http_server.url("/image"), FetchPolicy(), session=permissive)


def test_proxies_are_refused(http_server) -> None:
    with create_session(LOOPBACK) as session:
        session.proxies = {"http": "http://127.0.0.1:9"}
        with pytest.raises(UnsafeURLError, match="proxy"):
            fetch_url(http_server.url("/image"), LOOPBACK, session=session)


def test_fetch_errors_survive_pickling() -> None:
    for error in (UnsafeURLError("no"), FetchError("timeout", "late")):
        copy = pickle.loads(pickle.dumps(error))
        assert (type(copy), copy.code, str(copy)) == (type(error), error.code, str(error))


# --- fetch_many --------------------------------------------------------------------------------


def test_fetch_many_keeps_the_order_and_reports_errors_in_place(http_server, jpeg_bytes) -> None:
    urls = [
        http_server.url("/image"),
        "file:///etc/passwd",
        http_server.url("/status/404"),
        "not a url",
        http_server.url("/redirect?to=/image"),
    ]
    results = fetch_many(urls, LOOPBACK, max_workers=3)
    assert results[0] == jpeg_bytes and results[4] == jpeg_bytes
    codes = [getattr(result, "code", None) for result in results]
    assert codes == [None, "unsafe_url", "http_error", "invalid_url", None]


def test_fetch_many_reuses_connections(http_server, jpeg_bytes) -> None:
    results = fetch_many([http_server.url("/image")] * 12, LOOPBACK, max_workers=2)
    assert results == [jpeg_bytes] * 12
    connections = {client_port for _path, client_port in http_server.requests}
    assert len(connections) <= 2


def test_fetch_many_deadline(http_server, jpeg_bytes) -> None:
    policy = FetchPolicy(allow_private=True, timeout=30.0)
    urls = [http_server.url("/image")] + [http_server.url("/slow-body")] * 4
    started = time.monotonic()
    results = fetch_many(urls, policy, max_workers=2, deadline=1.0)
    assert time.monotonic() - started < 4.0  # without the deadline: 8 s or more
    assert results[0] == jpeg_bytes
    assert [error.code for error in results[1:]] == ["timeout"] * 4


def test_iter_fetch_starts_a_download_only_when_one_was_taken(http_server, jpeg_bytes) -> None:
    """Bounded memory: while the caller holds a body, no more than max_workers are fetched."""
    urls = [http_server.url(f"/image?n={n}") for n in range(6)]
    downloads = iter_fetch(urls, LOOPBACK, max_workers=2)
    first_index, first = next(downloads)
    time.sleep(0.3)  # both workers are free by now, but nothing was taken since
    assert first == jpeg_bytes and len(http_server.requests) == 2
    rest = list(downloads)
    assert sorted([first_index, *(index for index, _ in rest)]) == list(range(6))
    assert all(body == jpeg_bytes for _, body in rest)
    assert len(http_server.requests) == 6


def test_iter_fetch_yields_every_index_once_when_the_deadline_passes(http_server) -> None:
    urls = [http_server.url("/image")] + [http_server.url("/slow-body")] * 3
    policy = FetchPolicy(allow_private=True, timeout=30.0)
    outcomes = dict(iter_fetch(urls, policy, max_workers=2, deadline=1.0))
    assert sorted(outcomes) == [0, 1, 2, 3]
    assert [outcomes[i].code for i in (1, 2, 3)] == ["timeout"] * 3
    assert len(http_server.requests) <= 3  # the last one never started


def test_fetch_many_of_nothing() -> None:
    assert fetch_many([]) == []


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")
def test_deadline_watchdogs_leave_no_threads_or_descriptors(http_server) -> None:
    fetch_url(http_server.url("/image"), LOOPBACK)  # warm up lazily created resources
    threads, descriptors = threading.active_count(), len(os.listdir("/proc/self/fd"))
    with create_session(LOOPBACK) as session:
        for _ in range(20):
            fetch_url(http_server.url("/image"), LOOPBACK, session=session)
    fetch_many([http_server.url("/status/404")] * 10, LOOPBACK, max_workers=3)
    time.sleep(0.2)  # let cancelled timer threads exit
    assert threading.active_count() <= threads
    assert len(os.listdir("/proc/self/fd")) <= descriptors
