"""Bulk import: one bulk signal per committed batch instead of per-row signals; employer and empty
resumes in imported rows."""

from __future__ import annotations

import io
import json
from contextlib import contextmanager

import pytest

from recruiting import signals
from recruiting.importing import import_file
from recruiting.models import Candidate, Interaction, Job, Resume

pytestmark = pytest.mark.django_db

SIGNALS = ("document_saved", "interaction_recorded", "documents_imported", "interactions_imported")


@contextmanager
def captured(capture_on_commit):
    """Every recruiting signal sent while the block runs (on-commit callbacks executed), by name."""
    sent: dict[str, list[tuple[type, dict]]] = {name: [] for name in SIGNALS}
    receivers = {}
    for name in SIGNALS:

        def receiver(sender, signal=None, _name=name, **kwargs):
            sent[_name].append((sender, kwargs))

        receivers[name] = receiver
        getattr(signals, name).connect(receiver, weak=False)
    try:
        with capture_on_commit(execute=True):
            yield sent
    finally:
        for name, receiver in receivers.items():
            getattr(signals, name).disconnect(receiver)


def _jsonl(rows) -> io.BytesIO:
    return io.BytesIO("".join(json.dumps(r) + "\n" for r in rows).encode())


def _import(org, kind, rows, **kwargs):
    return import_file(organization=org, kind=kind, file=_jsonl(rows), format="jsonl", **kwargs)


def _ids(org, external_ids):
    by_external = dict(Job.objects.filter(organization=org).values_list("external_id", "pk"))
    return [by_external[e] for e in external_ids]


def test_jobs_import_sends_one_documents_imported_per_batch(make_org, django_capture_on_commit_callbacks):
    org = make_org()
    rows = [{"external_id": f"J{i}", "title": f"Job {i}"} for i in range(7)]
    with captured(django_capture_on_commit_callbacks) as sent:
        report = _import(org, "jobs", rows, batch_size=3)
    assert (report.created, report.batches) == (7, 3)
    assert sent["document_saved"] == [] and sent["interactions_imported"] == []
    batches = [["J0", "J1", "J2"], ["J3", "J4", "J5"], ["J6"]]
    assert sent["documents_imported"] == [
        (Job, {"instance_ids": _ids(org, b), "saved_ids": _ids(org, b)}) for b in batches
    ]

    # re-import: unchanged rows announce nothing; a status change is saved but keeps its vector;
    # a remote change is content (the matching document reads it)
    rows[1]["status"] = "closed"
    rows[4]["remote"] = True
    with captured(django_capture_on_commit_callbacks) as sent:
        report = _import(org, "jobs", rows, batch_size=3)
    assert (report.updated, report.unchanged) == (2, 5)
    assert sent["document_saved"] == []
    assert sent["documents_imported"] == [
        (Job, {"instance_ids": [], "saved_ids": _ids(org, ["J1"])}),
        (Job, {"instance_ids": _ids(org, ["J4"]), "saved_ids": _ids(org, ["J4"])}),
    ]


def test_rolled_back_batch_sends_nothing(make_org, django_capture_on_commit_callbacks):
    org = make_org()
    rows = [
        {"external_id": "A", "title": "Analyst"},
        {"external_id": "B", "title": "Nurse", "seniority": "wizard"},  # fails batch 1
        {"external_id": "C", "title": "Driver"},
        {"external_id": "D", "title": "Chef"},
    ]
    with captured(django_capture_on_commit_callbacks) as sent:
        report = _import(org, "jobs", rows, batch_size=2)
    assert (report.batches_rolled_back, report.created) == (1, 2)
    assert sent["document_saved"] == []
    assert sent["documents_imported"] == [
        (Job, {"instance_ids": _ids(org, "CD"), "saved_ids": _ids(org, "CD")})
    ]


def test_partial_batch_announces_only_the_rows_it_kept(make_org, django_capture_on_commit_callbacks):
    org = make_org()
    rows = [
        {"candidate_external_id": "C1", "headline": "Cook"},
        {"candidate_external_id": "C2", "skills": ["x" * 250]},  # rejected after its candidate was written
        {"candidate_external_id": "C3"},
    ]
    with captured(django_capture_on_commit_callbacks) as sent:
        report = _import(org, "resumes", rows, partial_batches=True)
    assert (report.created, report.rejected_count) == (2, 1)
    kept = list(
        Resume.objects.filter(candidate__organization=org).order_by("pk").values_list("pk", flat=True)
    )
    assert sent["documents_imported"] == [(Resume, {"instance_ids": kept, "saved_ids": kept})]
    assert sent["document_saved"] == []


