"""Volcengine OpenAPI request signing (HMAC-SHA256, "SignerV4") for clients and servers.

The algorithm follows the reference signer of the ``volcengine`` SDK and the public docs:

    CanonicalRequest = Method \\n CanonicalURI \\n CanonicalQuery \\n CanonicalHeaders \\n
                       SignedHeaders \\n hex(sha256(body))
    StringToSign     = "HMAC-SHA256" \\n X-Date \\n date/region/service/request \\n
                       hex(sha256(CanonicalRequest))
    SigningKey       = HMAC(HMAC(HMAC(HMAC(SK, date), region), service), "request")

Servers must not assume their own notion of the request: SDKs disagree on the service name in the
scope ("ImageX" vs "imagex"), on whether X-Content-Sha256 is sent for empty bodies and on whether
a space in the query travels as "+" or "%20". :func:`verify_request` therefore rebuilds the
canonical request from the scope and SignedHeaders *as sent* and decodes the query before
re-encoding it the one canonical way.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import quote, unquote, unquote_plus, urlsplit

from imagex_dedup.volc.errors import SignatureError, message_for

ALGORITHM = "HMAC-SHA256"
X_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
DEFAULT_MAX_SKEW = 900

_X_DATE_RE = re.compile(r"[0-9]{8}T[0-9]{6}Z")
_HEX_RE = re.compile(r"[0-9a-fA-F]{64}")
# Headers the reference SDK signs besides every X-* header.
_ALWAYS_SIGNED = frozenset({"content-type", "content-md5", "host"})

QueryInput = str | Mapping[str, str | Sequence[str]]


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    secret_access_key: str = field(repr=False)
    region: str = "cn-north-1"
    service: str = "ImageX"


@dataclass
class ParsedAuthorization:
    access_key_id: str
    date: str
    region: str
    service: str
    signed_headers: list[str]
    signature: str

    @property
    def credential_scope(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/request"


def _sha256_hex(data: bytes | str) -> str:
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def _encode(value: str) -> str:
    """RFC 3986 percent-encoding: only unreserved characters stay literal."""
    return quote(value, safe="-_.~")


def canonical_path(path: str) -> str:
    """Canonical URI; accepts a decoded path (Django's ``request.path``) or a raw one."""
    return quote(unquote(path or "/"), safe="/-_.~")


def canonical_query(pairs: Iterable[tuple[str, str]]) -> str:
    """Sorted by name (stable, so repeated names keep their order), RFC 3986-encoded."""
    ordered = sorted(pairs, key=lambda pair: pair[0])
    return "&".join(f"{_encode(name)}={_encode(value)}" for name, value in ordered)


def _pairs_from_string(query: str, *, plus_is_space: bool) -> list[tuple[str, str]]:
    decode = unquote_plus if plus_is_space else unquote
    pairs = []
    for part in query.split("&"):
        if part:
            name, _, value = part.partition("=")
            pairs.append((decode(name), decode(value)))
    return pairs


def _pairs_from_mapping(query: Mapping[str, str | Sequence[str]]) -> list[tuple[str, str]]:
    # Django's QueryDict maps a name to its last value; .lists() has them all.
    items = query.lists() if hasattr(query, "lists") else query.items()
    pairs = []
    for name, value in items:
        values = [value] if isinstance(value, str) else list(value)
        pairs.extend((name, str(v)) for v in values)
    return pairs


def _candidate_queries(query: QueryInput) -> list[str]:
    """Canonical query strings the client may have signed.

    A raw "+" means a space in form encoding (what the Python SDK sends) but some clients send a
    literal "+" unencoded; when the raw query contains one, both readings are tried.
    """
    if not isinstance(query, str):
        return [canonical_query(_pairs_from_mapping(query))]
    candidates = [canonical_query(_pairs_from_string(query, plus_is_space=True))]
    if "+" in query:
        candidates.append(canonical_query(_pairs_from_string(query, plus_is_space=False)))
    return candidates


def _canonical_header_value(name: str, value: str) -> str:
    value = value.strip()
    if name == "host":
        # The reference signer signs "host:443" and "host:80" as plain "host".
        host, sep, port = value.rpartition(":")
        if sep and port in ("80", "443"):
            return host
    return value


def _string_to_sign(
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    signed_headers: Sequence[str],
    payload_hash: str,
    x_date: str,
    scope: str,
) -> str:
    canonical_headers = "".join(
        f"{name}:{_canonical_header_value(name, headers[name])}\n" for name in signed_headers
    )
    canonical_request = "\n".join(
        [
            method.upper(),
            canonical_path(path),
            query,
            canonical_headers,
            ";".join(signed_headers),
            payload_hash,
        ]
    )
    return "\n".join([ALGORITHM, x_date, scope, _sha256_hex(canonical_request)])


def _signature(secret: str, date: str, region: str, service: str, string_to_sign: str) -> str:
    key = secret.encode()
    for part in (date, region, service, "request"):
        key = _hmac(key, part)
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


def _utc(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    return now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)


def sign_request(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    credentials: Credentials,
    *,
    now: datetime | None = None,
) -> dict[str, str]:
    """Return ``headers`` plus Host, X-Date, X-Content-Sha256 and Authorization.

    Signs what the reference SDK signs: Content-Type, Content-Md5, Host and every X-* header.
    ``url`` must be the exact URL that will be sent (its query is what gets signed).
    """
    parts = urlsplit(url)
    x_date = _utc(now).strftime(X_DATE_FORMAT)
    payload_hash = _sha256_hex(body)
    out = dict(headers)
    present = {name.lower() for name in out}
    if "host" not in present:
        out["Host"] = parts.netloc
    out["X-Date"] = x_date
    out["X-Content-Sha256"] = payload_hash
    lowered = {name.lower(): value for name, value in out.items()}
    signed = sorted(n for n in lowered if n in _ALWAYS_SIGNED or n.startswith("x-"))
    date = x_date[:8]
    scope = f"{date}/{credentials.region}/{credentials.service}/request"
    query = canonical_query(_pairs_from_string(parts.query, plus_is_space=True))
    to_sign = _string_to_sign(
        method, parts.path, query, lowered, signed, payload_hash, x_date, scope
    )
    signature = _signature(
        credentials.secret_access_key, date, credentials.region, credentials.service, to_sign
    )
    out["Authorization"] = (
        f"{ALGORITHM} Credential={credentials.access_key_id}/{scope}, "
        f"SignedHeaders={';'.join(signed)}, Signature={signature}"
    )
    return out


def parse_authorization(value: str) -> ParsedAuthorization:
    """Parse ``HMAC-SHA256 Credential=AK/date/region/service/request, SignedHeaders=..., ...``."""
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise SignatureError("InvalidAuthorization", f"Unsupported algorithm {algorithm!r}.")
    fields: dict[str, str] = {}
    for item in rest.split(","):
        name, sep, item_value = item.strip().partition("=")
        if sep:
            fields[name.strip()] = item_value.strip()
    missing = [n for n in ("Credential", "SignedHeaders", "Signature") if not fields.get(n)]
    if missing:
        raise SignatureError(
            "InvalidAuthorization", f"Authorization is missing {', '.join(missing)}."
        )
    scope = fields["Credential"].split("/")
    if len(scope) != 5 or scope[4] != "request" or not all(scope):
        raise SignatureError(
            "InvalidAuthorization",
            "Credential must be AccessKeyId/YYYYMMDD/Region/Service/request.",
        )
    if not _HEX_RE.fullmatch(fields["Signature"]):
        raise SignatureError("InvalidAuthorization", "Signature must be 64 hex digits.")
    signed_headers = fields["SignedHeaders"].lower().split(";")
    if not all(signed_headers):
        raise SignatureError("InvalidAuthorization", "SignedHeaders has an empty name.")
    access_key_id, date, region, service, _ = scope
    return ParsedAuthorization(
        access_key_id=access_key_id,
        date=date,
        region=region,
        service=service,
        signed_headers=signed_headers,
        signature=fields["Signature"].lower(),
    )


def _check_x_date(
    x_date: str | None, auth: ParsedAuthorization, now: datetime, max_skew: int
) -> None:
    if not x_date:
        raise SignatureError("MissingRequestInfo", message_for("MissingRequestInfo", "X-Date"))
    if not _X_DATE_RE.fullmatch(x_date):
        raise SignatureError("InvalidTimestamp", "X-Date must be formatted as YYYYMMDDTHHMMSSZ.")
    try:
        signed_at = datetime.strptime(x_date, X_DATE_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise SignatureError("InvalidTimestamp", "X-Date is not a valid date.") from None
    if abs((now - signed_at).total_seconds()) > max_skew:
        raise SignatureError("InvalidTimestamp", message_for("InvalidTimestamp"))
    if auth.date != x_date[:8]:
        raise SignatureError(
            "SignatureDoesNotMatch", "The credential scope date does not match X-Date."
        )


def verify_request(
    method: str,
    path: str,
    query: QueryInput,
    headers: Mapping[str, str],
    body: bytes,
    secret_lookup: Callable[[str], str | None],
    *,
    now: datetime | None = None,
    max_skew: int = DEFAULT_MAX_SKEW,
) -> ParsedAuthorization:
    """Authenticate an incoming request; return its parsed Authorization or raise SignatureError.

    ``path`` is the full request path the client addressed (Django: ``request.path``, not
    ``path_info``, so a mount prefix is included); ``query`` is best passed raw
    (``request.META["QUERY_STRING"]``); ``secret_lookup`` maps an access key id to its secret or
    None.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    authorization = lowered.get("authorization")
    if not authorization:
        code = "MissingAuthenticationToken"
        raise SignatureError(code, message_for(code))
    auth = parse_authorization(authorization)
    _check_x_date(lowered.get("x-date"), auth, _utc(now), max_skew)
    secret = secret_lookup(auth.access_key_id)
    if not secret:
        raise SignatureError(
            "InvalidAccessKey", message_for("InvalidAccessKey", auth.access_key_id)
        )
    payload_hash = _sha256_hex(body)
    sent_hash = lowered.get("x-content-sha256")
    # compare_digest on bytes: it rejects non-ASCII str, and headers are client-controlled.
    if sent_hash is not None and not hmac.compare_digest(
        sent_hash.strip().lower().encode(), payload_hash.encode()
    ):
        raise SignatureError(
            "SignatureDoesNotMatch", "X-Content-Sha256 does not match the request body."
        )
    absent = [name for name in auth.signed_headers if name not in lowered]
    if absent:
        raise SignatureError(
            "SignatureDoesNotMatch", f"Signed header(s) missing: {', '.join(absent)}."
        )
    for candidate in _candidate_queries(query):
        to_sign = _string_to_sign(
            method,
            path,
            candidate,
            lowered,
            auth.signed_headers,
            payload_hash,
            lowered["x-date"],
            auth.credential_scope,
        )
        expected = _signature(secret, auth.date, auth.region, auth.service, to_sign)
        if hmac.compare_digest(expected, auth.signature):
            return auth
    raise SignatureError("SignatureDoesNotMatch", message_for("SignatureDoesNotMatch"))
