"""The encoder this deployment embeds with, and the names of the vector spaces stored vectors live in.

A space is ``encoder:<encoder version>`` (zero-shot document vectors) or ``model:<version>`` (a trained
model's retrieval vectors); every DocumentVector and VectorIndex row names its space.
"""

from __future__ import annotations

import threading

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from ml.embedding import HashingEncoder, get_encoder

_encoder = None
_encoder_lock = threading.Lock()


def current_encoder():
    """settings.EMBEDDING_ENCODER: MiniLM (float or ONNX INT8), or the hashing encoder for tests/demos. Loaded
    once per process."""
    global _encoder
    if _encoder is None:
        with _encoder_lock:
            if _encoder is None:
                _encoder = _load(settings.EMBEDDING_ENCODER)
    return _encoder


def _load(name: str):
    if name == "hashing":
        return HashingEncoder()
    if name == "minilm-onnx-int8":
        from ml.onnx_encoder import get_onnx_int8_encoder  # onnxruntime only where this path is chosen

        return get_onnx_int8_encoder(settings.ENCODER_CACHE_DIR)
    if name != "minilm":
        raise ImproperlyConfigured(f"TANDEM_ENCODER={name!r}: use minilm, minilm-onnx-int8 or hashing")
    return get_encoder()


def encoder_space(encoder=None) -> str:
    return f"encoder:{(encoder or current_encoder()).version}"


def model_space(version: int) -> str:
    return f"model:{version}"
