"""``__any``: the id-list lookup the ranking paths use (one array parameter on PostgreSQL)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from recruiting.models import Candidate, Resume

pytestmark = pytest.mark.django_db


def test_any_selects_what_in_selects_with_one_parameter(make_org):
    org = make_org()
    resumes = [Resume.objects.create(candidate=Candidate.objects.create(organization=org)) for _ in range(6)]
    ids = [r.pk for r in resumes[::2]] + [10**12]  # one id that does not exist
    with CaptureQueriesContext(connection) as q:
        got = set(Resume.objects.filter(pk__any=ids).values_list("pk", flat=True))
    assert got == set(Resume.objects.filter(pk__in=ids).values_list("pk", flat=True)) == set(ids[:-1])
    assert "ANY(" in q.captured_queries[0]["sql"]
    cands = {r.candidate_id for r in resumes[:2]}
    assert set(Resume.objects.filter(candidate_id__any=cands).values_list("pk", flat=True)) == {
        r.pk for r in resumes[:2]
    }
    assert not Resume.objects.filter(pk__any=[]).exists()
    with pytest.raises(ValueError):
        Resume.objects.filter(pk__any=["1; drop table"])
