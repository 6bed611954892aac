"""`make run` stops cleanly (issue 11, item 9): the supervisor (stratify/devrun.py) starts the web server
and the Celery worker; SIGTERM or Ctrl-C (SIGINT) stops both, with every process they started, within
10 s; a second start clears what an unclean run left (its process groups, beat's schedule files)."""

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent

# The supervisor does not depend on the backend (its children use SQLite here): the SQLite pass runs
# it, the PostgreSQL pass deselects it (tests/conftest.py).
pytestmark = pytest.mark.sqlite


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_until(predicate, timeout: float) -> float | None:
    """Seconds until `predicate()` held, or None after `timeout`."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():
            return time.monotonic() - started
        time.sleep(0.1)
    return None


def answers(port: int) -> bool:
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=1)
    except urllib.error.HTTPError:
        return True  # an answer all the same
    except OSError:
        return False
    return True


class Run:
    def __init__(self, var: Path):
        self.var, self.port = var, free_port()
        env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DATABASE_URL", "DJANGO_SETTINGS_MODULE"}}
        env.update(
            STRATIFY_VAR_DIR=str(var),
            DATABASE_URL=f"sqlite:///{var / 'devrun.sqlite3'}",
            STRATIFY_TASK_QUEUE=f"devrun-test-{os.getpid()}",
            PYTHONPATH=str(BASE_DIR),
        )
        self.process = subprocess.Popen(
            [sys.executable, "-m", "stratify.devrun", "--port", str(self.port)],
            cwd=BASE_DIR,
            env=env,
            start_new_session=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )

    def groups(self) -> dict:
        return json.loads((self.var / "devrun.json").read_text())["groups"]

    def kill_everything(self) -> None:
        for pgid in [self.process.pid, *self._groups]:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)

    def start_and_stop(self, signum) -> float:
        """Wait until the server answers, send `signum` to the supervisor, return the seconds until the
        supervisor and every process group it started are gone."""
        self._groups = []
        try:
            up = wait_until(lambda: self.process.poll() is not None or answers(self.port), 60)
            assert up is not None and self.process.poll() is None, "the server never answered"
            self._groups = list(self.groups().values())
            assert len(self._groups) == 2 and all(group_alive(g) for g in self._groups)
            os.kill(self.process.pid, signum)
            stopped = wait_until(
                lambda: self.process.poll() is not None and not any(group_alive(g) for g in self._groups), 15
            )
            assert stopped is not None, f"still running 15 s after {signum!r}"
            return stopped
        finally:
            self.kill_everything()


def test_sigterm_and_ctrl_c_stop_the_server_and_the_worker_and_a_restart_works(tmp_path):
    # What an unclean run leaves: a recorded process group still running, beat's schedule files.
    leftover = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(120)", "celery"], start_new_session=True
    )
    (tmp_path / "devrun.json").write_text(json.dumps({"supervisor": 0, "groups": {"worker": leftover.pid}}))
    (tmp_path / "celerybeat-schedule").write_bytes(b"not a shelve")

    first = Run(tmp_path)
    seconds = first.start_and_stop(signal.SIGTERM)
    out = first.process.stdout.read().decode(errors="replace")
    assert leftover.wait(timeout=5) == -signal.SIGKILL  # cleared at start
    assert seconds < 10, out
    assert first.process.returncode == 0 and "stopped (SIGTERM)" in out, out
    assert not (tmp_path / "devrun.json").exists()

    second = Run(tmp_path)  # nothing left in the way: it starts, and Ctrl-C stops it too
    seconds = second.start_and_stop(signal.SIGINT)
    out = second.process.stdout.read().decode(errors="replace")
    assert seconds < 10 and second.process.returncode == 0 and "stopped (SIGINT)" in out, out
