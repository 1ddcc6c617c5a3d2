"""A PNG of each main page, taken in headless Chromium from a small platform with a trained model.

`make screenshots` runs this with TANDEM_SCREENSHOTS_DIR=docs/screenshots (the README shows them); in
`make test` they go to a temporary folder, so the pages and the tool keep working."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By

from tests.dashboard.browser import sign_in, start_chromium, wait_until
from tests.dashboard.conftest import PASSWORD

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(300),
]

PAGES = (
    ("jobs", "rita", "/jobs/"),
    ("shortlist", "rita", "/jobs/{job}/"),
    ("candidate", "rita", "/candidates/{candidate}/"),
    ("upload", "rita", "/upload/"),
    ("import", "rita", "/import/"),
    ("models", "stella", "/models/"),
    ("training-run", "stella", "/models/runs/{run}/"),
    ("analytics", "rita", "/analytics/{org}/"),
    ("job-analytics", "rita", "/jobs/{job}/analytics/"),
    ("candidate-home", "casey", "/me/jobs/"),
)


@pytest.fixture
def demo_platform(serving, settings, tmp_path):
    """Sample data in one organization, a recruiter, staff, a job seeker, and a model trained in process."""
    from django.contrib.auth import get_user_model
    from django.db.models import Count

    from matching import embedding
    from matching.models import TrainingRun
    from matching.training.runs import start_training_run
    from recruiting import ingest_services, sample_data, services
    from recruiting.models import Candidate, Interaction, Membership
    from recruiting.parsing import parse_resume

    org = services.organization_create(name="Demo Recruiting", slug="demo-screens")
    sample_data.load_sample_data(org, jobs=40, resumes=160, interactions=900, seed=7)
    users = get_user_model().objects
    Membership.objects.create(user=users.create_user("rita", password=PASSWORD), organization=org)
    users.create_user("stella", password=PASSWORD, is_staff=True)
    casey = users.create_user("casey", password=PASSWORD)
    own = Candidate.objects.create(user=casey, full_name="Casey Candidate", location="Berlin")
    text = sample_data.sample_resume_text(seed=7, family="data").encode()
    parsed = parse_resume(text, filename="casey.txt")
    ingest_services.resume_create_from_parsed(
        candidate=own, parsed=parsed, content=text, file_name="casey.txt"
    )
    embedding.backfill()
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.TRAINING_CONFIG = {"epochs": 6, "batch_size": 128, "hidden": 32}
    settings.TRAINING_EMBEDDING_CACHE = ""
    settings.TRAINING_LOCK_KEY = f"tandem:test:screens:{os.getpid()}"
    settings.FIRST_MODEL_POLICY = "always"
    settings.EVAL_RANDOM_NEGATIVES = 30
    start_training_run(trigger="dashboard")
    run = TrainingRun.objects.get()
    assert run.status == "succeeded", (run.error, run.stage)
    busiest = Interaction.objects.values("job_id").order_by().annotate(n=Count("id"))
    job_id = max(busiest, key=lambda r: r["n"])["job_id"]
    candidate = Candidate.objects.filter(organization=org, resumes__interactions__job_id=job_id).first()
    return {"job": job_id, "candidate": candidate.pk, "run": run.pk, "org": org.pk}


def test_screenshots_of_every_main_page(live_server, demo_platform, tmp_path):
    out = Path(os.environ.get("TANDEM_SCREENSHOTS_DIR") or tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    chrome = start_chromium(width=1360, height=900)
    try:
        signed_in_as = None
        for name, username, path in PAGES:
            if username != signed_in_as:
                sign_in(chrome, live_server.url, username, PASSWORD)
                signed_in_as = username
            chrome.get(live_server.url + path.format(**demo_platform))
            wait_until(lambda: chrome.find_elements(By.TAG_NAME, "h1"), what=name)
            assert not chrome.find_elements(By.ID, "not-found") and not chrome.find_elements(
                By.ID, "forbidden"
            ), name
            wait_until(
                lambda: chrome.execute_script(
                    "return Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)"
                ),
                what=f"the plots of {name}",
            )
            height = chrome.execute_script("return Math.min(document.body.scrollHeight, 2400)")
            chrome.set_window_size(1360, max(900, height))
            target = out / f"{name}.png"
            chrome.save_screenshot(str(target))
            chrome.set_window_size(1360, 900)
            assert target.stat().st_size > 10_000, name
    finally:
        chrome.quit()
