"""DRF authentication for action and sensor processes (`X-Attune-Process-Token`)."""

from rest_framework import authentication, exceptions, permissions

from apps.datastore.services import KeyCaller
from apps.datastore.tokens import caller_for_token


class ProcessTokenAuthentication(authentication.BaseAuthentication):
    """Accepted by the datastore endpoints only; `request.auth` becomes the KeyCaller."""

    header = "HTTP_X_ATTUNE_PROCESS_TOKEN"

    def authenticate(self, request):
        raw = request.META.get(self.header)
        if not raw:
            return None
        caller = caller_for_token(raw.strip())
        if caller is None:
            raise exceptions.AuthenticationFailed("Invalid process token or the run is over.")
        return caller.user, caller


class IsUserOrProcess(permissions.BasePermission):
    def has_permission(self, request, view):
        if isinstance(request.auth, KeyCaller):
            return True
        return bool(request.user and request.user.is_authenticated)


def caller_of(request) -> KeyCaller:
    if isinstance(request.auth, KeyCaller):
        return request.auth
    return KeyCaller(request.user, label=f"user {request.user.pk}")
