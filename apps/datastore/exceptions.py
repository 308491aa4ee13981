from apps.core.exceptions import InvalidInput


class InvalidKey(InvalidInput):
    code = "invalid_key"
