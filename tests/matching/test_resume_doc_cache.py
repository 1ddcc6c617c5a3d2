"""The rerank reads resumes through a per-process cache of their ml docs; an edit is never served stale."""

from __future__ import annotations

import pytest

from matching import documents

pytestmark = pytest.mark.django_db


def test_an_edited_resume_or_a_moved_candidate_is_read_again(make_org, make_resume):
    org = make_org()
    documents._resume_docs.clear()
    resume = make_resume(org=org, summary="Five years of backend work.")
    first = documents.resumes_by_id([resume.pk])[resume.pk]
    assert documents.resumes_by_id([resume.pk])[resume.pk] is first  # cached: the same object

    resume.summary = "Now a data engineer: Spark and Airflow."
    resume.save()
    edited = documents.resumes_by_id([resume.pk])[resume.pk]
    assert "Spark" in edited.summary and edited is not first

    resume.candidate.location = "Hamburg"
    resume.candidate.save()
    assert documents.resumes_by_id([resume.pk])[resume.pk].location == "Hamburg"


def test_the_cache_is_bounded(make_org, make_resume, monkeypatch):
    org = make_org()
    monkeypatch.setattr(documents, "_resume_docs", documents._ResumeDocCache(max_entries=2))
    ids = [make_resume(org=org).pk for _ in range(3)]
    assert set(documents.resumes_by_id(ids)) == set(ids)
    assert len(documents._resume_docs._docs) == 2
