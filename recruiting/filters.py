"""Query-string filters for the list endpoints (django-filter), and a stable ordering filter.

Filters narrow a queryset that is already scoped to the user (`recruiting.selectors`); they never
widen it: `?organization=<other org>` on /api/jobs/ returns an empty page, not another tenant's jobs.
"""

from __future__ import annotations

import json
from datetime import UTC

import django_filters
from django import forms
from django.db.models import F, Q, QuerySet, TextField
from django.db.models.functions import Cast
from django_filters.fields import IsoDateTimeField, RangeField
from django_filters.widgets import DateRangeWidget
from rest_framework.filters import OrderingFilter

from recruiting.models import Candidate, Interaction, Job, Resume


class UtcIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 date-time turned into UTC: PostgreSQL refuses offsets beyond +-15:59 (a 500 before)."""

    def to_python(self, value):
        parsed = super().to_python(value)
        if parsed is None or parsed.tzinfo is None:
            return parsed
        try:
            return parsed.astimezone(UTC)
        except OverflowError as exc:  # the offset moves it past year 1 or 9999
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from exc


class UtcIsoDateTimeRangeField(RangeField):
    widget = DateRangeWidget

    def __init__(self, *args, **kwargs):
        super().__init__((UtcIsoDateTimeField(), UtcIsoDateTimeField()), *args, **kwargs)


class DateTimeRangeFilter(django_filters.IsoDateTimeFromToRangeFilter):
    """`?created_after=&created_before=` in ISO 8601, any UTC offset."""

    field_class = UtcIsoDateTimeRangeField


class IdFilter(django_filters.NumberFilter):
    """An object id: ASCII digits within a bigint (`²` or a 5,000-digit number was a 500 before)."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 2**63 - 1)
        super().__init__(*args, **kwargs)


class StableOrderingFilter(OrderingFilter):
    """`?ordering=` with empty values last in either direction (as SQLite and PostgreSQL disagree),
    and the primary key as the final key, so pages never overlap or skip rows."""

    def filter_queryset(self, request, queryset, view):
        ordering = self.get_ordering(request, queryset, view)
        if not ordering:
            return queryset
        names = list(ordering)
        if not any(o.lstrip("-") in ("pk", "id") for o in names):
            names.append("-pk" if names[0].startswith("-") else "pk")
        expressions = [
            F(o[1:]).desc(nulls_last=True) if o.startswith("-") else F(o).asc(nulls_last=True) for o in names
        ]
        return queryset.order_by(*expressions)


def _skills_filter(queryset: QuerySet, fields: tuple[str, ...], value: str) -> QuerySet:
    """Rows whose list fields hold every comma-separated skill in `value` as an element.

    Case-insensitive and exact per element ("go" does not match "django"): the list's JSON text must
    contain the quoted skill. Works on PostgreSQL and SQLite alike.
    """
    skills = [s.strip() for s in value.split(",") if s.strip()]
    for i, skill in enumerate(skills):
        needle = json.dumps(skill, ensure_ascii=False)
        condition = Q()
        for field in fields:
            alias = f"_skills_{field}_{i}"
            queryset = queryset.alias(**{alias: Cast(field, TextField())})
            condition |= Q(**{f"{alias}__icontains": needle})
        queryset = queryset.filter(condition)
    return queryset


class JobFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Job.Status.choices)
    remote = django_filters.BooleanFilter()
    seniority = django_filters.MultipleChoiceFilter(choices=Job.Seniority.choices)
    employment_type = django_filters.MultipleChoiceFilter(choices=Job.EmploymentType.choices)
    location = django_filters.CharFilter(lookup_expr="icontains")
    employer = django_filters.CharFilter(lookup_expr="icontains")
    organization = IdFilter(field_name="organization_id")
    created = DateTimeRangeFilter(field_name="created_at")
    skill = django_filters.CharFilter(
        method="filter_skill",
        label="Comma-separated skills, each required or nice-to-have (case-insensitive, exact element)",
    )
    required_skill = django_filters.CharFilter(
        method="filter_required_skill", label="Comma-separated skills, each among the required skills"
    )

    class Meta:
        model = Job
        fields = ["status", "remote", "seniority", "employment_type", "location", "employer", "organization"]

    def filter_skill(self, queryset, name, value):
        return _skills_filter(queryset, ("required_skills", "nice_to_have_skills"), value)

    def filter_required_skill(self, queryset, name, value):
        return _skills_filter(queryset, ("required_skills",), value)


class CandidateFilter(django_filters.FilterSet):
    organization = IdFilter(field_name="organization_id")
    external_id = django_filters.CharFilter()
    email = django_filters.CharFilter(lookup_expr="iexact")
    name = django_filters.CharFilter(field_name="full_name", lookup_expr="icontains")
    created = DateTimeRangeFilter(field_name="created_at")

    class Meta:
        model = Candidate
        fields = ["organization", "external_id", "email"]


class ResumeFilter(django_filters.FilterSet):
    candidate = IdFilter(field_name="candidate_id")
    skill = django_filters.CharFilter(
        method="filter_skill", label="Comma-separated skills, all present (case-insensitive, exact element)"
    )
    created = DateTimeRangeFilter(field_name="created_at")

    class Meta:
        model = Resume
        fields = ["candidate"]

    def filter_skill(self, queryset, name, value):
        return _skills_filter(queryset, ("skills",), value)


class InteractionFilter(django_filters.FilterSet):
    job = IdFilter(field_name="job_id")
    resume = IdFilter(field_name="resume_id")
    kind = django_filters.MultipleChoiceFilter(choices=Interaction.Kind.choices)
    created = DateTimeRangeFilter(field_name="created_at")

    class Meta:
        model = Interaction
        fields = ["job", "resume", "kind"]
