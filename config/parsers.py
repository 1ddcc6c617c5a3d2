"""The API's JSON parser: bounded in size and nesting, so no body reaches a 500 or a large allocation.

DRF's JSONParser reads the whole stream and lets `json.loads` recurse: a deeply nested body raised
RecursionError (a 500, also unauthenticated on the token endpoint), and a 10 MB body was read whole.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import JSONParser


class BodyTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


def _depth(value: Any, limit: int) -> int:
    """Nesting depth of a parsed JSON value, iteratively (stops counting past `limit`)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if not isinstance(item, dict | list):
            continue
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


class BoundedJSONParser(JSONParser):
    """At most JSON_BODY_MAX_BYTES (413 beyond) and JSON_MAX_DEPTH levels of nesting (400 beyond)."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.JSON_BODY_MAX_BYTES
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise BodyTooLarge(f"The JSON body is over {limit} bytes.")
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            data = json.loads(raw.decode(encoding), parse_constant=self._no_constant)
        except RecursionError as exc:
            raise ParseError("JSON parse error - nested too deeply.") from exc
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
        if _depth(data, settings.JSON_MAX_DEPTH) > settings.JSON_MAX_DEPTH:
            raise ParseError(f"JSON parse error - nested deeper than {settings.JSON_MAX_DEPTH} levels.")
        return data

    @staticmethod
    def _no_constant(name: str):
        raise ValueError(f"{name} is not valid JSON")
