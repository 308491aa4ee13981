from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.parsers import BaseParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.authentication import ApiKeyAuthentication, BearerTokenAuthentication
from apps.core.cache import one_read_of_versions
from apps.webhooks.services import WebhookRequest, receive_webhook


class RawBodyParser(BaseParser):
    """Accept any content type: the service parses the body itself (and signs the raw bytes)."""

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None):
        return {}


class WebhookView(APIView):
    """`POST /api/v1/webhooks/<name>`: a trigger instance from the outside world."""

    authentication_classes = [ApiKeyAuthentication, BearerTokenAuthentication]
    permission_classes = [AllowAny]  # the service accepts an API key or an HMAC signature
    throttle_classes = []  # webhooks have their own per-webhook limits (see the service)
    parser_classes = [RawBodyParser]

    def perform_authentication(self, request):
        """Authenticate when `post` first asks for the user, inside its one read of the
        versions (DRF's documented lazy authentication)."""

    @extend_schema(request=dict, responses={202: dict})
    def post(self, request, name):
        with one_read_of_versions():  # the credentials, the webhook and its rules: one read
            instance = receive_webhook(
                name,
                WebhookRequest(
                    body=request._request.body,
                    content_type=request.content_type or "",
                    headers={k.lower(): v for k, v in request.headers.items()},
                    form={k: v for k, v in request._request.POST.items()},
                    user=request.user,
                ),
            )
        return Response({"trigger_instance_id": instance.pk}, status=status.HTTP_202_ACCEPTED)
