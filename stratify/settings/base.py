"""Settings shared by every environment; everything that differs between machines comes from the
environment (DATABASE_URL, REDIS_URL, SECRET_KEY, ALLOWED_HOSTS, DEBUG)."""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(os.environ.get("STRATIFY_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


SECRET_KEY = os.environ.get("SECRET_KEY", "insecure-development-key-change-me")
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "django_tables2",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "axes",
    "accounts",
    "stratify.jobs",
    "sales",
    "segments",
    "alerts",
    "insights",
    "channels.apps.ChannelsConfig",
    "imports",
    "operations",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "stratify.tenancy.middleware.InputGuardMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
    "stratify.tenancy.middleware.TenantMiddleware",
]

if os.environ.get("DATABASE_REPLICA_URL"):
    MIDDLEWARE.insert(0, "stratify.replica.ReplicaMiddleware")

ROOT_URLCONF = "stratify.urls"
WSGI_APPLICATION = "stratify.wsgi.application"
AUTH_USER_MODEL = "accounts.User"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "stratify.tenancy.context_processors.tenancy",
            ],
            # Money, dates and percentages in the tenant's currency and locale, in every template.
            "builtins": ["stratify.templatetags.stratify_format"],
        },
    },
]

# --- Database -------------------------------------------------------------------------------------
DEFAULT_SQLITE = f"sqlite:///{VAR_DIR / 'stratify.sqlite3'}"
# Connections are closed after each request unless DB_CONN_MAX_AGE (seconds) says otherwise:
# persistent connections only pay off with a fixed pool of worker threads (production.py turns them
# on); the development server starts a thread per request, and each would keep its own connection
# open until the server's limit is reached. Wherever they persist, they are health-checked at the
# start of each request, so a connection the server dropped is replaced instead of answering a 500.
DB_CONN_MAX_AGE = int(os.environ.get("DB_CONN_MAX_AGE", "0"))
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", DEFAULT_SQLITE),
        conn_max_age=DB_CONN_MAX_AGE,
        conn_health_checks=DB_CONN_MAX_AGE != 0,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server and the worker share the file: WAL lets readers run during a write, IMMEDIATE
    # transactions take the write lock up front instead of failing half-way, and the timeout waits.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = False
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# A read replica (docs/SCALING.md): pages' reads (GET/HEAD) go to it, writes, transactions and jobs to
# the primary (stratify/replica.py). A browser that just wrote reads from the primary for
# REPLICA_PIN_SECONDS, so it sees its own change whatever the replica's lag.
REPLICA_PIN_SECONDS = float(os.environ.get("REPLICA_PIN_SECONDS", "10"))
# The memory the profit-centers job's DuckDB database may use before spilling to disk (README, "Why
# DuckDB"): 1GB measured enough at 10M lines (512MB is not); raise it for larger tenants.
PROFIT_CENTERS_MEMORY = os.environ.get("PROFIT_CENTERS_MEMORY", "1GB")
if os.environ.get("DATABASE_REPLICA_URL"):
    DATABASES["replica"] = dj_database_url.parse(
        os.environ["DATABASE_REPLICA_URL"], conn_max_age=DB_CONN_MAX_AGE, conn_health_checks=DB_CONN_MAX_AGE != 0
    )
    DATABASE_ROUTERS = ["stratify.replica.ReplicaRouter"]

# --- Auth -----------------------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked.html"
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "stratify@localhost")
# Where people reach the site: e-mails (the weekly digest) link to it with absolute addresses (a
# relative link opens nothing from a mail client). Default: `make run`'s address; production: https
# and the first of ALLOWED_HOSTS unless SITE_URL is set.
SITE_URL = os.environ.get("SITE_URL", f"http://127.0.0.1:{os.environ.get('PORT', '8000')}").rstrip("/")

# --- i18n / static --------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns on every start when it is missing
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MEDIA_ROOT = VAR_DIR / "media"

