"""URL converter for ERP ids. The data format accepts any text as an id, "/" included (real ERPs
have "ACME/01"), but a "/" inside a URL segment is read as a separator, even when sent as %2F
(servers decode it). So an id travels with "~" written "~7E" and "/" written "~2F": every id is one
segment, reversible, and ids without either character keep the URL they always had."""

from urllib.parse import quote

from django.urls import register_converter


def encode_erp_id(value: str) -> str:
    return str(value).replace("~", "~7E").replace("/", "~2F")


def erp_id_in_url(value: str) -> str:
    """An ERP id as a path segment: encoded, then percent-encoded (a `#` or `?` in an id would end
    the path). For links built by replacing a placeholder in one reversed URL, rather than a
    reverse() per row."""
    return quote(encode_erp_id(value), safe="")


def decode_erp_id(value: str) -> str:
    return value.replace("~2F", "/").replace("~7E", "~")


class ErpIdConverter:
    regex = "[^/]+"

    def to_python(self, value: str) -> str:
        return decode_erp_id(value)

    def to_url(self, value) -> str:
        return encode_erp_id(value)


register_converter(ErpIdConverter, "erp_id")
