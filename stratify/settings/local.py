"""Development: `make run`. DEBUG on unless the environment says otherwise."""

import os

os.environ.setdefault("DEBUG", "1")

from .base import *  # noqa: E402,F403
from .base import DATABASES  # noqa: E402

# runserver serves each request in a new thread: a connection kept past the request would belong to a
# thread that is gone (80 requests left 79 connections open). Close each one at the end of its request.
DATABASES["default"]["CONN_MAX_AGE"] = 0
DATABASES["default"]["CONN_HEALTH_CHECKS"] = False
