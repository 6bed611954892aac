"""The shared cache's helpers: a per-tenant generation that publishing bumps, and the Redis backend
the tests use.

Where the cache lives (settings): with REDIS_URL set, Django's Redis backend on a database number of
its own (REDIS_CACHE_URL, default: the broker's number + 1), shared by every web process and worker;
without it, each process's local memory, as before.

Invalidation: a per-run cache key already carries the run and its publication stamp, so a page never
reads another run's entry. What the key cannot see — a run's profit centers written after the first
visit, a run published again, anything a publish changes around the run — is covered by the tenant's
*generation*, which is part of every per-run key (insights/caching.py) and is bumped when a publish or
a profit-centers write commits: every entry the tenant had becomes unreachable at once, in every
process (old entries expire on their own). The generation starts from the clock, so a generation
the cache evicted (memory pressure) never comes back to a value whose entries may still be stored."""

from __future__ import annotations

import time

from django.core.cache import cache
from django.core.cache.backends.redis import RedisCache

GENERATION_KEY = "stratify:generation:{}"
# Generations of other kinds of data than a publication's, each bumped by its own writes: `ALERTS` by
# every change of a tenant's alerts (raised by a run, a status changed by a person).
ALERTS = "alerts"


def _fresh() -> int:
    return time.time_ns() // 1000  # microseconds: larger than any earlier start plus its bumps


def _generation_key(distributor_id: int, kind: str) -> str:
    key = GENERATION_KEY.format(int(distributor_id))
    return key if kind == "pages" else f"{key}:{kind}"


def tenant_generation(distributor_id: int, kind: str = "pages") -> int:
    """The tenant's cache generation (created on first use); `kind` "pages" (bumped by a publish or a
    profit-centers write) or ALERTS."""
    key = _generation_key(distributor_id, kind)
    value = cache.get(key)
    if value is None:
        cache.add(key, _fresh(), timeout=None)
        value = cache.get(key)
    return int(value) if value is not None else 0


def tenant_cache_bump(distributor_id: int, kind: str = "pages") -> None:
    """Make every cache entry of the tenant keyed by its `kind` generation unreachable (call once the
    change committed: `transaction.on_commit(partial(tenant_cache_bump, distributor_id))`)."""
    key = _generation_key(distributor_id, kind)
    try:
        cache.incr(key)  # atomic on Redis: two publishes at once both count
    except ValueError:  # never used, or evicted: a fresh start is past every earlier value
        if not cache.add(key, _fresh(), timeout=None):
            cache.incr(key)


class ScopedRedisCache(RedisCache):
    """RedisCache whose clear() deletes only its own KEY_PREFIX's keys instead of the whole database
    (FLUSHDB): the tests share one Redis database between parallel sessions."""

    def clear(self) -> None:
        client = self._cache.get_client(None, write=True)
        keys = list(client.scan_iter(match=f"{self.key_prefix}:*", count=1000))
        for start in range(0, len(keys), 1000):
            client.delete(*keys[start : start + 1000])
