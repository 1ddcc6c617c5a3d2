"""Serving warm-up: what a fresh web worker would otherwise load on its first requests.

A new gunicorn worker (a deploy, a restart, ``--max-requests`` recycling) used to load the active model, the
encoder and the indexes inside its first ranking requests: seconds each, and past the 30 s timeout on a loaded
machine (docs/reliability.md). ``config/gunicorn.conf.py`` runs ``warm_serving`` in the background as each
worker starts. It never raises: a worker whose warm-up fails serves and loads lazily, as before.
"""

from __future__ import annotations

import logging
import time

from django.db import connections

from matching import selectors
from matching.encoders import current_encoder, encoder_space, model_space
from matching.index import loaded_indexes

log = logging.getLogger(__name__)


def warm_serving() -> dict[str, float]:
    """Load the active model, the encoder and the stored indexes of the spaces serving reads. Returns the
    seconds per part ({} when it could not run)."""
    timings: dict[str, float] = {}
    try:
        t = time.perf_counter()
        am = selectors.active_model()
        timings["model"] = time.perf_counter() - t
        t = time.perf_counter()
        encoder = current_encoder()
        encoder.encode(["warm up"])  # weights loaded and one forward pass run
        timings["encoder"] = time.perf_counter() - t
        spaces = [encoder_space(encoder)]
        if am.model is not None:
            spaces.append(model_space(am.version.version))
        t = time.perf_counter()
        for space in spaces:
            for kind in ("resume", "job"):
                loaded_indexes.get(space, kind, build=False)  # stored indexes only: a build stays a request's
        timings["indexes"] = time.perf_counter() - t
    except Exception:  # a dependency down at boot: the first requests load lazily, as without warm-up
        log.warning("serving warm-up failed; loading on first requests", exc_info=True)
        return {}
    finally:
        connections.close_all()  # this thread's own connections (they are per thread)
    log.info("serving warm-up done: %s", {k: round(v, 2) for k, v in timings.items()})
    return timings
