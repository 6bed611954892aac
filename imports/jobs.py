"""The "import" job kind (registered from ImportsConfig.ready)."""

from stratify.jobs.registry import job_handler


@job_handler("import", queue="imports")
def run_import_job(job, progress):
    from .services import run_import

    return run_import(job, progress)
