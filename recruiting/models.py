"""Organizations, jobs, candidates, resumes and the interaction log between them."""

from __future__ import annotations

import hashlib
import json

from django.conf import settings
from django.core.validators import MaxLengthValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from ml.types import INTERACTION_STRENGTH
from recruiting.validators import (
    MAX_FULL_TEXT_CHARS,
    MAX_TEXT_CHARS,
    validate_education,
    validate_experience,
    validate_string_list,
)

# The field lists of each document, defined once: services assign only the writable fields, the API
# serializers, the bulk import columns and the admin are derived from them. Order is the API's order.
JOB_FIELDS = (
    "external_id",
    "title",
    "employer",
    "description",
    "required_skills",
    "nice_to_have_skills",
    "location",
    "remote",
    "seniority",
    "employment_type",
    "salary_min",
    "salary_max",
    "salary_currency",
    "status",
)
RESUME_FIELDS = (
    "external_id",
    "headline",
    "summary",
    "skills",
    "experience",
    "education",
    "full_text",
    "source_file_name",
)
CANDIDATE_FIELDS = ("external_id", "full_name", "email", "location")
# The fields hashed into `content_hash`: a change to any of them marks the document for re-embedding.
JOB_CONTENT_FIELDS = (
    "title",
    "employer",
    "description",
    "required_skills",
    "nice_to_have_skills",
    "location",
    "remote",
    "seniority",
)
RESUME_CONTENT_FIELDS = ("headline", "summary", "skills", "experience", "education", "full_text")


def content_hash(payload: dict) -> str:
    """A stable digest of the fields that a model reads, so unchanged content is never re-embedded."""
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _content_hash_of(instance: models.Model, names: tuple[str, ...]) -> str:
    """`content_hash` of the named fields; JSON list fields count as lists (None is an empty list)."""
    payload = {}
    for name in names:
        value = getattr(instance, name)
        if isinstance(instance._meta.get_field(name), models.JSONField):
            value = list(value or [])
        payload[name] = value
    return content_hash(payload)


class TimeStamped(models.Model):
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class Organization(TimeStamped):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        RECRUITER = "recruiter"
        ADMIN = "admin"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.RECRUITER)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "organization"], name="uniq_membership")]


class Invitation(models.Model):
    """An organization admin's invitation to join with a role; the invited user accepts it with its code.

    Only a digest of the code is stored: the code is shown once, to the admin who creates it, who hands it
    over out of band. Nobody is added to an organization without accepting, and no username is looked up.
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="invitations")
    role = models.CharField(max_length=20, choices=Membership.Role.choices, default=Membership.Role.RECRUITER)
    code_digest = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    accepted_at = models.DateTimeField(null=True, blank=True)

    @staticmethod
    def digest(code: str) -> str:
        return hashlib.sha256(code.encode("utf-8", "surrogatepass")).hexdigest()


class Candidate(TimeStamped):
    """A person: a registered user, or someone an organization imported into its talent pool."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="candidate"
    )
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.CASCADE, related_name="candidates"
    )
    external_id = models.CharField(max_length=200, blank=True, default="")
    full_name = models.CharField(max_length=200, blank=True, default="")
    email = models.EmailField(blank=True, default="")
    location = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "external_id"],
                condition=~Q(external_id=""),
                name="uniq_candidate_external_id",
            )
        ]

    def __str__(self) -> str:
        return self.full_name or f"candidate {self.pk}"


class Job(TimeStamped):
    class Seniority(models.TextChoices):
        INTERN = "intern"
        JUNIOR = "junior"
        MID = "mid"
        SENIOR = "senior"
        LEAD = "lead"
        EXECUTIVE = "executive"

    class EmploymentType(models.TextChoices):
        FULL_TIME = "full_time"
        PART_TIME = "part_time"
        CONTRACT = "contract"
        TEMPORARY = "temporary"
        INTERNSHIP = "internship"

    class Status(models.TextChoices):
        OPEN = "open"
        CLOSED = "closed"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="jobs")
    external_id = models.CharField(max_length=200, blank=True, default="")
    title = models.CharField(max_length=300)
    # The company the job is for; the owning organization may recruit for several employers.
    # db_default keeps raw inserts (COPY in the benchmarks) that leave the column out valid.
    employer = models.CharField(max_length=200, blank=True, default="", db_default="")
    description = models.TextField(blank=True, default="", validators=[MaxLengthValidator(MAX_TEXT_CHARS)])
    required_skills = models.JSONField(default=list, blank=True, validators=[validate_string_list])
    nice_to_have_skills = models.JSONField(default=list, blank=True, validators=[validate_string_list])
    location = models.CharField(max_length=200, blank=True, default="")
    remote = models.BooleanField(default=False)
    seniority = models.CharField(max_length=20, choices=Seniority.choices, default=Seniority.MID)
    employment_type = models.CharField(
        max_length=20, choices=EmploymentType.choices, default=EmploymentType.FULL_TIME
    )
    salary_min = models.PositiveIntegerField(null=True, blank=True)
    salary_max = models.PositiveIntegerField(null=True, blank=True)
    salary_currency = models.CharField(max_length=3, blank=True, default="USD")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True)
    content_hash = models.CharField(max_length=64, db_index=True, editable=False, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "external_id"],
                condition=~Q(external_id=""),
                name="uniq_job_external_id",
            ),
            models.CheckConstraint(
                condition=Q(salary_min__isnull=True)
                | Q(salary_max__isnull=True)
                | Q(salary_min__lte=models.F("salary_max")),
                name="job_salary_range_ordered",
            ),
        ]
        indexes = [models.Index(fields=["organization", "status"])]

    def __str__(self) -> str:
        return self.title

    def compute_content_hash(self) -> str:
        return _content_hash_of(self, JOB_CONTENT_FIELDS)

    def save(self, *args, **kwargs) -> None:
        self.content_hash = self.compute_content_hash()
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], "content_hash"}
        super().save(*args, **kwargs)


