"""Job kinds and the functions that run them. Apps register handlers at import time:

    @job_handler("import")
    def run_import(job, progress): ...

A handler receives the claimed Job (inside the tenant's scope) and a `progress(percent, message="")`
callback; it returns a JSON-safe dict stored as the job's result, or raises `JobFailed` (a clear
message for the user) or any other exception (recorded, job failed)."""

from collections.abc import Callable
from typing import Any

Progress = Callable[..., None]
Handler = Callable[[Any, Progress], dict | None]

_HANDLERS: dict[str, Handler] = {}

# The job an import enqueues when the manager asks for a re-stratification after it: the import
# pipeline names it here, the stratification app handles it (so neither imports the other).
RESTRATIFY_JOB_KIND = "restratify"


class JobFailed(Exception):
    """A failure with a message meant for the user (bad input, nothing to do...)."""


class JobDeferred(Exception):
    """The job cannot run yet (e.g. another run holds the tenant); it goes back to the queue."""

    def __init__(self, message: str = "", countdown: float = 5.0):
        super().__init__(message)
        self.countdown = countdown


def job_handler(kind: str) -> Callable[[Handler], Handler]:
    def register(func: Handler) -> Handler:
        _HANDLERS[kind] = func
        return func

    return register


def get_handler(kind: str) -> Handler:
    try:
        return _HANDLERS[kind]
    except KeyError:
        raise JobFailed(f"Unknown job kind {kind!r}.") from None
