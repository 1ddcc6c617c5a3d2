"""Liveness and readiness for load balancers and orchestrators (no authentication, never throttled)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from matching.health import readiness

_CHECK = inline_serializer(
    "ReadinessCheck",
    {"ok": serializers.BooleanField(), "detail": serializers.CharField(), "ms": serializers.FloatField()},
)
_READINESS = inline_serializer(
    "Readiness", {"ready": serializers.BooleanField(), "checks": serializers.DictField(child=_CHECK)}
)


class _Probe(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []


@extend_schema(
    tags=["health"],
    auth=[],
    responses={200: inline_serializer("Liveness", {"status": serializers.CharField()})},
)
class LivenessApi(_Probe):
    """The process answers (touches no dependency)."""

    def get(self, request):
        return Response({"status": "ok"})


@extend_schema(
    tags=["health"],
    auth=[],
    responses={200: _READINESS, 503: OpenApiResponse(_READINESS, description="A dependency is down.")},
)
class ReadinessApi(_Probe):
    """PostgreSQL, Redis and the active model: 200 when all answer, else 503 with Retry-After."""

    def get(self, request):
        result = readiness()
        body = {"ready": result.ready, "checks": result.checks}
        if result.ready:
            return Response(body)
        return Response(body, status=503, headers={"Retry-After": "5"})
