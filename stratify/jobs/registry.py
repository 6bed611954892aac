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


class JobFailed(Exception):
    """A failure with a message meant for the user (bad input, nothing to do...)."""


class JobCancelled(JobFailed):
    """Someone asked the job to stop (see services.job_cancel); raised by its progress callback."""

    def __init__(self, message: str = "Cancelled at a manager's request; nothing was written."):
        super().__init__(message)


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


def registered_kinds() -> list[str]:
    return sorted(_HANDLERS)