# --- REST API -------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "stratify.tenancy.pagination.BoundedPageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "stratify.tenancy.schema.TenantAutoSchema",
    "EXCEPTION_HANDLER": "stratify.tenancy.api.exception_handler",
    "DEFAULT_PARSER_CLASSES": [
        "stratify.tenancy.parsers.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Stratify API",
    "DESCRIPTION": "Customer stratification for wholesale distributors. Every tenant-owned resource "
    "lives under /api/v1/tenants/<tenant-slug>/.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "DEFAULT_GENERATOR_CLASS": "stratify.tenancy.schema.TenantSchemaGenerator",
    # One name for the segment choices wherever they appear (segment, previous_segment...).
    "ENUM_NAME_OVERRIDES": {
        "SegmentEnum": "segments.vocabulary.SEGMENT_CHOICES",
        "AlertStatusEnum": "alerts.models.Status",
        "JobStatusEnum": "stratify.jobs.models.Job.Status",
        "AlertKindEnum": "alerts.models.Kind",
        "AlertSeverityEnum": "alerts.models.Severity",
        "AlertSubjectTypeEnum": "alerts.models.SubjectType",
    },
}

# --- Celery ---------------------------------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    # Bounded: a message taken by a worker that died is redelivered after this many seconds.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "1800"))}
else:
    # Embedded default: no Redis needed; messages are files that a worker process on this machine reads.
    # A message names a job by its id in one database, so each database has its own folder: the
    # default one `var/queue`, another (a DATABASE_URL of its own) `var/queue-<its name>`; else a
    # worker of one database would take another's messages and run the wrong jobs.
    _queue = "queue"
    if "DATABASE_URL" in os.environ:
        _name = Path(str(DATABASES["default"]["NAME"])).name
        _queue += "-" + ("".join(c if c.isalnum() or c in "._-" else "_" for c in _name) or "db")
    QUEUE_DIR = Path(os.environ.get("STRATIFY_QUEUE_DIR", VAR_DIR / _queue))
    for sub in ("out", "processed"):
        (QUEUE_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(QUEUE_DIR / "out"),
        "data_folder_out": str(QUEUE_DIR / "out"),
        "processed_folder": str(QUEUE_DIR / "processed"),
        "control_folder": str(QUEUE_DIR / "control"),
        "store_processed": False,
    }
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("STRATIFY_TASK_QUEUE", "celery")

# --- Cache ----------------------------------------------------------------------------------------
# With Redis, one cache shared by every web process and worker (per-run page caches, stratify/cache.py),
# on a Redis database number of its own: REDIS_CACHE_URL, default the broker's number + 1 (a cache may
# be flushed; the broker's messages must not be). Without Redis, each process's local memory.


def redis_db_url(url: str, offset: int = 1) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    db = int(parts.path.strip("/") or 0)
    return urlunsplit(parts._replace(path=f"/{(db + offset) % 16}"))


REDIS_CACHE_URL = os.environ.get("REDIS_CACHE_URL", "") or (redis_db_url(REDIS_URL) if REDIS_URL else "")
CACHE_KEY_PREFIX = os.environ.get("STRATIFY_CACHE_PREFIX", "stratify")
if REDIS_CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_CACHE_URL,
            "KEY_PREFIX": CACHE_KEY_PREFIX,
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "KEY_PREFIX": CACHE_KEY_PREFIX}}
# Jobs go to a queue per kind of work: imports, runs, insights (profit centers, alerts), email
# (stratify/jobs/routing.py); beat's periodic tasks and unrouted kinds to the default queue. A worker
# started without -Q consumes all of them (`make run`); production runs a worker pool per queue
# (docs/OPERATIONS.md "Workers and queues"). The prefix keeps test sessions apart.
JOB_QUEUE_PREFIX = os.environ.get("STRATIFY_JOB_QUEUE_PREFIX", "")
JOB_QUEUE_NAMES = ("imports", "runs", "insights", "email")


def celery_task_queues(default: str, prefix: str) -> list:
    from kombu import Queue

    # Each queue bound by its own routing key (same-named keys would copy every message to all queues).
    names = [default, *(f"{prefix}{name}" for name in JOB_QUEUE_NAMES)]
    return [Queue(name, routing_key=name) for name in names]


