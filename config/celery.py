"""The Celery app. Tasks live in `workers/tasks/`; settings come from Django (CELERY_*).

Queues (routed by task module, see CELERY_TASK_ROUTES): embedding, training, scoring, backfill (low priority), imports,
default.
Beat (CELERY_BEAT_SCHEDULE): the nightly retrain chain, the embedding sweep and the re-sends (embedding, imports).
"""

import logging
import os
import time
from collections.abc import Callable

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


class TandemCelery(Celery):
    """Publishing connections (the producer pool, `delay`, `send_task`) get short socket timeouts
    (BROKER_PUBLISH_TIMEOUTS): a frozen Redis costs a publisher under a second. Consumers keep the broker's
    own, which must outlast kombu's 1 s BRPOP poll."""

    def connection_for_write(self, url=None, **kwargs):
        from django.conf import settings

        options = {
            **getattr(settings, "BROKER_PUBLISH_TIMEOUTS", {}),
            **(kwargs.pop("transport_options", None) or {}),
        }
        return super().connection_for_write(url, transport_options=options, **kwargs)


app = TandemCelery("tandem")
app.config_from_object("django.conf:settings", namespace="CELERY")
# workers/tasks is a package of modules; each one is named so all of them register.
app.autodiscover_tasks(
    [
        "workers.tasks.embedding",
        "workers.tasks.training",
        "workers.tasks.scoring",
        "workers.tasks.backfill",
        "workers.tasks.imports",
    ],
    related_name=None,
)


def runs_eagerly() -> bool:
    """True when tasks run inside the calling process (`make demo`): no broker, no Redis needed."""
    return bool(app.conf.task_always_eager)


log = logging.getLogger(__name__)
_broker_down_until = 0.0


def publish(send: Callable[[], object], *, what: str) -> bool:
    """Queue a task without making the caller wait on the broker: `send` publishes with the broker's short
    timeouts and one quick retry (CELERY_BROKER_CONNECTION_TIMEOUT, socket timeouts, the publish retry policy).
    False, logged, when the broker is unreachable, and for BROKER_DOWN_RETRY_SECONDS after a failure without
    trying. Every caller has a durable record that the beat re-sends (dirty flags, queued rows), so a write
    that committed never reports failure because a message could not be sent."""
    global _broker_down_until
    if runs_eagerly():
        send()
        return True
    if time.monotonic() < _broker_down_until:
        log.info("broker down recently; %s left for the beat", what)
        return False
    try:
        send()
    except Exception as exc:  # kombu OperationalError, redis errors, OSError: all mean "not sent"
        from django.conf import settings

        _broker_down_until = time.monotonic() + float(getattr(settings, "BROKER_DOWN_RETRY_SECONDS", 5.0))
        log.warning("could not queue %s (%s: %s); the beat re-sends it", what, type(exc).__name__, exc)
        return False
    return True
