"""Each attack changes the resume as it says; the detector flags it with a reason; ``sanitize`` removes exactly the
flagged parts and leaves an honest resume's text as it was."""

from __future__ import annotations

import unicodedata
from dataclasses import replace

import numpy as np
import pytest
import torch

from ml.robust.attacks import (
    HOMOGLYPHS,
    TEXT_ATTACKS,
    ZERO_WIDTH,
    apply_to_share,
    character_perturbation,
    injected_instructions,
    invisible_characters,
    job_ad_paste,
    keyword_stuffing,
    skill_repetition,
    synonym_perturbation,
)
from ml.robust.detector import detect, detect_for_job, sanitize, sanitize_for_job
from ml.robust.pgd import pgd_attack
from ml.types import JobDoc, ResumeDoc

JOB = JobDoc(
    id="j1",
    title="Senior Data Engineer",
    description="We are looking for a data engineer to build batch and streaming pipelines on Spark and Kafka. "
    "The ideal candidate has run a data warehouse in production. We offer a competitive salary.",
    skills=("spark", "kafka", "airflow", "sql"),
    company="Acme",
    location="Berlin",
)
NURSE = ResumeDoc(
    id="r1",
    headline="Registered Nurse",
    summary="Nurse with eight years on a surgical ward. Managed a team of four nurses.",
    skills=("patient care", "wound care", "triage"),
    experience=("Registered Nurse at City Hospital: surgical ward, patient care and triage",),
    education=("BSc Nursing",),
)


def kinds(flags) -> set[str]:
    return {f.kind for f in flags}


def test_keyword_stuffing_copies_the_jobs_title_and_skills_strength_times():
    r = keyword_stuffing(NURSE, JOB, 3)
    assert set(JOB.skills) <= set(r.skills) and JOB.title in r.skills
    assert r.summary.count(", ".join([JOB.title, *JOB.skills])) == 3
    assert r.summary.startswith(NURSE.summary) and r.experience == NURSE.experience
    assert "keyword_stuffing" in kinds(detect(r))
    assert "keyword_stuffing" in kinds(detect_for_job(keyword_stuffing(NURSE, JOB, 1), JOB))


def test_stuffing_a_job_without_a_skills_list_is_flagged_by_its_title_and_cut_out():
    """A job naming no skills: one copy of its title as a skill and as a line of the summary is stuffing; the
    honest nurse who names "Registered Nurse" in her headline and experience is not."""
    bare = replace(JOB, skills=(), title="Data Entry Clerk")
    r = keyword_stuffing(NURSE, bare, 1)
    flags = detect_for_job(sanitize(r), bare)
    assert "keyword_stuffing" in kinds(flags) and "title" in flags[0].reason
    cut = sanitize_for_job(r, bare)
    assert "Data Entry Clerk" not in cut.skills and "data entry clerk" not in cut.summary.lower()
    assert "surgical ward" in cut.summary and detect_for_job(cut, bare) == []
    nurse_job = replace(bare, title="Registered Nurse")
    assert detect_for_job(NURSE, nurse_job) == []
    assert detect_for_job(replace(NURSE, skills=(*NURSE.skills, "Registered Nurse")), nurse_job) == []


def test_job_ad_paste_puts_the_whole_ad_in_the_summary():
    r = job_ad_paste(NURSE, JOB)
    assert JOB.description in r.summary and JOB.title in r.summary
    flags = detect_for_job(r, JOB)
    assert "pasted_job_text" in kinds(flags)
    assert any("ad" in f.reason for f in flags)
    assert "pasted_job_text" in kinds(detect(r))  # the ad's own phrases give it away without the job too


def test_injected_instructions_are_found_and_removed():
    r = injected_instructions(NURSE, JOB, 2)
    assert "Ignore all previous instructions" in r.summary and JOB.title in r.summary
    assert "injected_instructions" in kinds(detect(r))
    clean = sanitize(r)
    assert "ignore" not in clean.summary.lower() and "perfect match" not in clean.summary.lower()
    assert clean.summary == NURSE.summary


def test_skill_repetition_repeats_one_skill_and_sanitize_lists_it_once():
    r = skill_repetition(NURSE, JOB, 50)
    assert r.skills.count("spark") == 50
    flags = detect(r)
    assert "skill_repetition" in kinds(flags) and "50 times" in flags[0].reason
    assert sanitize(r).skills.count("spark") == 1


