"""Loader for the kandij job-recommendation data (applicant job views + work history + interests).

Reads the CSVs of a ``kandij-job-views`` folder (see its README) into :class:`MatchingData`; the caller names
the folder (the library knows no data location):

- a *job* is a viewed posting: title = position, company, location = "city, state", category = industry;
  the description is empty (the data has no posting text), unless ``postings_dir`` points at the
  ``kandij-jobs-subset`` folder, whose ``tech_jobs.csv`` carries text for a few viewed jobs;
- a *resume* is an applicant: headline = positions of interest (or the latest position when none),
  one experience text per work-history entry (position @ employer, city, state: description),
  location = city/state of the latest entry;
- an *interaction* is one row of ``Job_Views.csv``: kind ``"click"`` when the view lasted at least
  ``click_min_seconds``, otherwise ``"impression"`` (also when the duration is missing); timestamp = View.Start.

The literal ``NA`` (and a blank field) marks a missing value. No Django import: the library and the benchmarks
use this directly. Nothing is copied anywhere; the files are read where they lie.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ..types import InteractionEvent, JobDoc, MatchingData, ResumeDoc

MISSING = "NA"


def _clean(value: str | None) -> str:
    """The field's text, or "" when it is the ``NA`` literal or blank."""
    if value is None:
        return ""
    value = " ".join(value.split())
    return "" if value == MISSING else value