def resume_upload_path(instance: Resume, filename: str) -> str:
    return f"resumes/{instance.candidate_id}/{filename}"


class Resume(TimeStamped):
    candidate = models.ForeignKey(Candidate, on_delete=models.CASCADE, related_name="resumes")
    external_id = models.CharField(max_length=200, blank=True, default="")
    headline = models.CharField(max_length=300, blank=True, default="")
    summary = models.TextField(blank=True, default="", validators=[MaxLengthValidator(MAX_TEXT_CHARS)])
    skills = models.JSONField(default=list, blank=True, validators=[validate_string_list])
    # [{"title", "company", "location", "start", "end", "description"}]
    experience = models.JSONField(default=list, blank=True, validators=[validate_experience])
    # [{"degree", "institution", "year"}]
    education = models.JSONField(default=list, blank=True, validators=[validate_education])
    full_text = models.TextField(blank=True, default="", validators=[MaxLengthValidator(MAX_FULL_TEXT_CHARS)])
    source_file = models.FileField(upload_to=resume_upload_path, null=True, blank=True)
    source_file_name = models.CharField(max_length=255, blank=True, default="")
    content_hash = models.CharField(max_length=64, db_index=True, editable=False, default="")
    # What the gamed-resume detector found ([{"kind", "reason"}], empty: nothing); kept with the content
    integrity_flags = models.JSONField(default=list, blank=True, editable=False)
    # The candidate fields (full_name, email) this resume's file supplied: erased from the candidate with it.
    parsed_contact = models.JSONField(default=dict, blank=True, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["candidate", "external_id"],
                condition=~Q(external_id=""),
                name="uniq_resume_external_id",
            )
        ]

    def __str__(self) -> str:
        return self.headline or f"resume {self.pk}"

    def compute_content_hash(self) -> str:
        return _content_hash_of(self, RESUME_CONTENT_FIELDS)

    def compute_integrity_flags(self) -> list[dict[str, str]]:
        from recruiting.integrity import resume_integrity_flags  # the detector reads the fields above

        return resume_integrity_flags(self)

    def save(self, *args, **kwargs) -> None:
        self.content_hash = self.compute_content_hash()
        self.integrity_flags = self.compute_integrity_flags()
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], "content_hash", "integrity_flags"}
        super().save(*args, **kwargs)


class Interaction(models.Model):
    """One event between a job and a resume. Append-only: events are the labels the models learn from."""

    class Kind(models.TextChoices):
        IMPRESSION = "impression"
        CLICK = "click"
        APPLY = "apply"
        SHORTLIST = "shortlist"
        INTERVIEW = "interview"
        OFFER = "offer"
        HIRE = "hire"
        REJECT = "reject"
        WITHDRAW = "withdraw"
        NOT_INTERESTED = "not_interested"

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="interactions")
    resume = models.ForeignKey(Resume, on_delete=models.CASCADE, related_name="interactions")
    kind = models.CharField(max_length=20, choices=Kind.choices, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    external_id = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["job", "external_id"],
                condition=~Q(external_id=""),
                name="uniq_interaction_external_id",
            )
        ]
        indexes = [models.Index(fields=["job", "resume", "kind"])]

    @property
    def strength(self) -> int:
        return INTERACTION_STRENGTH[self.kind]

    @property
    def is_positive(self) -> bool:
        return self.strength > 0


class ImportJob(models.Model):
    """A bulk import queued off the request: the stored upload, its stage and counts, and its checkpoint.

    `lines_done` is the last line of the last batch recorded; a committed batch records it in the batch's own
    transaction, so a worker killed mid-batch loses only that batch's uncommitted rows and a re-run resumes
    after the checkpoint without duplicating anything (recruiting.import_jobs)."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="import_jobs")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=20)
    format = models.CharField(max_length=10)
    file_name = models.CharField(max_length=200, blank=True, default="")
    file = models.FileField(upload_to="imports/%Y/%m/", blank=True, max_length=300)
    file_bytes = models.PositiveBigIntegerField(default=0)
    batch_size = models.PositiveIntegerField(default=500)
    partial_batches = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True)
    attempt = models.PositiveIntegerField(default=0)
    lines_done = models.PositiveIntegerField(default=0)
    report = models.JSONField(default=dict, blank=True)  # ImportReport.to_dict(), rejected rows capped
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.SUCCEEDED, self.Status.FAILED)


assert set(INTERACTION_STRENGTH) == set(Interaction.Kind.values), "kinds and strengths must agree"
assert {f.name for f in Job._meta.fields} >= {*JOB_FIELDS, *JOB_CONTENT_FIELDS}, (
    "job field lists name model fields"
)
assert {f.name for f in Resume._meta.fields} >= {*RESUME_FIELDS, *RESUME_CONTENT_FIELDS}, "resume field lists"
assert {f.name for f in Candidate._meta.fields} >= set(CANDIDATE_FIELDS), "candidate field list"
