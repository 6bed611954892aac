"""The window of the published stratification run, for code below `segments` that must say whether
data falls in it (the import result page), without importing `segments`: it registers the provider
when it starts (`SegmentsConfig.ready`), like the job handlers of `stratify.jobs.registry`.

    published_window(distributor) -> RunWindow | None
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True)
class RunWindow:
    """The days a run ranks customers on: `window_days` ending `as_of`. `run_id` is the published
    run's, or None before any is published (then: the window a run would use now)."""

    as_of: date
    window_days: int
    run_id: int | None = None

    @property
    def start(self) -> date:
        return self.as_of - timedelta(days=self.window_days - 1)

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.as_of


_provider: Callable[..., RunWindow | None] | None = None


def register_window_provider(func: Callable[..., RunWindow | None]) -> Callable[..., RunWindow | None]:
    global _provider
    _provider = func
    return func


def published_window(distributor) -> RunWindow | None:
    """The published run's window (None without a provider, or a tenant with no invoice lines)."""
    return _provider(distributor=distributor) if _provider is not None else None
