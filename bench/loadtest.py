"""Load test of the production server: gunicorn (production settings, N workers) on loopback, and a
bounded headless Locust run of the three roles at once against a tenant of 50,000 customers.

    python -m bench.loadtest [--db stratify_loadtest] [--customers 50000] [--duration 60]
                             [--users 10] [--workers 2] [--port 8765] [--reuse]
    make loadtest ARGS="--duration 60"

The tenant is bench/bench_pages.py's (same builder: customers, scores, a published run, profit
centers), in its own scratch database (--db or LOADTEST_DB; never `stratify_bench_pages`, which the
page benchmark recreates). The server is `stratify.wsgi` under gunicorn with
`stratify.settings.production` (DEBUG off, static files from collectstatic through whitenoise,
persistent connections), on 127.0.0.1 only; with REDIS_URL set its page caches are shared by the
workers (stratify/cache.py). Reports requests/s, median, p95 and errors over the whole mix, per page,
and the minimal page's p95 under the same load; writes them to var/bench/loadtest.json."""

from __future__ import annotations

import argparse
import csv
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from bench.common import ROOT, django_setup, migrate, print_table, recreate_database, scratch_database_url

FORBIDDEN = {"stratify_bench_pages", "stratify_bench", "stratify"}


def sessions(users: dict) -> dict[str, str]:
    """A logged-in session per role, created in the database (what the login form would do)."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    keys = {}
    for role, user in users.items():
        store = SessionStore()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.set_expiry(24 * 3600)
        store.create()
        keys[role] = store.session_key
    return keys


def wait_up(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)  # noqa: S310 - loopback
            return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"gunicorn did not answer at {url} within {timeout:g}s")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default=os.environ.get("LOADTEST_DB", "stratify_loadtest"))
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--reps", type=int, default=50)
    parser.add_argument("--duration", type=int, default=60, help="seconds of load")
    parser.add_argument("--users", type=int, default=10, help="simulated users at once (all roles)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=1, help="threads per gunicorn worker")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--reuse", action="store_true", help="measure the tenant a previous run built")
    args = parser.parse_args(argv)
    if args.db in FORBIDDEN:
        raise SystemExit(f"--db {args.db}: choose a scratch database of the load test's own.")
    if not 1 <= args.duration <= 600 or not 1 <= args.users <= 200:
        raise SystemExit("--duration is 1-600 seconds and --users 1-200: the load test is bounded.")

    url = scratch_database_url(os.environ.get("DATABASE_URL"), args.db)
    redis_url = os.environ.get("REDIS_URL", "")
    cache_url = os.environ.get("REDIS_CACHE_URL", "")
    # The sessions made here are signed with the key the server will use.
    secret_key = os.environ["SECRET_KEY"] = secrets.token_urlsafe(50)
    if not args.reuse:
        print(f"Scratch database {url}: recreating and migrating...", flush=True)
        recreate_database(url)
        migrate(url)
    django_setup(url)
    from bench.bench_pages import SLUG, build

    if args.reuse:
        from accounts.models import User

        users = {role: User.objects.get(username=f"{SLUG}-{role}") for role in ("manager", "rep", "customer")}
    else:
        start = time.perf_counter()
        users = build(customers=args.customers, reps=args.reps, seed=7)
        print(f"Built {args.customers:,} customers in {time.perf_counter() - start:.1f}s", flush=True)
    out = ROOT / "var" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    session_file = out / "loadtest-sessions.json"
    session_file.write_text(json.dumps(sessions(users)))

    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "REDIS_CACHE_URL", "DATABASE_URL"}}
    env.update(
        DJANGO_SETTINGS_MODULE="stratify.settings.production",
        DATABASE_URL=url,
        SECRET_KEY=secret_key,
        SECURE_SSL_REDIRECT="0",  # loopback, no TLS: requests say X-Forwarded-Proto https, as behind nginx
        DEBUG="0",
        LOG_LEVEL="WARNING",
        ALLOWED_HOSTS="127.0.0.1",
    )
    if redis_url:
        env["REDIS_URL"] = redis_url
    if cache_url:
        env["REDIS_CACHE_URL"] = cache_url
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True
    )
    bindir = Path(sys.executable).parent
    server = subprocess.Popen(
        [str(bindir / "gunicorn"), "stratify.wsgi", "--workers", str(args.workers), "--threads", str(args.threads)]
        + ["--bind", f"127.0.0.1:{args.port}", "--log-level", "warning"],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    prefix = str(out / "loadtest")
    try:
        wait_up(f"http://127.0.0.1:{args.port}/accounts/login/")
        locust_env = {**env, "LOADTEST_SESSIONS": str(session_file), "LOADTEST_TENANT": SLUG}
        print(
            f"Load: {args.users} users (manager, rep, customer mix) for {args.duration}s against gunicorn "
            f"({args.workers} workers x {args.threads} threads), {args.customers:,} customers...",
            flush=True,
        )
        subprocess.run(
            [str(bindir / "locust"), "-f", str(ROOT / "bench" / "locustfile.py"), "--headless", "--only-summary"]
            + ["-u", str(args.users), "-r", str(args.users), "-t", f"{args.duration}s"]
            + ["--host", f"http://127.0.0.1:{args.port}", "--csv", prefix, "--loglevel", "WARNING"],
            cwd=ROOT,
            env=locust_env,
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
    with open(f"{prefix}_stats.csv") as fh:
        stats = list(csv.DictReader(fh))
    rows, figures = [], {}
    for row in stats:
        name = row["Name"]
        figures[name] = {
            "requests": int(row["Request Count"]),
            "errors": int(row["Failure Count"]),
            "rps": float(row["Requests/s"]),
            "median_ms": float(row["50%"]),
            "p95_ms": float(row["95%"]),
        }
        f = figures[name]
        rows.append(
            [name, f["requests"], f["errors"], f"{f['rps']:.1f}", f"{f['median_ms']:.0f}", f"{f['p95_ms']:.0f}"]
        )
    total, minimal = figures["Aggregated"], figures.get("minimal page (jobs list)", {})
    print(f"\nLoad test: {args.customers:,} customers, {args.users} users, {args.duration}s, {args.workers} workers")
    print_table(["request", "requests", "errors", "req/s", "median ms", "p95 ms"], rows)
    ratio = total["p95_ms"] / minimal["p95_ms"] if minimal.get("p95_ms") else float("nan")
    print(
        f"\nAll: {total['rps']:.1f} req/s, median {total['median_ms']:.0f} ms, p95 {total['p95_ms']:.0f} ms, "
        f"{total['errors']} errors; minimal page p95 {minimal.get('p95_ms', float('nan')):.0f} ms "
        f"(mix p95 / minimal p95 = {ratio:.1f}x; target: no errors, under 4x)"
    )
    summary = {"args": vars(args), "figures": figures, "p95_ratio": ratio}
    (out / "loadtest.json").write_text(json.dumps(summary, indent=2))
    return 0 if total["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
