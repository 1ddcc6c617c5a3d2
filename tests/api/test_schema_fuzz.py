"""schemathesis over the whole OpenAPI schema, through the WSGI app: no 5xx, and every status documented.

Bounded: FUZZ_MAX_EXAMPLES examples per operation (default 5), no shrinking, each request in-process. The
caller is an organization admin with a job, a candidate and a resume, so the generated ids sometimes exist;
staff-only operations answer 403 to them (their input handling is covered in tests/recruiting and matching).
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import status_code_conformance

from config.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)
MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "5"))


@pytest.fixture
def fuzz_caller(make_org, make_recruiter, make_job, make_resume, hashing_encoder, settings):
    from rest_framework.authtoken.models import Token

    from config import dependencies

    settings.THROTTLE_RATES = {}  # fuzzing is not brute force
    dependencies.reset()
    # As Django's test client does: the raw WSGI handler would close the test's transaction's connection.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    org = make_org()
    user = make_recruiter(org, "admin")
    make_job(org)
    make_resume(org=org)
    token, _ = Token.objects.get_or_create(user=user)
    yield {"Authorization": f"Token {token.key}"}
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.mark.django_db
@pytest.mark.timeout(600)
@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_no_server_errors_and_documented_statuses(case, fuzz_caller):
    case.call_and_validate(headers=fuzz_caller, checks=[not_a_server_error, status_code_conformance])