CELERY_TASK_QUEUES = celery_task_queues(CELERY_TASK_DEFAULT_QUEUE, JOB_QUEUE_PREFIX)
# Fairness across tenants: at most this many jobs of one tenant run at once on one queue; a worker
# that takes a further one puts it back (still queued) for JOB_FAIR_RETRY_SECONDS and takes the next
# message, another tenant's. 0 turns the limit off.
JOB_MAX_RUNNING_PER_TENANT = int(os.environ.get("JOB_MAX_RUNNING_PER_TENANT", "1"))
JOB_FAIR_RETRY_SECONDS = float(os.environ.get("JOB_FAIR_RETRY_SECONDS", "3"))
CELERY_RESULT_BACKEND = None  # job state lives in the Job table, not in Celery results
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "sweep-stale-jobs": {"task": "stratify.jobs.tasks.sweep_stale_jobs_task", "schedule": 60.0},
    "purge-import-uploads": {"task": "imports.tasks.purge_uploads_task", "schedule": crontab(minute=40)},
    "purge-import-error-files": {
        "task": "imports.tasks.purge_error_files_task",
        "schedule": crontab(minute=45, hour=3),
    },
    "scheduled-stratification": {
        "task": "segments.tasks.run_scheduled_stratifications_task",
        "schedule": crontab(minute=15),
    },
    # The weekly alerts digest (alerts.tasks): Monday morning, each rep and manager who has not opted out.
    "weekly-alerts-digest": {
        "task": "alerts.tasks.send_weekly_digests_task",
        "schedule": crontab(minute=0, hour=6, day_of_week="mon"),
    },
}

# Jobs: a running job whose heartbeat is older than this is presumed lost and requeued (or failed
# after JOB_MAX_ATTEMPTS).
JOB_STALE_AFTER_SECONDS = int(os.environ.get("JOB_STALE_AFTER_SECONDS", "300"))
JOB_MAX_ATTEMPTS = int(os.environ.get("JOB_MAX_ATTEMPTS", "3"))

# Imports
IMPORT_MAX_BYTES = int(os.environ.get("IMPORT_MAX_BYTES", str(2 * 1024**3)))
IMPORT_CHUNK_ROWS = int(os.environ.get("IMPORT_CHUNK_ROWS", "200000"))  # rows read and checked at a time
# Bounds on what one file may hold (README "Reliability and limits"): a cell's characters, the columns,
# and for an XLSX what its parts expand to and how many cells its sheets hold, checked before parsing.
IMPORT_MAX_CELL_CHARS = int(os.environ.get("IMPORT_MAX_CELL_CHARS", "10000"))
IMPORT_MAX_COLUMNS = int(os.environ.get("IMPORT_MAX_COLUMNS", "500"))
IMPORT_XLSX_MAX_UNCOMPRESSED_BYTES = int(os.environ.get("IMPORT_XLSX_MAX_UNCOMPRESSED_BYTES", str(512 * 1024**2)))
IMPORT_XLSX_MAX_SHARED_STRINGS_BYTES = int(os.environ.get("IMPORT_XLSX_MAX_SHARED_STRINGS_BYTES", str(128 * 1024**2)))
IMPORT_XLSX_MAX_CELLS = int(os.environ.get("IMPORT_XLSX_MAX_CELLS", "20000000"))
# An uploaded file is deleted once its import succeeds; otherwise it is kept this long (to retry), then
# purged by imports.tasks.purge_uploads_task.
IMPORT_KEEP_FAILED_HOURS = float(os.environ.get("IMPORT_KEEP_FAILED_HOURS", "24"))
# A failed import's full error list (when it has more errors than the job keeps) is kept this long,
# then purged by imports.tasks.purge_error_files_task.
IMPORT_KEEP_ERROR_FILES_DAYS = float(os.environ.get("IMPORT_KEEP_ERROR_FILES_DAYS", "30"))
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_TEMP_DIR = None

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"quiet_client_errors": {"()": "stratify.log_filters.QuietClientErrors"}},
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # axes logs every successful login at INFO ("Deleted 0 failed login attempts"): noise.
    # An expected 403/404 is one warning line, without the traceback Django attaches (500s keep it).
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "axes": {"level": "WARNING"},
        "django.request": {"filters": ["quiet_client_errors"]},
    },
}
AXES_VERBOSE = False
