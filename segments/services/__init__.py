"""The write side of stratification, one module per concern:

- `model_settings`: the tenant's model settings (validated, with history) and schedule;
- `runs`: requesting runs (a queued run and its job), settling runs whose job failed;
- `execute`: the "stratify" job's body (aggregate, score, write, publish);
- `score_writer`: the scores written under a run (binary COPY on PostgreSQL);
- `publish`: publishing a run and comparing two runs;
- `schedule`: weekly/monthly runs;
- `policies`: tier policies (defaults on tenant creation, a manager's changes, the qualification period);
- `notices`: e-mailing customers their new tier after a published run.

Callers import from here: the names below are the app's write API."""

from .execute import run_execute
from .model_settings import profile_lock, schedule_update, settings_effective, settings_resolve, settings_update
from .notices import NoticeAlreadySent, NoticeSendFailed, tier_notices_send
from .policies import policies_create_defaults, policies_update, policy_update, qualification_end_update
from .profit import follow_ups_execute, profit_centers_ensure
from .publish import run_compare, run_publish
from .runs import JOB_KIND, RunError, restratify_after_import, run_cancel, run_request, runs_reconcile
from .schedule import runs_schedule_due

__all__ = [
    "JOB_KIND",
    "RunError",
    "policies_create_defaults",
    "policies_update",
    "policy_update",
    "profile_lock",
    "qualification_end_update",
    "follow_ups_execute",
    "profit_centers_ensure",
    "restratify_after_import",
    "run_cancel",
    "run_compare",
    "run_execute",
    "run_publish",
    "run_request",
    "runs_reconcile",
    "runs_schedule_due",
    "schedule_update",
    "settings_effective",
    "settings_resolve",
    "settings_update",
    "NoticeAlreadySent",
    "NoticeSendFailed",
    "tier_notices_send",
]
