"""`{{ segment|segment_label }}`: a segment key ("service_drain") as pages name it ("Service drain")."""

from django import template

from segments.vocabulary import SEGMENT_LABELS

register = template.Library()


@register.filter
def segment_label(key) -> str:
    return SEGMENT_LABELS.get(key, key)
