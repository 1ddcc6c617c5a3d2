"""End to end in headless Chromium against a live server on 127.0.0.1: what a recruiter does in a day.

Every wait is bounded; the whole module is bounded by pytest-timeout per test."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By

from matching.models import TrainingRun
from recruiting.models import Interaction, Resume
from tests.dashboard.browser import sign_in, start_chromium, text_of, wait_until
from tests.dashboard.conftest import PASSWORD
from tests.dashboard.urlmap import org_urls

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.timeout(240)]


@pytest.fixture(scope="module")
def chrome():
    driver = start_chromium()
    yield driver
    driver.quit()


def _row(chrome, resume_pk: int):
    return chrome.find_element(By.ID, f"row-{resume_pk}")


def _count(chrome, stage: str) -> str:
    return chrome.find_element(By.CSS_SELECTOR, f'#stage-counts dd[data-stage="{stage}"]').text


def test_recruiter_rejects_and_shortlists_from_the_ranked_list(chrome, live_server, world):
    job, ada, ben = world["job"], world["pool"][0], world["pool"][1]
    sign_in(chrome, live_server.url, "rita", PASSWORD)
    assert chrome.current_url.endswith("/jobs/")
    chrome.find_element(By.LINK_TEXT, job.title).click()
    wait_until(lambda: chrome.find_elements(By.ID, "shortlist"), what="the ranked candidates")
    assert text_of(chrome, "model-tag") == "zero-shot"
    ada_row = _row(chrome, ada.pk)
    assert "Ada Backend" in ada_row.text and "Matched" in ada_row.text and "postgresql" in ada_row.text
    assert ada_row.find_element(By.CSS_SELECTOR, "td.score").text  # a total score is shown

    ada_row.find_element(By.CSS_SELECTOR, 'button[data-kind="reject"]').click()
    wait_until(lambda: not chrome.find_elements(By.ID, f"row-{ada.pk}"), what="the rejected row to leave")
    assert _count(chrome, "rejected") == "1"
    assert "Reject: Ada Backend" in text_of(chrome, "announce")
    stored = Interaction.objects.get(job=job, resume=ada)
    assert stored.kind == "reject" and stored.actor == world["recruiter"]

    assert _count(chrome, "shortlisted") == "0"
    _row(chrome, ben.pk).find_element(By.CSS_SELECTOR, 'button[data-kind="shortlist"]').click()
    wait_until(lambda: _count(chrome, "shortlisted") == "1", what="the shortlisted count to change")
    assert _row(chrome, ben.pk).find_element(By.ID, f"stage-{ben.pk}").text == "shortlisted"
    assert Interaction.objects.filter(job=job, resume=ben, kind="shortlist").count() == 1

    # the excluded stage can be shown again
    box = chrome.find_element(By.CSS_SELECTOR, '#shortlist-filters input[name="exclude"][value="rejected"]')
    assert box.is_selected()
    box.click()
    chrome.find_element(By.CSS_SELECTOR, '#shortlist-filters button[type="submit"]').click()
    wait_until(
        lambda: chrome.find_elements(By.ID, f"row-{ada.pk}"), what="the rejected row to be shown again"
    )
    assert _row(chrome, ada.pk).find_element(By.ID, f"stage-{ada.pk}").text == "rejected"


def test_upload_a_resume_and_find_it(chrome, live_server, world, tmp_path):
    resume_file = tmp_path / "zoe_upload.txt"
    resume_file.write_text(
        "Zoe Upload\nzoe@example.com\n\nSummary\nData engineer, Python and Spark.\n\nSkills\nPython, Spark, SQL\n"
    )
    sign_in(chrome, live_server.url, "rita", PASSWORD)
    chrome.get(f"{live_server.url}/upload/")
    chrome.find_element(By.ID, "id_file").send_keys(str(resume_file))
    chrome.find_element(By.ID, "upload-submit").click()
    done = wait_until(lambda: chrome.find_elements(By.ID, "upload-done"), what="the upload to be stored")[0]
    assert "Zoe Upload" in done.text and "(new candidate)" in done.text
    assert Resume.objects.filter(
        candidate__full_name="Zoe Upload", candidate__organization=world["org_a"]
    ).exists()
    chrome.get(f"{live_server.url}/candidates/")
    search = chrome.find_element(By.ID, "q")
    search.send_keys("zoe")
    search.submit()
    wait_until(lambda: "q=zoe" in chrome.current_url, what="the search results")
    wait_until(
        lambda: chrome.find_elements(By.LINK_TEXT, "Zoe Upload"), what="the candidate in the search"
    ).pop().click()
    wait_until(lambda: "Spark" in chrome.find_element(By.TAG_NAME, "main").text, what="the parsed skills")
    assert chrome.find_element(By.LINK_TEXT, "zoe_upload.txt")  # the uploaded file


def test_another_organizations_recruiter_gets_a_404_page_everywhere(chrome, live_server, world):
    sign_in(chrome, live_server.url, "otto", PASSWORD)
    for name, url in org_urls(world):
        chrome.get(f"{live_server.url}{url}")
        assert chrome.find_elements(By.ID, "not-found"), (name, url, chrome.page_source[:300])
        assert "Ada Backend" not in chrome.page_source and world["job"].title not in chrome.page_source


@pytest.mark.celery_worker
@pytest.mark.slow
def test_start_a_training_run_and_watch_it_progress(chrome, live_server, world, start_worker):
    from django.contrib.auth import get_user_model

    from tests.matching.synthetic_platform import load_synthetic_platform

    load_synthetic_platform(seed=5)
    staff = get_user_model().objects.create_user("stella", password=PASSWORD, is_staff=True)
    worker = start_worker(env={"TANDEM_TRAIN_EPOCHS": "12"})
    sign_in(chrome, live_server.url, "stella", PASSWORD)
    chrome.get(f"{live_server.url}/models/")
    chrome.find_element(By.ID, "start-training").click()
    wait_until(lambda: chrome.find_elements(By.ID, "run-progress"), what="the run page")
    run = TrainingRun.objects.get()
    assert chrome.current_url.endswith(f"/models/runs/{run.pk}/") and run.requested_by == staff
    seen: list[tuple[str, str, str]] = []

    def finished() -> bool:
        state = (text_of(chrome, "run-status"), text_of(chrome, "run-stage"), text_of(chrome, "run-epoch"))
        if not seen or seen[-1] != state:
            seen.append(state)
        return state[0] in ("succeeded", "failed")

    try:
        wait_until(finished, timeout=180, interval=0.2, what="the run to finish on the page")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; seen {seen}; worker log:\n{worker.log()[-3000:]}") from exc
    assert seen[-1][0] == "succeeded", (seen, TrainingRun.objects.get().error)
    assert len(seen) >= 3, seen  # the page moved on its own (htmx polling, no reload)
    assert any(status == "running" and stage == "train" for status, stage, _ in seen), seen
    assert chrome.find_elements(By.CSS_SELECTOR, "#run-progress img.plot")  # the loss curves
