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
