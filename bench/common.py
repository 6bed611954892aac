"""Helpers shared by the benchmarks: a scratch PostgreSQL database (never the dev data), Django set-up
against it, timing, peak memory, child processes that report JSON, and result tables.

A benchmark typically does:

    url = scratch_database_url(os.environ.get("DATABASE_URL"), "stratify_bench")
    recreate_database(url); migrate(url); django_setup(url)
    with Timer() as t: ...
    result = run_child([sys.executable, "-m", "bench.x", "--child", ...], database_url=url)
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PG_URL = "postgres://postgres@127.0.0.1:5432/stratify"
RESULT_MARKER = "BENCH-RESULT "


# --- Databases -------------------------------------------------------------------------------------
def scratch_database_url(base_url: str | None, name: str = "stratify_bench") -> str:
    """The URL of a scratch database on the same server as `base_url` (DATABASE_URL, usually the dev
    database): same host, port and user, another database name, so benchmarks never touch dev data."""
    parts = urlsplit(base_url or DEFAULT_PG_URL)
    if not parts.scheme.startswith("postgres"):
        raise SystemExit(f"Benchmarks need PostgreSQL; DATABASE_URL is {base_url!r}.")
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def _libpq(url: str) -> str:
    return url.replace("postgres://", "postgresql://", 1)


def _maintenance_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/postgres", parts.query, parts.fragment))


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def recreate_database(url: str) -> None:
    """Drop (if present) and create the scratch database named by `url`."""
    import psycopg
    from psycopg import sql

    name = database_name(url)
    if name in {"stratify", "postgres", "template0", "template1"}:
        raise SystemExit(f"Refusing to recreate database {name!r}: benchmarks use a scratch database.")
    with psycopg.connect(_libpq(_maintenance_url(url)), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def pg_connect(url: str, **kwargs):
    import psycopg

    return psycopg.connect(_libpq(url), **kwargs)


def child_env(database_url: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ, DATABASE_URL=database_url, DJANGO_SETTINGS_MODULE="stratify.settings.local")
    env.setdefault("PYTHONPATH", str(ROOT))
    env.pop("REDIS_URL", None)  # benchmarks run jobs in the foreground; no broker needed
    env["DEBUG"] = "0"  # DEBUG keeps every SQL statement in memory: it would skew time and memory
    env.update(extra)
    return env


def migrate(url: str) -> float:
    """Run the project's migrations against the scratch database; returns seconds taken."""
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=child_env(url), check=True
    )
    return time.perf_counter() - start


def django_setup(url: str, settings: str = "stratify.settings.local") -> None:
    """Point this process at the scratch database and set Django up."""
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = settings
    os.environ.pop("REDIS_URL", None)
    os.environ["DEBUG"] = "0"
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def bench_tenant(slug: str = "bench", name: str = "Benchmark Distributor"):
    """A fresh tenant (deleted first if a previous run left it) and a manager user acting for it."""
    from django_scopes import scopes_disabled

    from accounts.models import Distributor
    from accounts.services import tenant_create, user_create

    with scopes_disabled():
        Distributor.objects.filter(slug=slug).delete()
    distributor = tenant_create(slug=slug, name=name)
    user = user_create(distributor=distributor, username=f"{slug}-manager", password="bench-pass-2026", role="manager")
    return distributor, user


# --- Measuring -------------------------------------------------------------------------------------
class Timer:
    """`with Timer() as t: ...` then `t.seconds`."""

    def __enter__(self):
        self.start = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start
        return False


def peak_rss_mib() -> float:
    """This process's peak resident memory so far: VmHWM of /proc/self/status where there is one.
    Not ru_maxrss: Linux carries it over exec from the parent that spawned the process (subprocess
    uses vfork), so a child would report the parent's peak when that was higher."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def emit_result(payload: dict) -> None:
    """What a child process prints for `run_child` (one line; its peak memory added)."""
    payload = dict(payload, peak_rss_mib=round(peak_rss_mib(), 1))
    print(RESULT_MARKER + json.dumps(payload, default=str), flush=True)


@dataclass
class ChildResult:
    seconds: float
    payload: dict = field(default_factory=dict)

    @property
    def peak_rss_mib(self) -> float:
        return float(self.payload.get("peak_rss_mib", 0.0))


def run_child(argv: list[str], *, database_url: str, echo: bool = True) -> ChildResult:
    """Run a child process (its stderr passes through), time it, and parse the JSON it emits with
    `emit_result`. The child's own peak RSS (its VmHWM) is in the payload; unlike RUSAGE_CHILDREN it
    is per child, not a maximum over all children so far."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=ROOT, env=child_env(database_url), stdout=subprocess.PIPE, text=True)
    payload: dict = {}
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith(RESULT_MARKER):
            payload = json.loads(line[len(RESULT_MARKER) :])
        elif echo:
            sys.stdout.write("    | " + line)
    rc = proc.wait()
    seconds = time.perf_counter() - start
    if rc != 0:
        raise SystemExit(f"Child {' '.join(argv)} failed with exit code {rc}.")
    return ChildResult(seconds=seconds, payload=payload)


# --- Reporting -------------------------------------------------------------------------------------
def fmt_int(n: float) -> str:
    return f"{n:,.0f}"


def print_table(headers: list[str], rows: list[list], out=None) -> None:
    out = out or sys.stdout
    cells = [[str(c) for c in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    for n, row in enumerate(cells):
        padded = [c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))]
        out.write("  ".join(padded) + "\n")
        if n == 0:
            out.write("  ".join("-" * w for w in widths) + "\n")
    out.flush()
