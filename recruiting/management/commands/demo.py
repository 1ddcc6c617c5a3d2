"""python manage.py demo — a ready-to-try local installation, safe to run again.

Creates (once) the organization "Demo Recruiting", an admin user `demo`, a job-seeker user `candidate`
with a resume, an API token for each; loads sample data when the organization has no jobs; writes
example files for the upload and import endpoints; prints tokens and curl commands.

Each step is a small function taking the shared `DemoContext`; `handle` runs them in order, so a
later step (training a first model) can be appended without touching the others.
"""

from __future__ import annotations

import csv
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from rest_framework.authtoken.models import Token

from recruiting import ingest_services, sample_data, services
from recruiting.models import JOB_CONTENT_FIELDS, Candidate, Job, Membership, Organization
from recruiting.parsing import parse_resume

ORG_NAME = "Demo Recruiting"
ORG_SLUG = "demo-recruiting"
ADMIN_USERNAME = "demo"
CANDIDATE_USERNAME = "candidate"


@dataclass
class DemoContext:
    command: BaseCommand
    options: dict[str, Any]
    host: str = "http://127.0.0.1:8000"
    org: Organization | None = None
    admin: Any = None
    admin_token: str = ""
    admin_password: str = ""  # only when created by this run
    candidate_user: Any = None
    candidate_token: str = ""
    candidate_password: str = ""
    loaded: dict[str, int] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def say(self, message: str = "", style=None) -> None:
        self.command.stdout.write(style(message) if style else message)


class Command(BaseCommand):
    help = "Set up a demo organization, users, tokens and sample data (idempotent), and print how to try the API."

    def add_arguments(self, parser):
        parser.add_argument("--jobs", type=int, default=200)
        parser.add_argument("--resumes", type=int, default=600)
        parser.add_argument("--interactions", type=int, default=3000)
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--host", default="http://127.0.0.1:8000", help="Base URL shown in the examples.")
        parser.add_argument("--skip-training", action="store_true", help="Only set up data; train no model.")

    def handle(self, *args, **options):
        ctx = DemoContext(command=self, options=options, host=options["host"].rstrip("/"))
        ensure_organization(ctx)
        ensure_admin(ctx)
        ensure_candidate(ctx)
        ensure_sample_data(ctx)
        write_example_files(ctx)
        if not options["skip_training"]:
            embed_and_train(ctx)
            show_top_candidates(ctx)
        print_instructions(ctx)


# --- steps --------------------------------------------------------------------------------------


def ensure_organization(ctx: DemoContext) -> None:
    org = Organization.objects.filter(slug=ORG_SLUG).first()
    if org is None:
        org = services.organization_create(name=ORG_NAME, slug=ORG_SLUG)
        ctx.say(f"Created organization {ORG_NAME!r} ({ORG_SLUG}).")
    ctx.org = org


def _ensure_user(username: str, **flags) -> tuple[Any, str]:
    """(user, password if created now else '')."""
    User = get_user_model()
    user = User.objects.filter(username=username).first()
    if user is not None:
        return user, ""
    password = secrets.token_urlsafe(12)
    user = User.objects.create_user(username=username, password=password, **flags)
    return user, password


def ensure_admin(ctx: DemoContext) -> None:
    with transaction.atomic():
        user, password = _ensure_user(
            ADMIN_USERNAME, is_staff=True, is_superuser=True, email="demo@example.com"
        )
        if not Membership.objects.filter(user=user, organization=ctx.org).exists():
            Membership.objects.create(user=user, organization=ctx.org, role=Membership.Role.ADMIN)
        token, _ = Token.objects.get_or_create(user=user)
    ctx.admin, ctx.admin_password, ctx.admin_token = user, password, token.key


def ensure_candidate(ctx: DemoContext) -> None:
    with transaction.atomic():
        user, password = _ensure_user(CANDIDATE_USERNAME, email="candidate@example.com")
        token, _ = Token.objects.get_or_create(user=user)
        candidate = Candidate.objects.filter(user=user).first()
        if candidate is None:
            candidate = services.candidate_create(
                user=user,
                data={"full_name": "Casey Candidate", "email": "candidate@example.com", "location": "Berlin"},
            )
        if not candidate.resumes.exists():
            text = sample_data.sample_resume_text(seed=ctx.options["seed"], family="data")
            text = text.replace(text.splitlines()[0], "Casey Candidate", 1)
            data = text.encode("utf-8")
            parsed = parse_resume(data, filename="casey_candidate.txt")
            ingest_services.resume_create_from_parsed(
                candidate=candidate, parsed=parsed, content=data, file_name="casey_candidate.txt"
            )
    ctx.candidate_user, ctx.candidate_password, ctx.candidate_token = user, password, token.key


def ensure_sample_data(ctx: DemoContext) -> None:
    if Job.objects.filter(organization=ctx.org).exists():
        ctx.say(
            f"Sample data: {ORG_NAME} already has {Job.objects.filter(organization=ctx.org).count()} jobs; left as is."
        )
        return
    started = time.monotonic()
    ctx.loaded = sample_data.load_sample_data(
        ctx.org,
        jobs=ctx.options["jobs"],
        resumes=ctx.options["resumes"],
        interactions=ctx.options["interactions"],
        seed=ctx.options["seed"],
    )
    ctx.say(
        "Loaded sample data: {jobs} jobs, {candidates} candidates, {resumes} resumes, {interactions} interactions"
        " in {secs:.1f}s.".format(secs=time.monotonic() - started, **ctx.loaded)
    )