def test_interactions_import_sends_one_interactions_imported_per_batch(
    make_org, make_job, make_resume, django_capture_on_commit_callbacks
):
    org = make_org()
    jobs = [make_job(org, external_id=f"J{i}") for i in range(2)]
    resume = make_resume(org=org, external_id="R1")
    rows = [
        {"job_external_id": "J0", "resume_external_id": "R1", "kind": kind, "created_at": f"2024-05-0{day}"}
        for day, kind in ((1, "impression"), (2, "click"), (3, "apply"))
    ] + [
        {
            "job_external_id": "J1",
            "resume_external_id": "R1",
            "kind": "impression",
            "created_at": "2024-05-04",
        }
    ]
    with captured(django_capture_on_commit_callbacks) as sent:
        report = _import(org, "interactions", rows, batch_size=2)
    assert report.created == 4 and Interaction.objects.count() == 4
    assert sent["interaction_recorded"] == [] and sent["documents_imported"] == []
    assert sent["interactions_imported"] == [
        (Interaction, {"pairs": [(jobs[0].pk, resume.pk)]}),
        (Interaction, {"pairs": [(jobs[0].pk, resume.pk), (jobs[1].pk, resume.pk)]}),
    ]
    with captured(django_capture_on_commit_callbacks) as sent:
        assert _import(org, "interactions", rows).unchanged == 4
    assert sent["interactions_imported"] == []


def test_employer_is_imported_and_part_of_the_content(make_org):
    org = make_org()
    csv = "title,employer,location\nNurse,St. Mary's Hospital,Austin\nNurse,Austin General,Austin\n"
    report = import_file(organization=org, kind="jobs", file=io.BytesIO(csv.encode()), filename="jobs.csv")
    assert report.created == 2  # same title and place, two employers: two jobs
    assert sorted(Job.objects.filter(organization=org).values_list("employer", flat=True)) == [
        "Austin General",
        "St. Mary's Hospital",
    ]
    again = import_file(organization=org, kind="jobs", file=io.BytesIO(csv.encode()), filename="jobs.csv")
    assert (again.created, again.unchanged) == (0, 2)


def test_rows_without_profile_text_import_as_empty_resumes(make_org):
    org = make_org()
    rows = [
        {"candidate_external_id": "C1"},
        {"candidate_external_id": "C2", "full_name": "Eli", "external_id": "R2"},
        {"external_id": "R3"},
        {"external_id": "R4"},
    ]
    report = _import(org, "resumes", rows)
    assert (report.created, report.rejected_count) == (4, 0), report.rejected
    resumes = Resume.objects.filter(candidate__organization=org)
    assert sorted((r.external_id, r.full_text, tuple(r.skills)) for r in resumes) == [
        ("", "", ()),
        ("R2", "", ()),
        ("R3", "", ()),
        ("R4", "", ()),
    ]
    # each resume without candidate details has a candidate of its own (not one shared by empty rows)
    assert Candidate.objects.filter(organization=org).count() == 4
    again = _import(org, "resumes", rows)
    assert (again.created, again.unchanged) == (0, 4)
    # profile text arriving later updates the same resume
    later = _import(org, "resumes", [{"external_id": "R3", "headline": "Line cook"}])
    assert later.updated == 1 and resumes.get(external_id="R3").headline == "Line cook"
    assert Candidate.objects.filter(organization=org).count() == 4


def test_rows_repeating_an_external_id_within_a_batch(make_org, django_assert_max_num_queries):
    org = make_org()
    rows = [{"external_id": f"J{i}", "title": f"Job {i}"} for i in range(20)]
    rows += [{"external_id": "J3", "title": "Job 3"}, {"external_id": "J3", "title": "Job 3b"}]
    # existing jobs are looked up once per batch; a created job costs its full_clean, insert and savepoints
    with django_assert_max_num_queries(7 * 20 + 2 * 3 + 4 * 2 + 5):
        report = _import(org, "jobs", rows)
    assert (report.created, report.unchanged, report.updated) == (20, 1, 1)
    assert Job.objects.get(organization=org, external_id="J3").title == "Job 3b"
    assert Job.objects.filter(organization=org).count() == 20
