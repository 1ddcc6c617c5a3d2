"""Redis cache of ranked matches, per (model, endpoint, document, user scope, query parameters).

Keys: ``tandem:match:<namespace>:<endpoint>:<object id>:<scope>:<params digest>``; the served answers
(matching.ranking) use namespace ``a`` and store, beside the response body already rendered to JSON bytes, the
fingerprint it was computed under (active version and artifact, encoder, the anchor's content hash and newest
interaction), checked on every read before the bytes are served; ``invalidate_all`` also deletes the old
entries explicitly (on activation).

Invalidation by document: storing an entry also adds its key to a reference set of every document
in it (``tandem:matchref:job:<id>``, ``tandem:matchref:resume:<id>``: the query document and each
ranked one). When a document changes or is erased, or an interaction is recorded on a pair,
``invalidate_document`` deletes every entry that mentions it. Entries expire after
``MATCH_CACHE_TTL`` seconds (300 by default) in any case.

Failure: Redis (``MATCH_CACHE_URL``, default ``REDIS_URL``) is reached with short socket timeouts
(50 ms connect, 100 ms read) and no retries. Any Redis error is logged as a warning and the caller
goes on uncached; after an error Redis is not tried again for ``MATCH_CACHE_RETRY_SECONDS`` (5 s), so
a dead Redis costs one timeout per 5 s per process, not one per request.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable

from django.conf import settings

from matching.redis_client import ResilientRedis

log = logging.getLogger(__name__)

PREFIX = "tandem:match:"
REF_PREFIX = "tandem:matchref:"


def ttl() -> int:
    return int(getattr(settings, "MATCH_CACHE_TTL", 300))


def enabled() -> bool:
    return bool(getattr(settings, "MATCH_CACHE_ENABLED", True))


client = ResilientRedis(log)


def make_key(model_tag: str, endpoint: str, object_id: int, scope: str, params: dict) -> str:
    digest = hashlib.sha1(json.dumps(params, sort_keys=True, default=str).encode("utf-8")).hexdigest()[:16]
    return f"{PREFIX}{model_tag}:{endpoint}:{object_id}:{scope}:{digest}"


def get_raw(key: str) -> bytes | None:
    """The stored bytes under `key`, undecoded (a served answer is sent as stored)."""
    if not enabled():
        return None
    r = client.get()
    if r is None:
        return None
    try:
        return r.get(key)
    except Exception as exc:
        client.failed("get", exc)
        return None


def get(key: str) -> dict | None:
    raw = get_raw(key)
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def put(key: str, value: dict, refs: Iterable[tuple[str, int]]) -> bool:
    """Store `value` (as JSON) and index `key` under every referenced document ((kind, id) pairs)."""
    return put_raw(key, json.dumps(value, separators=(",", ":")).encode("utf-8"), refs)


def put_raw(key: str, value: bytes, refs: Iterable[tuple[str, int]]) -> bool:
    """Store `value` as is and index `key` under every referenced document ((kind, id) pairs)."""
    if not enabled():
        return False
    r = client.get()
    if r is None:
        return False
    seconds = ttl()
    try:
        pipe = r.pipeline(transaction=False)
        pipe.set(key, value, ex=seconds)
        for kind, oid in set(refs):
            ref = f"{REF_PREFIX}{kind}:{oid}"
            pipe.sadd(ref, key)
            pipe.expire(ref, seconds + 60)
        pipe.execute()
        return True
    except Exception as exc:
        client.failed("put", exc)
        return False


def delete(key: str) -> None:
    r = client.get()
    if r is None:
        return
    try:
        r.delete(key)
    except Exception as exc:
        client.failed("delete", exc)


def invalidate_document(kind: str, object_id: int) -> int:
    """Delete every cached ranking that mentions the document. Returns the number of keys deleted."""
    r = client.get()
    if r is None:
        return 0
    ref = f"{REF_PREFIX}{kind}:{object_id}"
    try:
        keys = [k.decode() if isinstance(k, bytes) else k for k in r.smembers(ref)]
        pipe = r.pipeline(transaction=False)
        for i in range(0, len(keys), 500):
            pipe.unlink(*keys[i : i + 500])
        pipe.unlink(ref)
        pipe.execute()
        return len(keys)
    except Exception as exc:
        client.failed("invalidate", exc)
        return 0


def invalidate_all(keep_tag: str | None = None) -> int:
    """Delete every cached ranking (except those of `keep_tag`), e.g. when a model version is activated."""
    r = client.get()
    if r is None:
        return 0
    n = 0
    keep = f"{PREFIX}{keep_tag}:" if keep_tag else None
    try:
        batch: list = []
        # with nothing kept, the reference sets go too (stale members would count as deletions later)
        patterns = [f"{PREFIX}*"] + ([] if keep else [f"{REF_PREFIX}*"])
        for k in (k for p in patterns for k in r.scan_iter(match=p, count=1000)):
            ks = k.decode() if isinstance(k, bytes) else k
            if keep and ks.startswith(keep):
                continue
            batch.append(ks)
            if len(batch) >= 500:
                r.unlink(*batch)
                n += len(batch)
                batch = []
        if batch:
            r.unlink(*batch)
            n += len(batch)
        return n
    except Exception as exc:
        client.failed("invalidate_all", exc)
        return n
