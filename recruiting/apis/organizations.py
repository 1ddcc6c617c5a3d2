"""Organizations and their members."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from recruiting import permissions, selectors, services
from recruiting.apis.base import (
    BAD_REQUEST,
    FORBIDDEN,
    NOT_FOUND,
    ApiView,
    ScopedDetailView,
    ScopedListView,
)
from recruiting.filters import StableOrderingFilter
from recruiting.models import Membership, Organization


class OrganizationOutputSerializer(serializers.ModelSerializer):
    role = serializers.SerializerMethodField()

    class Meta:
        model = Organization
        fields = ["id", "name", "slug", "role", "created_at", "updated_at"]

    def get_role(self, obj: Organization) -> str | None:
        if hasattr(obj, "user_role"):  # annotated by selectors.organization_list
            return obj.user_role
        user = self.context.get("user")
        membership = Membership.objects.filter(organization=obj, user_id=getattr(user, "pk", None)).first()
        return membership.role if membership else None


@extend_schema(tags=["organizations"])
class OrganizationListApi(ScopedListView):
    """Organizations you belong to. Anyone authenticated may create one and becomes its admin."""

    filter_backends = [StableOrderingFilter]
    ordering_fields = ["name", "created_at"]
    ordering = ["name"]

    class OrganizationCreateInputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=200)
        slug = serializers.SlugField(max_length=80, required=False)

    def get_queryset(self):
        return selectors.organization_list(user=self.request.user)

    @extend_schema(responses=OrganizationOutputSerializer(many=True))
    def get(self, request):
        return self.list_response(OrganizationOutputSerializer)

    @extend_schema(
        request=OrganizationCreateInputSerializer,
        responses={201: OrganizationOutputSerializer, 400: BAD_REQUEST},
    )
    def post(self, request):
        serializer = self.OrganizationCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        org = services.organization_create(creator=request.user, **serializer.validated_data)
        data = OrganizationOutputSerializer(org, context=self.output_context()).data
        return Response(data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["organizations"])
class OrganizationDetailApi(ScopedDetailView):
    """One of your organizations. Changing or deleting it takes the admin role."""

    class OrganizationUpdateInputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=200)
        slug = serializers.SlugField(max_length=80)

    input_serializer_class = OrganizationUpdateInputSerializer
    output_serializer_class = OrganizationOutputSerializer

    def get_queryset(self):
        return selectors.organizations_of(self.request.user)

    def check_may_change(self, obj: Organization) -> None:
        permissions.ensure_org_admin(self.request.user, obj)

    def perform_update(self, obj: Organization, data: dict[str, Any]) -> Organization:
        return services.organization_update(organization=obj, data=data)

    def perform_delete(self, obj: Organization) -> None:
        services.organization_delete(organization=obj)


class MemberOutputSerializer(serializers.ModelSerializer):
    user = serializers.IntegerField(source="user_id")
    username = serializers.CharField(source="user.username")

    class Meta:
        model = Membership
        fields = ["user", "username", "role", "created_at"]


class _OrganizationScoped(ApiView):
    def get_organization(self) -> Organization:
        return get_object_or_404(selectors.organizations_of(self.request.user), pk=self.kwargs["org_pk"])


@extend_schema(tags=["organizations"])
class MemberListApi(_OrganizationScoped):
    """Members of one of your organizations. New members join by accepting an invitation
    (`organizations/{id}/invitations/`); nobody is added by username."""

    def get_queryset(self):
        return selectors.members_of(organization=self.get_organization())

    @extend_schema(responses={200: MemberOutputSerializer(many=True), 404: NOT_FOUND})
    def get(self, request, org_pk: int):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(MemberOutputSerializer(page, many=True).data)


@extend_schema(tags=["organizations"])
class MemberDetailApi(_OrganizationScoped, ScopedDetailView):
    """One membership, addressed by the member's user id. Changing or removing it takes the admin
    role; an organization always keeps at least one admin."""

    class MemberUpdateInputSerializer(serializers.Serializer):
        role = serializers.ChoiceField(choices=Membership.Role.choices)

    input_serializer_class = MemberUpdateInputSerializer
    output_serializer_class = MemberOutputSerializer
    patch_is_partial = False  # the role is the one field: PATCH and PUT both set it
    delete_errors = {400: BAD_REQUEST, 403: FORBIDDEN, 404: NOT_FOUND}  # removing the last admin

    def get_object(self) -> Membership:
        org = self.get_organization()
        return get_object_or_404(selectors.members_of(organization=org), user_id=self.kwargs["user_pk"])

    def check_may_change(self, obj: Membership) -> None:
        permissions.ensure_org_admin(self.request.user, obj.organization)

    def perform_update(self, obj: Membership, data: dict[str, Any]) -> Membership:
        return services.membership_set(organization=obj.organization, user=obj.user, **data)

    def perform_delete(self, obj: Membership) -> None:
        services.membership_remove(organization=obj.organization, user=obj.user)
