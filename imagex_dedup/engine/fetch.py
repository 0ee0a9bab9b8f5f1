"""Download images from untrusted URLs without becoming an SSRF proxy or a hostage.

Three layers:

1. :func:`check_url_safe` refuses, before any DNS lookup or connection, URLs that are not plain
   http(s), carry credentials, name a non-public IP address (in any spelling: ``2130706433``,
   ``0x7f.1``, ``[::ffff:127.0.0.1]`` ...), ``localhost``, or a host outside ``allowed_hosts``.
   Every redirect hop is checked again.
2. The transport (:func:`create_session`) resolves each host name exactly once, refuses it when
   any address it resolves to is not public, and connects to the checked address itself. The
   address that was checked is the address that is used, so DNS rebinding has no window.
3. Every download has a byte cap (Content-Length and a counted read) and a wall-clock deadline:
   when it passes, the download's sockets are shut down, which wakes any blocked read, so a
   server trickling headers or body bytes cannot hold a worker.
"""

from __future__ import annotations

import contextlib
import functools
import http.client
import ipaddress
import os
import re
import socket
import ssl
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

import idna
import requests
from requests.adapters import HTTPAdapter
from requests.utils import select_proxy
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import (
    ConnectTimeoutError,
    LocationParseError,
    NameResolutionError,
    NewConnectionError,
)
from urllib3.exceptions import TimeoutError as Urllib3TimeoutError
from urllib3.util import connection, parse_url

from imagex_dedup.engine.errors import FetchError, UnsafeURLError
from imagex_dedup.version import USER_AGENT

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_SCHEMES = frozenset({"http", "https"})
_ACCEPTED_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream"})
_REFUSED_IMAGE_TYPES = frozenset({"image/svg+xml"})
_CHUNK_SIZE = 64 * 1024
# One part of a legacy IPv4 spelling: hex (0x7f), octal (0177) or decimal (127).
_IPV4_PART = re.compile(r"0[xX][0-9a-fA-F]*|0[0-7]*|[1-9][0-9]*")
# WHATWG URL rule: a host whose last label is numeric is an IPv4 address (or invalid).
_NUMERIC_LABEL = re.compile(r"[0-9]+|0[xX][0-9a-fA-F]*")


@dataclass(frozen=True)
class FetchPolicy:
    """What a download may do.

    ``timeout`` is the wall-clock limit, in seconds, of one whole download (connecting,
    redirects, headers and body); no single socket operation waits longer either.
    ``allowed_hosts``, when set, holds exact host names or ``*.example.com`` patterns (which match
    sub-domains, not ``example.com`` itself); it restricts hosts further and never re-allows a
    private address. ``allow_private`` turns the address checks off (tests, trusted intranets).
    """

    timeout: float = 10.0
    max_bytes: int = 50 * 1024 * 1024
    allow_private: bool = False
    allowed_hosts: frozenset[str] | None = None
    max_redirects: int = 3
    user_agent: str = USER_AGENT


# --- layer 1: the URL itself -------------------------------------------------------------------


def check_url_safe(url: str, policy: FetchPolicy) -> None:
    """Refuse a URL that must not be fetched under ``policy``.

    Raises :class:`UnsafeURLError` (code ``unsafe_url``) or :class:`FetchError` with code
    ``invalid_url``. Host names are not resolved here: the transport checks the addresses it
    actually connects to.
    """
    host = _checked_host(url)
    address = _ip_literal(host)
    if not policy.allow_private:
        if address is not None and not is_public_address(address):
            spelled = host if host == str(address) else f"{host} (= {address})"
            raise UnsafeURLError(f"{spelled} is not a public address")
        if address is None and (host == "localhost" or host.endswith(".localhost")):
            raise UnsafeURLError(f"{host} is a loopback name")
    if policy.allowed_hosts is not None and not _host_allowed(host, policy.allowed_hosts):
        raise UnsafeURLError(f"host {host} is not in the allowed hosts")


