"""A client-side bound on each PostgreSQL query of a web request, for a server frozen mid-query.

A frozen server (SIGSTOP, a hung VM) keeps its kernel acknowledging TCP: the server-side statement_timeout
never fires (the server is not running), and TCP keepalives and libpq's tcp_user_timeout never fire either
(the peer's kernel answers them). A request inside a query would wait for gunicorn's worker kill (30 s).

`QueryDeadlineMiddleware` wraps every query of the request (`connection.execute_wrapper`) and registers its
socket with a watchdog thread; a query still running after DATABASE_REQUEST_QUERY_SECONDS gets its socket shut
down (SHUT_RDWR on a duplicate descriptor): the blocked read returns at once, psycopg raises OperationalError,
and `config.dependencies` answers a JSON 503 with Retry-After. Only web requests: workers keep the server-side
statement_timeout for their long queries. 0 turns it off.
"""

from __future__ import annotations

import itertools
import logging
import os
import socket
import threading
import time

from django.conf import settings
from django.db import connections

log = logging.getLogger(__name__)


class _Watchdog:
    """Sockets of running queries with their deadlines; a daemon thread shuts down the overdue ones."""

    def __init__(self, interval: float = 0.2):
        self.interval = interval
        self._lock = threading.Lock()
        self._running: dict[int, tuple[float, int]] = {}  # token -> (deadline, fd)
        self._tokens = itertools.count()
        self._thread: threading.Thread | None = None
        self.fired = 0

    def add(self, fd: int, seconds: float) -> int:
        token = next(self._tokens)
        with self._lock:
            self._running[token] = (time.monotonic() + seconds, fd)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="query-deadline", daemon=True)
                self._thread.start()
        return token

    def remove(self, token: int) -> None:
        with self._lock:
            self._running.pop(token, None)

    def _loop(self) -> None:
        while True:
            time.sleep(self.interval)
            now = time.monotonic()
            with self._lock:  # held while shutting down: a query cannot finish and hand its fd on meanwhile
                for token, (deadline, fd) in list(self._running.items()):
                    if now >= deadline:
                        del self._running[token]
                        self._cut(fd)

    def _cut(self, fd: int) -> None:
        try:
            dup = socket.socket(fileno=os.dup(fd))
        except OSError:
            return
        try:
            dup.shutdown(socket.SHUT_RDWR)
            self.fired += 1
            log.warning("a query ran past DATABASE_REQUEST_QUERY_SECONDS: its connection was cut (503)")
        except OSError:
            pass
        finally:
            dup.close()


watchdog = _Watchdog()


def _bounded(seconds: float):
    def wrapper(execute, sql, params, many, context):
        raw = getattr(context["connection"], "connection", None)
        fileno = getattr(raw, "fileno", None)
        if fileno is None:
            return execute(sql, params, many, context)
        token = watchdog.add(fileno(), seconds)
        try:
            return execute(sql, params, many, context)
        finally:
            watchdog.remove(token)

    return wrapper


class QueryDeadlineMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        seconds = float(getattr(settings, "DATABASE_REQUEST_QUERY_SECONDS", 0) or 0)
        connection = connections["default"]
        if seconds <= 0 or connection.vendor != "postgresql":
            return self.get_response(request)
        with connection.execute_wrapper(_bounded(seconds)):
            return self.get_response(request)
