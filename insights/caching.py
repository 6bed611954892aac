"""Per-run caching of what the read side computes. A published run never changes, so a result
computed once for (tenant, run) stays true until the run is replaced; the key carries the run's
publication stamp, so a re-published tenant never reads a stale entry; and the tenant's cache
generation, bumped when a publish or a profit-centers write commits (stratify/cache.py), so nothing a
publish changes can be read stale from any process. With REDIS_URL the cache is Redis, shared by every
web process; without it, each process's memory."""

from django.core.cache import cache

from stratify.cache import tenant_generation

CACHE_SECONDS = 6 * 3600


def _cache_key(distributor, run, name: str) -> str:
    stamp = (run.published_at or run.created_at).timestamp() if (run.published_at or run.created_at) else 0
    generation = tenant_generation(distributor.pk)
    return f"stratify:pages:{distributor.pk}:{generation}:{run.pk}:{stamp}:{name}:v1"


def run_cached(distributor, run, name, compute):
    """`compute()`, cached under (tenant, run, name)."""
    return cache.get_or_set(_cache_key(distributor, run, name), compute, CACHE_SECONDS)
