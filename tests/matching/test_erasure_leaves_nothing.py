"""After DELETE /api/resumes/{id}/ and the compaction the erasure queues, no store holds the person's text,
contact details, id or vector: PostgreSQL (every text column), the index files, uploaded files, the
section-embedding cache, the match cache in Redis."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import models
from django.db.models.functions import Cast

from matching import cache, erasure
from matching.index.build import build_index
from matching.index.core import Index
from matching.index.storage import read_file
from matching.models import DocumentVector, VectorIndex
from recruiting.models import Candidate, Membership, Resume

NAME, EMAIL, SKILL = "Zelda Quixotic", "zelda.quixotic@example.org", "Xylophonics"
CV = f"{NAME}\n{EMAIL}\n\nSkills\n{SKILL}, Python\n\nExperience\nEngineer at Acme, 2019 - 2023\n".encode()
SPACE = "encoder:erasure-test"


def _store_vector(resume: Resume, seed: int) -> np.ndarray:
    vector = np.random.default_rng(seed).standard_normal(8).astype("<f4")
    vector /= np.linalg.norm(vector)
    DocumentVector.objects.create(
        kind="resume",
        resume=resume,
        space=SPACE,
        content_hash=resume.content_hash,
        dim=8,
        vector=DocumentVector.to_bytes(vector),
    )
    return vector


def _text_columns_holding(needle: str) -> list[str]:
    found = []
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if isinstance(field, models.CharField | models.TextField | models.JSONField):
                rows = model.objects.alias(_t=Cast(field.name, models.TextField())).filter(
                    _t__icontains=needle
                )
                if rows.exists():
                    found.append(f"{model.__name__}.{field.name}")
    return found


def _files_holding(root: Path, needles: list[bytes]) -> list[str]:
    return [
        str(path)
        for path in root.rglob("*")
        if path.is_file() and any(needle in path.read_bytes() for needle in needles)
    ]


@pytest.mark.django_db
def test_erasure_leaves_nothing(
    make_org,
    make_recruiter,
    client_for,
    settings,
    tmp_path,
    model_storage,
    django_capture_on_commit_callbacks,
    monkeypatch,
):
    settings.TRAINING_EMBEDDING_CACHE = str(tmp_path / "cache" / "sections.npz")
    queued = []
    monkeypatch.setattr(erasure, "request_compaction", queued.append)
    org = make_org()
    api = client_for(make_recruiter(org, Membership.Role.ADMIN))
    upload = SimpleUploadedFile("zelda.txt", CV, content_type="text/plain")
    response = api.post("/api/resumes/upload/", {"file": upload}, format="multipart")
    assert response.status_code == 201, response.content
    resume = Resume.objects.get(pk=response.json()["id"])
    candidate = resume.candidate
    assert (candidate.full_name, candidate.email) == (NAME, EMAIL)  # filled from the file
    other = Resume.objects.create(candidate=Candidate.objects.create(organization=org, full_name="Bob"))
    vector = _store_vector(resume, 1)
    _store_vector(other, 2)
    build_index(SPACE, "resume")
    cache_file = Path(settings.TRAINING_EMBEDDING_CACHE)
    cache_file.parent.mkdir(parents=True)
    np.savez(cache_file, vectors=vector[None, :])  # the section cache holds its vectors
    cache.put(
        f"{cache.PREFIX}test:resume:{resume.pk}",
        {"results": [{"resume": resume.pk}]},
        refs=[("resume", resume.pk)],
    )
    assert _text_columns_holding(SKILL) and _files_holding(Path(model_storage.location), [vector.tobytes()])

    with django_capture_on_commit_callbacks(execute=True):
        assert api.delete(f"/api/resumes/{resume.pk}/").status_code == 204
    assert queued == ["resume"]
    with django_capture_on_commit_callbacks(execute=True):
        erasure.compact_after_erasure("resume")  # what the queued task does

    for needle in (NAME, EMAIL, SKILL, "Zelda"):
        assert _text_columns_holding(needle) == [], needle
    stores = [Path(model_storage.location), Path(settings.MEDIA_ROOT), tmp_path]
    for root in stores:
        assert _files_holding(root, [vector.tobytes(), NAME.encode(), EMAIL.encode()]) == [], root
    assert not cache_file.exists()
    row = VectorIndex.objects.get(space=SPACE, kind="resume")
    index = Index.from_bytes(read_file(row.artifact_name))
    assert resume.pk not in index and other.pk in index and index.n_dead == 0
    assert cache.get(f"{cache.PREFIX}test:resume:{resume.pk}") is None
    assert Candidate.objects.filter(pk=candidate.pk).exists()  # the record stays, without the file's contact
