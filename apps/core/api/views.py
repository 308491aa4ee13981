from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.services import check_health


class HealthView(APIView):
    """Database, broker and worker liveness; the only endpoint open without auth."""

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(responses={200: dict, 503: dict})
    def get(self, request):
        report = check_health()
        return Response(report, status=200 if report["status"] == "ok" else 503)
