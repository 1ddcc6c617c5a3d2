"""Brute force on the token endpoint: a per-address rate limit and a per-username lockout (Redis-backed)."""

from __future__ import annotations

import itertools
import uuid

import pytest

_addresses = itertools.count(1)


@pytest.fixture
def address():
    """A client address of this test's own, so throttle counts in the shared test Redis never collide."""
    n = next(_addresses) + uuid.uuid4().int % 50_000
    return f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"


@pytest.fixture
def rita(make_user):
    user = make_user(f"rita-{uuid.uuid4().hex[:8]}")
    user.set_password("s3cret-pass")
    user.save()
    return user


def _sign_in(client, username, password, address):
    return client.post(
        "/api/auth/token/", {"username": username, "password": password}, format="json", REMOTE_ADDR=address
    )


def test_repeated_wrong_passwords_lock_the_username(client, rita, settings, address):
    settings.SIGNIN_LOCKOUT_FAILURES = 3
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "signin": "1000/minute"}
    for _ in range(3):
        assert _sign_in(client, rita.username, "wrong", address).status_code == 400
    locked = _sign_in(client, rita.username, "s3cret-pass", address)  # even the right password: not checked
    assert locked.status_code == 429 and int(locked["Retry-After"]) > 0
    assert "token" not in locked.json()


def test_a_success_clears_the_failures(client, rita, settings, address):
    settings.SIGNIN_LOCKOUT_FAILURES = 3
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "signin": "1000/minute"}
    for _ in range(2):
        _sign_in(client, rita.username, "wrong", address)
    assert _sign_in(client, rita.username, "s3cret-pass", address).status_code == 200
    for _ in range(2):
        assert _sign_in(client, rita.username, "wrong", address).status_code == 400


def test_one_address_guessing_many_usernames_gets_429(client, settings, address, db):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "signin": "5/minute"}
    codes = [_sign_in(client, f"nobody{i}", "guess", address).status_code for i in range(8)]
    assert codes[:5] == [400] * 5 and set(codes[5:]) == {429}
    # another address is not affected
    assert _sign_in(client, "nobody", "guess", address + "9").status_code == 400


def test_scoring_endpoints_are_throttled_per_user(make_org, make_recruiter, make_job, client_for, settings):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "scoring": "3/minute"}
    org = make_org()
    job = make_job(org)
    api = client_for(make_recruiter(org))
    body = {"job": job.pk, "resume_text": "python django"}
    codes = [api.post("/api/match/score", body, format="json").status_code for _ in range(5)]
    assert codes[:3] == [200] * 3 and codes[3:] == [429, 429]


def test_rate_limits_fail_open_when_redis_is_down(client, rita, settings, address):
    from config import throttling

    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "signin": "1/minute"}
    throttling._redis._down_until = 0.0
    try:
        codes = {_sign_in(client, rita.username, "s3cret-pass", address).status_code for _ in range(3)}
    finally:
        throttling._redis._down_until = 0.0
    assert codes == {200}
