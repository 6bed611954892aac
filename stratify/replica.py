"""Reads of pages from a PostgreSQL read replica (docs/SCALING.md): set DATABASE_REPLICA_URL and

- `ReplicaRouter` sends reads to the "replica" database only while a page request marked them so, and
  everything else — every write, every read inside a transaction, every job a worker runs, every
  management command — to the primary ("default"); nothing migrates the replica (it replicates);
- `ReplicaMiddleware` marks GET and HEAD requests, unless the same browser wrote something in the last
  REPLICA_PIN_SECONDS (a cookie set on any other method's response): what a person just saved
  (a setting, a publish, a login's session) is read back from the primary, not from a replica that
  may lag by a moment.

Without DATABASE_REPLICA_URL neither is installed and there is one database, as before."""

from __future__ import annotations

import time
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

REPLICA = "replica"
PIN_COOKIE = "stratify_primary_until"
_read_replica: ContextVar[bool] = ContextVar("stratify_read_replica", default=False)


@contextmanager
def replica_reads():
    """Reads in this block go to the replica (when one is configured)."""
    token = _read_replica.set(True)
    try:
        yield
    finally:
        _read_replica.reset(token)


class ReplicaRouter:
    def db_for_read(self, model, **hints):
        if (
            _read_replica.get()
            and REPLICA in settings.DATABASES
            and not connections[DEFAULT_DB_ALIAS].in_atomic_block  # read your own transaction's writes
        ):
            return REPLICA
        return DEFAULT_DB_ALIAS

    def db_for_write(self, model, **hints):
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        return True  # one schema, the same rows on both

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == DEFAULT_DB_ALIAS


def _pinned_until(request) -> float:
    """When the browser's reads go back to the replica (a malformed cookie: not pinned)."""
    try:
        return float(request.COOKIES.get(PIN_COOKIE, "0") or 0)
    except ValueError:
        return 0.0


class ReplicaMiddleware:
    SAFE = {"GET", "HEAD"}

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        pinned = _pinned_until(request) > time.time()
        if request.method in self.SAFE and not pinned:
            with replica_reads():
                return self.get_response(request)
        response = self.get_response(request)
        if request.method not in self.SAFE:
            seconds = settings.REPLICA_PIN_SECONDS
            response.set_cookie(
                PIN_COOKIE,
                f"{time.time() + seconds:.0f}",
                max_age=int(seconds) + 1,
                httponly=True,
                samesite="Lax",
                secure=request.is_secure(),
            )
        return response