def is_public_address(address: IPAddress) -> bool:
    """True for globally routable unicast addresses; False for everything an SSRF could target."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return is_public_address(address.ipv4_mapped)
        if address.sixtofour is not None and not is_public_address(address.sixtofour):
            return False
        if address.is_site_local:
            return False
    return address.is_global and not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def _checked_host(url: str) -> str:
    """Validate the URL's shape; return its host in lower-case ASCII, without brackets or dot."""
    if not isinstance(url, str) or not url:
        raise FetchError("invalid_url", "the URL must be a non-empty string")
    if any(char.isspace() or ord(char) < 32 or char == "\\" for char in url):
        raise FetchError("invalid_url", "the URL contains whitespace, control characters or '\\'")
    try:
        parsed = parse_url(url)
    except (LocationParseError, ValueError) as exc:
        raise FetchError("invalid_url", f"the URL cannot be parsed: {exc}") from exc
    scheme = (parsed.scheme or "").lower()
    if not scheme:
        raise FetchError("invalid_url", "the URL must start with http:// or https://")
    if scheme not in _SCHEMES:
        raise UnsafeURLError(f"only http and https URLs are fetched, not {scheme}")
    if parsed.auth is not None:
        raise UnsafeURLError("URLs with credentials (user:password@) are not fetched")
    host = (parsed.host or "").strip("[]").rstrip(".").lower()
    if not host:
        raise FetchError("invalid_url", "the URL has no host")
    return _ascii_host(host)


def _ascii_host(host: str) -> str:
    if host.isascii():
        return host
    try:
        return idna.encode(host, uts46=True).decode("ascii")
    except idna.IDNAError as exc:
        raise FetchError("invalid_url", f"invalid international host name: {exc}") from exc


