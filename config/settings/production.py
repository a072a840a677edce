"""Production: every secret comes from the environment and has no default (a missing one stops start-up)."""

from .base import *  # noqa: F403
from .base import BASE_DIR, env

DEBUG = False
SECRET_KEY = env("DJANGO_SECRET_KEY")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
DATABASES = {"default": env.db("DATABASE_URL")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)

FERNET_KEYS = env.list("FERNET_KEYS")
BLIND_INDEX_KEY = env("BLIND_INDEX_KEY")
# The audit chain's HMAC keys ("id:key,...", first seals) and the checkpoint signer's Ed25519 private key.
AUDIT_CHAIN_KEYS = env.list("AUDIT_CHAIN_KEYS")
AUDIT_CHECKPOINT_SIGNING_KEY = env("AUDIT_CHECKPOINT_SIGNING_KEY")
# Beat seals every AUDIT_SEAL_SECONDS; enqueueing a seal per committed transaction would flood the broker.
AUDIT_SEAL_ON_COMMIT = env.bool("AUDIT_SEAL_ON_COMMIT", default=False)

CELERY_BROKER_URL = env("CELERY_BROKER_URL")
CELERY_TASK_ALWAYS_EAGER = False
# At-least-once delivery (tasks are idempotent, STYLE.md §4): a task is acknowledged when it has finished
# (task_acks_late, in base.py), a task whose worker process died is put back instead of being dropped, and each
# worker process reserves one task at a time, so a dying worker holds back as little as possible and the nightly
# job's chunks spread over every worker.
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Redis: a task delivered to a worker that then vanished (killed, machine lost) is delivered again after this many
# seconds. It must exceed the longest task's time limit (10 min; audit_app.verify_chain 30 min), or a task still
# running would be delivered twice. RabbitMQ delivers it again as soon as the connection drops.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=60 * 60)}
# Processes of one `celery worker` (each takes one task at a time). Scale by adding workers, on this host or others.
CELERY_WORKER_CONCURRENCY = env.int("CELERY_WORKER_CONCURRENCY", default=2)
CELERY_WORKER_MAX_TASKS_PER_CHILD = env.int("CELERY_WORKER_MAX_TASKS_PER_CHILD", default=1000)
# Beat's record of when each job last ran (its directory must exist and be writable by beat).
CELERY_BEAT_SCHEDULE_FILENAME = env("CELERY_BEAT_SCHEDULE_FILENAME",
                                    default=str(BASE_DIR / "var" / "celerybeat-schedule"))

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 30)
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
EMAIL_BACKEND = env("DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env("DJANGO_EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("DJANGO_EMAIL_PORT", default=25)
EMAIL_HOST_USER = env("DJANGO_EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("DJANGO_EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("DJANGO_EMAIL_USE_TLS", default=False)
SERVER_EMAIL = DEFAULT_FROM_EMAIL = env("DJANGO_SERVER_EMAIL", default="collector-desk@localhost")
# Operations alerts (audit_app.alerts: a failed beat job, a break in the audit chain) go to these addresses, e.g.
# the compliance team's shared mailbox. Required: an alert nobody receives is no alert.
ALERT_EMAILS = env.list("ALERT_EMAILS")

API_DOCS_REQUIRE_TOKEN = env.bool("API_DOCS_REQUIRE_TOKEN", default=True)
