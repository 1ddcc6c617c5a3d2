"""Seeded generation of jobs, candidates, resumes and interaction funnels as plain dicts."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from recruiting.models import Job
from recruiting.sample_data.vocabulary import (
    CITIES,
    FAMILIES,
    FAMILY_NAMES,
    FIRST_NAMES,
    LAST_NAMES,
    MONTHS,
    SENIORITY_ORDER,
    SENIORITY_PREFIX,
    SENIORITY_WEIGHTS,
    SENIORITY_YEARS,
    UNIVERSITIES,
    Family,
)

# The family is kept in every external id (``sample-job-nursing-00012``), so benchmarks can read it back.
EXTERNAL_PREFIX = "sample-"


# Funnel probabilities: (a job the candidate wants, any other job).
P_CLICK = (0.45, 0.15)
P_APPLY = (0.45, 0.12)
P_SHORTLIST = (0.35, 0.08)
P_NOT_INTERESTED = (0.04, 0.2)
# Interaction structure that text alone cannot see: where a candidate looks (home city, favourite employers),
# moves into a related family, and accidental clicks on random jobs (label noise). Shares of the pairs drawn.
P_ACCIDENTAL = 0.08  # a random job, one impression and a click: noise the model must not learn
P_HOME_CITY = 0.55  # a job of the candidate's (or their move's) family in their home city
P_FAVOURITE_EMPLOYER = 0.25  # a job at one of their two favourite employers (own family)
P_MOVER = 0.3  # candidates who also look in a related family
RELATED_FAMILY = {
    "software": "data",
    "data": "software",
    "nursing": "hospitality",
    "hospitality": "retail",
    "retail": "logistics",
    "logistics": "retail",
    "finance": "marketing",
    "marketing": "finance",
}
HISTORY_DAYS = 90


@dataclass
class SampleData:
    """Generated rows as plain dicts; interactions and resumes refer to jobs and candidates by index."""

    jobs: list[dict[str, Any]] = field(default_factory=list)  # Job fields + "family"
    candidates: list[dict[str, Any]] = field(default_factory=list)  # Candidate fields
    resumes: list[dict[str, Any]] = field(
        default_factory=list
    )  # Resume fields + "candidate" (index), "family"
    interactions: list[dict[str, Any]] = field(
        default_factory=list
    )  # job, resume (indexes), kind, created_at, external_id


def _title(family: Family, base: str, seniority: str) -> str:
    if seniority == "executive":
        return f"Head of {family.head_title}"
    if seniority == "intern":
        return f"{base} Intern"
    prefix = SENIORITY_PREFIX[seniority]
    return f"{prefix} {base}".strip()


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def _pick_seniority(rng: random.Random) -> str:
    return rng.choices(list(SENIORITY_WEIGHTS), weights=list(SENIORITY_WEIGHTS.values()))[0]


def _job(rng: random.Random, n: int, family: Family) -> dict[str, Any]:
    seniority = _pick_seniority(rng)
    base = rng.choice(family.titles)
    title = _title(family, base, seniority)
    company = rng.choice(family.companies)
    city = rng.choice(CITIES)
    required = rng.sample(family.skills, rng.randint(4, 6))
    others = [s for s in family.skills if s not in required]
    nice = rng.sample(others, rng.randint(1, 3))
    if rng.random() < 0.15:  # a skill from a neighbouring family
        other = FAMILIES[rng.choice([f for f in FAMILY_NAMES if f != family.name])]
        extra = rng.choice(other.skills)
        if extra not in required and extra not in nice:
            nice.append(extra)
    lo_years, _ = SENIORITY_YEARS[seniority]
    duties = rng.sample(family.duties, 3)
    remote = rng.random() < family.remote_share
    description = "\n".join(
        [
            f"{company} is hiring a {title} in {city}{' (remote-friendly)' if remote else ''}.",
            "",
            "What you will do:",
            *(f"- {d}." for d in duties),
            "",
            "Requirements:",
            f"- {lo_years}+ years of experience as {_article(base)} {base.lower()} or similar."
            if lo_years
            else "- No prior experience needed; we train you.",
            f"- Solid {', '.join(required[:-1])} and {required[-1]}.",
            "",
            "Nice to have: " + ", ".join(nice) + ".",
        ]
    )
    factor = {"intern": 0.45, "junior": 0.75, "mid": 1.0, "senior": 1.3, "lead": 1.5, "executive": 1.9}[
        seniority
    ]
    lo, hi = family.salary
    salary_min = int(round(lo * factor * rng.uniform(0.9, 1.1), -3))
    salary_max = int(round(max(hi * factor * rng.uniform(0.9, 1.1), salary_min + 5000), -3))
    if seniority == "intern":
        employment_type = Job.EmploymentType.INTERNSHIP
    elif rng.random() < family.part_time_share:
        employment_type = Job.EmploymentType.PART_TIME
    elif rng.random() < 0.08:
        employment_type = Job.EmploymentType.CONTRACT
    else:
        employment_type = Job.EmploymentType.FULL_TIME
    return {
        "external_id": f"{EXTERNAL_PREFIX}job-{family.name}-{n:05d}",
        "title": title,
        "employer": company,
        "description": description,
        "required_skills": required,
        "nice_to_have_skills": nice,
        "location": city,
        "remote": remote,
        "seniority": seniority,
        "employment_type": str(employment_type),
        "salary_min": salary_min,
        "salary_max": salary_max,
        "salary_currency": "EUR"
        if city in ("Berlin", "Munich", "Hamburg", "Amsterdam", "Paris", "Madrid", "Dublin")
        else "USD",
        "status": Job.Status.CLOSED.value if rng.random() < 0.1 else Job.Status.OPEN.value,
        "family": family.name,
    }


def _month_year(moment: datetime) -> str:
    return f"{MONTHS[moment.month - 1]} {moment.year}"


def _resume(
    rng: random.Random, n: int, family: Family, now: datetime
) -> tuple[dict[str, Any], dict[str, Any]]:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    city = rng.choice(CITIES)
    seniority = _pick_seniority(rng)
    lo_years, hi_years = SENIORITY_YEARS[seniority]
    years = rng.randint(lo_years, hi_years)
    base = rng.choice(family.titles)
    headline = _title(family, base, seniority)
    # cross-family noise: a career changer (earlier jobs elsewhere) or side skills from another family
    other = FAMILIES[rng.choice([f for f in FAMILY_NAMES if f != family.name])]
    career_changer = rng.random() < 0.12
    skills = rng.sample(family.skills, rng.randint(6, min(10, len(family.skills))))
    if rng.random() < 0.2 or career_changer:
        skills += [s for s in rng.sample(other.skills, rng.randint(1, 3)) if s not in skills]

    experience: list[dict[str, Any]] = []
    gap_days = rng.randint(30, 120) if rng.random() < 0.3 else 0  # between jobs right now
    cursor = now - timedelta(days=gap_days)
    remaining_months = max(6, years * 12)
    n_jobs = 1 if years <= 1 else rng.randint(1, min(4, 1 + years // 2))
    for i in range(n_jobs):
        months = remaining_months if i == n_jobs - 1 else rng.randint(8, max(9, remaining_months // 2))
        remaining_months = max(6, remaining_months - months)
        start = cursor - timedelta(days=30 * months)
        fam = other if (career_changer and i == n_jobs - 1 and n_jobs > 1) else family
        level = SENIORITY_ORDER[max(0, SENIORITY_ORDER.index(seniority) - i)] if fam is family else "junior"
        entry_title = _title(fam, base if fam is family else rng.choice(fam.titles), level)
        experience.append(
            {
                "title": entry_title,
                "company": rng.choice(fam.companies),
                "location": rng.choice([city, city, rng.choice(CITIES)]),
                "start": _month_year(start),
                "end": "Present" if i == 0 and gap_days == 0 else _month_year(cursor),
                "description": "\n".join(f"{d}." for d in rng.sample(fam.duties, rng.randint(2, 3))),
            }
        )
        cursor = start - timedelta(days=rng.randint(0, 90))
    degree = rng.choice(family.degrees if not career_changer else other.degrees)
    grad_year = (cursor - timedelta(days=rng.randint(0, 365))).year
    education = [{"degree": degree, "institution": rng.choice(UNIVERSITIES), "year": grad_year}]
    summary = (
        f"{headline} with {years} year{'s' if years != 1 else ''} of experience"
        f"{' after starting out in ' + other.name if career_changer and n_jobs > 1 else ''}. "
        f"Strong in {', '.join(skills[:3])}; based in {city}."
    )
    candidate = {
        "external_id": f"{EXTERNAL_PREFIX}candidate-{n:05d}",
        "full_name": f"{first} {last}",
        "email": f"{first}.{last}.{n}@example.com".lower().replace("ü", "ue"),
        "location": city,
    }
    resume = {
        "external_id": f"{EXTERNAL_PREFIX}resume-{family.name}-{n:05d}",
        "headline": headline,
        "summary": summary,
        "skills": skills,
        "experience": experience,
        "education": education,
        "candidate": n - 1,
        "family": family.name,
        "seniority": seniority,
    }
    return candidate, resume


def _funnel(rng: random.Random, k: int) -> list[str]:
    """The kinds of one pair's events, in order: an impression, then as far down the funnel as it gets.

    `k` is 0 for a job and resume of the same family, 1 across families (less likely to go far).
    """
    chain = ["impression"]
    if rng.random() < P_NOT_INTERESTED[k]:
        chain.append("not_interested")
    elif rng.random() < P_CLICK[k]:
        chain.append("click")
        if rng.random() < P_APPLY[k]:
            chain.append("apply")
            if rng.random() < 0.05:
                chain.append("withdraw")
            elif rng.random() < P_SHORTLIST[k]:
                chain.append("shortlist")
                if rng.random() < 0.6:
                    chain.append("interview")
                    if rng.random() < 0.45:
                        chain.append("offer")
                        chain.append("hire" if rng.random() < 0.75 else "withdraw")
                    elif rng.random() < 0.7:
                        chain.append("reject")
            elif rng.random() < 0.55:
                chain.append("reject")
    return chain


@dataclass
class _Preferences:
    """What a candidate looks for, hidden from every text: home city, favourite employers, a related family."""

    city: str
    employers: tuple[str, ...]
    families: tuple[str, ...]  # own family first, then the move's (when a mover)


def _preferences(rng: random.Random, data: SampleData) -> list[_Preferences]:
    out = []
    for candidate, resume in zip(data.candidates, data.resumes, strict=True):
        family = resume["family"]
        move = RELATED_FAMILY.get(family) if rng.random() < P_MOVER else None
        employers = tuple(rng.sample(FAMILIES[family].companies, 2))
        out.append(_Preferences(candidate["location"], employers, (family, move) if move else (family,)))
    return out


def _pick_job(rng: random.Random, pref: _Preferences, index: dict, all_jobs: list[int]) -> tuple[int, bool]:
    """(job, wanted): a job the candidate looks at, and whether it is one they want (not an accidental click)."""
    u = rng.random()
    if u < P_ACCIDENTAL:
        return rng.choice(all_jobs), False
    family = rng.choice(pref.families)
    if u < P_ACCIDENTAL + P_HOME_CITY:
        pool = index["family_city"].get((family, pref.city)) or index["city"].get(pref.city)
    elif u < P_ACCIDENTAL + P_HOME_CITY + P_FAVOURITE_EMPLOYER:
        pool = [j for e in pref.employers for j in index["employer"].get(e, [])]
    else:
        pool = index["family"].get(family)
    return rng.choice(pool or index["family"].get(family) or all_jobs), True


def _interactions(rng: random.Random, data: SampleData, count: int, now: datetime) -> list[dict[str, Any]]:
    """Up to `count` events over job-resume pairs drawn from each candidate's hidden preferences, oldest first."""
    index: dict[str, dict] = {"family": {}, "city": {}, "family_city": {}, "employer": {}}
    for i, job in enumerate(data.jobs):
        index["family"].setdefault(job["family"], []).append(i)
        index["city"].setdefault(job["location"], []).append(i)
        index["family_city"].setdefault((job["family"], job["location"]), []).append(i)
        index["employer"].setdefault(job["employer"], []).append(i)
    prefs = _preferences(rng, data)
    all_jobs = list(range(len(data.jobs)))
    events: list[dict[str, Any]] = []
    seen_pairs: set[tuple[int, int]] = set()
    attempts = 0
    while len(events) < count and attempts < count * 20:
        attempts += 1
        r = rng.randrange(len(data.resumes))
        j, wanted = _pick_job(rng, prefs[r], index, all_jobs)
        if (j, r) in seen_pairs:
            continue
        seen_pairs.add((j, r))
        t = now - timedelta(days=rng.uniform(2, HISTORY_DAYS), minutes=rng.randint(0, 1440))
        chain = _funnel(rng, 0) if wanted else ["impression", "click"]
        for kind in chain:
            if len(events) >= count:
                break
            events.append(
                {
                    "job": j,
                    "resume": r,
                    "kind": kind,
                    "created_at": t,
                    "external_id": f"{EXTERNAL_PREFIX}event-{len(events) + 1:06d}",
                }
            )
            t = min(now, t + timedelta(hours=rng.uniform(0.2, 72)))
    events.sort(key=lambda e: (e["created_at"], e["external_id"]))
    return events