def test_synonyms_swap_words_towards_the_job_vocabulary():
    dev = ResumeDoc(id="r2", headline="Software Developer", summary="Developer who built client APIs.")
    r = synonym_perturbation(dev, JOB, 2)
    assert r.headline == "Software Engineer"
    assert r.summary == "Engineer who developed customer APIs."


def test_character_perturbation_uses_look_alike_letters_and_the_disguised_words_are_dropped():
    r = character_perturbation(NURSE, JOB, 10)
    assert any(ch in HOMOGLYPHS.values() for ch in r.headline + r.summary)
    assert r.headline != NURSE.headline
    flags = detect(r)
    assert "hidden_characters" in kinds(flags)
    clean = sanitize(r)
    assert not any(ch in HOMOGLYPHS.values() for ch in clean.headline + clean.summary)
    # the job's title written in look-alikes never reaches the vector (unmasked it would buy the job's words)
    assert "engineer" not in clean.headline.lower() and "data" not in clean.headline.lower()
    light = sanitize(character_perturbation(NURSE, JOB, 1))
    assert "surgical" in (light.summary + " ".join(light.experience)).lower()  # undisguised words stay


def test_invisible_characters_hide_the_jobs_keywords():
    r = invisible_characters(NURSE, JOB)
    assert any(z in r.summary for z in ZERO_WIDTH)
    visible = "".join(ch for ch in r.summary if unicodedata.category(ch) != "Cf")
    assert "Senior" in visible and "kafka" in visible
    assert "hidden_characters" in kinds(detect(r))
    clean = sanitize(r)
    assert not any(z in clean.summary + clean.headline for z in ZERO_WIDTH)
    assert clean.headline == NURSE.headline


def test_an_honest_resume_has_no_flags_and_keeps_its_text():
    assert detect(NURSE) == [] and detect_for_job(NURSE, JOB) == []
    assert sanitize(NURSE) == NURSE and sanitize_for_job(NURSE, JOB) == NURSE


def test_sanitize_for_job_removes_the_copied_ad():
    r = sanitize_for_job(job_ad_paste(NURSE, JOB), JOB)
    assert "streaming pipelines" not in r.summary.lower() and "nurse" in r.summary.lower()
    assert detect_for_job(r, JOB) == []


@pytest.mark.parametrize("name", sorted(TEXT_ATTACKS))
def test_every_attack_keeps_the_id_and_changes_the_text(name):
    r = TEXT_ATTACKS[name](NURSE, JOB, 3)
    assert r.id == NURSE.id and r.full_text() != NURSE.full_text()


def test_apply_to_share_applies_to_that_share_of_distinct_jobs():
    jobs = [JobDoc(id=f"j{i}", title="t") for i in range(200)]
    events = apply_to_share("r9", jobs, 0.4, seed=1)
    assert len(events) == 80 and len({e.job_id for e in events}) == 80
    assert all(e.kind == "apply" and e.resume_id == "r9" for e in events)


@pytest.mark.parametrize("norm", ["l2", "linf"])
def test_pgd_stays_in_the_ball_keeps_empty_sections_and_raises_the_score(norm):
    torch.manual_seed(0)
    er = torch.nn.functional.normalize(torch.randn(5, 4, 16), dim=-1)
    er[:, 1] = 0.0
    target = torch.randn(4, 16)

    def score(x):
        return (x * target).sum((1, 2))

    adv = pgd_attack(er, score, eps=0.3, norm=norm, steps=8)
    delta = adv - er
    size = delta.abs().amax((1, 2)) if norm == "linf" else delta.reshape(5, -1).norm(dim=1)
    assert float(size.max()) <= 0.3 + 1e-5
    assert torch.all(adv[:, 1] == 0)
    assert torch.all(score(adv) > score(er) + 0.1)
    assert np.isfinite(adv.numpy()).all()


def test_the_ad_phrase_scan_finds_exactly_what_a_search_for_each_phrase_finds():
    """`_ANY_AD_KEY` (one regex) stands in for a loop over the job-ad phrases: the same answer on random texts
    made of the phrases' own words."""
    import random

    from ml.robust import detector

    rng = random.Random(0)
    words = [w for k in detector._AD_KEYS for w in k.split()] + ["python", "team", "the"]
    hits = 0
    for _ in range(20000):
        text = " " + " ".join(rng.choice(words) for _ in range(rng.randint(0, 14))) + " "
        expected = any(k in text for k in detector._AD_KEYS)
        assert (detector._ANY_AD_KEY.search(text) is not None) == expected, text
        hits += expected
    assert 1000 < hits < 19000  # both answers occur
