"""A client-side bound on each PostgreSQL query of a web request, for a server frozen mid-query.

A frozen server (SIGSTOP, a hung VM) keeps its kernel acknowledging TCP: the server-side statement_timeout
never fires (the server is not running), and TCP keepalives and libpq's tcp_user_timeout never fire either
(the peer's kernel answers them). A request inside a query would wait for gunicorn's worker kill (30 s).

`QueryDeadlineMiddleware` wraps every query of the request (`connection.execute_wrapper`) and registers its
socket with a watchdog thread. A query still running after DATABASE_PROBE["after"] makes the watchdog probe
the server on a fresh connection (`config.dependencies.probe_database`, DATABASE_PROBE["timeout"], then
every DATABASE_PROBE["every"] while it runs): no answer means the server is down or frozen, and the query's
socket is shut down (SHUT_RDWR on a duplicate descriptor): the blocked read returns at once, psycopg raises
OperationalError, and `config.dependencies` answers a JSON 503 with Retry-After, in well under a second. A slow
query on a live server answers the probe and runs on, up to DATABASE_REQUEST_QUERY_SECONDS, where it is cut
whatever the probe says. Only web requests: workers keep the server-side statement_timeout for their long
queries. DATABASE_REQUEST_QUERY_SECONDS=0 turns it off; DATABASE_PROBE_AFTER=0 turns the probe off.
"""

from __future__ import annotations

import itertools
import logging
import os
import socket
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import connections

from config import dependencies

log = logging.getLogger(__name__)


@dataclass
class _Query:
    deadline: float  # cut whatever the probe says
    next_probe: float  # inf: never probed
    fd: int
    alias: str


class _Watchdog:
    """Sockets of running queries with their deadlines; a daemon thread probes the server behind the slow ones
    and shuts down the sockets of the overdue ones and of those whose server did not answer."""

    def __init__(self, interval: float = 0.05):
        self.interval = interval
        self._lock = threading.Lock()
        self._running: dict[int, _Query] = {}
        self._tokens = itertools.count()
        self._thread: threading.Thread | None = None
        self.fired = 0
        self.probes = 0

    def add(self, fd: int, seconds: float, probe_after: float = 0.0, alias: str = "default") -> int:
        token, now = next(self._tokens), time.monotonic()
        query = _Query(now + seconds, now + probe_after if probe_after > 0 else float("inf"), fd, alias)
        with self._lock:
            self._running[token] = query
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
            self.tick()

    def tick(self) -> None:
        now = time.monotonic()
        with self._lock:
            suspects = {t: q for t, q in self._running.items() if now >= q.next_probe and now < q.deadline}
        # Probed outside the lock (up to the probe timeout): queries keep finishing meanwhile. One probe per server.
        alive = {alias: self._probe(alias) for alias in {q.alias for q in suspects.values()}}
        every = dependencies.probe_setting("every")
        with self._lock:  # held while cutting: a query cannot finish and hand its fd on meanwhile
            for token, query in list(self._running.items()):
                if now >= query.deadline:
                    del self._running[token]
                    self._cut(query.fd, "ran past DATABASE_REQUEST_QUERY_SECONDS")
                elif token in suspects and not alive[query.alias]:
                    del self._running[token]
                    self._cut(query.fd, "its server did not answer a probe")
                elif token in suspects:
                    query.next_probe = time.monotonic() + every

    def _probe(self, alias: str) -> bool:
        self.probes += 1
        ok = dependencies.probe_database(dependencies.probe_setting("timeout"), alias)
        if not ok:
            dependencies.mark_database_down("a query's server did not answer a probe")
        return ok

    def _cut(self, fd: int, why: str) -> None:
        try:
            dup = socket.socket(fileno=os.dup(fd))
        except OSError:
            return
        try:
            dup.shutdown(socket.SHUT_RDWR)
            self.fired += 1
            log.warning("a query's connection was cut (503): %s", why)
        except OSError:
            pass
        finally:
            dup.close()


watchdog = _Watchdog()


def _bounded(seconds: float, probe_after: float, alias: str):
    def wrapper(execute, sql, params, many, context):
        raw = getattr(context["connection"], "connection", None)
        fileno = getattr(raw, "fileno", None)
        if fileno is None:
            return execute(sql, params, many, context)
        token = watchdog.add(fileno(), seconds, probe_after, alias)
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
        probe_after = dependencies.probe_setting("after")
        connection = connections["default"]
        if seconds <= 0 or connection.vendor != "postgresql":
            return self.get_response(request)
        with connection.execute_wrapper(_bounded(seconds, probe_after, "default")):
            return self.get_response(request)
