import pytest

from stratify import celery_app

from .worker import WorkerProcess


@pytest.fixture
def async_jobs(transactional_db):
    """Tasks are sent to the broker instead of run in-process (test settings make them eager)."""
    celery_app.conf.task_always_eager = False
    yield
    celery_app.conf.task_always_eager = True


@pytest.fixture
def start_worker(async_jobs):
    """Start real worker processes (as many as a test needs); every one is killed at the end."""
    workers: list[WorkerProcess] = []

    def start(**kwargs) -> WorkerProcess:
        workers.append(WorkerProcess(include="tests.jobs.worker_handlers", **kwargs).start())
        return workers[-1]

    yield start
    for worker in workers:
        worker.kill()


@pytest.fixture
def worker(start_worker) -> WorkerProcess:
    return start_worker()
