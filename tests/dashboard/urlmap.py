"""The dashboard's routes, filled in with one organization's objects: the cross-organization checks
(server-side and in the browser) are generated from this, so a new page is checked without a new test."""

from __future__ import annotations

from django.urls import URLPattern, reverse

from dashboard import urls as dashboard_urls

# Route arguments that name an object of one organization, and those that name a platform-wide object
# (model versions and training runs belong to no organization: who may see them is the registry API's rule).
ORG_OBJECTS = {"job_pk", "resume_pk", "candidate_pk", "org_pk", "import_pk"}
PLATFORM_OBJECTS = {"run_pk", "version_pk"}
OTHER_ARGUMENTS = {"chart": "funnel", "token": "0" * 32}


def route_arguments() -> set[str]:
    names: set[str] = set()
    for pattern in dashboard_urls.urlpatterns:
        assert isinstance(pattern, URLPattern)
        names |= set(pattern.pattern.converters)
    return names


def org_urls(world: dict) -> list[tuple[str, str]]:
    """(route name, URL) of every route that names an object of org A, filled with org A's objects."""
    resume = world["pool"][0]
    values = {
        "job_pk": world["job"].pk,
        "resume_pk": resume.pk,
        "candidate_pk": resume.candidate_id,
        "org_pk": world["org_a"].pk,
        "import_pk": world["import_job"].pk,
        **OTHER_ARGUMENTS,
    }
    out = []
    for pattern in dashboard_urls.urlpatterns:
        arguments = set(pattern.pattern.converters)
        if not arguments & ORG_OBJECTS:
            continue
        kwargs = {name: values[name] for name in arguments}
        out.append((pattern.name, reverse(f"dashboard:{pattern.name}", kwargs=kwargs)))
    return out
