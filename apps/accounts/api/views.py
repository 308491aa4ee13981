from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts import services
from apps.accounts.api.serializers import (
    ApiKeySerializer,
    LoginSerializer,
    NewApiKeySerializer,
    TokenSerializer,
)
from apps.accounts.models import ApiKey


class TokenView(APIView):
    """Exchange a username and password for a bearer token."""

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(request=LoginSerializer, responses={201: TokenSerializer})
    def post(self, request):
        login = LoginSerializer(data=request.data)
        login.is_valid(raise_exception=True)
        raw, token = services.login(**login.validated_data)
        body = TokenSerializer({"token": raw, "expires_at": token.expires_at}).data
        return Response(body, status=status.HTTP_201_CREATED)


class LogoutView(APIView):
    """Revoke the bearer token this request was made with."""

    @extend_schema(request=None, responses={204: None})
    def post(self, request):
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            services.revoke_token(header[len("Bearer ") :].strip())
        return Response(status=status.HTTP_204_NO_CONTENT)


class ApiKeyViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """The caller's own API keys; the key itself is returned only by create."""

    serializer_class = ApiKeySerializer

    def get_queryset(self):
        return ApiKey.objects.filter(user=self.request.user)

    def perform_update(self, serializer):
        services.update_api_key(serializer.instance, **serializer.validated_data)

    def perform_destroy(self, instance):
        services.delete_api_key(instance)

    @extend_schema(request=ApiKeySerializer, responses={201: NewApiKeySerializer})
    def create(self, request):
        serializer = ApiKeySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        raw, api_key = services.create_api_key(request.user, serializer.validated_data["name"])
        api_key.key = raw
        return Response(NewApiKeySerializer(api_key).data, status=status.HTTP_201_CREATED)
