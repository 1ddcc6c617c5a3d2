"""The Celery app. Tasks live in `workers/tasks/`; settings come from Django (CELERY_*).

Queues (routed by task module, see CELERY_TASK_ROUTES): embedding, training, scoring, backfill (low priority), default.
Beat (CELERY_BEAT_SCHEDULE): the nightly retrain chain and the embedding sweep.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("tandem")
app.config_from_object("django.conf:settings", namespace="CELERY")
# workers/tasks is a package of modules; each one is named so all of them register.
app.autodiscover_tasks(
    ["workers.tasks.embedding", "workers.tasks.training", "workers.tasks.scoring", "workers.tasks.backfill"],
    related_name=None,
)


def runs_eagerly() -> bool:
    """True when tasks run inside the calling process (`make demo`): no broker, no Redis needed."""
    return bool(app.conf.task_always_eager)
