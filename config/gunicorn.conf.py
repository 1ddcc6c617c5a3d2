"""gunicorn settings read with ``-c config/gunicorn.conf.py`` (command-line flags still apply on top)."""

import threading

# Threaded workers: the arbiter's heartbeat comes from the worker's main loop, not from the end of a request. With
# sync workers a request that waited on the worker's warm-up (loading the encoder took over 30 s at load 11) got
# the worker killed at --timeout, and its replacement the same, in a loop (bench/load.py, 2026-11-30). Two threads
# also let one request's PostgreSQL and Redis round trips overlap another's Python.
worker_class = "gthread"
threads = 2


def post_worker_init(worker) -> None:
    """Warm each worker in the background (model, encoder, indexes: matching/warmup.py), so its first requests
    do not pay for loading them; in a thread, so a slow warm-up never delays the worker's heartbeat."""
    from matching.warmup import warm_serving

    threading.Thread(target=warm_serving, name="serving-warmup", daemon=True).start()
