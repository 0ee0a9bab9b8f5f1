"""Errors raised by the engine.

Every error carries a stable machine-readable ``code`` (what callers branch on and what the
service API and the CLI report) and a human-readable ``message`` (``str(error)``).
"""

from __future__ import annotations


class EngineError(Exception):
    """Base class of every error the engine raises on bad input."""

    code: str
    message: str

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, {self.message!r})"

    def __reduce__(self) -> tuple[type[EngineError], tuple[str, str]]:
        # Errors cross process boundaries (ProcessPoolExecutor): keep both fields when pickled.
        return type(self), (self.code, self.message)


class ImageLoadError(EngineError):
    """An image could not be loaded.

    Codes: ``not_found``, ``too_large``, ``too_many_pixels``, ``unsupported_format``,
    ``corrupt``, ``not_an_image``.
    """


class FetchError(EngineError):
    """A URL could not be downloaded.

    Codes: ``invalid_url``, ``unsafe_url``, ``timeout``, ``too_large``, ``http_error``,
    ``connection_error``, ``bad_content_type``, ``too_many_redirects``.
    """


class UnsafeURLError(FetchError):
    """The SSRF guard refused a URL or the address it resolved to (code ``unsafe_url``)."""

    def __init__(self, message: str) -> None:
        super().__init__("unsafe_url", message)

    def __reduce__(self) -> tuple[type[UnsafeURLError], tuple[str]]:  # type: ignore[override]
        return type(self), (self.message,)
