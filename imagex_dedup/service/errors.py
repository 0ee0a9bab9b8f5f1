"""The one exception the service layer raises for a refused request."""

from __future__ import annotations

from imagex_dedup.volc.errors import http_status_for, message_for


class ServiceError(Exception):
    """A request the service refuses; ``code`` is a Volcengine error code (volc.errors.ERRORS).

    Without an explicit ``message`` the Volcengine text for ``code`` is used, filled from
    ``args``: ``ServiceError("MissingParameter", None, "ServiceId")``.
    """

    def __init__(self, code: str, message: str | None = None, *args: object) -> None:
        self.code = code
        self.message = message if message is not None else message_for(code, *args)
        super().__init__(self.message)

    @property
    def http_status(self) -> int:
        return http_status_for(self.code)