def embed_and_train(ctx: DemoContext) -> None:
    """Embed what the bulk load left unembedded, then train, evaluate and promote a first model."""
    from matching.console import embed_backfill, train_in_process
    from matching.models import ModelVersion

    result = embed_backfill()
    ctx.say(f"Embedded {result.embedded} documents with all-MiniLM-L6-v2.")
    if ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).exists():
        ctx.say(
            "A trained model is already active; not training again (run `manage.py train_model` to retrain)."
        )
        return
    train_in_process(say=ctx.say)


def show_top_candidates(ctx: DemoContext, *, jobs: int = 2, top: int = 5) -> None:
    """Ask the API itself (in process, with the admin's token) for the top candidates of two sample jobs."""
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {ctx.admin_token}")
    for job in Job.objects.filter(organization=ctx.org, status=Job.Status.OPEN).order_by("pk")[:jobs]:
        response = client.get(f"/api/jobs/{job.pk}/candidates/", {"k": top})
        if response.status_code != 200:
            ctx.say(
                f"/api/jobs/{job.pk}/candidates/ answered {response.status_code}: {response.content[:200]!r}"
            )
            continue
        body = response.json()
        ctx.say("")
        ctx.say(
            f"Top {top} candidates for job {job.pk} '{job.title}'{' at ' + job.employer if job.employer else ''}"
            f" ({job.location}) — model {body['model']}:"
        )
        for item in body["results"]:
            score = item["score"]
            relation = "  -  " if score["relation"] is None else f"{score['relation']:.3f}"
            matched = ", ".join(item["matched_skills"][:4]) or "-"
            ctx.say(
                f"  {item['rank']}. {item['name'] or 'resume ' + str(item['resume']):<22} "
                f"total {score['total']:.3f} (text {score['text']:.3f}, relation {relation})  "
                f"{item['headline'][:40]:<40}  matched: {matched}"
            )
    ctx.say("")


def write_example_files(ctx: DemoContext) -> None:
    """A resume to upload and a small jobs CSV to import, under VAR_DIR/demo."""
    folder = Path(settings.VAR_DIR) / "demo"
    folder.mkdir(parents=True, exist_ok=True)
    resume = folder / "resume.txt"
    resume.write_text(
        sample_data.sample_resume_text(seed=ctx.options["seed"] + 1, family="nursing"), encoding="utf-8"
    )
    jobs = folder / "jobs.csv"
    generated = sample_data.generate(jobs=5, resumes=0, interactions=0, seed=ctx.options["seed"] + 2)
    with jobs.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        columns = ["external_id", *JOB_CONTENT_FIELDS]
        writer.writerow(columns)
        for n, job in enumerate(generated.jobs, start=1):
            row = {**job, "external_id": f"demo-import-{n:03d}"}
            writer.writerow(["|".join(row[c]) if isinstance(row[c], list) else row[c] for c in columns])
    ctx.files = {"resume": resume, "jobs_csv": jobs}


def print_instructions(ctx: DemoContext) -> None:
    h, t = ctx.host, ctx.admin_token
    ok = ctx.command.style.SUCCESS
    ctx.say()
    ctx.say("Tandem demo is ready.", ok)
    ctx.say(
        f"  dashboard:       {h}/  (sign in as {ADMIN_USERNAME}, or as {CANDIDATE_USERNAME} to see a job seeker's page)"
    )
    password = (
        ctx.admin_password or "(set on the first run; reset with: python manage.py changepassword demo)"
    )
    ctx.say(f"  admin user:      {ADMIN_USERNAME} / {password}   (admin of {ORG_NAME}, {h}/admin/)")
    ctx.say(f"  admin token:     {t}")
    cpassword = ctx.candidate_password or "(set on the first run)"
    ctx.say(f"  candidate user:  {CANDIDATE_USERNAME} / {cpassword}")
    ctx.say(f"  candidate token: {ctx.candidate_token}")
    ctx.say()
    ctx.say("Try it:")
    auth = f'-H "Authorization: Token {t}"'
    examples = [
        ("List jobs", f"curl -s {auth} '{h}/api/jobs/?location=berlin&seniority=senior'"),
        (
            "Create a job",
            f"curl -s {auth} -H 'Content-Type: application/json' -X POST {h}/api/jobs/ "
            f"""-d '{{"organization": {ctx.org.pk}, "title": "Data Engineer", "required_skills": ["python", "sql"], """
            f""""location": "Berlin"}}'""",
        ),
        (
            "Upload a resume (parsed into sections)",
            f"curl -s {auth} -F file=@{ctx.files['resume']} -F organization={ORG_SLUG} {h}/api/resumes/upload/",
        ),
        (
            "Import jobs from CSV (202 and a status_url to follow; run it twice: nothing is duplicated)",
            f"curl -s {auth} -F organization={ORG_SLUG} -F kind=jobs -F file=@{ctx.files['jobs_csv']} {h}/api/imports/",
        ),
        (
            "The same import from the command line",
            f"python manage.py import_data --org {ORG_SLUG} --kind jobs {ctx.files['jobs_csv']}",
        ),
        (
            "As the candidate: my resumes",
            f"curl -s -H 'Authorization: Token {ctx.candidate_token}' {h}/api/resumes/",
        ),
        ("API docs (browser)", f"{h}/api/docs/"),
    ]
    for title, command in examples:
        ctx.say(f"  # {title}")
        ctx.say(f"  {command}")
    for note in ctx.notes:
        ctx.say(note)
