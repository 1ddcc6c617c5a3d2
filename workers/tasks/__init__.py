"""Celery tasks, one module per queue (routed by module in CELERY_TASK_ROUTES):

- workers.tasks.embedding -> "embedding": zero-shot document vectors (dirty-flag batches)
- workers.tasks.training  -> "training": train -> evaluate -> promote, nightly retrain (run with concurrency 1)
- workers.tasks.scoring   -> "scoring": batch pair scoring with the active model
- workers.tasks.backfill  -> "backfill": low priority, an activated version's own space written behind it
- workers.tasks.imports   -> "imports": bulk imports off the request path, resumable (recruiting.import_jobs)

Tasks are thin: load by id, call a service in `matching`, retry transient errors with backoff.
config/celery.py names each module for autodiscovery.
"""
