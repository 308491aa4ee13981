"""DRF authentication: `Authorization: Bearer <token>` and `X-API-Key: <key>`."""

from rest_framework import authentication, exceptions

from apps.accounts.services import user_for_api_key, user_for_token


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode(errors="replace")
        if not header.startswith(f"{self.keyword} "):
            return None
        user = user_for_token(header[len(self.keyword) + 1 :].strip())
        if user is None:
            raise exceptions.AuthenticationFailed("Invalid or expired token.")
        return user, None

    def authenticate_header(self, request):
        return self.keyword


class ApiKeyAuthentication(authentication.BaseAuthentication):
    header = "HTTP_X_API_KEY"

    def authenticate(self, request):
        raw = request.META.get(self.header)
        if not raw:
            return None
        user = user_for_api_key(raw.strip())
        if user is None:
            raise exceptions.AuthenticationFailed("Invalid or disabled API key.")
        return user, None
