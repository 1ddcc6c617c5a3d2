"""The query projection of a compatible update: fitted at promotion, read at serving.

Fitted on COMPAT_FIT_SAMPLE documents of each kind that have a vector in the base version's space, embedded by the
new version (with their current interactions, as its own space will hold them). The sample is drawn among the
documents whose section vectors the embedding worker stored for the new model's encoder (``SectionVectors``, by
random row ids: index lookups only), so the new version embeds them without running the encoder and the fit costs
the same at any corpus size; only when too few are stored (a deployment older than the stored sections, or an
encoder upgrade, whose encoder has stored nothing yet) is the sample topped up with documents drawn from the base
space, those the model's section cache already holds first (right after training: the training window's).
COMPAT_DRIFT_METHOD picks the estimator (ml.compat.drift; the default is the one bench/compatibility.py measured
best on its validation split).
"""

from __future__ import annotations

import logging
import threading

import numpy as np
from django.conf import settings
from django.db.models import Max, Min
from django.utils import timezone

from matching.documents import docs_with_hashes
from matching.encoders import model_space
from matching.model_space import interaction_events
from matching.models import DocumentVector, ModelVersion, SectionVectors
from matching.section_store import prime_cache, section_texts
from ml.compat import DriftProjection, fit_projection
from ml.compat.drift import DOCUMENT_METHODS
from ml.embedding import text_hash

log = logging.getLogger(__name__)

KINDS = ("job", "resume")
OTHER = {"job": "resume", "resume": "job"}


def enabled() -> bool:
    return bool(getattr(settings, "COMPAT_UPDATES", True))


def drift_method() -> str:
    return getattr(settings, "COMPAT_DRIFT_METHOD", "linear")


def fit_sample() -> int:
    return int(getattr(settings, "COMPAT_FIT_SAMPLE", 2000))


def ridge() -> float:
    return float(getattr(settings, "COMPAT_RIDGE", 1e-4))


def _fk(kind: str) -> str:
    return "job_id" if kind == "job" else "resume_id"


def _vectors(rows) -> tuple[list[int], np.ndarray]:
    if not rows:
        return [], np.zeros((0, 0), np.float32)
    ids = [r[0] for r in rows]
    vecs = np.stack([np.frombuffer(bytes(r[1]), dtype="<f4") for r in rows]).astype(np.float32)
    return ids, vecs


def sample_vectors(space: str, kind: str, n: int, *, seed: int = 0) -> tuple[list[int], np.ndarray]:
    """Up to ``n`` (document id, vector) of (space, kind), drawn by random row ids (no full scan, no sort)."""
    qs = DocumentVector.objects.filter(space=space, kind=kind)
    bounds = qs.aggregate(lo=Min("id"), hi=Max("id"))
    if bounds["lo"] is None:
        return _vectors([])
    rng = np.random.default_rng(seed)
    picks = rng.integers(bounds["lo"], bounds["hi"] + 1, size=4 * n).tolist()
    rows = list(qs.filter(id__in=picks).values_list(_fk(kind), "vector")[:n])
    if len(rows) < n:  # a sparse id range: fall back to the first rows
        rows = list(qs.order_by("id").values_list(_fk(kind), "vector")[:n])
    return _vectors(rows)


def stored_section_ids(kind: str, encoder_version: str, n: int, *, seed: int = 0) -> list[int]:
    """Up to ``n`` ids of documents whose section vectors by ``encoder_version`` are stored: random row ids of
    SectionVectors (its (kind, encoder_version, id) index: no scan), topped up by a run of rows from a random
    start where the ids are sparse."""
    qs = SectionVectors.objects.filter(kind=kind, encoder_version=encoder_version)
    bounds = qs.aggregate(lo=Min("id"), hi=Max("id"))
    if bounds["lo"] is None or n <= 0:
        return []
    rng = np.random.default_rng(seed)
    picks = rng.integers(bounds["lo"], bounds["hi"] + 1, size=2 * n).tolist()
    ids = list(dict.fromkeys(qs.filter(id__in=picks).values_list(_fk(kind), flat=True)))[:n]
    if len(ids) < n:
        start = int(rng.integers(bounds["lo"], bounds["hi"] + 1))
        run = [
            *qs.filter(id__gte=start).order_by("id").values_list(_fk(kind), flat=True)[:n],
            *qs.filter(id__lt=start).order_by("id").values_list(_fk(kind), flat=True)[:n],
        ]
        ids = list(dict.fromkeys(ids + run))[:n]
    return ids


def sample_pool(space: str, kind: str, encoder_version: str | None, n: int, *, seed: int = 0):
    """(document id, base-space vector) pairs to fit ``n`` on: documents with stored section vectors (a few over
    ``n``) and, only when those are fewer than ``n``, ``4 n`` more drawn from the base space."""
    want = n + n // 4  # a few spare: a document edited since its sections were stored is not counted on
    stored = stored_section_ids(kind, encoder_version, want, seed=seed) if encoder_version else []
    rows = list(
        DocumentVector.objects.filter(space=space, kind=kind, **{f"{_fk(kind)}__in": stored}).values_list(
            _fk(kind), "vector"
        )
    )
    ids, vecs = _vectors(rows)
    if len(ids) >= n:
        return ids, vecs
    more_ids, more = sample_vectors(space, kind, 4 * n, seed=seed)
    have = set(ids)
    fresh = [i for i, pk in enumerate(more_ids) if pk not in have]
    if not fresh:
        return ids, vecs
    more_ids, more = [more_ids[i] for i in fresh], more[fresh]
    return ids + more_ids, (np.vstack([vecs, more]) if ids else more)


