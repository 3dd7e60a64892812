"""Settings of the chatter demo project."""

import os
from pathlib import Path
from typing import Any

import dj_database_url

from notify.celery_tasks import beat_schedule

BASE_DIR = Path(__file__).resolve().parent


def _secret_key() -> str:
    key = os.environ.get("DJANGO_SECRET_KEY")
    if key:
        return key
    path = BASE_DIR / ".secret_key"
    if not path.exists():
        from django.core.management.utils import get_random_secret_key

        path.write_text(get_random_secret_key())
    return path.read_text().strip()


SECRET_KEY = _secret_key()


def _vapid_keys() -> dict:
    """Return the demo's VAPID key pair, generated on first run into a file that git ignores."""
    import json

    path = BASE_DIR / ".vapid_keys.json"
    if not path.exists():
        from notify.push.keys import generate_keys

        keys = generate_keys()
        tmp = path.with_name(f".vapid_keys.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"vapid_private_key": keys.private_key, "vapid_public_key": keys.public_key}))
        try:
            os.link(tmp, path)  # atomic, and the first process to get there wins
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return json.loads(path.read_text())
DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "notify",
    "notify.lino",
    "demo.chatter",
    "django_tasks_db",
]
try:
    import django.tasks  # noqa: F401  (Django 6 has the task framework built in)
except ImportError:
    INSTALLED_APPS.append("django_tasks")

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "demo.chatter.urls"
WSGI_APPLICATION = "demo.chatter.wsgi.application"
ASGI_APPLICATION = "demo.chatter.asgi.application"

TEMPLATES: list[dict[str, Any]] = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "notify.context_processors.notify",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.config(default=f"sqlite:///{BASE_DIR / 'chatter.sqlite3'}", conn_max_age=0),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web process writes from several threads (requests, the push worker): with
    # IMMEDIATE transactions a writer waits for the lock instead of failing with
    # "database is locked" when a read transaction cannot be upgraded.
    # The seed puts the file in write-ahead-log mode (that sticks to the file); with synchronous=NORMAL
    # a commit no longer waits for the disk (a killed process loses nothing it committed; a power cut
    # may lose the last moments). The mail runs commit once per e-mail, which took 10-30 ms each with
    # the default rollback journal. (Switching the journal mode in init_command instead would need the
    # file to itself at every connection.)
    DATABASES["default"]["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 20,
                                       "init_command": "PRAGMA synchronous=NORMAL"}
elif DATABASES["default"]["ENGINE"] == "django.db.backends.mysql":
    # MariaDB (tests of the MySQL code paths): PyMySQL stands in for mysqlclient, which needs a C build.
    import pymysql

    pymysql.install_as_MySQLdb()
    DATABASES["default"]["OPTIONS"] = {"charset": "utf8mb4"}

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("de", "Deutsch"), ("fr", "Français")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/groups/"
LOGOUT_REDIRECT_URL = "/login/"
ABSOLUTE_URL_OVERRIDES = {
    "chatter.group": lambda group: f"/groups/{group.pk}/",
    "chatter.comment": lambda comment: f"/groups/{comment.group_id}/#comment-{comment.pk}",
}

EMAIL_SUBJECT_PREFIX = "[chatter] "
DEFAULT_FROM_EMAIL = "chatter@localhost"
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
# With EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend the demo sends to a local SMTP server,
# e.g. `python -m aiosmtpd -n -l 127.0.0.1:8025`.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "8025"))
EMAIL_TIMEOUT = 10

# Background jobs. The demo runs them in its own processes (NOTIFY_JOB_BACKEND=thread: a push thread
# in the web process, `notify_scheduler` beside it); NOTIFY_JOB_BACKEND=tasks hands them to a
# django-tasks-db worker (`python -m demo db_worker`), =celery to a Celery worker and beat.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_TASK_DEFAULT_QUEUE", "chatter")
CELERY_IMPORTS = ["notify.celery_tasks"]
CELERY_BEAT_SCHEDULE = beat_schedule(float(os.environ.get("NOTIFY_BEAT_EVERY", "10")))
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, float] = {
    "visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "3600"))
}
if os.environ.get("CELERY_UNACKED_RESTORE_INTERVAL"):
    # Redis: look for the unacknowledged tasks of lost workers every few seconds (tests of killed workers).
    CELERY_BROKER_TRANSPORT_OPTIONS["unacked_restore_interval"] = float(os.environ["CELERY_UNACKED_RESTORE_INTERVAL"])
    CELERY_BROKER_TRANSPORT_OPTIONS["unacked_restore_throttle"] = 1
CELERY_WORKER_PREFETCH_MULTIPLIER = 1

# The Lino layer (notify.lino): the demo's date, and what fills an empty database.
NOTIFY_LINO = {"demo_date": "2024-04-06", "demo_builder": "demo.chatter.seed.build"}

NOTIFY = {
    # E-mails: absolute links, and a Reply-To address that names the comment a reply answers.
    "site_url": "http://127.0.0.1:8000",
    "mail_reply_to": "chatter+{model}-{id}@chatter.localhost",
    "base_template": "chatter/base.html",
    # Set NOTIFY_LIVE_REDIS_URL (e.g. redis://127.0.0.1:6379/0) when serving with several processes.
    "live_redis_url": os.environ.get("NOTIFY_LIVE_REDIS_URL") or None,
    "live_redis_channel": os.environ.get("NOTIFY_LIVE_REDIS_CHANNEL", "notify-live"),
    # Desktop notifications with keys of its own. Private push endpoints are allowed only in
    # development (tests push to a service on 127.0.0.1); never on a server others can reach.
    "use_push_api": True,
    **_vapid_keys(),
    "vapid_admin_email": "mailto:admin@chatter.localhost",
    "push_allow_private_endpoints": os.environ.get("NOTIFY_PUSH_ALLOW_PRIVATE", "1" if DEBUG else "0") == "1",
    "job_backend": os.environ.get("NOTIFY_JOB_BACKEND", "thread"),
}
if os.environ.get("NOTIFY_PUSH_WORKERS"):  # pushes in flight per run, e.g. in a benchmark's worker process
    NOTIFY["push_workers"] = int(os.environ["NOTIFY_PUSH_WORKERS"])
