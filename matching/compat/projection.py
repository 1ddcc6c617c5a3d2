"""The query projection of a compatible update: fitted at promotion, read at serving.

Fitted on COMPAT_FIT_SAMPLE documents of each kind drawn at random from the base version's stored vectors (those
the new model's encoder cache already holds first) and embedded by the new version (with their current
interactions, as its own space will hold them): the cost does not grow with the corpus. COMPAT_DRIFT_METHOD picks the estimator (ml.compat.drift; the default is the one
bench/compatibility.py measured best on its validation split).
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
from matching.models import DocumentVector, ModelVersion
from matching.section_store import prime_cache
from ml.compat import DriftProjection, fit_projection

log = logging.getLogger(__name__)

KINDS = ("job", "resume")
OTHER = {"job": "resume", "resume": "job"}


def enabled() -> bool:
    return bool(getattr(settings, "COMPAT_UPDATES", True))


def drift_method() -> str:
    return getattr(settings, "COMPAT_DRIFT_METHOD", "linear")


def fit_sample() -> int:
    return int(getattr(settings, "COMPAT_FIT_SAMPLE", 500))


def _fk(kind: str) -> str:
    return "job_id" if kind == "job" else "resume_id"


def sample_vectors(space: str, kind: str, n: int, *, seed: int = 0) -> tuple[list[int], np.ndarray]:
    """Up to ``n`` (document id, vector) of (space, kind), drawn by random row ids (no full scan, no sort)."""
    qs = DocumentVector.objects.filter(space=space, kind=kind)
    bounds = qs.aggregate(lo=Min("id"), hi=Max("id"))
    if bounds["lo"] is None:
        return [], np.zeros((0, 0), np.float32)
    rng = np.random.default_rng(seed)
    picks = rng.integers(bounds["lo"], bounds["hi"] + 1, size=4 * n).tolist()
    rows = list(qs.filter(id__in=picks).values_list(_fk(kind), "vector")[:n])
    if len(rows) < n:  # a sparse id range: fall back to the first rows
        rows = list(qs.order_by("id").values_list(_fk(kind), "vector")[:n])
    ids = [r[0] for r in rows]
    vecs = np.stack([np.frombuffer(bytes(r[1]), dtype="<f4") for r in rows]).astype(np.float32)
    return ids, vecs


def _new_vectors(model, kind: str, ids: list[int], n: int) -> tuple[list[int], np.ndarray]:
    """The new version's vectors of ``n`` of these documents (with their current interactions), those whose
    text the model's encoder cache already holds first: right after training, the training window's documents
    cost no encoder pass, and the fit's cost is then the same at any corpus size."""
    docs = docs_with_hashes(kind, ids)
    cache = getattr(model, "cache", None)
    present = [pk for pk in ids if pk in docs]
    if cache is not None:
        prime_cache(cache, kind, [(pk, docs[pk][1]) for pk in present])  # stored section vectors
    cached = [pk for pk in present if cache is not None and docs[pk][1].full_text() in cache]
    rest = [pk for pk in present if pk not in set(cached)]
    keep = (cached + rest)[:n]
    events = interaction_events(kind, keep)
    embed = model.embed_jobs if kind == "job" else model.embed_resumes
    flat = [e for pk in keep for e in events.get(pk, [])]
    return keep, np.asarray(embed([docs[pk][1] for pk in keep], interactions=flat), np.float32)


def fit_for(version: ModelVersion, model, base: ModelVersion) -> dict:
    """The projections of ``version``'s queries into ``base``'s space, per kind of document searched."""
    method = drift_method()
    pairs: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for kind in KINDS:
        ids, old = sample_vectors(model_space(base.version), kind, 4 * fit_sample(), seed=version.version)
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
        if method == "linear":
            p = fit_projection(method, documents=pairs[target])
        else:
            p = fit_projection(method, queries=pairs[OTHER[target]])
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