def _new_vectors(model, kind: str, ids: list[int], n: int) -> tuple[list[int], np.ndarray]:
    """The new version's vectors of ``n`` of these documents (with their current interactions), those whose
    section texts are stored or already in the model's encoder cache first: the encoder runs only for the
    rest, when fewer than ``n`` are."""
    docs = docs_with_hashes(kind, ids)
    cache = getattr(model, "cache", None)
    present = [pk for pk in ids if pk in docs]
    if cache is not None:
        prime_cache(cache, kind, [(pk, docs[pk][1]) for pk in present])  # stored section vectors
    cached = [pk for pk in present if cache is not None and not cache.missing(_keys(docs[pk][1]))]
    rest = [pk for pk in present if pk not in set(cached)]
    keep = (cached + rest)[:n]
    events = interaction_events(kind, keep)
    embed = model.embed_jobs if kind == "job" else model.embed_resumes
    flat = [e for pk in keep for e in events.get(pk, [])]
    return keep, np.asarray(embed([docs[pk][1] for pk in keep], interactions=flat), np.float32)


def _keys(doc) -> list[str]:
    return [text_hash(t) for t in section_texts(doc) if t and t.strip()]


def fit_for(version: ModelVersion, model, base: ModelVersion) -> dict:
    """The projections of ``version``'s queries into ``base``'s space, per kind of document searched."""
    method = drift_method()
    pairs: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for kind in KINDS:
        encoder_version = getattr(getattr(model, "cache", None), "version", None)
        ids, old = sample_pool(
            model_space(base.version), kind, encoder_version, fit_sample(), seed=version.version
        )
        keep, new = _new_vectors(model, kind, ids, fit_sample())
        pos = {pk: n for n, pk in enumerate(ids)}
        old = old[[pos[pk] for pk in keep]] if keep else np.zeros((0, new.shape[1] if new.size else 0))
        if old.size and old.shape[1] != new.shape[1]:
            raise ValueError(
                f"v{base.version} vectors have {old.shape[1]} dimensions, v{version.version} {new.shape[1]}"
            )
        pairs[kind] = (old, new)
    projections = {}
    for target in KINDS:  # queries of the OTHER kind search documents of `target`
        if method == "linear_both":  # one map, fitted on both kinds' documents
            parts = [pairs[k] for k in KINDS if pairs[k][0].size] or [pairs[target]]
            both = (np.vstack([x[0] for x in parts]), np.vstack([x[1] for x in parts]))
            p = fit_projection(method, documents=both, ridge=ridge())
        elif method in DOCUMENT_METHODS:
            p = fit_projection(method, documents=pairs[target], ridge=ridge())
        else:
            p = fit_projection(method, queries=pairs[OTHER[target]], ridge=ridge())
        projections[target] = p.to_state()
    return {
        "base": base.version,
        "method": method,
        "fitted_on": {k: len(v[0]) for k, v in pairs.items()},
        "fitted_at": timezone.now().isoformat(),
        "projections": projections,
    }


def prepare_compatible(version: ModelVersion, model) -> bool:
    """Make ``version`` servable without its own space: fit its projection into the space of the version it
    replaces. False (the caller writes the whole space first) when compatible updates are off, there is no
    complete older space, or the vectors do not fit (another retrieval dimension)."""
    from matching.selectors import active_model_version

    if not enabled() or version.space_ready:
        return False
    base = active_model_version()
    if base is None or base.pk == version.pk or not base.space_ready:
        return False
    try:
        compat = fit_for(version, model, base)
    except ValueError:
        log.warning("v%s cannot serve against v%s's space", version.version, base.version, exc_info=True)
        return False
    ModelVersion.objects.filter(pk=version.pk).update(compat=compat)
    version.compat = compat
    log.info(
        "v%s serves against v%s's space through a %s projection",
        version.version,
        base.version,
        compat["method"],
    )
    return True


def serving_base(version: ModelVersion | None) -> ModelVersion | None:
    """The older version whose complete space ``version`` searches while its own is being written."""
    if version is None or version.space_ready or not version.compat.get("base"):
        return None
    return ModelVersion.objects.filter(version=version.compat["base"], space_ready=True).first()


_cache: dict[tuple, DriftProjection] = {}
_lock = threading.Lock()


def projection(version: ModelVersion, target_kind: str) -> DriftProjection:
    """The projection for queries that search ``target_kind`` documents in the base space (cached per process)."""
    key = (version.pk, version.compat.get("base"), version.compat.get("fitted_at"), target_kind)
    with _lock:
        p = _cache.get(key)
    if p is None:
        p = DriftProjection.from_state(version.compat["projections"][target_kind])
        with _lock:
            _cache[key] = p
    return p