def _ip_literal(host: str) -> IPAddress | None:
    """The address a host spells, including legacy IPv4 forms resolvers accept (None: a name)."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    parts = host.split(".")
    if not _NUMERIC_LABEL.fullmatch(parts[-1]):
        return None
    if len(parts) > 4 or not all(_IPV4_PART.fullmatch(part) for part in parts):
        raise FetchError("invalid_url", f"{host} is not a valid IPv4 address")
    numbers = [_ipv4_number(part) for part in parts]
    last_limit = 256 ** (5 - len(numbers))
    if any(number > 255 for number in numbers[:-1]) or numbers[-1] >= last_limit:
        raise FetchError("invalid_url", f"{host} is not a valid IPv4 address")
    value = numbers[-1]
    for index, number in enumerate(numbers[:-1]):
        value += number << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


def _ipv4_number(part: str) -> int:
    if part[:2].lower() == "0x":
        return int(part[2:] or "0", 16)
    if len(part) > 1 and part.startswith("0"):
        return int(part, 8)
    return int(part)


def _host_allowed(host: str, patterns: frozenset[str]) -> bool:
    for pattern in patterns:
        pattern = _ascii_host(pattern.strip().rstrip(".").lower())
        if pattern.startswith("*."):
            if host.endswith(pattern[1:]) and len(host) > len(pattern) - 1:
                return True
        elif host == pattern:
            return True
    return False


# --- layer 2: the transport --------------------------------------------------------------------


class _GuardedConnectionMixin:
    """Resolve once, check every address, connect to a checked address; watch the socket."""

    def __init__(self, *args: Any, allow_private: bool, **kwargs: Any) -> None:
        self._allow_private = allow_private
        super().__init__(*args, **kwargs)

    def _new_conn(self) -> socket.socket:
        host: str = self._dns_host  # type: ignore[attr-defined]
        port: int = self.port  # type: ignore[attr-defined]
        try:
            infos = socket.getaddrinfo(
                host, port, connection.allowed_gai_family(), socket.SOCK_STREAM
            )
        except socket.gaierror as exc:
            raise NameResolutionError(host, self, exc) from exc  # type: ignore[arg-type]
        addresses = list(dict.fromkeys(info[4][0] for info in infos))
        if not self._allow_private:
            for address in addresses:
                if not is_public_address(ipaddress.ip_address(address)):
                    raise UnsafeURLError(f"{host} resolves to {address}, not a public address")
        sock = self._connect_any(addresses, port)
        sys.audit("http.client.connect", self, host, port)
        _watch(self, sock)
        return sock

    def _connect_any(self, addresses: list[str], port: int) -> socket.socket:
        error: OSError | None = None
        for address in addresses:
            try:
                # A numeric host: create_connection does no DNS lookup of its own.
                return connection.create_connection(
                    (address, port),
                    self.timeout,  # type: ignore[attr-defined]
                    source_address=self.source_address,  # type: ignore[attr-defined]
                    socket_options=self.socket_options,  # type: ignore[attr-defined]
                )
            except TimeoutError as exc:
                message = f"connecting to {address} timed out"
                raise ConnectTimeoutError(self, message) from exc
            except OSError as exc:
                error = exc
        message = f"Failed to establish a new connection: {error}"
        raise NewConnectionError(self, message) from error  # type: ignore[arg-type]

    def request(self, *args: Any, **kwargs: Any) -> None:
        if self.sock is not None:  # type: ignore[attr-defined]  # a reused pooled connection
            _watch(self, self.sock, replace=False)  # type: ignore[attr-defined]
        super().request(*args, **kwargs)  # type: ignore[misc]


class _GuardedHTTPConnection(_GuardedConnectionMixin, HTTPConnection):
    pass


class _GuardedHTTPSConnection(_GuardedConnectionMixin, HTTPSConnection):
    pass


class _GuardedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


class _GuardedAdapter(HTTPAdapter):
    """A requests adapter whose connections are guarded; it never goes through a proxy."""

    def __init__(self, *, allow_private: bool, pool_maxsize: int) -> None:
        self.allow_private = allow_private  # init_poolmanager, called by super(), needs it
        super().__init__(pool_maxsize=pool_maxsize, max_retries=0)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": functools.partial(_GuardedHTTPConnectionPool, allow_private=self.allow_private),
            "https": functools.partial(
                _GuardedHTTPSConnectionPool, allow_private=self.allow_private
            ),
        }

    def send(  # type: ignore[override]
        self, request: requests.PreparedRequest, *args: Any, **kwargs: Any
    ) -> requests.Response:
        # A proxy would connect on our behalf to an address we never checked.
        if select_proxy(request.url or "", kwargs.get("proxies")):
            raise UnsafeURLError("fetching through a proxy is not supported")
        return super().send(request, *args, **kwargs)


def create_session(policy: FetchPolicy | None = None, *, pool_size: int = 10) -> requests.Session:
    """A requests session whose connections pass the SSRF guard of ``policy``.

    It ignores proxy settings and ``.netrc`` from the environment. Pass it to :func:`fetch_url`
    to reuse connections across downloads.
    """
    policy = policy or FetchPolicy()
    session = requests.Session()
    session.trust_env = False
    adapter = _GuardedAdapter(allow_private=policy.allow_private, pool_maxsize=pool_size)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def _require_guarded(session: requests.Session, policy: FetchPolicy) -> None:
    for prefix in ("http://", "https://"):
        adapter = session.get_adapter(prefix)
        if not isinstance(adapter, _GuardedAdapter) or (
            adapter.allow_private and not policy.allow_private
        ):
            raise ValueError("the session must come from create_session() with the same policy")


# --- layer 3: deadlines ------------------------------------------------------------------------


class _Deadline:
    """The wall-clock limit of one download.

    When it passes, every socket the download has used is shut down (through a duplicate file
    descriptor, so TLS sockets and sockets still in their handshake are covered too); the blocked
    read returns and the download fails with ``timeout``.
    """

    def __init__(self, expires_at: float) -> None:
        self.expires_at = expires_at
        self.expired = False
        self._finished = False
        self._lock = threading.Lock()
        self._sockets: dict[int, socket.socket] = {}
        self._timer = threading.Timer(self.remaining(), self._expire)
        self._timer.daemon = True
        self._timer.start()

    def remaining(self) -> float:
        return max(0.0, self.expires_at - time.monotonic())

    def watch(self, key: object, sock: socket.socket, *, replace: bool) -> None:
        with self._lock:
            if self._finished or (not replace and id(key) in self._sockets):
                return
            duplicate = socket.socket(fileno=os.dup(sock.fileno()))
            old = self._sockets.pop(id(key), None)
            if old is not None:
                old.close()
            self._sockets[id(key)] = duplicate
            if self.expired:
                _shutdown(duplicate)

    def finish(self) -> None:
        self._timer.cancel()
        with self._lock:
            self._finished = True
            for duplicate in self._sockets.values():
                duplicate.close()
            self._sockets.clear()

    def _expire(self) -> None:
        with self._lock:
            if self._finished:
                return
            self.expired = True
            for duplicate in self._sockets.values():
                _shutdown(duplicate)


def _shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed by the peer
        sock.shutdown(socket.SHUT_RDWR)


_current = threading.local()


def _watch(conn: object, sock: socket.socket, *, replace: bool = True) -> None:
    deadline: _Deadline | None = getattr(_current, "deadline", None)
    if deadline is not None:
        deadline.watch(conn, sock, replace=replace)


@contextlib.contextmanager
def _deadline(expires_at: float) -> Iterator[_Deadline]:
    deadline = _Deadline(expires_at)
    _current.deadline = deadline
    try:
        yield deadline
    finally:
        _current.deadline = None
        deadline.finish()


# --- downloads ---------------------------------------------------------------------------------


def fetch_url(
    url: str, policy: FetchPolicy | None = None, *, session: requests.Session | None = None
) -> bytes:
    """Download one image body; raise :class:`FetchError` on any refusal or failure.

    ``session``, if given, must come from :func:`create_session` (plain sessions are refused:
    they would bypass the address checks).
    """
    policy = policy or FetchPolicy()
    if session is not None:
        _require_guarded(session, policy)
        return _fetch(url, policy, session, time.monotonic() + policy.timeout)
    with create_session(policy, pool_size=1) as own_session:
        return _fetch(url, policy, own_session, time.monotonic() + policy.timeout)


def fetch_many(
    urls: Sequence[str],
    policy: FetchPolicy | None = None,
    *,
    max_workers: int = 8,
    deadline: float | None = None,
    session: requests.Session | None = None,
) -> list[bytes | FetchError]:
    """Download many URLs concurrently over one pooled session.

    Returns bodies or :class:`FetchError` objects in the order of ``urls``. ``deadline`` bounds
    the whole batch in seconds: downloads still running then are stopped and, like those never
    started, come back as ``FetchError("timeout")``. ``session``, if given, must come from
    :func:`create_session` (its pooled connections are then kept for the next batch, and it is
    not closed); by default the batch has a session of its own, closed at the end.

    All bodies are held at once: to process many large downloads in bounded memory, consume
    :func:`iter_fetch` instead.
    """
    results: list[bytes | FetchError] = [b""] * len(urls)
    for index, body in iter_fetch(
        urls, policy, max_workers=max_workers, deadline=deadline, session=session
    ):
        results[index] = body
    return results


def iter_fetch(
    urls: Sequence[str],
    policy: FetchPolicy | None = None,
    *,
    max_workers: int = 8,
    deadline: float | None = None,
    session: requests.Session | None = None,
) -> Iterator[tuple[int, bytes | FetchError]]:
    """``(index, body or FetchError)`` for each of ``urls``, in the order downloads finish.

    Bounded memory: a new download starts only when the caller has taken a finished one, so at most
    ``max_workers`` bodies (each at most ``policy.max_bytes``) exist at any time besides the ones
    the caller keeps. A request of many large URLs never holds all their bodies at once.
    ``deadline`` and ``session`` as in :func:`fetch_many`; every index is yielded exactly once (the
    ones the deadline stopped or never started as ``FetchError("timeout")``).
    """
    policy = policy or FetchPolicy()
    if not urls:
        return
    workers = max(1, min(max_workers, len(urls)))
    own_session = None
    if session is None:
        own_session = session = create_session(policy, pool_size=workers)
    else:
        _require_guarded(session, policy)
    batch_end = None if deadline is None else time.monotonic() + deadline
    queued = iter(enumerate(urls))
    try:
        with ThreadPoolExecutor(workers, thread_name_prefix="imagex-fetch") as pool:
            running: dict[Future[bytes | FetchError], int] = {}

            def start_next() -> None:
                for index, url in queued:
                    future = pool.submit(_fetch_or_error, url, policy, session, batch_end)
                    running[future] = index
                    return

            for _ in range(workers):
                start_next()
            while running:
                remaining = None if batch_end is None else max(0.0, batch_end - time.monotonic())
                done, _ = wait(running, timeout=remaining, return_when=FIRST_COMPLETED)
                if not done:  # the batch deadline passed; running downloads stop by themselves
                    break
                for future in done:
                    index = running.pop(future)
                    yield index, future.result()
                    start_next()
            late = FetchError("timeout", f"the batch deadline of {deadline} s passed first")
            for index in sorted([*running.values(), *(index for index, _ in queued)]):
                yield index, late
    finally:
        if own_session is not None:
            own_session.close()


def _fetch_or_error(
    url: str, policy: FetchPolicy, session: requests.Session, batch_end: float | None
) -> bytes | FetchError:
    expires_at = time.monotonic() + policy.timeout
    if batch_end is not None:
        expires_at = min(expires_at, batch_end)
    try:
        return _fetch(url, policy, session, expires_at)
    except FetchError as exc:
        return exc


def _fetch(url: str, policy: FetchPolicy, session: requests.Session, expires_at: float) -> bytes:
    with _deadline(expires_at) as deadline:
        try:
            body = _follow_redirects(url, policy, session, deadline)
        except FetchError:
            raise
        except (requests.RequestException, LocationParseError, ValueError) as exc:
            raise _translate(exc, deadline, policy) from exc
        if deadline.expired:
            # Shutting a socket down can make a close-delimited response look complete.
            raise _timeout(policy)
        return body


def _follow_redirects(
    url: str, policy: FetchPolicy, session: requests.Session, deadline: _Deadline
) -> bytes:
    headers = {"User-Agent": policy.user_agent, "Accept": "image/*", "Accept-Encoding": "identity"}
    for _hop in range(policy.max_redirects + 1):
        check_url_safe(url, policy)
        remaining = deadline.remaining()
        if remaining <= 0:
            raise FetchError("timeout", "the download deadline passed")
        with session.get(
            url, headers=headers, stream=True, allow_redirects=False, timeout=remaining
        ) as response:
            target = session.get_redirect_target(response)
            if target is None:
                _check_response(response, policy)
                return _read_body(response, policy)
        url = urljoin(url, target)
    raise FetchError("too_many_redirects", f"more than {policy.max_redirects} redirects")


def _check_response(response: requests.Response, policy: FetchPolicy) -> None:
    if not 200 <= response.status_code < 300:
        raise FetchError("http_error", f"the server answered HTTP {response.status_code}")
    media_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if media_type in _REFUSED_IMAGE_TYPES or not (
        media_type in _ACCEPTED_TYPES or media_type.startswith("image/")
    ):
        raise FetchError("bad_content_type", f"content type {media_type!r} is not an image")
    length = response.headers.get("Content-Length", "")
    if length.isdigit() and int(length) > policy.max_bytes:
        raise FetchError("too_large", f"the body is {length} bytes, more than {policy.max_bytes}")


def _read_body(response: requests.Response, policy: FetchPolicy) -> bytes:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(_CHUNK_SIZE):
        size += len(chunk)
        if size > policy.max_bytes:
            raise FetchError("too_large", f"the body is larger than {policy.max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _translate(exc: Exception, deadline: _Deadline, policy: FetchPolicy) -> FetchError:
    if deadline.expired or _caused_by_timeout(exc):
        return _timeout(policy)
    if isinstance(exc, requests.exceptions.InvalidURL | LocationParseError | ValueError):
        return FetchError("invalid_url", f"the URL cannot be used: {exc}")
    return FetchError("connection_error", _plain_reason(exc))


def _timeout(policy: FetchPolicy) -> FetchError:
    return FetchError("timeout", f"timed out after {policy.timeout:g} s")


# Root causes of a failed download, in words for the people reading FailedUrls: the exceptions'
# own texts name urllib3's (and this module's) internal classes.
_REASONS: tuple[tuple[type[BaseException], str], ...] = (
    (NameResolutionError, "DNS lookup failed"),
    (socket.gaierror, "DNS lookup failed"),
    (ssl.SSLCertVerificationError, "the TLS certificate could not be verified"),
    (ssl.SSLError, "the TLS handshake failed"),
    (ConnectionRefusedError, "connection refused"),
    (ConnectionResetError, "connection reset by the server"),
    (http.client.RemoteDisconnected, "the server closed the connection without answering"),
    (http.client.IncompleteRead, "the body ended before its announced length"),
)


def _plain_reason(exc: BaseException) -> str:
    causes = list(_causes(exc))
    for cause in causes:
        for kind, reason in _REASONS:
            if isinstance(cause, kind):
                return reason
    # Other socket errors (unreachable network...): the operating system's text.
    strerror = next((c.strerror for c in causes if isinstance(c, OSError) and c.strerror), None)
    return strerror.lower() if strerror else "the connection failed"


def _causes(exc: BaseException | None) -> Iterator[BaseException]:
    """``exc`` and what it wraps: requests and urllib3 nest errors as a cause or first argument."""
    for _depth in range(8):
        if exc is None:
            return
        yield exc
        wrapped = exc.args[0] if exc.args and isinstance(exc.args[0], BaseException) else None
        exc = exc.__cause__ or wrapped or exc.__context__


def _caused_by_timeout(exc: BaseException | None) -> bool:
    """requests wraps read timeouts in ConnectionError: look through the chain of causes."""
    for cause in _causes(exc):
        if isinstance(cause, NewConnectionError):  # urllib3 files it as a timeout
            return False
        if isinstance(cause, requests.Timeout | TimeoutError | Urllib3TimeoutError):
            return True
    return False
