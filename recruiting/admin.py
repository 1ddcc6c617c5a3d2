"""Django admin for support staff. Writes go through `recruiting.services`, like the API's, so the
admin sends the same signals (re-embedding, erasure) and erases files; interactions are read-only."""

from __future__ import annotations

from django.contrib import admin

from recruiting import services
from recruiting.models import (
    JOB_FIELDS,
    RESUME_FIELDS,
    Candidate,
    Interaction,
    Job,
    Membership,
    Organization,
    Resume,
)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "created_at"]
    search_fields = ["name", "slug"]
    inlines = [MembershipInline]

    def delete_model(self, request, obj):
        services.organization_delete(organization=obj)

    def delete_queryset(self, request, queryset):
        for org in queryset:
            services.organization_delete(organization=org)


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = [
        "title",
        "employer",
        "organization",
        "status",
        "seniority",
        "remote",
        "location",
        "created_at",
    ]
    list_filter = ["status", "seniority", "employment_type", "remote"]
    search_fields = ["title", "employer", "external_id", "organization__name"]
    list_select_related = ["organization"]
    readonly_fields = ["content_hash", "created_at", "updated_at"]
    date_hierarchy = "created_at"

    def save_model(self, request, obj, form, change):
        data = {f: form.cleaned_data[f] for f in form.changed_data if f in JOB_FIELDS}
        if change:
            services.job_update(job=obj, data=data)
        else:
            obj.pk = services.job_create(organization=form.cleaned_data["organization"], data=data).pk

    def delete_model(self, request, obj):
        services.job_delete(job=obj)

    def delete_queryset(self, request, queryset):
        for job in queryset:
            services.job_delete(job=job)


@admin.register(Candidate)
class CandidateAdmin(admin.ModelAdmin):
    list_display = ["__str__", "organization", "email", "user", "created_at"]
    search_fields = ["full_name", "email", "external_id"]
    list_select_related = ["organization", "user"]
    raw_id_fields = ["user"]

    def delete_model(self, request, obj):
        services.candidate_erase(candidate=obj)

    def delete_queryset(self, request, queryset):
        for candidate in queryset:
            services.candidate_erase(candidate=candidate)


@admin.register(Resume)
class ResumeAdmin(admin.ModelAdmin):
    list_display = ["__str__", "candidate", "source_file_name", "created_at"]
    search_fields = ["headline", "external_id", "candidate__full_name"]
    list_select_related = ["candidate"]
    raw_id_fields = ["candidate"]
    readonly_fields = ["source_file", "content_hash", "created_at", "updated_at"]

    def save_model(self, request, obj, form, change):
        data = {f: form.cleaned_data[f] for f in form.changed_data if f in RESUME_FIELDS}
        if change:
            services.resume_update(resume=obj, data=data)
        else:
            obj.pk = services.resume_create(candidate=form.cleaned_data["candidate"], data=data).pk

    def delete_model(self, request, obj):
        services.resume_erase(resume=obj)

    def delete_queryset(self, request, queryset):
        for resume in queryset:
            services.resume_erase(resume=resume)


@admin.register(Interaction)
class InteractionAdmin(admin.ModelAdmin):
    """The append-only log: browsable, never edited here."""

    list_display = ["kind", "job", "resume", "actor", "created_at"]
    list_filter = ["kind"]
    list_select_related = ["job", "resume", "actor"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
