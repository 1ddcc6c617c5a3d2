"""OpenAPI post-processing: the statuses any operation can answer, documented on every operation.

Views document their own outcomes (201, 400 naming fields, 404 outside your organizations, ...). A few come
from the framework around every view, whatever it does: these are added where a view did not describe them.
"""

from __future__ import annotations

GENERIC_RESPONSES = {
    "400": "Invalid input (a query parameter or the body); the body names the offending field.",
    "401": "Not signed in (send `Authorization: Token <key>`).",
    "403": "Signed in, but not allowed.",
    "404": "Not found, or outside your organizations.",
    "413": "The request body is over its size limit.",
    "415": "Unsupported body media type.",
    "429": "Rate limited; see Retry-After.",
    "503": "A dependency (PostgreSQL, Redis, the broker) is unavailable; JSON body, see Retry-After.",
}
PUBLIC_PATHS = ("/healthz", "/readyz", "/api/auth/token/")


def add_generic_responses(result, generator, request, public):
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method.startswith("x-") or not isinstance(operation, dict):
                continue
            responses = operation.setdefault("responses", {})
            for code, description in GENERIC_RESPONSES.items():
                if path.startswith(PUBLIC_PATHS) and code in ("401", "403"):
                    continue
                responses.setdefault(code, {"description": description})
    return result
