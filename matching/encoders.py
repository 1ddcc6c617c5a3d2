"""The encoder this deployment embeds with, and the names of the vector spaces stored vectors live in.

A space is ``encoder:<encoder version>`` (zero-shot document vectors) or ``model:<version>`` (a trained
model's retrieval vectors); every DocumentVector and VectorIndex row names its space.
"""

from __future__ import annotations

import threading

from django.conf import settings

from ml.embedding import HashingEncoder, get_encoder

_encoder = None
_encoder_lock = threading.Lock()


def current_encoder():
    """settings.EMBEDDING_ENCODER: MiniLM, or the hashing encoder for tests/demos. Loaded once per process."""
    global _encoder
    if _encoder is None:
        with _encoder_lock:
            if _encoder is None:
                _encoder = HashingEncoder() if settings.EMBEDDING_ENCODER == "hashing" else get_encoder()
    return _encoder


def encoder_space(encoder=None) -> str:
    return f"encoder:{(encoder or current_encoder()).version}"


def model_space(version: int) -> str:
    return f"model:{version}"
