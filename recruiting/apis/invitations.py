"""Invitations to an organization (created by its admins, accepted by the invited user) and leaving one."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from recruiting import membership_services, permissions, selectors
from recruiting.apis.base import BAD_REQUEST, FORBIDDEN, NOT_FOUND, ApiView
from recruiting.apis.organizations import MemberOutputSerializer
from recruiting.models import Invitation, Membership, Organization


class InvitationOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Invitation
        fields = ["id", "role", "created_at", "expires_at", "accepted_at"]


class InvitationCreatedSerializer(InvitationOutputSerializer):
    code = serializers.CharField(help_text="Shown once: hand it to the person you invite.")

    class Meta(InvitationOutputSerializer.Meta):
        fields = [*InvitationOutputSerializer.Meta.fields, "code"]


class _AdminOfOrganization(ApiView):
    def get_organization(self) -> Organization:
        org = get_object_or_404(selectors.organizations_of(self.request.user), pk=self.kwargs["org_pk"])
        permissions.ensure_org_admin(self.request.user, org)
        return org


@extend_schema(tags=["organizations"])
class InvitationListApi(_AdminOfOrganization):
    """An organization's pending invitations (admins). POST creates one: its `code` is shown once."""

    class InvitationCreateInputSerializer(serializers.Serializer):
        role = serializers.ChoiceField(choices=Membership.Role.choices, default=Membership.Role.RECRUITER)

    @extend_schema(responses={200: InvitationOutputSerializer(many=True), 403: FORBIDDEN, 404: NOT_FOUND})
    def get(self, request, org_pk: int):
        org = self.get_organization()
        pending = Invitation.objects.filter(organization=org, accepted_at__isnull=True).order_by(
            "-created_at"
        )
        page = self.paginate_queryset(pending)
        return self.get_paginated_response(InvitationOutputSerializer(page, many=True).data)

    @extend_schema(
        request=InvitationCreateInputSerializer,
        responses={201: InvitationCreatedSerializer, 400: BAD_REQUEST, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    def post(self, request, org_pk: int):
        org = self.get_organization()
        form = self.InvitationCreateInputSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        created = membership_services.invitation_create(
            organization=org, role=form.validated_data["role"], created_by=request.user
        )
        data = {**InvitationOutputSerializer(created.invitation).data, "code": created.code}
        return Response(data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["organizations"])
class InvitationDetailApi(_AdminOfOrganization):
    """Revoke a pending invitation (admins)."""

    @extend_schema(responses={204: None, 403: FORBIDDEN, 404: NOT_FOUND})
    def delete(self, request, org_pk: int, pk: int):
        org = self.get_organization()
        invitation = get_object_or_404(Invitation, organization=org, pk=pk, accepted_at__isnull=True)
        membership_services.invitation_revoke(invitation=invitation)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["organizations"])
class InvitationAcceptApi(ApiView):
    """Accept an invitation with its code: you join its organization with its role."""

    class InvitationAcceptInputSerializer(serializers.Serializer):
        code = serializers.CharField(max_length=200)

    @extend_schema(
        request=InvitationAcceptInputSerializer,
        responses={
            201: MemberOutputSerializer,
            400: OpenApiResponse(description="Unknown, used or expired code (`code`)."),
        },
    )
    def post(self, request):
        form = self.InvitationAcceptInputSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        membership = membership_services.invitation_accept(
            code=form.validated_data["code"], user=request.user
        )
        return Response(MemberOutputSerializer(membership).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["organizations"])
class OrganizationLeaveApi(ApiView):
    """Leave one of your organizations. The last admin cannot leave (400 naming `role`)."""

    @extend_schema(request=None, responses={204: None, 400: BAD_REQUEST, 404: NOT_FOUND})
    def post(self, request, org_pk: int):
        org = get_object_or_404(selectors.organizations_of(request.user), pk=org_pk)
        membership_services.membership_leave(organization=org, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
