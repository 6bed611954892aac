"""Lookup-or-404, once per kind of object a URL names.

Each app declares its kinds (`sales.lookups.CUSTOMER`, `segments.lookups.RUN`, ...): which URL keyword
names the object, the attribute the view gets it as, and the selector that finds it *for the caller*
(a rep asking for a customer who is not theirs finds nothing). Page and API bases convert the URL
keywords before the handler runs, the way Sentry's `OrganizationEndpoint.convert_args` injects the
organization: a handler never looks an object up itself, and "missing", "another tenant's" and "not
yours" are the same 404."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.http import Http404


@dataclasses.dataclass(frozen=True)
class ObjectLookup:
    kwarg: str  # the URL keyword, e.g. "customer_id"
    attr: str  # the view attribute it becomes, e.g. "customer"
    find: Callable[..., Any]  # find(distributor=, membership=, key=) -> object, or raise
    not_found: str  # the 404's message

    def on(self, kwarg: str) -> ObjectLookup:
        """The same kind of object under another URL keyword (e.g. a run as `pk` in the API)."""
        return dataclasses.replace(self, kwarg=kwarg)

    def resolve(self, *, distributor, membership, key) -> Any:
        try:
            return self.find(distributor=distributor, membership=membership, key=key)
        except (ObjectDoesNotExist, LookupError, ValueError, TypeError):
            raise Http404(self.not_found)


def convert_args(view, kwargs: dict, lookups: Iterable[ObjectLookup]) -> None:
    """Replace each declared URL keyword in `kwargs` by its object, set as `view.<attr>` (404 if the
    caller may not see it). Called after the role check, so a role without the right gets its 403
    whether or not the object exists."""
    for lookup in lookups:
        if lookup.kwarg in kwargs:
            key = kwargs.pop(lookup.kwarg)
            setattr(
                view, lookup.attr, lookup.resolve(distributor=view.distributor, membership=view.membership, key=key)
            )