def generate(
    *,
    jobs: int = 200,
    resumes: int = 600,
    interactions: int = 3000,
    seed: int = 7,
    now: datetime | None = None,
) -> SampleData:
    """Sample data as plain dicts; the same seed and `now` give the same data."""
    rng = random.Random(seed)
    now = now or timezone.now()
    data = SampleData()
    for n in range(1, jobs + 1):
        data.jobs.append(_job(rng, n, FAMILIES[rng.choice(FAMILY_NAMES)]))
    for n in range(1, resumes + 1):
        candidate, resume = _resume(rng, n, FAMILIES[rng.choice(FAMILY_NAMES)], now)
        data.candidates.append(candidate)
        data.resumes.append(resume)
    if data.jobs and data.resumes:
        data.interactions = _interactions(rng, data, interactions, now)
    return data


def sample_resume_text(*, seed: int = 11, family: str = "software", now: datetime | None = None) -> str:
    """One generated resume as a plain-text document with headings (for upload demos and tests)."""
    rng = random.Random(seed)
    candidate, resume = _resume(rng, 1, FAMILIES[family], now or timezone.now())
    lines = [
        candidate["full_name"],
        resume["headline"],
        f"{candidate['email']} | {candidate['location']}",
        "",
        "SUMMARY",
        resume["summary"],
        "",
        "SKILLS",
        ", ".join(resume["skills"]),
        "",
        "EXPERIENCE",
    ]
    for entry in resume["experience"]:
        lines += [
            f"{entry['title']} | {entry['company']} | {entry['location']}",
            f"{entry['start']} – {entry['end']}",
            *(f"• {d}" for d in entry["description"].splitlines()),
            "",
        ]
    lines += ["EDUCATION"]
    lines += [f"{e['degree']}, {e['institution']}, {e['year']}" for e in resume["education"]]
    return "\n".join(lines) + "\n"
