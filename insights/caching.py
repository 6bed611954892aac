"""Per-run caching of what the read side computes. A published run never changes, so a result
computed once for (tenant, run) stays true until the run is replaced; the key carries the run's
publication stamp, so a re-published tenant never reads a stale entry."""

from django.core.cache import cache

CACHE_SECONDS = 6 * 3600


def _cache_key(distributor, run, name: str) -> str:
    stamp = (run.published_at or run.created_at).timestamp() if (run.published_at or run.created_at) else 0
    return f"stratify:pages:{distributor.pk}:{run.pk}:{stamp}:{name}:v1"


def run_cached(distributor, run, name, compute):
    """`compute()`, cached under (tenant, run, name)."""
    return cache.get_or_set(_cache_key(distributor, run, name), compute, CACHE_SECONDS)
