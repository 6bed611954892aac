"""Tests: strict, fast, and on whichever database DATABASE_URL names (SQLite by default)."""

import os

from .base import *  # noqa: F403
from .base import CACHES, DATABASES, VAR_DIR, celery_task_queues

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
AXES_FAILURE_LIMIT = 3
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory: the real Celery worker process of the worker tests must see the same database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}
# Outside the worker tests, jobs are run by calling the task in-process (the same code path).
CELERY_TASK_ALWAYS_EAGER = True
# The worker tests start a real worker on a queue of this test session's own.
CELERY_TASK_DEFAULT_QUEUE = os.environ.setdefault("STRATIFY_TASK_QUEUE", f"stratify-test-{os.getpid()}")
# ... and so are its job queues (the worker processes inherit the variable).
JOB_QUEUE_PREFIX = os.environ.setdefault("STRATIFY_JOB_QUEUE_PREFIX", f"{CELERY_TASK_DEFAULT_QUEUE}-")
CELERY_TASK_QUEUES = celery_task_queues(CELERY_TASK_DEFAULT_QUEUE, JOB_QUEUE_PREFIX)
CELERY_TASK_EAGER_PROPAGATES = False
JOB_STALE_AFTER_SECONDS = 30
# The cache: Redis when REDIS_URL is set (shared with the worker processes, which inherit the prefix),
# under this session's own prefix, and clear() deletes only that prefix (parallel sessions share Redis).
CACHE_KEY_PREFIX = os.environ.setdefault("STRATIFY_CACHE_PREFIX", f"stratify-test-{os.getpid()}")
CACHES["default"]["KEY_PREFIX"] = CACHE_KEY_PREFIX
if CACHES["default"]["BACKEND"].endswith("RedisCache"):
    CACHES["default"]["BACKEND"] = "stratify.cache.ScopedRedisCache"
# A second database standing in for a read replica (tests/test_replica.py; created only for the tests
# that ask for it): on PostgreSQL a second database on the same server, on SQLite a second file. The
# router and middleware are switched on by those tests alone.
if "replica" not in DATABASES:
    DATABASES["replica"] = {**DATABASES["default"], "TEST": {**DATABASES["default"].get("TEST", {})}}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
        DATABASES["replica"]["TEST"]["NAME"] = str(VAR_DIR / f"test-{os.getpid()}-replica.sqlite3")
    else:
        DATABASES["replica"]["TEST"]["NAME"] = f"test_{DATABASES['default']['NAME']}_replica"
