"""The dashboard's forms: they turn form fields into the services' data and show the services' errors.

Validation that the API does in its serializers happens here in the same terms (lengths, choices); the
service's own checks (`full_clean`, constraints) run on save and their errors are shown on the field.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

from matching.filters import EXCLUDE_KINDS, SENIORITIES
from recruiting import importing, selectors
from recruiting.models import Job, Organization


class SkillsField(forms.CharField):
    """Skills typed as a comma-separated list; stored as a list of strings."""

    def prepare_value(self, value):
        return ", ".join(value) if isinstance(value, list | tuple) else value

    def to_python(self, value):
        text = super().to_python(value) or ""
        skills = [s.strip() for s in text.replace(";", ",").split(",") if s.strip()]
        if len(skills) > 200:
            raise ValidationError("At most 200 skills.")
        if any(len(s) > 200 for s in skills):
            raise ValidationError("A skill has at most 200 characters.")
        return list(dict.fromkeys(skills))


class JobForm(forms.Form):
    """Every writable job field (`recruiting.models.JOB_FIELDS`), as `POST /api/jobs/` takes them."""

    title = forms.CharField(max_length=300)
    employer = forms.CharField(max_length=200, required=False, help_text="The company the job is for.")
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 6}), required=False, strip=False)
    required_skills = SkillsField(required=False, help_text="Comma-separated.")
    nice_to_have_skills = SkillsField(required=False, help_text="Comma-separated.")
    location = forms.CharField(max_length=200, required=False)
    remote = forms.BooleanField(required=False)
    seniority = forms.ChoiceField(choices=Job.Seniority.choices, initial=Job.Seniority.MID)
    employment_type = forms.ChoiceField(
        choices=Job.EmploymentType.choices, initial=Job.EmploymentType.FULL_TIME
    )
    salary_min = forms.IntegerField(min_value=0, required=False)
    salary_max = forms.IntegerField(min_value=0, required=False)
    salary_currency = forms.CharField(max_length=3, required=False, initial="USD")
    status = forms.ChoiceField(choices=Job.Status.choices, initial=Job.Status.OPEN)
    external_id = forms.CharField(max_length=200, required=False, label="External id")

    def service_data(self) -> dict:
        data = dict(self.cleaned_data)
        data.pop("organization", None)
        return data

    def add_service_errors(self, error: ValidationError) -> None:
        """A service's ValidationError shown on the fields it names (others at the top of the form)."""
        for name, messages in error.message_dict.items():
            self.add_error(name if name in self.fields and name != NON_FIELD_ERRORS else None, messages)


class JobCreateForm(JobForm):
    organization = forms.ModelChoiceField(queryset=Organization.objects.none(), empty_label=None)

    field_order = ["organization"]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = selectors.organizations_of(user).order_by("name")


class JobFilterForm(forms.Form):
    """The jobs list's search and filters (the names of `GET /api/jobs/`'s query parameters)."""

    q = forms.CharField(required=False, label="Search")
    status = forms.ChoiceField(choices=[("", "any"), *Job.Status.choices], required=False)
    location = forms.CharField(required=False)
    remote = forms.ChoiceField(
        choices=[("", "any"), ("true", "remote"), ("false", "on-site")], required=False
    )
    seniority = forms.MultipleChoiceField(
        choices=Job.Seniority.choices, required=False, widget=forms.CheckboxSelectMultiple
    )


EXCLUDE_CHOICES = [(name, name.replace("_", " ")) for name in EXCLUDE_KINDS]
DEFAULT_EXCLUDE = ("rejected", "hired")


class ShortlistFilterForm(forms.Form):
    """A job's ranked candidates: the filters of `GET /api/jobs/{id}/candidates/`."""

    k = forms.IntegerField(min_value=1, max_value=100, initial=20, required=False, label="How many")
    location = forms.CharField(required=False, max_length=200)
    remote = forms.ChoiceField(
        choices=[("", "any"), ("false", "in the job's city"), ("true", "anywhere")], required=False
    )
    seniority = forms.MultipleChoiceField(
        choices=[(s, s) for s in SENIORITIES], required=False, widget=forms.CheckboxSelectMultiple
    )
    exclude = forms.MultipleChoiceField(
        choices=EXCLUDE_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Hide candidates who were",
    )

    def api_query(self) -> dict[str, str]:
        """The same query as the API's, for `matching.apis.matches.MatchQuerySerializer`."""
        d = self.cleaned_data
        query = {"k": str(d.get("k") or 20), "location": d.get("location") or ""}
        if d.get("remote"):
            query["remote"] = d["remote"]
        query["seniority"] = ",".join(d.get("seniority") or ())
        query["exclude"] = ",".join(d.get("exclude") or ())
        return query


class ResumeUploadForm(forms.Form):
    """`POST /api/resumes/upload/`'s fields."""

    file = forms.FileField(help_text="PDF, DOCX or plain text.")
    organization = forms.ModelChoiceField(
        queryset=Organization.objects.none(), required=False, help_text="For a new candidate."
    )
    full_name = forms.CharField(max_length=200, required=False, help_text="Defaults to the name in the file.")
    email = forms.EmailField(required=False, help_text="Defaults to the e-mail in the file.")
    location = forms.CharField(max_length=200, required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        orgs = selectors.organizations_of(user).order_by("name")
        self.fields["organization"].queryset = orgs
        if not orgs.exists():
            del self.fields["organization"]


class ImportForm(forms.Form):
    """`POST /api/imports/`'s fields."""

    organization = forms.ModelChoiceField(queryset=Organization.objects.none(), empty_label=None)
    kind = forms.ChoiceField(choices=[(k, k) for k in importing.KINDS])
    file = forms.FileField(help_text="JSON Lines, or CSV with a header row.")
    partial_batches = forms.BooleanField(
        required=False, help_text="Keep a batch's valid rows when some of its rows fail."
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = selectors.organizations_of(user).order_by("name")
