"""The API's JSON parser: DRF's, refusing NUL characters (see apps/core/nul.py) with a 400."""

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from apps.core.exceptions import InvalidInput
from apps.core.nul import refuse_nul_characters


class StorableJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        try:
            refuse_nul_characters(data, "request body")
        except InvalidInput as exc:
            raise ParseError(exc.detail) from exc
        return data
