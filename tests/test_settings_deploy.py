"""Configuration by environment: production passes `check --deploy` with no warnings, refuses an
insecure secret key; development e-mails go to the console; Celery settings lose no job."""

import json
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent


def run_django(args: list[str], tmp_path, **env) -> subprocess.CompletedProcess:
    base = {"PATH": "/usr/bin:/bin", "STRATIFY_VAR_DIR": str(tmp_path), "HOME": str(tmp_path)}
    return subprocess.run(
        [sys.executable, *args], cwd=BASE_DIR, env=base | env, capture_output=True, text=True, timeout=120
    )


def settings_of(module: str, names: list[str], tmp_path, **env) -> dict:
    code = (
        "import django, json; django.setup(); from django.conf import settings; "
        f"print(json.dumps({{n: getattr(settings, n, None) for n in {names!r}}}, default=str))"
    )
    done = run_django(["-c", code], tmp_path, DJANGO_SETTINGS_MODULE=module, **env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_production_settings_pass_check_deploy_with_no_warnings(tmp_path):
    done = run_django(
        ["manage.py", "check", "--deploy"],
        tmp_path,
        DJANGO_SETTINGS_MODULE="stratify.settings.production",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="example.com",
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "System check identified no issues (0 silenced)." in output, output


@pytest.mark.parametrize("secret", [None, "short", "insecure-development-key-change-me"])
def test_production_refuses_a_missing_or_weak_secret_key(tmp_path, secret):
    env = {"DJANGO_SETTINGS_MODULE": "stratify.settings.production", "ALLOWED_HOSTS": "example.com"}
    if secret:
        env["SECRET_KEY"] = secret
    done = run_django(["manage.py", "check"], tmp_path, **env)
    assert done.returncode != 0
    assert "Set SECRET_KEY to a random string of at least 50 characters." in done.stderr


def test_development_defaults_sqlite_console_email_filesystem_broker(tmp_path):
    values = settings_of(
        "stratify.settings.local",
        ["DEBUG", "EMAIL_BACKEND", "DATABASES", "CELERY_BROKER_URL", "ALLOWED_HOSTS"],
        tmp_path,
    )
    assert values["DEBUG"] is True
    assert values["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend"
    assert values["DATABASES"]["default"]["ENGINE"] == "django.db.backends.sqlite3"
    assert values["DATABASES"]["default"]["NAME"] == str(tmp_path / "stratify.sqlite3")
    assert values["CELERY_BROKER_URL"] == "filesystem://"


def test_each_database_has_its_own_filesystem_queue(tmp_path):
    """Without Redis, queue messages name jobs by their id in one database: two databases never share
    a queue folder (a worker of one would run the other's job ids)."""

    def queue_of(**env):
        return settings_of("stratify.settings.local", ["QUEUE_DIR"], tmp_path, **env)["QUEUE_DIR"]

    assert queue_of() == str(tmp_path / "queue")
    other = queue_of(DATABASE_URL=f"sqlite:///{tmp_path / 'other.sqlite3'}")
    postgres = queue_of(DATABASE_URL="postgres://u@localhost:5432/stratify_b")
    assert other == str(tmp_path / "queue-other.sqlite3") and postgres == str(tmp_path / "queue-stratify_b")
    assert queue_of(STRATIFY_QUEUE_DIR=str(tmp_path / "mine")) == str(tmp_path / "mine")


def test_environment_overrides_database_redis_hosts_and_debug(tmp_path):
    values = settings_of(
        "stratify.settings.local",
        ["DEBUG", "DATABASES", "CELERY_BROKER_URL", "CELERY_BROKER_TRANSPORT_OPTIONS", "ALLOWED_HOSTS"],
        tmp_path,
        DEBUG="0",
        DATABASE_URL="postgres://u:p@db.internal:5433/strat",
        REDIS_URL="redis://cache.internal:6379/2",
        ALLOWED_HOSTS="a.example,b.example",
        CELERY_VISIBILITY_TIMEOUT="900",
    )
    db = values["DATABASES"]["default"]
    assert values["DEBUG"] is False
    assert (db["ENGINE"], db["HOST"], db["PORT"], db["NAME"]) == (
        "django.db.backends.postgresql",
        "db.internal",
        5433,
        "strat",
    )
    assert values["CELERY_BROKER_URL"] == "redis://cache.internal:6379/2"
    assert values["CELERY_BROKER_TRANSPORT_OPTIONS"] == {"visibility_timeout": 900}
    assert values["ALLOWED_HOSTS"] == ["a.example", "b.example"]


def test_celery_settings_lose_no_job():
    from django.conf import settings

    from stratify.jobs.tasks import run_job_task

    assert settings.CELERY_TASK_ACKS_LATE and settings.CELERY_TASK_REJECT_ON_WORKER_LOST
    assert run_job_task.acks_late and run_job_task.reject_on_worker_lost
    assert settings.CELERY_WORKER_PREFETCH_MULTIPLIER == 1
    sweep = settings.CELERY_BEAT_SCHEDULE["sweep-stale-jobs"]
    assert sweep["task"] == "stratify.jobs.tasks.sweep_stale_jobs_task" and sweep["schedule"] <= 60


# --- database connections: no leak in development, persistent and health-checked in production ------

PG_URL = "postgres://u:p@db.internal:5432/strat"


def _db(module: str, tmp_path, **env) -> dict:
    if module.endswith("production"):
        env = {"SECRET_KEY": secrets.token_urlsafe(64), "ALLOWED_HOSTS": "example.com", **env}
    return settings_of(module, ["DATABASES"], tmp_path, **env)["DATABASES"]["default"]


@pytest.mark.parametrize("database_url", [None, PG_URL], ids=["sqlite", "postgres"])
@pytest.mark.parametrize("module", ["stratify.settings.local", "stratify.settings.test"])
def test_development_and_test_settings_close_connections_after_each_request(tmp_path, module, database_url):
    """runserver starts a thread per request: a connection kept for CONN_MAX_AGE outlives its thread."""
    db = _db(module, tmp_path, **({"DATABASE_URL": database_url} if database_url else {}))
    assert db["CONN_MAX_AGE"] == 0


def test_development_settings_ignore_a_persistent_connection_request(tmp_path):
    assert _db("stratify.settings.local", tmp_path, DATABASE_URL=PG_URL, DB_CONN_MAX_AGE="60")["CONN_MAX_AGE"] == 0


def test_production_keeps_connections_and_checks_them_before_use(tmp_path):
    db = _db("stratify.settings.production", tmp_path, DATABASE_URL=PG_URL)
    assert (db["CONN_MAX_AGE"], db["CONN_HEALTH_CHECKS"]) == (60, True)
    tuned = _db("stratify.settings.production", tmp_path, DATABASE_URL=PG_URL, DB_CONN_MAX_AGE="300")
    assert (tuned["CONN_MAX_AGE"], tuned["CONN_HEALTH_CHECKS"]) == (300, True)
    per_request = _db("stratify.settings.production", tmp_path, DATABASE_URL=PG_URL, DB_CONN_MAX_AGE="0")
    assert per_request["CONN_MAX_AGE"] == 0


@pytest.mark.parametrize("module", ["stratify.settings.local", "stratify.settings.production"])
def test_every_persistent_connection_is_health_checked(tmp_path, module):
    for env in ({}, {"DATABASE_URL": PG_URL}, {"DATABASE_URL": PG_URL, "DB_CONN_MAX_AGE": "120"}):
        db = _db(module, tmp_path, **env)
        assert db["CONN_MAX_AGE"] == 0 or db["CONN_HEALTH_CHECKS"] is True, (module, env, db)


def _wsgi_get(path: str, **headers) -> int:
    """One request through Django's WSGI handler, as a WSGI server sends it (request_started and
    request_finished included, which the test client leaves out)."""
    from django.core.handlers.wsgi import WSGIHandler
    from django.test import RequestFactory

    statuses = []
    response = WSGIHandler()(RequestFactory().get(path, **headers).environ, lambda status, _: statuses.append(status))
    b"".join(response)
    response.close()  # request_finished: where Django closes (or keeps) the connection
    return int(statuses[0].split()[0])


def _other_connections() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


@pytest.fixture
def token_header(transactional_db):
    from rest_framework.authtoken.models import Token

    from tests import factories as f

    return {"HTTP_AUTHORIZATION": f"Token {Token.objects.create(user=f.UserFactory(username='conn-user')).key}"}


@pytest.mark.postgres
def test_development_server_threads_leave_no_connection_open(tmp_path, monkeypatch, token_header):
    """make run's settings under runserver's model, a thread per request: nothing stays open."""
    import os
    import threading

    from django.db import connection

    local = _db("stratify.settings.local", tmp_path, DATABASE_URL=os.environ["DATABASE_URL"])
    for key in ("CONN_MAX_AGE", "CONN_HEALTH_CHECKS"):
        monkeypatch.setitem(connection.settings_dict, key, local[key])  # shared by every thread's wrapper
    before = _other_connections()
    statuses = []
    for _ in range(20):
        thread = threading.Thread(target=lambda: statuses.append(_wsgi_get("/api/v1/tenants/", **token_header)))
        thread.start()
        thread.join()
    assert statuses == [200] * 20
    assert _other_connections() - before == 0


@pytest.mark.postgres
def test_first_request_after_a_lost_connection_succeeds(tmp_path, monkeypatch, token_header):
    """Production settings (persistent connections): the server terminates the worker's connection
    between two requests; the next request checks it, reconnects and answers 200, not a 500."""
    import os
    import threading

    from django.db import connection

    production = _db("stratify.settings.production", tmp_path, DATABASE_URL=os.environ["DATABASE_URL"])
    assert production["CONN_MAX_AGE"] > 0
    for key in ("CONN_MAX_AGE", "CONN_HEALTH_CHECKS"):
        monkeypatch.setitem(connection.settings_dict, key, production[key])
    connection.close()  # the next connection is made with these settings

    assert _wsgi_get("/api/v1/tenants/", **token_header) == 200
    assert connection.connection is not None  # kept after the request: persistent
    victim = connection.connection.info.backend_pid

    def terminate():
        try:
            with connection.cursor() as cursor:  # this thread's own connection
                cursor.execute("SELECT pg_terminate_backend(%s)", [victim])
        finally:
            connection.close()

    killer = threading.Thread(target=terminate)
    killer.start()
    killer.join()

    assert _wsgi_get("/api/v1/tenants/", **token_header) == 200
    assert connection.connection.info.backend_pid != victim


def test_e_mails_link_to_an_absolute_site_address(tmp_path):
    """SITE_URL (the digest's links): `make run`'s address in development; in production the first
    allowed host over https, or SITE_URL itself; a wildcard first host is refused at start, naming
    SITE_URL, rather than mailing links to "https://*"."""
    secret = secrets.token_urlsafe(64)
    assert settings_of("stratify.settings.local", ["SITE_URL"], tmp_path)["SITE_URL"] == "http://127.0.0.1:8000"

    def production(**env) -> str:
        return settings_of("stratify.settings.production", ["SITE_URL"], tmp_path, SECRET_KEY=secret, **env)["SITE_URL"]

    assert production(ALLOWED_HOSTS="stratify.example.com,10.0.0.5") == "https://stratify.example.com"
    assert production(ALLOWED_HOSTS=".example.com", SITE_URL="https://app.example.com/") == "https://app.example.com"
    for hosts in (".example.com", "*"):
        done = run_django(
            ["manage.py", "check"], tmp_path, DJANGO_SETTINGS_MODULE="stratify.settings.production",
            SECRET_KEY=secret, ALLOWED_HOSTS=hosts,
        )  # fmt: skip
        assert done.returncode != 0 and "Set SITE_URL" in done.stderr, hosts
