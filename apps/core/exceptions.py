"""Domain exceptions: each carries a stable code and the HTTP status the API answers with."""


class AttuneError(Exception):
    """Base of every domain error; `detail` is safe to show to the caller."""

    code = "error"
    status_code = 400

    def __init__(self, detail: str, *, errors: list | dict | None = None):
        super().__init__(detail)
        self.detail = detail
        self.errors = errors


class InvalidInput(AttuneError):
    code = "invalid"
    status_code = 400


class NotFound(AttuneError):
    code = "not_found"
    status_code = 404


class PermissionDenied(AttuneError):
    code = "permission_denied"
    status_code = 403


class Conflict(AttuneError):
    code = "conflict"
    status_code = 409


class PayloadTooLarge(AttuneError):
    code = "too_large"
    status_code = 413
