"""Production: secure by default; passes `manage.py check --deploy` with no warnings."""

import os

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import DATABASES, SECRET_KEY, env_bool

DEBUG = env_bool("DEBUG", False)
# A WSGI server's fixed worker threads reuse their connection for DB_CONN_MAX_AGE seconds (default 60;
# 0 closes it after each request), checked at the start of each request: after a database restart or a
# terminated connection the first request reconnects instead of answering a 500.
if DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = int(os.environ.get("DB_CONN_MAX_AGE", "60"))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = DATABASES["default"]["CONN_MAX_AGE"] != 0
if SECRET_KEY.startswith("insecure-") or len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("Set SECRET_KEY to a random string of at least 50 characters.")
if "SITE_URL" not in os.environ:
    # E-mails link to the site: from the first allowed host when it names one, else it must be said.
    _host = ALLOWED_HOSTS[0] if ALLOWED_HOSTS else ""  # noqa: F405
    if not _host or _host.startswith(".") or "*" in _host:
        raise ImproperlyConfigured(
            "Set SITE_URL to the address people reach the site at (e.g. https://stratify.example.com): "
            "the first of ALLOWED_HOSTS names no single host, and e-mails need absolute links."
        )
    SITE_URL = f"https://{_host}"
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", str(60 * 60 * 24 * 365)))
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
