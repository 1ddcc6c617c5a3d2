"""gunicorn settings read with ``-c config/gunicorn.conf.py`` (command-line flags still apply on top)."""

import threading


def post_worker_init(worker) -> None:
    """Warm each worker in the background (model, encoder, indexes: matching/warmup.py), so its first requests
    do not pay for loading them; in a thread, so a slow warm-up never delays the worker's heartbeat."""
    from matching.warmup import warm_serving

    threading.Thread(target=warm_serving, name="serving-warmup", daemon=True).start()
