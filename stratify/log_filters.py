"""Logging filters of the settings' LOGGING.

`QuietClientErrors`: Django logs a 403 or 404 raised as an exception (PermissionDenied, Http404) on
`django.request` with the exception attached, so every expected "not yours" or "no such page"
printed a full traceback. For a response below 500 the warning line stays and the traceback goes;
a 500 keeps it."""

import logging


class QuietClientErrors(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if status is not None and status < 500:
            record.exc_info = None
            record.exc_text = None
        return True
