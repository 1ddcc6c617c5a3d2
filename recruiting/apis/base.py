"""What every recruiting view shares: the OPTIONS answer, the list view and the one scoped detail view.

`ScopedDetailView` writes the tenancy-scoped GET / PUT / PATCH / DELETE once: the object is looked up
in what the user may see (404 outside it), checked against what they may change (403), the body
validated by the view's input serializer, and the write left to the view's service call. Its OpenAPI
description is derived from the same class attributes.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.db.models import Model, QuerySet
from django.shortcuts import get_object_or_404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.metadata import SimpleMetadata
from rest_framework.response import Response

from recruiting import permissions
from recruiting.filters import StableOrderingFilter

NOT_FOUND = OpenApiResponse(description="Not found, or outside your organizations.")
FORBIDDEN = OpenApiResponse(description="Visible to you, but you may not change it.")
BAD_REQUEST = OpenApiResponse(description="Invalid input; the body names the offending fields.")


class DescriptionOnlyMetadata(SimpleMetadata):
    """OPTIONS answers with the view's name, description and formats only. The request and
    response shapes are in the OpenAPI schema; DRF's default would look for a view-wide serializer
    these views do not have."""

    def determine_actions(self, request, view):
        return {}


class ApiView(GenericAPIView):
    metadata_class = DescriptionOnlyMetadata
    filter_backends: list = []

    def output_context(self) -> dict[str, Any]:
        """Context for the output serializers (the organization serializer reads the user's role)."""
        return {"user": self.request.user}


class ScopedListView(ApiView):
    """A list endpoint over a scoped queryset, with django-filter, ordering and pagination."""

    filter_backends = [DjangoFilterBackend, StableOrderingFilter]
    ordering = ["-created_at"]

    def list_response(self, output_serializer: type[serializers.Serializer]) -> Response:
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(
            output_serializer(page, many=True, context=self.output_context()).data
        )


class ScopedRetrieveView(ApiView):
    """GET one object of `get_queryset()` (what the user sees); anything outside it is a 404."""

    output_serializer_class: ClassVar[type[serializers.Serializer] | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.output_serializer_class is not None:
            extend_schema_view(**cls.operation_schemas())(cls)

    @classmethod
    def operation_schemas(cls) -> dict[str, Any]:
        return {"get": extend_schema(responses={200: cls.output_serializer_class, 404: NOT_FOUND})}

    def get_object(self) -> Model:
        return get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])

    def render(self, obj: Model) -> dict[str, Any]:
        return self.output_serializer_class(obj, context=self.output_context()).data

    def get(self, request, *args, **kwargs):
        return Response(self.render(self.get_object()))


class ScopedDetailView(ScopedRetrieveView):
    """GET, PUT, PATCH and DELETE of one object in the user's scope.

    A subclass names `get_queryset` (seen: 404 outside), `get_manageable_queryset` (changeable: 403
    outside; or overrides `check_may_change`), `input_serializer_class`, `output_serializer_class`,
    and the service calls `perform_update` and `perform_delete`.
    """

    input_serializer_class: ClassVar[type[serializers.Serializer] | None] = None
    # PUT replaces the writable fields; PATCH changes only those sent, unless the input is one field.
    patch_is_partial: ClassVar[bool] = True
    # What DELETE may answer besides 204: a view whose service can refuse the delete adds a 400.
    delete_errors: ClassVar[dict[int, OpenApiResponse]] = {403: FORBIDDEN, 404: NOT_FOUND}

    @classmethod
    def operation_schemas(cls) -> dict[str, Any]:
        update = extend_schema(
            request=cls.input_serializer_class,
            responses={200: cls.output_serializer_class, 400: BAD_REQUEST, 403: FORBIDDEN, 404: NOT_FOUND},
        )
        return {
            **super().operation_schemas(),
            "put": update,
            "patch": update,
            "delete": extend_schema(responses={204: None, **cls.delete_errors}),
        }

    def get_manageable_queryset(self) -> QuerySet:
        raise NotImplementedError

    def check_may_change(self, obj: Model) -> None:
        """403 unless the user may change `obj`."""
        permissions.ensure_in(self.get_manageable_queryset(), obj)

    def perform_update(self, obj: Model, data: dict[str, Any]) -> Model:
        raise NotImplementedError

    def perform_delete(self, obj: Model) -> None:
        raise NotImplementedError

    def put(self, request, *args, **kwargs):
        return self._update(partial=False)

    def patch(self, request, *args, **kwargs):
        return self._update(partial=self.patch_is_partial)

    def delete(self, request, *args, **kwargs):
        obj = self.get_object()
        self.check_may_change(obj)
        self.perform_delete(obj)
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _update(self, *, partial: bool) -> Response:
        obj = self.get_object()
        self.check_may_change(obj)
        serializer = self.input_serializer_class(data=self.request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        return Response(self.render(self.perform_update(obj, serializer.validated_data)))


def skills_field(**kwargs: Any) -> serializers.ListField:
    return serializers.ListField(child=serializers.CharField(max_length=200), max_length=200, **kwargs)


def entries_field(**kwargs: Any) -> serializers.ListField:
    return serializers.ListField(child=serializers.DictField(), max_length=200, **kwargs)
