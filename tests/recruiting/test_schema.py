from __future__ import annotations

import yaml
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema

EXPECTED = {
    "/api/auth/token/": {"post"},
    "/api/auth/me/": {"get"},
    "/api/organizations/": {"get", "post"},
    "/api/organizations/{id}/": {"get", "put", "patch", "delete"},
    "/api/organizations/{org_pk}/members/": {"get"},
    "/api/organizations/{org_pk}/invitations/": {"get", "post"},
    "/api/organizations/{org_pk}/invitations/{id}/": {"delete"},
    "/api/organizations/{org_pk}/leave/": {"post"},
    "/api/invitations/accept/": {"post"},
    "/api/organizations/{org_pk}/members/{user_pk}/": {"get", "put", "patch", "delete"},
    "/api/jobs/": {"get", "post"},
    "/api/jobs/{id}/": {"get", "put", "patch", "delete"},
    "/api/candidates/": {"get", "post"},
    "/api/candidates/{id}/": {"get", "put", "patch", "delete"},
    "/api/resumes/": {"get", "post"},
    "/api/resumes/{id}/": {"get", "put", "patch", "delete"},
    "/api/interactions/": {"get", "post"},
    "/api/interactions/{id}/": {"get"},
}


def test_schema_endpoint_lists_every_path(make_user, client_for):
    response = client_for(make_user()).get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = response.json() if "json" in response["Content-Type"] else yaml.safe_load(response.content)
    paths = schema["paths"]
    for path, methods in EXPECTED.items():
        assert path in paths, path
        assert methods <= set(paths[path]), (path, set(paths[path]))
    # Append-only: no way to change or delete an interaction.
    assert set(paths["/api/interactions/{id}/"]) & {"put", "patch", "delete"} == set()
    # Filters and pagination are documented on the lists.
    job_params = {p["name"] for p in paths["/api/jobs/"]["get"]["parameters"]}
    assert {"status", "remote", "seniority", "employment_type", "location", "organization"} <= job_params
    assert {"created_after", "created_before", "skill", "ordering", "page"} <= job_params
    interaction_params = {p["name"] for p in paths["/api/interactions/"]["get"]["parameters"]}
    assert {"job", "resume", "kind", "created_after", "created_before"} <= interaction_params
    resume_params = {p["name"] for p in paths["/api/resumes/"]["get"]["parameters"]}
    assert {"candidate", "skill"} <= resume_params
    validate_schema(schema)


def test_schema_generates_without_warnings_for_these_views():
    from drf_spectacular.drainage import GENERATOR_STATS

    GENERATOR_STATS.reset()
    with GENERATOR_STATS.silence():
        SchemaGenerator().get_schema(request=None, public=True)
    messages = [*GENERATOR_STATS._warn_cache, *GENERATOR_STATS._error_cache]
    assert [m for m in messages if "recruiting/apis/" in m] == []


def test_swagger_ui_is_served(make_user, client_for):
    assert client_for(make_user()).get("/api/docs/").status_code == 200


def test_schema_generates_without_warnings(tmp_path):
    from django.core.management import call_command

    # --fail-on-warn turns any drf-spectacular warning (unresolvable serializer, enum collision) into an error
    call_command("spectacular", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))
    assert (tmp_path / "schema.yml").read_text().startswith("openapi: 3")
