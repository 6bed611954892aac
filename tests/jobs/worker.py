"""A real Celery worker process for tests, wired to this test session's database and queue.

    with WorkerProcess() as worker:   # started and ready; killed at the end
        ...
    worker.kill()                     # SIGKILL to the whole process group, as a crash would

The worker runs `stratify.settings.local` with DEBUG=0 against the *test* database (the SQLite file
or PostgreSQL test database the test process uses), the same broker (REDIS_URL, or the filesystem
queue directory) and this session's own queue, so parallel sessions never take each other's tasks."""

import contextlib
import itertools
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

from django.conf import settings

BASE_DIR = Path(settings.BASE_DIR)
_names = itertools.count(1)


def database_url() -> str:
    """The URL of the database the test process is using now (its test database, not the configured one)."""
    db = settings.DATABASES["default"]
    if db["ENGINE"] == "django.db.backends.sqlite3":
        name = str(db["NAME"])
        assert name != ":memory:" and not name.startswith("file:"), "the worker needs a database file"
        return f"sqlite:///{Path(name).resolve()}"
    auth = quote(db["USER"] or "", safe="")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"], safe="")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{quote(db['NAME'])}"


def worker_env(extra: dict | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "STRATIFY_QUEUE_DIR", "DATABASE_URL"}}
    env.update(
        DJANGO_SETTINGS_MODULE="stratify.settings.local",
        DEBUG="0",
        DATABASE_URL=database_url(),
        STRATIFY_TASK_QUEUE=settings.CELERY_TASK_DEFAULT_QUEUE,
        PYTHONUNBUFFERED="1",
    )
    if settings.REDIS_URL:
        env["REDIS_URL"] = settings.REDIS_URL
    else:
        env["STRATIFY_QUEUE_DIR"] = str(settings.QUEUE_DIR)
    env.update(extra or {})
    return env


class WorkerProcess:
    def __init__(
        self,
        *,
        include: str = "",
        env: dict | None = None,
        startup_timeout: float = 60,
        queues: list[str] | None = None,
        concurrency: int = 1,
    ):
        """`queues`: the job queues it consumes (routing.JOB_QUEUES names, "default" for the default
        queue); None: all of them, like `make run`'s worker."""
        self.name = f"test-{os.getpid()}-{next(_names)}"
        self.include, self.extra_env, self.startup_timeout = include, env, startup_timeout
        self.queues, self.concurrency = queues, concurrency
        self.proc: subprocess.Popen | None = None
        self.log_path = Path(tempfile.gettempdir()) / f"stratify-worker-{self.name}.log"

    def command(self) -> list[str]:
        celery = str(Path(sys.executable).with_name("celery"))
        from stratify.jobs.routing import all_queue_names, queue_name

        if self.queues is None:
            queues = all_queue_names()
        else:
            queues = [settings.CELERY_TASK_DEFAULT_QUEUE if q == "default" else queue_name(q) for q in self.queues]
        cmd = [celery, "-A", "stratify", "worker", "-Q", ",".join(queues), f"--concurrency={self.concurrency}"]
        cmd += ["--pool=prefork"]
        cmd += ["-n", f"{self.name}@%h", "--loglevel=INFO", "--without-mingle", "--without-gossip"]
        return cmd + (["--include", self.include] if self.include else [])

    def start(self) -> "WorkerProcess":
        log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            self.command(),
            cwd=BASE_DIR,
            env=worker_env(self.extra_env),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: kill() takes the pool children too
        )
        log.close()
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the worker exited with {self.proc.returncode}:\n{self.log()}")
            if " ready." in self.log():
                return self
            time.sleep(0.1)
        self.kill()
        raise TimeoutError(f"the worker was not ready after {self.startup_timeout}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL to the whole process group: the main process and its pool children die at once."""
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):  # the group may be gone already
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def __enter__(self) -> "WorkerProcess":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.kill()
        if exc[0] is None:
            self.log_path.unlink(missing_ok=True)
