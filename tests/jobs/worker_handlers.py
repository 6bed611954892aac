"""Job kinds the worker tests load into the worker (`--include tests.jobs.worker_handlers`)."""

import os
import time

from stratify.jobs.registry import job_handler


@job_handler("test-steps")
def run_steps(job, progress):
    steps, delay = int(job.params.get("steps", 10)), float(job.params.get("delay", 0.1))
    for step in range(1, steps + 1):
        time.sleep(delay)
        progress(100 * step / steps, f"step {step} of {steps}")
    return {"steps": steps, "pid": os.getpid()}


def _timed_steps(job, progress):
    started = time.time()
    result = run_steps(job, progress)
    return {**result, "started": started, "finished": time.time()}


# Stand-ins for a long import and a short run, on the real kinds' queues (routing.py).
job_handler("test-import", queue="imports")(_timed_steps)
job_handler("test-run", queue="runs")(_timed_steps)
