"""The JSON bytes of a ranked answer, exactly as DRF's JSONRenderer writes them for ``application/json``.

One renderer for the miss (stored with the cache entry) and the API: a hit is sent as stored, byte for byte what
rendering the body again would give (compact, ASCII-escaped per the project's REST_FRAMEWORK settings).
"""

from __future__ import annotations

from rest_framework.renderers import JSONRenderer

MEDIA_TYPE = JSONRenderer.media_type
_renderer = JSONRenderer()


def render(body: dict) -> bytes:
    return _renderer.render(body)


def renders_as_stored(renderer, accepted_media_type: str | None) -> bool:
    """Whether a response negotiated to (`renderer`, `accepted_media_type`) is what `render` writes: plain
    JSONRenderer and no media-type parameters (``indent=4`` changes the bytes). Anything else (the browsable API,
    another format) goes through the normal rendering."""
    return type(renderer) is JSONRenderer and accepted_media_type == MEDIA_TYPE