def _timestamp(value: str) -> float | None:
    """Seconds since the epoch for "2014-12-12 20:12:35 UTC" (or a bare date), None when missing."""
    value = _clean(value)
    if not value:
        return None
    for fmt in ("%Y-%m-%d %H:%M:%S UTC", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
        try:
            return datetime.strptime(value, fmt).replace(tzinfo=UTC).timestamp()
        except ValueError:
            continue
    return None


def _float(value: str) -> float | None:
    value = _clean(value)
    try:
        return float(value) if value else None
    except ValueError:
        return None


def _rows(path: Path):
    with path.open(newline="", encoding="utf-8") as fh:
        yield from csv.DictReader(fh)


def _place(city: str, state: str) -> str:
    return ", ".join(p for p in (_clean(city), _clean(state)) if p)


def experience_text(row: dict) -> str:
    """One work-history entry as text: "position @ employer, city, state: description"."""
    position, employer = _clean(row.get("Position.Name")), _clean(row.get("Employer.Name"))
    head = " @ ".join(p for p in (position, employer) if p)
    place = _place(row.get("City", ""), row.get("State.Name", ""))
    head = ", ".join(p for p in (head, place) if p)
    desc = _clean(row.get("Job.Description"))
    return f"{head}: {desc}" if head and desc else (head or desc)


def load_kandij(
    data_dir: str | Path,
    *,
    applicants: set[str] | None = None,
    include_profile_only: bool = False,
    click_min_seconds: float = 10.0,
    postings_dir: str | Path | None = None,
) -> MatchingData:
    """Read the kandij data in ``data_dir`` into MatchingData.

    applicants: keep only these Applicant.IDs (strings); None keeps all.
    include_profile_only: also return resumes of applicants who never viewed a job (they have no interactions).
    postings_dir: folder with ``tech_jobs.csv``; when given, viewed jobs found there get its text as description.
    Ids are the source ids as strings (Job.ID, Applicant.ID). ``meta["view_seconds"]`` maps each interaction's
    index to its View.Duration (None when missing).
    """
    data_dir = Path(data_dir)
    keep = None if applicants is None else {str(a) for a in applicants}
    views = _read_views(data_dir / "Job_Views.csv", keep, click_min_seconds)
    if postings_dir is not None:
        _add_posting_texts(views.jobs, Path(postings_dir) / "tech_jobs.csv")
    experience = _read_experience(data_dir / "Experience.csv", keep)
    interests = _read_interests(data_dir / "Positions_Of_Interest.csv", keep)

    ids = set(views.viewers)
    if include_profile_only:
        ids |= set(experience) | set(interests)
    resumes = [
        _resume(aid, experience.get(aid, []), interests.get(aid, []))
        for aid in sorted(ids, key=lambda s: (len(s), s))
    ]
    return MatchingData(
        jobs=list(views.jobs.values()),
        resumes=resumes,
        interactions=views.interactions,
        meta={
            "source": "kandij-job-views",
            "data_dir": str(data_dir),
            "view_seconds": views.durations,
            "with_profile": sorted(a for a in ids if a in experience or a in interests),
        },
    )


@dataclass
class _Views:
    """What ``Job_Views.csv`` holds: the viewed jobs, one interaction per view, and who viewed anything."""

    jobs: dict[str, JobDoc] = field(default_factory=dict)
    interactions: list[InteractionEvent] = field(default_factory=list)
    durations: list[float | None] = field(default_factory=list)  # View.Duration per interaction
    viewers: set[str] = field(default_factory=set)


def _viewed_job(jid: str, row: dict) -> JobDoc:
    """A posting as the view row describes it (no text: the data has none)."""
    company = _clean(row.get("Company"))
    title = _clean(row.get("Position"))
    if not title:  # "position @ company" -> position
        title = _clean(row.get("Title"))
        if company and title.endswith(f" @ {company}"):
            title = title[: -len(company) - 3]
    return JobDoc(
        id=jid,
        title=title,
        company=company,
        location=_place(row.get("City", ""), row.get("State.Name", "")),
        category=_clean(row.get("Industry")),
    )


def _read_views(path: Path, keep: set[str] | None, click_min_seconds: float) -> _Views:
    out = _Views()
    for row in _rows(path):
        aid, jid = _clean(row["Applicant.ID"]), _clean(row["Job.ID"])
        if not aid or not jid or (keep is not None and aid not in keep):
            continue
        ts = _timestamp(row["View.Start"])
        if ts is None:
            ts = _timestamp(row.get("Created.At", "")) or 0.0
        if jid not in out.jobs:
            out.jobs[jid] = _viewed_job(jid, row)
        seconds = _float(row.get("View.Duration", ""))
        kind = "click" if seconds is not None and seconds >= click_min_seconds else "impression"
        out.interactions.append(InteractionEvent(job_id=jid, resume_id=aid, kind=kind, timestamp=ts))
        out.durations.append(seconds)
        out.viewers.add(aid)
    return out


def _add_posting_texts(jobs: dict[str, JobDoc], path: Path) -> None:
    """Viewed jobs found in ``tech_jobs.csv`` get its text as their description."""
    for row in _rows(path):
        jid = _clean(row.get("job_id"))
        if jid in jobs:
            old = jobs[jid]
            jobs[jid] = JobDoc(
                id=old.id,
                title=old.title,
                description=_clean(row.get("combined_text")),
                company=old.company,
                location=old.location,
                category=old.category,
            )


def _read_experience(path: Path, keep: set[str] | None) -> dict[str, list[tuple[float, int, dict]]]:
    """Work history per applicant as (-start, file position, row): sorted, newest first (by Start.Date when
    known, else file order), so entry 0 is the latest position."""
    experience: dict[str, list[tuple[float, int, dict]]] = defaultdict(list)
    for n, row in enumerate(_rows(path)):
        aid = _clean(row["Applicant.ID"])
        if aid and (keep is None or aid in keep):
            start = _timestamp(row.get("Start.Date", ""))
            experience[aid].append((-(start if start is not None else float("-inf")), n, row))
    return experience


def _read_interests(path: Path, keep: set[str] | None) -> dict[str, list[str]]:
    """Positions of interest per applicant, first spelling of each (case-insensitive), in file order."""
    interests: dict[str, list[str]] = defaultdict(list)
    for row in _rows(path):
        aid, pos = _clean(row["Applicant.ID"]), _clean(row.get("Position.Of.Interest"))
        if (
            aid
            and pos
            and (keep is None or aid in keep)
            and pos.lower() not in map(str.lower, interests[aid])
        ):
            interests[aid].append(pos)
    return interests


def _resume(aid: str, experience: list[tuple[float, int, dict]], interests: list[str]) -> ResumeDoc:
    entries = [row for _, _, row in sorted(experience, key=lambda t: (t[0], t[1]))]
    texts = tuple(t for t in (experience_text(r) for r in entries) if t)
    latest = entries[0] if entries else {}
    headline = ", ".join(interests) or _clean(latest.get("Position.Name"))
    return ResumeDoc(
        id=aid,
        headline=headline,
        experience=texts,
        location=_place(latest.get("City", ""), latest.get("State.Name", "")),
    )
