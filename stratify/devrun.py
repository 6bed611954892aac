"""`make run`'s supervisor: the development web server and a Celery worker (with beat), stopped
together and within STOP_TIMEOUT seconds (default 5, then killed: under 10 s in all) by Ctrl-C or SIGTERM.

    python -m stratify.devrun [--port 8000] [--host 127.0.0.1]      (PORT in the environment too)

Each child runs in a session of its own, so a Ctrl-C in the terminal reaches this supervisor only,
which stops them in order: the web server gets SIGINT (its whole group: the autoreloader and the
server it spawned), the worker SIGTERM (Celery's warm shutdown: running tasks finish, nothing new
starts). Whatever is still alive after the timeout is killed with its whole group (a job killed
mid-way is requeued by the sweep: messages are acknowledged late). If one child exits by itself
(e.g. the port is taken), the other is stopped too and the exit status says so.

Leftovers of a run that could not clean up (the supervisor itself was SIGKILLed) are cleared at the
next start: the process groups recorded in `var/devrun.json` are killed if they still run ours, and
beat's schedule files (`var/celerybeat-schedule*`) are removed (beat rebuilds them). A second
supervisor started while one runs refuses to start. No Django import: this module only runs processes."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
STOP_TIMEOUT = float(os.environ.get("STOP_TIMEOUT", "5"))


def var_dir() -> Path:
    """The same directory as settings.VAR_DIR (STRATIFY_VAR_DIR, default var/ in the project)."""
    path = Path(os.environ.get("STRATIFY_VAR_DIR", BASE_DIR / "var"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False  # not ours
    return True


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _ours(line: str) -> bool:
    return "stratify" in line or "manage.py" in line or "celery" in line


def _is_ours(pid: int) -> bool:
    """A process this supervisor started (on systems without /proc, trust the record)."""
    return _ours(_cmdline(pid)) if Path("/proc").is_dir() else True


def _group_is_ours(pgid: int) -> bool:
    """Some process of group `pgid` is one of ours (its leader may be gone, e.g. a worker's pool left)."""
    if not Path("/proc").is_dir():
        return True
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if len(fields) > 2 and int(fields[2]) == pgid and _ours(_cmdline(int(stat.parent.name))):
            return True
    return False


class Supervisor:
    def __init__(self, commands: dict[str, list[str]], *, state_file: Path, stop_timeout: float = STOP_TIMEOUT):
        self.commands, self.state_file, self.stop_timeout = commands, state_file, stop_timeout
        self.children: dict[str, subprocess.Popen] = {}
        self.stopping = False
        self.stop_reason = ""

    # ---- leftovers ----------------------------------------------------------------------------------
    def clear_leftovers(self) -> None:
        if not self.state_file.exists():
            return
        try:
            state = json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            state = {}
        supervisor = int(state.get("supervisor") or 0)
        if supervisor and supervisor != os.getpid() and _alive(supervisor) and _is_ours(supervisor):
            raise SystemExit(
                f"Another `make run` is running (process {supervisor}); stop it first (Ctrl-C or kill {supervisor})."
            )
        for name, pgid in (state.get("groups") or {}).items():
            if pgid and _group_alive(int(pgid)) and _group_is_ours(int(pgid)):
                print(f"devrun: stopping the {name} left over from a previous run (group {pgid})", flush=True)
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(int(pgid), signal.SIGKILL)
        self.state_file.unlink(missing_ok=True)

    def _record(self) -> None:
        state = {"supervisor": os.getpid(), "groups": {name: child.pid for name, child in self.children.items()}}
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state))
        tmp.replace(self.state_file)

    # ---- running ------------------------------------------------------------------------------------
    def start(self) -> None:
        for name, command in self.commands.items():
            # A session of its own: the terminal's Ctrl-C reaches the supervisor only.
            self.children[name] = subprocess.Popen(command, cwd=BASE_DIR, start_new_session=True)
        self._record()

    def request_stop(self, signum, _frame=None) -> None:
        if not self.stopping:
            self.stopping = True
            self.stop_reason = signal.Signals(signum).name

    def wait(self) -> int:
        """Until a signal asks to stop or a child exits; then stop every child. The exit status: 0 when
        asked to stop, else the first child's own status (or 1)."""
        status = 0
        while not self.stopping:
            for name, child in self.children.items():
                code = child.poll()
                if code is not None:
                    print(f"devrun: the {name} exited ({code}); stopping the rest", flush=True)
                    self.stopping, status = True, code or 1
                    break
            else:
                time.sleep(0.2)
        self.stop()
        return status

    def stop(self) -> None:
        signals = {"web": signal.SIGINT, "worker": signal.SIGTERM}
        for name, child in self.children.items():
            if child.poll() is None:
                sig = signals.get(name, signal.SIGTERM)
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    if name == "worker":
                        os.kill(child.pid, sig)  # the main process: Celery stops its pool and beat itself
                    else:
                        os.killpg(child.pid, sig)
        deadline = time.monotonic() + self.stop_timeout
        while time.monotonic() < deadline and any(_group_alive(child.pid) for child in self.children.values()):
            for child in self.children.values():
                child.poll()  # reap
            time.sleep(0.1)
        for name, child in self.children.items():
            if _group_alive(child.pid):
                print(f"devrun: the {name} did not stop within {self.stop_timeout:g} s: killed", flush=True)
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(child.pid, signal.SIGKILL)
        for child in self.children.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(timeout=1)
        self.state_file.unlink(missing_ok=True)


def commands(*, host: str, port: int, python: str = sys.executable) -> dict[str, list[str]]:
    bindir = Path(python).parent
    celery = str(bindir / "celery") if (bindir / "celery").exists() else None
    worker = [celery] if celery else [python, "-m", "celery"]
    return {
        "web": [python, "manage.py", "runserver", f"{host}:{port}"],
        # One local worker: no mingle/gossip with others nor event heartbeats (they only slow start and stop).
        # No -Q: it consumes every queue of CELERY_TASK_QUEUES (the default one and each job queue).
        "worker": [
            *worker,
            *("-A", "stratify", "worker", "--beat", "--loglevel=INFO", "--concurrency=2"),
            *("--without-mingle", "--without-gossip", "--without-heartbeat"),
        ],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stratify.devrun", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT") or 8000))
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args(argv)
    var = var_dir()
    supervisor = Supervisor(commands(host=args.host, port=args.port), state_file=var / "devrun.json")
    supervisor.clear_leftovers()
    for stale in var.glob("celerybeat-schedule*"):
        stale.unlink(missing_ok=True)  # beat's state (shelve files): rebuilt at start
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, supervisor.request_stop)
    supervisor.start()
    print(f"devrun: serving http://{args.host}:{args.port}/ with a worker; Ctrl-C stops both", flush=True)
    status = supervisor.wait()
    print(f"devrun: stopped ({supervisor.stop_reason or 'a process exited'})", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
