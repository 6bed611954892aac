"""Request parsers of the API (DEFAULT_PARSER_CLASSES). Kept apart from the endpoint bases: DRF
imports its parser settings while its views module is still loading."""

from rest_framework import exceptions
from rest_framework.parsers import JSONParser


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser, refusing with a 400 a body nested deeper than Python's decoder can follow
    (it raises RecursionError, which DRF would let through as a 500)."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError("JSON parse error - the body is nested too deeply.")
