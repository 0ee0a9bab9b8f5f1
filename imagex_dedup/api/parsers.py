"""A JSON parser that answers 400 for deeply nested bodies.

``json.loads`` raises ``RecursionError`` (not ``ValueError``) on ``[[[[...]]]]`` nested a few
thousand levels deep, a body of a few kilobytes; DRF's parser only turns ``ValueError`` into a
``ParseError``, so such a body would be a 500.
"""

from __future__ import annotations

from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the body is nested too deeply.") from None
