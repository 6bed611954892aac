"""The per-run page caches (insights/caching.py): Redis when REDIS_URL is set, shared by every process;
the process's memory otherwise; a publish or a profit-centers write makes every entry of the tenant
unreachable in every process (the tenant's generation, stratify/cache.py)."""

import json
import os
import subprocess
import sys

import pytest
from django.core.cache import cache, caches
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from django.db import transaction
from django_scopes import scopes_disabled

from insights.caching import run_cached
from segments.models import StratificationRun
from segments.services.profit_writer import write_profit_centers
from segments.services.publish import run_publish
from stratify.cache import GENERATION_KEY, tenant_cache_bump, tenant_generation
from tests import factories as f

from .conftest import make_run


def test_backend_follows_redis_url(settings):
    if settings.REDIS_URL:
        assert isinstance(caches["default"], RedisCache)
        cache_db = settings.CACHES["default"]["LOCATION"].rsplit("/", 1)[1]
        assert cache_db != settings.CELERY_BROKER_URL.rsplit("/", 1)[1], "the cache would share the broker's database"
    else:
        assert isinstance(caches["default"], LocMemCache)


def test_redis_db_url_moves_to_the_next_database():
    from stratify.settings.base import redis_db_url

    assert redis_db_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/1"
    assert redis_db_url("redis://h:6379") == "redis://h:6379/1"
    assert redis_db_url("redis://:pw@h:6379/15") == "redis://:pw@h:6379/0"


def unpublished_run(distributor) -> StratificationRun:
    return make_run(distributor, {}, publish=False)


@pytest.mark.django_db(transaction=True)
def test_publish_makes_the_tenants_entries_unreachable():
    distributor, other = f.DistributorFactory(slug="cache-a"), f.DistributorFactory(slug="cache-b")
    run, theirs = make_run(distributor, {}), make_run(other, {})
    assert run_cached(distributor, run, "figures", lambda: "first") == "first"
    assert run_cached(distributor, run, "figures", lambda: "recomputed") == "first"  # cached
    assert run_cached(other, theirs, "figures", lambda: "theirs") == "theirs"
    with scopes_disabled():
        run_publish(unpublished_run(distributor))  # commits: the generation moves on
    assert run_cached(distributor, run, "figures", lambda: "after publish") == "after publish"
    assert run_cached(other, theirs, "figures", lambda: "recomputed") == "theirs"  # another tenant: kept


@pytest.mark.django_db(transaction=True)
def test_profit_centers_write_makes_the_tenants_entries_unreachable():
    distributor = f.DistributorFactory(slug="cache-profit")
    run = make_run(distributor, {})
    assert run_cached(distributor, run, "profit", lambda: "before") == "before"
    with scopes_disabled(), transaction.atomic():
        write_profit_centers(run, [], [])
        assert run_cached(distributor, run, "profit", lambda: "uncommitted") == "before"  # not yet
    assert run_cached(distributor, run, "profit", lambda: "after") == "after"


@pytest.mark.django_db
def test_an_evicted_generation_never_comes_back_to_an_old_value():
    distributor = f.DistributorFactory(slug="cache-evicted")
    first = tenant_generation(distributor.pk)
    tenant_cache_bump(distributor.pk)
    assert tenant_generation(distributor.pk) == first + 1
    cache.delete(GENERATION_KEY.format(distributor.pk))  # evicted under memory pressure
    assert tenant_generation(distributor.pk) > first + 1
    cache.delete(GENERATION_KEY.format(distributor.pk))
    tenant_cache_bump(distributor.pk)  # a bump of a missing generation starts afresh, past the old ones
    assert tenant_generation(distributor.pk) > first + 1


OTHER_PROCESS = """
import json, os, sys
import django
django.setup()
from django_scopes import scopes_disabled
from accounts.models import Distributor
from insights.caching import run_cached
from segments.models import StratificationRun
with scopes_disabled():
    distributor = Distributor.objects.get(pk=int(sys.argv[1]))
    run = StratificationRun.objects.get(pk=int(sys.argv[2]))
print(json.dumps(run_cached(distributor, run, sys.argv[3], lambda: {"pid": os.getpid()})))
"""


def in_another_process(distributor, run, name: str) -> dict:
    """run_cached in a separate Python process (a web worker of its own) on the same database and cache."""
    from tests.jobs.worker import BASE_DIR, worker_env

    out = subprocess.run(
        [sys.executable, "-c", OTHER_PROCESS, str(distributor.pk), str(run.pk), name],
        cwd=BASE_DIR,
        env=worker_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.postgres  # the PostgreSQL + Redis pass: a shared cache needs REDIS_URL
@pytest.mark.django_db(transaction=True)
def test_two_processes_share_the_entries_and_see_a_publish(settings):
    assert settings.REDIS_URL, "the PostgreSQL pass runs with REDIS_URL"
    distributor = f.DistributorFactory(slug="cache-shared")
    run = make_run(distributor, {})
    mine = run_cached(distributor, run, "summary", lambda: {"pid": os.getpid()})
    assert in_another_process(distributor, run, "summary") == mine  # read, not recomputed, over there
    theirs = in_another_process(distributor, run, "mix")  # computed over there ...
    assert theirs["pid"] != os.getpid()
    assert run_cached(distributor, run, "mix", lambda: {"pid": os.getpid()}) == theirs  # ... read here
    with scopes_disabled():
        run_publish(unpublished_run(distributor))  # published here: stale over there too
    after = in_another_process(distributor, run, "summary")
    assert after["pid"] not in (os.getpid(), theirs["pid"])
